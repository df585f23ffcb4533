/* exalloc - native core
 * base/platform/posix.c: the OS contract (base/platform.h) for Linux and other POSIX hosts.
 * Compiled only through src/platform.c. */
#define _GNU_SOURCE 1
#include "base/platform.h"
#include "base/atomic.h"
#include "base/arch.h"
#include "base/debug.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#  include <sys/auxv.h>
#  include <linux/membarrier.h>
#  include <sys/syscall.h>
#  include <ucontext.h>
#endif

/* Threads may ask for the first time together: the cache is an atomic word (relaxed: every
 * thread computes the same value, so whichever store lands is right). */
size_t _exa_os_page_size(void) {
    static exa_atomic(size_t) cached;
    size_t v = exa_atomic_load_relaxed(&cached);
    if (v == 0) {
        long r = sysconf(_SC_PAGESIZE);
        v = r > 0 ? (size_t)r : 4096u;
        exa_atomic_store_relaxed(&cached, v);
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
static exa_thread_local int exa_thread_token_anchor;

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

/* One pthread key per slot; the key's destructor calls the slot's function. */
static pthread_key_t exa_exit_key[EXA_OS_THREAD_EXIT_SLOTS];
static pthread_once_t exa_exit_once = PTHREAD_ONCE_INIT;
static exa_atomic(uintptr_t) exa_exit_fn[EXA_OS_THREAD_EXIT_SLOTS]; /* void (*)(void *) */

static void exa_exit_call(uint32_t slot, void *value) {
    void (*fn)(void *) = (void (*)(void *))exa_atomic_load_acquire(&exa_exit_fn[slot]);
    if (value != NULL && fn != NULL) fn(value);
}
static void exa_exit_trampoline0(void *value) { exa_exit_call(0, value); }
static void exa_exit_trampoline1(void *value) { exa_exit_call(1, value); }
static void exa_exit_trampoline2(void *value) { exa_exit_call(2, value); }
_Static_assert(EXA_OS_THREAD_EXIT_SLOTS == 3, "one trampoline per slot");

static void exa_exit_key_create(void) {
    (void)pthread_key_create(&exa_exit_key[0], exa_exit_trampoline0);
    (void)pthread_key_create(&exa_exit_key[1], exa_exit_trampoline1);
    (void)pthread_key_create(&exa_exit_key[2], exa_exit_trampoline2);
}

int _exa_os_at_thread_exit_slot(uint32_t slot, void (*fn)(void *), void *value) {
    if (slot >= EXA_OS_THREAD_EXIT_SLOTS) return EINVAL;
    pthread_once(&exa_exit_once, exa_exit_key_create);
    /* One client per slot, always with the same function: the store is idempotent. */
    exa_atomic_store_release(&exa_exit_fn[slot], (uintptr_t)fn);
    return pthread_setspecific(exa_exit_key[slot], value);
}

int _exa_os_at_thread_exit(void (*fn)(void *), void *value) { return _exa_os_at_thread_exit_slot(0, fn, value); }

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

/* ---------------------------------------------------------------------------------------
 * Pool page source
 * ------------------------------------------------------------------------------------- */

void *_exa_os_pages_map(size_t size, size_t align, int executable, int *why) {
    int prot = PROT_READ | PROT_WRITE | (executable ? PROT_EXEC : 0);
    size_t page = _exa_os_page_size();
    if (why != NULL) *why = EXA_OS_MAP_NO_MEMORY;
    if (align < page) align = page;
    if (size > SIZE_MAX - align) return NULL;
    /* Over-map by the alignment and trim both ends (mmap only promises host-page alignment). */
    size_t span = align > page ? size + align : size;
    char *raw = mmap(NULL, span, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        /* SELinux execmem, PaX MPROTECT and noexec policies answer EACCES or EPERM; ENOMEM
         * (address space, RLIMIT_AS, overcommit) says nothing about executable memory. */
        if (why != NULL && executable && (errno == EACCES || errno == EPERM)) *why = EXA_OS_MAP_EXEC_REFUSED;
        return NULL;
    }
    if (span == size) return raw;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)raw, tail = span - head - size;
    if (head != 0) munmap(raw, head);
    if (tail != 0) munmap((char *)start + size, tail);
    return (void *)start;
}

void _exa_os_pages_unmap(void *p, size_t size) {
    if (p != NULL) munmap(p, size);
}

int _exa_os_pages_cold(void *p, size_t size) {
#if defined(MADV_COLD)
    size_t page = _exa_os_page_size();
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)p + size) & ~(uintptr_t)(page - 1);
    if (end <= start) return 0; /* no whole host page inside */
    return madvise((void *)start, end - start, MADV_COLD) == 0;
#else
    (void)p, (void)size;
    return 0;
#endif
}

/* "0", "0-3", "0,2-5": the highest node number + 1. */
static uint32_t exa_parse_node_list(const char *text) {
    uint32_t highest = 0, value = 0;
    int have = 0;
    for (const char *c = text;; c++) {
        if (*c >= '0' && *c <= '9') {
            value = value * 10 + (uint32_t)(*c - '0');
            have = 1;
        } else {
            if (have && value + 1 > highest) highest = value + 1;
            value = 0;
            have = 0;
            if (*c == 0 || *c == '\n') break;
        }
    }
    return highest;
}

uint32_t _exa_os_numa_node_count(void) {
    static exa_atomic(uint32_t) cached;
    uint32_t n = exa_atomic_load_relaxed(&cached);
    if (n != 0) return n;
    n = 1;
#if defined(__linux__)
    int fd = open("/sys/devices/system/node/possible", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[256];
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r > 0) {
            buf[r] = 0;
            uint32_t parsed = exa_parse_node_list(buf);
            if (parsed > 0) n = parsed;
        }
    }
#endif
    exa_atomic_store_relaxed(&cached, n);
    return n;
}

uint32_t _exa_os_current_node(void) {
#if defined(__linux__) && defined(SYS_getcpu)
    unsigned cpu = 0, node = 0;
    if (syscall(SYS_getcpu, &cpu, &node, NULL) == 0) return node;
#endif
    return 0;
}

int _exa_os_pages_bind_node(void *p, size_t size, uint32_t node) {
#if defined(__linux__) && defined(SYS_mbind)
    enum { EXA_MPOL_BIND = 2, EXA_MASK_BITS = 1024 };
    if (node >= EXA_MASK_BITS) return EINVAL;
    unsigned long mask[EXA_MASK_BITS / (8 * sizeof(unsigned long))];
    memset(mask, 0, sizeof mask);
    mask[node / (8 * sizeof(unsigned long))] = 1ul << (node % (8 * sizeof(unsigned long)));
    if (syscall(SYS_mbind, p, size, EXA_MPOL_BIND, mask, (unsigned long)EXA_MASK_BITS + 1, 0ul) == 0) return 0;
    return errno;
#else
    (void)p, (void)size, (void)node;
    return ENOSYS;
#endif
}

/* ===================================================================================
 * Diagnostics: files, shared memory, a helper thread, backtraces (diag.c, publish.c)
 * ======================================================================================== */
#include <dlfcn.h>
/* glibc's backtrace(). musl has none (no <execinfo.h>): there the frame-pointer chain is
 * walked instead, inside the thread's stack (below). */
#if defined(__has_include)
#  if __has_include(<execinfo.h>)
#    include <execinfo.h>
#    define EXA_OS_HAVE_BACKTRACE 1
#  endif
#endif
#if !defined(EXA_OS_HAVE_BACKTRACE) && defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#  define EXA_OS_FRAME_WALK 1
#endif
#include <stdio.h>
#include <sys/stat.h>

uint32_t _exa_os_pid(void) { return (uint32_t)getpid(); }

/* -1: as the process is; 0 or 1: the debug tier's test override. */
static exa_atomic(int) exa_os_secure_forced = -1;

static int exa_os_secure_real(void) {
#if defined(__linux__)
    return getauxval(AT_SECURE) != 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || defined(__DragonFly__)
    return issetugid() != 0;
#else
    return getuid() != geteuid() || getgid() != getegid();
#endif
}

int _exa_os_secure_execution(void) {
    int forced = exa_atomic_load_relaxed(&exa_os_secure_forced);
    return forced >= 0 ? forced : exa_os_secure_real();
}

const char *_exa_os_getenv(const char *name) {
    if (_exa_os_secure_execution()) return NULL;
#if defined(__GLIBC__)
    return secure_getenv(name);  /* the C library's own rule, the same answer */
#else
    return getenv(name);
#endif
}

#if EXA_DEBUG
int _exa_debug_os_secure(int forced) {
    return exa_atomic_exchange_acq_rel(&exa_os_secure_forced, forced < 0 ? -1 : forced != 0);
}
const char *_exa_debug_os_getenv(const char *name) { return _exa_os_getenv(name); }
#endif

static exa_atomic(uint32_t) exa_os_temp_serial;

int _exa_os_file_open(exa_os_file_t *f, const char *path) {
    f->fd = -1;
    f->path[0] = f->temp[0] = 0;
    if (path == NULL || strcmp(path, "-") == 0) {
        f->fd = STDERR_FILENO;
        return 0;
    }
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof f->path) return -1;
    memcpy(f->path, path, n + 1);
    /* A fresh name in the same directory (rename stays on one file system). O_EXCL refuses
     * any existing name, a symbolic link included; a name someone planted is skipped. */
    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t serial = exa_atomic_fetch_add_relaxed(&exa_os_temp_serial, 1u);
        snprintf(f->temp, sizeof f->temp, "%s.exalloc-%u-%u.tmp", path, (unsigned)getpid(), (unsigned)serial);
        f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f->fd >= 0) return 0;
        if (errno != EEXIST) break;
    }
    f->path[0] = f->temp[0] = 0;
    return -1;
}

void _exa_os_file_write(int fd, const char *text, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, text, length);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;
        }
        text += n;
        length -= (size_t)n;
    }
}

int _exa_os_file_close(exa_os_file_t *f) {
    int fd = f->fd, ok = 1;
    f->fd = -1;
    if (fd < 0) return -1;
    if (f->temp[0] == 0) return 0;  /* stderr */
    ok = close(fd) == 0;
    /* rename replaces the name `path`, a symbolic link there included, and never writes into
     * the file it named. */
    if (ok) ok = rename(f->temp, f->path) == 0;
    if (!ok) unlink(f->temp);
    f->path[0] = f->temp[0] = 0;
    return ok ? 0 : -1;
}

int _exa_os_at_exit(void (*fn)(void)) { return atexit(fn); }

int _exa_os_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    return pthread_atfork(prepare, parent, child);
}

void _exa_os_shm_detach(void *p, size_t size) {
    if (p != NULL) munmap(p, size);
}

/* lstat without glibc 2.33's symbol (base/arch_glibc.h): the system call itself on Linux,
 * whose struct stat is the C library's on 64-bit targets. */
static int exa_os_lstat(const char *path, struct stat *st) {
#if defined(__linux__) && defined(SYS_newfstatat)
    return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
#else
    return lstat(path, st);
#endif
}

static void exa_shm_path(const char *name, char *path, size_t cap) {
    snprintf(path, cap, "/dev/shm%s%s", name[0] == '/' ? "" : "/", name);
}

void _exa_os_shm_where(const char *name, char *buf, size_t cap) {
    if (cap > 0) exa_shm_path(name, buf, cap);
}

void *_exa_os_shm_create(const char *name, size_t size, uint32_t mode, int *why, uint32_t *owner) {
    char path[256];
    exa_shm_path(name, path, sizeof path);
    *why = EXA_OS_SHM_FAILED;
    *owner = 0;
    int fd = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) break;
        struct stat st;
        if (exa_os_lstat(path, &st) != 0) continue;  /* gone meanwhile: try again */
        if (attempt > 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
            *why = EXA_OS_SHM_TAKEN;
            *owner = (uint32_t)st.st_uid;
            return NULL;
        }
        (void)unlink(path);  /* our own user's stale view (sticky /dev/shm: nobody else's) */
    }
    if (fd < 0) return NULL;
    if (fchmod(fd, (mode_t)mode) != 0 || ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        unlink(path);
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        unlink(path);
        return NULL;
    }
    return p;
}

void _exa_os_shm_unlink(const char *name, void *p, size_t size) {
    char path[256];
    exa_shm_path(name, path, sizeof path);
    if (p != NULL) munmap(p, size);
    unlink(path);
}

typedef struct exa_os_thread_start_s {
    void (*fn)(void *);
    void *arg;
} exa_os_thread_start_t;

static void *exa_os_thread_main(void *raw) {
    exa_os_thread_start_t start = *(exa_os_thread_start_t *)raw;
    free(raw);
    start.fn(start.arg);
    return NULL;
}

int _exa_os_thread_start(void (*fn)(void *), void *arg, uintptr_t *handle) {
    exa_os_thread_start_t *start = malloc(sizeof *start);
    if (start == NULL) return ENOMEM;
    start->fn = fn;
    start->arg = arg;
    pthread_t t;
    int err = pthread_create(&t, NULL, exa_os_thread_main, start);
    if (err != 0) {
        free(start);
        return err;
    }
    *handle = (uintptr_t)t;
    return 0;
}

void _exa_os_thread_join(uintptr_t handle) { pthread_join((pthread_t)handle, NULL); }

void _exa_os_sleep_ms(uint32_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

#if defined(EXA_OS_FRAME_WALK)
/* The calling thread's stack, [lo, hi), asked once per thread (musl's answer for the main
 * thread probes the mapping, so it is kept). */
static _Thread_local uintptr_t exa_os_stack_lo, exa_os_stack_hi;

static int exa_os_stack_bounds(void) {
    if (exa_os_stack_hi != 0) return 1;
    pthread_attr_t attr;
    void *base;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
    int ok = pthread_attr_getstack(&attr, &base, &size) == 0;
    pthread_attr_destroy(&attr);
    if (!ok || size < 2 * sizeof(uintptr_t)) return 0;
    exa_os_stack_lo = (uintptr_t)base;
    exa_os_stack_hi = (uintptr_t)base + size;
    return 1;
}
#endif

int _exa_os_backtrace(void **frames, int max) {
#if defined(EXA_OS_HAVE_BACKTRACE)
    return backtrace(frames, max);
#elif defined(EXA_OS_FRAME_WALK)
    /* x86-64 and AArch64 keep the same frame record: the caller's frame pointer, then the
     * return address. Frames of code built without frame pointers are skipped or wrong, never
     * read outside the stack: each record must lie inside the thread's stack, above the one
     * before (the stack grows down). The first entry is in this function, as backtrace()'s. */
    if (max <= 0 || !exa_os_stack_bounds()) return 0;
    int n = 0;
    frames[n++] = (void *)(uintptr_t)_exa_os_backtrace;
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    while (n < max && fp >= exa_os_stack_lo && fp <= exa_os_stack_hi - 2 * sizeof(uintptr_t) &&
           fp % sizeof(uintptr_t) == 0) {
        const uintptr_t *record = (const uintptr_t *)fp;
        if (record[1] == 0) break;
        frames[n++] = (void *)record[1];
        if (record[0] <= fp) break;
        fp = record[0];
    }
    return n;
#else
    (void)frames, (void)max;
    return 0;
#endif
}

int _exa_os_symbolize(const void *address, char *buf, size_t capacity) {
    Dl_info info;
    if (capacity == 0 || dladdr(address, &info) == 0) return 0;
    const char *module = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
    module = module ? module + 1 : (info.dli_fname ? info.dli_fname : "?");
    if (info.dli_sname != NULL)
        snprintf(buf, capacity, "%s+0x%zx (%s)", info.dli_sname, (size_t)((const char *)address - (const char *)info.dli_saddr),
                 module);
    else
        snprintf(buf, capacity, "%s+0x%zx", module, (size_t)((const char *)address - (const char *)info.dli_fbase));
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Guard pages and the access-fault handler (special pool)
 * ------------------------------------------------------------------------------------- */

void *_exa_os_pages_reserve(size_t size) {
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int _exa_os_pages_protect(void *p, size_t size, int access) {
    int prot = access == EXA_OS_ACCESS_READ_WRITE ? PROT_READ | PROT_WRITE : PROT_NONE;
    return mprotect(p, size, prot) == 0 ? 0 : errno;
}

static int (*exa_os_fault_fn)(void *address, int write);
static struct sigaction exa_os_old_segv, exa_os_old_bus;
static pthread_once_t exa_os_fault_once = PTHREAD_ONCE_INIT;
static int exa_os_fault_error;

static void exa_os_fault_chain(int sig, siginfo_t *info, void *uc) {
    struct sigaction *old = sig == SIGBUS ? &exa_os_old_bus : &exa_os_old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction != NULL) {
            old->sa_sigaction(sig, info, uc);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN && old->sa_handler != NULL) {
        old->sa_handler(sig);
        return;
    }
    /* Default action: restore it and return; the faulting instruction faults again. */
    sigaction(sig, old, NULL);
}

/* The direction of the faulting access from the fault record the kernel saved in the signal
 * frame: 1 write, 0 read, -1 when the record does not say.
 *   x86-64 Linux: the page-fault error code (REG_ERR), bit 1 set for a write.
 *   AArch64 Linux: the exception syndrome (ESR_EL1), which the kernel appends to the frame's
 *   __reserved area as an esr_context record (a {magic, size} header, then the 64-bit
 *   syndrome). For a data abort (exception class 0x24 from user mode, 0x25 from the same
 *   level) bit 6, WnR, is set for a write; a cache-maintenance abort (bit 8, CM) reports
 *   WnR = 1 for what is a read of the line, so it counts as a read. The records end with a
 *   zero magic; the layout is the kernel's ABI (the arm64 uapi header sigcontext.h),
 *   restated here because that header collides with the C library's ucontext types. */
static int exa_os_fault_is_write(void *uc) {
    if (uc == NULL) return -1;
#if defined(__linux__) && defined(__x86_64__) && defined(REG_ERR)
    return (((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#elif defined(__linux__) && defined(__aarch64__)
    enum { EXA_ESR_MAGIC = 0x45535201u };
    const unsigned char *rec = (const unsigned char *)((ucontext_t *)uc)->uc_mcontext.__reserved;
    const unsigned char *end = rec + sizeof(((ucontext_t *)uc)->uc_mcontext.__reserved);
    while (rec + 8 <= end) {
        uint32_t magic, size;
        memcpy(&magic, rec, sizeof magic);
        memcpy(&size, rec + 4, sizeof size);
        if (magic == 0 || size < 8 || size > (size_t)(end - rec)) break;
        if (magic == EXA_ESR_MAGIC && size >= 16) {
            uint64_t esr;
            memcpy(&esr, rec + 8, sizeof esr);
            uint64_t ec = esr >> 26 & 0x3F;
            if (ec != 0x24 && ec != 0x25) return -1; /* not a data abort */
            if (esr & (1u << 8)) return 0;           /* CM: cache maintenance, a read */
            return (esr & (1u << 6)) != 0;           /* WnR */
        }
        rec += size;
    }
    return -1;
#else
    return -1;
#endif
}

static void exa_os_fault_handler(int sig, siginfo_t *info, void *uc) {
    int write = exa_os_fault_is_write(uc);
    int (*fn)(void *, int) = exa_os_fault_fn;
    if (fn != NULL && info != NULL && fn(info->si_addr, write)) return;
    exa_os_fault_chain(sig, info, uc);
}

static void exa_os_fault_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = exa_os_fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &exa_os_old_segv) != 0 || sigaction(SIGBUS, &sa, &exa_os_old_bus) != 0)
        exa_os_fault_error = errno;
}

int _exa_os_install_fault_handler(int (*fn)(void *address, int write)) {
    exa_os_fault_fn = fn;
    pthread_once(&exa_os_fault_once, exa_os_fault_install);
    return exa_os_fault_error;
}
