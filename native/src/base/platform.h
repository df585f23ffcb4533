/* exalloc - native core
 * platform.h: the OS contract. Every primitive the core needs from the operating system is
 * declared here, with its pre- and postconditions; src/platform.c picks one implementation
 * (src/platform/posix.c for POSIX hosts, src/platform/win32.c for Windows). Core files include this header and never an OS header.
 * All functions are internal (hidden) and named _exa_os_*. */
#ifndef EXA_INTERNAL_PLATFORM_H
#define EXA_INTERNAL_PLATFORM_H

#include "base/debug.h"

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
 * Pool page source (pool/segment.c)
 * ------------------------------------------------------------------------------------- */

/* Map `size` bytes of zeroed, readable and writable memory aligned to `align` (size and
 * align are multiples of the host page size, align a power of two). `executable` 1 asks for
 * PROT_EXEC as well; the host may refuse that (W^X policies): then NULL. NULL on failure,
 * never aborts; then, when `why` is not NULL, *why says which failure it was: the host's
 * refusal of executable memory as such (a policy: POSIX EACCES or EPERM, which a retry will
 * meet again) or anything else (address space or memory short, EXA_OS_MAP_NO_MEMORY, which
 * may pass). Unmap with _exa_os_pages_unmap and the same size. */
enum { EXA_OS_MAP_NO_MEMORY = 1, EXA_OS_MAP_EXEC_REFUSED = 2 };
void *_exa_os_pages_map(size_t size, size_t align, int executable, int *why);
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


/* ---------------------------------------------------------------------------------------
 * Diagnostics (diag.c, publish.c, bugcheck.c): files, shared memory, a helper thread,
 * backtraces. All best effort; none allocates on the fatal path except where said.
 * ------------------------------------------------------------------------------------- */
/* The process id. */
uint32_t _exa_os_pid(void);
/* The library's environment (every EXALLOC_* variable is read here and nowhere else):
 * getenv, NULL when unset, and NULL for every name in a secure-execution process, one the
 * loader started with privileges its caller does not have (setuid, setgid, file
 * capabilities: AT_SECURE on Linux, where glibc's secure_getenv gives the same answer;
 * issetugid() on the BSDs and macOS). Such a process must not let its caller pick output
 * paths, inject allocation failures or change checking levels. Windows has no setuid
 * programs: an implementation there reads the environment plainly.
 * _exa_os_secure_execution() is that decision (1: secure). */
const char *_exa_os_getenv(const char *name);
int _exa_os_secure_execution(void);
/* Output files (reports and dumps, docs/diagnostics.md#output-files). open creates a new
 * file beside `path`, mode 0600, with a name nobody else has (O_CREAT|O_EXCL, which never
 * follows a symbolic link); close renames it over `path`. So nothing is ever written through
 * a symbolic link or into a file this process did not create, and readers see either the
 * previous file or the whole new one. "-" or NULL is standard error (fd 2, nothing renamed).
 * open: 0 with f->fd set, -1 on failure (f->fd -1). write: all bytes to f->fd, retrying short
 * writes. close: 0 when the file is in place (or was stderr), -1 when it could not be (the
 * temporary is removed). */
enum { EXA_OS_PATH_MAX = 1024 };
typedef struct exa_os_file_s {
    int fd;
    char path[EXA_OS_PATH_MAX];           /* the target, "" for stderr */
    char temp[EXA_OS_PATH_MAX + 48];      /* the name written */
} exa_os_file_t;
int  _exa_os_file_open(exa_os_file_t *f, const char *path);
void _exa_os_file_write(int fd, const char *text, size_t length);
int  _exa_os_file_close(exa_os_file_t *f);
#if EXA_DEBUG
/* Debug tier (base/debug.h): answer as a secure-execution process (1), as an ordinary one
 * (0) or as the process is (-1, the default); returns the previous setting. And
 * _exa_os_getenv under a name the tests can call. */
EXA_DEBUG_API int _exa_debug_os_secure(int forced);
EXA_DEBUG_API const char *_exa_debug_os_getenv(const char *name);
#endif
/* Register fn to run at process exit (atexit). 0 on success. */
int _exa_os_at_exit(void (*fn)(void));
/* Register handlers around fork (pthread_atfork): `prepare` runs in the forking thread
 * before the fork, `parent` in the parent and `child` in the child (the child's only
 * thread) after it. Called once per process (base/fork.c). 0 on success. */
int _exa_os_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
/* Drop this process's mapping of a shared-memory file (from _exa_os_shm_create) without
 * removing the name: a child's copy of its parent's live view. */
void _exa_os_shm_detach(void *p, size_t size);
/* Create the shared-memory file `name` (e.g. "/exalloc.123", under /dev/shm) of `size`
 * bytes, mapped shared and zeroed, with exactly the permission bits `mode` (0600 unless the
 * caller asks for more), owned by the process's user. The name is created anew
 * (O_CREAT|O_EXCL|O_NOFOLLOW): an existing regular file of the same user's is a view an
 * earlier process with this pid left behind and is replaced; any other existing name (another
 * user's file, a link, a directory) is left alone and the call fails with *why =
 * EXA_OS_SHM_TAKEN and *owner its owner's user id. Other failures: *why =
 * EXA_OS_SHM_FAILED. unlink removes the name. */
enum { EXA_OS_SHM_FAILED = 1, EXA_OS_SHM_TAKEN = 2 };
void *_exa_os_shm_create(const char *name, size_t size, uint32_t mode, int *why, uint32_t *owner);
/* The shared-memory name as the host shows it to people ("/dev/shm/exalloc.123"; Windows:
 * "Local\exalloc.123"), for messages; NUL-terminated, truncated to cap. */
void  _exa_os_shm_where(const char *name, char *buf, size_t cap);
void  _exa_os_shm_unlink(const char *name, void *p, size_t size);
/* Start a joinable thread running fn(arg); 0 on success with *handle set. join waits. */
int  _exa_os_thread_start(void (*fn)(void *), void *arg, uintptr_t *handle);
void _exa_os_thread_join(uintptr_t handle);
/* Sleep about `ms` milliseconds. */
void _exa_os_sleep_ms(uint32_t ms);
/* Up to `max` return addresses of the calling thread (backtrace(), or a walk of the frame
 * pointers where the C library has none); the count. */
int _exa_os_backtrace(void **frames, int max);
/* "symbol+0xoff (module)" for a code address into buf (dladdr); 0 when nothing is known. */
int _exa_os_symbolize(const void *address, char *buf, size_t capacity);

/* ---------------------------------------------------------------------------------------
 * Guard pages and fault reports (the verifier's special pool, verifier/special_pool.c)
 * ------------------------------------------------------------------------------------- */

/* Reserve `size` bytes (a multiple of the host page size) of address space with no access;
 * NULL on failure. Release with _exa_os_pages_unmap. */
void *_exa_os_pages_reserve(size_t size);

/* Change the access of whole host pages: EXA_OS_ACCESS_NONE or _READ_WRITE. 0 on success,
 * else the OS error number. */
enum { EXA_OS_ACCESS_NONE = 0, EXA_OS_ACCESS_READ_WRITE = 3 };
int _exa_os_pages_protect(void *p, size_t size, int access);

/* Install, once per process, a handler for access faults (SIGSEGV and SIGBUS on POSIX)
 * that calls `fn(address, write)` with the faulting data address (write: 1 write, 0 read,
 * -1 unknown). `fn` returns 0 when the address is not its business: the fault then goes to
 * the handler that was installed before (or the default action); `fn` does not return when
 * it is. The handler runs on an alternate signal stack when the faulting thread has one.
 * Returns 0 on success (or when already installed), else the OS error number. */
int _exa_os_install_fault_handler(int (*fn)(void *address, int write));

#endif /* EXA_INTERNAL_PLATFORM_H */
