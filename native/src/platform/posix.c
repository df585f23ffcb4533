/* exalloc - native core
 * platform/posix.c: the OS contract (internal/platform.h) for Linux and other POSIX hosts.
 * Compiled only through src/platform.c. */
#define _GNU_SOURCE 1
#include "internal/platform.h"
#include "internal/atomic.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#  include <linux/membarrier.h>
#  include <sys/syscall.h>
#endif

size_t _exa_os_page_size(void) {
    static size_t cached;
    size_t v = cached;
    if (v == 0) {
        long r = sysconf(_SC_PAGESIZE);
        v = r > 0 ? (size_t)r : 4096u;
        cached = v;
    }
    return v;
}

void *_exa_os_alloc_aligned(size_t size, size_t align) {
    void *p = NULL;
    if (size == 0) size = 1;
    if (posix_memalign(&p, align, size) != 0) return NULL;
    return p;
}

void _exa_os_free_aligned(void *p) { free(p); }

void *_exa_os_pages_alloc(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void _exa_os_pages_free(void *p, size_t size) {
    if (p != NULL) munmap(p, size);
}

int _exa_os_pages_lock(void *p, size_t size) { return mlock(p, size) == 0 ? 0 : errno; }

void _exa_os_pages_unlock(void *p, size_t size) { (void)munlock(p, size); }

/* The address of a thread-local byte: unique among live threads, at least 2-aligned
 * because the variable is an int. */
static _Thread_local int exa_thread_token_anchor;

uintptr_t _exa_os_thread_token(void) { return (uintptr_t)&exa_thread_token_anchor; }

uint64_t _exa_os_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void _exa_os_yield(void) { sched_yield(); }

/* The membarrier commands are enumerators, not macros: test for the system call instead. */
int _exa_os_process_barrier_init(void) {
#if defined(__linux__) && defined(SYS_membarrier)
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return 0;
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) return 0;
    return 1;
#else
    return 0;
#endif
}

void _exa_os_process_barrier(void) {
#if defined(__linux__) && defined(SYS_membarrier)
    (void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
#endif
}

static pthread_key_t exa_exit_key;
static pthread_once_t exa_exit_once = PTHREAD_ONCE_INIT;
static exa_atomic(uintptr_t) exa_exit_fn; /* void (*)(void *) */

static void exa_exit_trampoline(void *value) {
    void (*fn)(void *) = (void (*)(void *))exa_atomic_load_acquire(&exa_exit_fn);
    if (value != NULL && fn != NULL) fn(value);
}

static void exa_exit_key_create(void) { (void)pthread_key_create(&exa_exit_key, exa_exit_trampoline); }

int _exa_os_at_thread_exit(void (*fn)(void *), void *value) {
    pthread_once(&exa_exit_once, exa_exit_key_create);
    /* One hook in the whole library (the thread-cache teardown): every caller passes the same
     * function, so the store is idempotent. */
    exa_atomic_store_release(&exa_exit_fn, (uintptr_t)fn);
    return pthread_setspecific(exa_exit_key, value);
}

void _exa_os_write_stderr(const char *text, size_t length) {
    while (length > 0) {
        ssize_t n = write(STDERR_FILENO, text, length);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;
        }
        text += n;
        length -= (size_t)n;
    }
}

_Noreturn void _exa_os_abort(void) { abort(); }

uint64_t _exa_os_physical_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES);
    long size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0) return 0;
    return (uint64_t)pages * (uint64_t)size;
}
