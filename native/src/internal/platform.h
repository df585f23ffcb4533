/* exalloc - native core
 * platform.h: the OS contract. Every primitive the core needs from the operating system is
 * declared here, with its pre- and postconditions; src/platform.c picks one implementation
 * (src/platform/posix.c today). Core files include this header and never an OS header.
 * All functions are internal (hidden) and named _exa_os_*. */
#ifndef EXA_INTERNAL_PLATFORM_H
#define EXA_INTERNAL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Host page size in bytes (a power of two). Never 0. */
size_t _exa_os_page_size(void);

/* Memory for the library's own control structures and for the default block allocator.
 * `align` is a power of two >= sizeof(void*); returns NULL on failure (never aborts). The
 * memory is not zeroed. Free with _exa_os_free_aligned (NULL is accepted). */
void *_exa_os_alloc_aligned(size_t size, size_t align);
void  _exa_os_free_aligned(void *p);

/* Whole pages: size is a multiple of the host page size; returns page-aligned, zeroed
 * memory or NULL. Free with the same size. */
void *_exa_os_pages_alloc(size_t size);
void  _exa_os_pages_free(void *p, size_t size);

/* Keep pages resident (non-paged pool). Returns 0 on success, else the OS error number
 * (e.g. ENOMEM/EPERM when RLIMIT_MEMLOCK refuses). unlock never fails observably. */
int  _exa_os_pages_lock(void *p, size_t size);
void _exa_os_pages_unlock(void *p, size_t size);

/* A non-zero identifier of the calling thread, stable for its lifetime and distinct from
 * every other live thread's; bit 0 is always clear (spin locks store id|1). */
uintptr_t _exa_os_thread_token(void);

/* Monotonic clock in nanoseconds. */
uint64_t _exa_os_now_ns(void);

/* Give up the CPU to another runnable thread. */
void _exa_os_yield(void);

/* A library-owned background thread (the balance-set thread, balance.c): start fn(arg) on a
 * new thread, storing an opaque handle; 0 on success. Join waits for it to return. Sleep
 * blocks the calling thread for about `ms` milliseconds. */
int  _exa_os_thread_start(void **handle, void (*fn)(void *), void *arg);
void _exa_os_thread_join(void *handle);
void _exa_os_sleep_ms(uint32_t ms);

/* Process-wide memory barrier: on return, every thread of the process has executed a full
 * memory barrier since the call began (Linux membarrier PRIVATE_EXPEDITED). Lets a rare
 * writer pair with frequent readers that use only compiler barriers (asymmetric Dekker).
 * _exa_os_process_barrier_init() returns 1 when available; when it returns 0 the core
 * falls back to symmetric (seq_cst) fencing and never calls _exa_os_process_barrier. */
int  _exa_os_process_barrier_init(void);
void _exa_os_process_barrier(void);

/* Run `fn(value)` when the calling thread exits, for the value last registered by that
 * thread (one registration per thread suffices; later calls replace the value). Returns 0 on
 * success. */
int _exa_os_at_thread_exit(void (*fn)(void *), void *value);

/* Diagnostics: write bytes to standard error (best effort), and abort the process. */
void _exa_os_write_stderr(const char *text, size_t length);
_Noreturn void _exa_os_abort(void);

/* Total physical memory in bytes (0 if unknown). */
uint64_t _exa_os_physical_memory(void);

/* ---------------------------------------------------------------------------------------
 * Pool page source (pool.c)
 * ------------------------------------------------------------------------------------- */

/* Map `size` bytes of zeroed, readable and writable memory aligned to `align` (size and
 * align are multiples of the host page size, align a power of two). `executable` 1 asks for
 * PROT_EXEC as well; the host may refuse that (W^X policies): then NULL. NULL on failure,
 * never aborts. Unmap with _exa_os_pages_unmap and the same size. */
void *_exa_os_pages_map(size_t size, size_t align, int executable);
void  _exa_os_pages_unmap(void *p, size_t size);

/* Hint that the pages will rarely be touched (Linux MADV_COLD: reclaim them first). Best
 * effort: returns 1 when the host took the hint, 0 otherwise; never changes contents. */
int _exa_os_pages_cold(void *p, size_t size);

/* NUMA: the number of memory nodes the host can have (>= 1; 1 without NUMA support), the
 * node of the CPU the caller runs on (0 when unknown), and binding of not yet touched pages
 * to one node (0, or the OS error number; ENOSYS where unsupported). */
uint32_t _exa_os_numa_node_count(void);
uint32_t _exa_os_current_node(void);
int      _exa_os_pages_bind_node(void *p, size_t size, uint32_t node);

/* Thread-exit hooks for several clients: slot 0 is _exa_os_at_thread_exit's; each slot has
 * the same contract as that function. 0 on success. */
enum { EXA_OS_THREAD_EXIT_SLOTS = 3, EXA_OS_THREAD_EXIT_POOL = 1, EXA_OS_THREAD_EXIT_QUOTA = 2 };
int _exa_os_at_thread_exit_slot(uint32_t slot, void (*fn)(void *), void *value);

#endif /* EXA_INTERNAL_PLATFORM_H */
