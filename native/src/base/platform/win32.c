/* exalloc - native core
 * base/platform/win32.c: the OS contract (base/platform.h) on Win32 (Windows 8 and later,
 * x86-64; built with clang for x86_64-w64-mingw32, linked against msvcrt). Compiled only
 * through base/platform.c. The rules this layer applies where Windows differs from POSIX
 * (environment, file permissions, fork, the live view's name) are in
 * docs/diagnostics.md#windows. */
#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN 1
#endif
#include "base/platform.h"
#include "base/atomic.h"
#include "base/arch.h"
#include "base/debug.h"

#include <windows.h>
#include <errno.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ERROR_DYNAMIC_CODE_BLOCKED
#  define ERROR_DYNAMIC_CODE_BLOCKED 1655L
#endif

/* A Win32 error as the contract's errno-style number. */
static int exa_win_errno(DWORD e) {
    switch (e) {
    case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: case ERROR_COMMITMENT_LIMIT:
    case ERROR_WORKING_SET_QUOTA: case ERROR_NO_SYSTEM_RESOURCES:
        return ENOMEM;
    case ERROR_ACCESS_DENIED: case ERROR_PRIVILEGE_NOT_HELD: case ERROR_DYNAMIC_CODE_BLOCKED:
        return EPERM;
    case ERROR_NOT_SUPPORTED: case ERROR_CALL_NOT_IMPLEMENTED:
        return ENOSYS;
    case ERROR_FILE_EXISTS: case ERROR_ALREADY_EXISTS:
        return EEXIST;
    default:
        return EINVAL;
    }
}

/* One of GetSystemInfo's sizes, read once into *cached (fallback when the host reports 0). */
static size_t exa_system_size(exa_atomic(size_t) *cached, int granularity) {
    size_t v = exa_atomic_load_relaxed(cached);
    if (v == 0) {
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        v = granularity ? (size_t)si.dwAllocationGranularity : (size_t)si.dwPageSize;
        if (v == 0) v = granularity ? 65536u : 4096u;
        exa_atomic_store_relaxed(cached, v);
    }
    return v;
}

size_t _exa_os_page_size(void) {
    static exa_atomic(size_t) cached;
    return exa_system_size(&cached, 0);
}

/* The granularity of VirtualAlloc's base addresses (64 KiB on every Windows so far). */
static size_t exa_alloc_granularity(void) {
    static exa_atomic(size_t) cached;
    return exa_system_size(&cached, 1);
}

void *_exa_os_alloc_aligned(size_t size, size_t align) { return _aligned_malloc(size == 0 ? 1 : size, align); }

void _exa_os_free_aligned(void *p) { _aligned_free(p); }

void *_exa_os_pages_alloc(size_t size) { return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE); }

void _exa_os_pages_free(void *p, size_t size) {
    (void)size;
    if (p != NULL) VirtualFree(p, 0, MEM_RELEASE);
}

/* VirtualLock counts against the process's minimum working set (a few hundred KiB by
 * default), Windows' counterpart of RLIMIT_MEMLOCK. On that refusal the working set is
 * grown by the request once and the lock retried; a refusal after that is the answer. */
int _exa_os_pages_lock(void *p, size_t size) {
    if (VirtualLock(p, size)) return 0;
    DWORD e = GetLastError();
    if (e == ERROR_WORKING_SET_QUOTA) {
        SIZE_T lo = 0, hi = 0;
        HANDLE self = GetCurrentProcess();
        if (GetProcessWorkingSetSize(self, &lo, &hi) && lo <= SIZE_MAX - size && hi <= SIZE_MAX - size &&
            SetProcessWorkingSetSize(self, lo + size, hi + size)) {
            if (VirtualLock(p, size)) return 0;
            e = GetLastError();
        }
    }
    return exa_win_errno(e);
}

void _exa_os_pages_unlock(void *p, size_t size) { (void)VirtualUnlock(p, size); }

static exa_thread_local int exa_thread_token_anchor;

uintptr_t _exa_os_thread_token(void) { return (uintptr_t)&exa_thread_token_anchor; }

uint64_t _exa_os_now_ns(void) {
    static exa_atomic(uint64_t) freq_cached;
    uint64_t f = exa_atomic_load_relaxed(&freq_cached);
    if (f == 0) {
        LARGE_INTEGER q;
        f = QueryPerformanceFrequency(&q) && q.QuadPart > 0 ? (uint64_t)q.QuadPart : 1000000000u;
        exa_atomic_store_relaxed(&freq_cached, f);
    }
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    uint64_t t = (uint64_t)c.QuadPart;
    return t / f * 1000000000u + t % f * 1000000000u / f;  /* no overflow for f < 2^34 */
}

void _exa_os_yield(void) {
    if (!SwitchToThread()) Sleep(0);
}

/* FlushProcessWriteBuffers interrupts every processor running a thread of the process, the
 * same guarantee as Linux membarrier. Wine 8 implements it as a no-op (later versions do
 * implement it), so under Wine the core is told to use symmetric fences instead. */
int _exa_os_process_barrier_init(void) {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL) return 0;
    return 1;
}

void _exa_os_process_barrier(void) { FlushProcessWriteBuffers(); }

/* One fiber-local slot per client, allocated with a callback: Windows calls it on thread exit
 * with the slot's value when that is not NULL (and before the thread's TLS goes away). */
static DWORD exa_exit_fls[EXA_OS_THREAD_EXIT_SLOTS];
static INIT_ONCE exa_exit_once = INIT_ONCE_STATIC_INIT;
static exa_atomic(uintptr_t) exa_exit_fn[EXA_OS_THREAD_EXIT_SLOTS]; /* void (*)(void *) */

static void exa_exit_call(uint32_t slot, void *value) {
    void (*fn)(void *) = (void (*)(void *))exa_atomic_load_acquire(&exa_exit_fn[slot]);
    if (value != NULL && fn != NULL) fn(value);
}
static void WINAPI exa_exit_trampoline0(void *value) { exa_exit_call(0, value); }
static void WINAPI exa_exit_trampoline1(void *value) { exa_exit_call(1, value); }
static void WINAPI exa_exit_trampoline2(void *value) { exa_exit_call(2, value); }
_Static_assert(EXA_OS_THREAD_EXIT_SLOTS == 3, "one trampoline per slot");

static BOOL CALLBACK exa_exit_slots_create(INIT_ONCE *once, void *param, void **context) {
    (void)once, (void)param, (void)context;
    exa_exit_fls[0] = FlsAlloc(exa_exit_trampoline0);
    exa_exit_fls[1] = FlsAlloc(exa_exit_trampoline1);
    exa_exit_fls[2] = FlsAlloc(exa_exit_trampoline2);
    return TRUE;
}

int _exa_os_at_thread_exit_slot(uint32_t slot, void (*fn)(void *), void *value) {
    if (slot >= EXA_OS_THREAD_EXIT_SLOTS) return EINVAL;
    InitOnceExecuteOnce(&exa_exit_once, exa_exit_slots_create, NULL, NULL);
    if (exa_exit_fls[slot] == FLS_OUT_OF_INDEXES) return EAGAIN;
    exa_atomic_store_release(&exa_exit_fn[slot], (uintptr_t)fn);
    return FlsSetValue(exa_exit_fls[slot], value) ? 0 : exa_win_errno(GetLastError());
}

int _exa_os_at_thread_exit(void (*fn)(void *), void *value) { return _exa_os_at_thread_exit_slot(0, fn, value); }

static void exa_write_handle(HANDLE h, const char *text, size_t length) {
    if (h == NULL || h == INVALID_HANDLE_VALUE) return;
    while (length > 0) {
        DWORD chunk = length > 0x40000000u ? 0x40000000u : (DWORD)length, n = 0;
        if (!WriteFile(h, text, chunk, &n, NULL) || n == 0) return;
        text += n;
        length -= n;
    }
}

void _exa_os_write_stderr(const char *text, size_t length) { exa_write_handle(GetStdHandle(STD_ERROR_HANDLE), text, length); }

/* The C runtime's abort: SIGABRT's handler if one is installed, then exit code 3. */
_Noreturn void _exa_os_abort(void) { abort(); }

uint64_t _exa_os_physical_memory(void) {
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    return GlobalMemoryStatusEx(&ms) ? (uint64_t)ms.ullTotalPhys : 0;
}

/* ---------------------------------------------------------------------------------------
 * Pool page source
 * ------------------------------------------------------------------------------------- */

/* VirtualAlloc returns allocation-granularity (64 KiB) aligned regions. A larger alignment:
 * reserve size + align to find an aligned address, release that, and take exactly the
 * aligned range; another thread can take the address in between, hence the retries. */
void *_exa_os_pages_map(size_t size, size_t align, int executable, int *why) {
    DWORD prot = executable ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    if (why != NULL) *why = EXA_OS_MAP_NO_MEMORY;
    if (size > SIZE_MAX - align) return NULL;
    void *p = NULL;
    if (align <= exa_alloc_granularity()) {
        p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, prot);
    } else {
        for (int attempt = 0; attempt < 16 && p == NULL; attempt++) {
            char *probe = VirtualAlloc(NULL, size + align, MEM_RESERVE, PAGE_NOACCESS);
            if (probe == NULL) break;
            uintptr_t start = ((uintptr_t)probe + align - 1) & ~(uintptr_t)(align - 1);
            VirtualFree(probe, 0, MEM_RELEASE);
            p = VirtualAlloc((void *)start, size, MEM_RESERVE | MEM_COMMIT, prot);
            if (p == NULL && GetLastError() != ERROR_INVALID_ADDRESS) break;
        }
    }
    if (p == NULL && why != NULL && executable) {
        /* Arbitrary code guard (ProcessDynamicCodePolicy) refuses executable memory as such. */
        DWORD e = GetLastError();
        if (e == ERROR_DYNAMIC_CODE_BLOCKED || e == ERROR_ACCESS_DENIED) *why = EXA_OS_MAP_EXEC_REFUSED;
    }
    return p;
}

void _exa_os_pages_unmap(void *p, size_t size) {
    (void)size;  /* every caller unmaps what one map or reserve returned */
    if (p != NULL) VirtualFree(p, 0, MEM_RELEASE);
}

/* VirtualUnlock on pages that are not locked takes them out of the working set (they go to
 * the standby list, contents kept): the closest Windows has to MADV_COLD. It answers
 * ERROR_NOT_LOCKED then. The pool asks only for pageable (never locked) pages. */
int _exa_os_pages_cold(void *p, size_t size) {
    if (VirtualUnlock(p, size)) return 1;
    return GetLastError() == ERROR_NOT_LOCKED;
}

uint32_t _exa_os_numa_node_count(void) {
    static exa_atomic(uint32_t) cached;
    uint32_t n = exa_atomic_load_relaxed(&cached);
    if (n != 0) return n;
    ULONG highest = 0;
    n = GetNumaHighestNodeNumber(&highest) ? (uint32_t)highest + 1u : 1u;
    exa_atomic_store_relaxed(&cached, n);
    return n;
}

uint32_t _exa_os_current_node(void) {
    PROCESSOR_NUMBER pn;
    USHORT node = 0;
    GetCurrentProcessorNumberEx(&pn);
    if (!GetNumaProcessorNodeEx(&pn, &node) || node == 0xFFFFu) return 0;
    return node;
}

/* Windows chooses a page's node when the page is committed (VirtualAllocExNuma's preferred
 * node). The pages are not touched yet, so decommit them and commit them again for `node`
 * with the protection they had; when that is refused they are committed again plainly, so
 * the range stays usable whatever the answer. */
int _exa_os_pages_bind_node(void *p, size_t size, uint32_t node) {
    if (node >= _exa_os_numa_node_count()) return EINVAL;
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(p, &mbi, sizeof mbi) == 0 || mbi.State != MEM_COMMIT) return EINVAL;
    DWORD prot = mbi.Protect;
    if (!VirtualFree(p, size, MEM_DECOMMIT)) return exa_win_errno(GetLastError());
    if (VirtualAllocExNuma(GetCurrentProcess(), p, size, MEM_COMMIT, prot, (DWORD)node) != NULL) return 0;
    int err = exa_win_errno(GetLastError());
    if (VirtualAlloc(p, size, MEM_COMMIT, prot) == NULL) return ENOMEM;
    return err;
}

/* ===================================================================================
 * Diagnostics: files, shared memory, a helper thread, backtraces (diag.c, publish.c)
 * ======================================================================================== */

uint32_t _exa_os_pid(void) { return (uint32_t)GetCurrentProcessId(); }

/* -1: as the process is; 0 or 1: the debug tier's test override. */
static exa_atomic(int) exa_os_secure_forced = -1;

/* Windows has no setuid or setgid programs: a process runs with its creator's token (or one
 * the creator holds credentials for), and its environment comes from that creator. So no
 * process is a secure-execution one here and the environment is read plainly. */
int _exa_os_secure_execution(void) {
    int forced = exa_atomic_load_relaxed(&exa_os_secure_forced);
    return forced >= 0 ? forced : 0;
}

/* Values are read with GetEnvironmentVariableW (the process's environment block, which the C
 * runtime's _putenv also updates) and returned as UTF-8 from a per-name cache: a returned
 * pointer stays valid for the life of the process, as the contract's callers assume. A value
 * that changes gets a new copy; the old one is kept, since another thread may still read it. */
enum { EXA_ENV_NAMES = 32, EXA_ENV_NAME_MAX = 48, EXA_ENV_VALUE_MAX = 4096 };
typedef struct exa_env_entry_s {
    char name[EXA_ENV_NAME_MAX];
    char *value;
} exa_env_entry_t;
static exa_env_entry_t exa_env_cache[EXA_ENV_NAMES];
static SRWLOCK exa_env_lock = SRWLOCK_INIT;

static const char *exa_env_read(const char *name) {
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen >= EXA_ENV_NAME_MAX) return NULL;
    WCHAR wname[EXA_ENV_NAME_MAX];
    if (MultiByteToWideChar(CP_UTF8, 0, name, -1, wname, EXA_ENV_NAME_MAX) == 0) return NULL;
    WCHAR *wvalue = malloc(EXA_ENV_VALUE_MAX * sizeof(WCHAR));
    char *value = malloc(EXA_ENV_VALUE_MAX * 3);
    if (wvalue == NULL || value == NULL) {
        free(wvalue);
        free(value);
        return NULL;
    }
    const char *out = NULL;
    SetLastError(0);
    DWORD n = GetEnvironmentVariableW(wname, wvalue, EXA_ENV_VALUE_MAX);
    if ((n == 0 && GetLastError() == ERROR_ENVVAR_NOT_FOUND) || n >= EXA_ENV_VALUE_MAX) goto done;
    int m = n == 0 ? 0 : WideCharToMultiByte(CP_UTF8, 0, wvalue, (int)n, value, EXA_ENV_VALUE_MAX * 3 - 1, NULL, NULL);
    if (n != 0 && m == 0) goto done;
    value[m] = 0;
    AcquireSRWLockExclusive(&exa_env_lock);
    exa_env_entry_t *slot = NULL;
    for (int i = 0; i < EXA_ENV_NAMES; i++) {
        exa_env_entry_t *e = &exa_env_cache[i];
        if (e->name[0] == 0) {
            if (slot == NULL) slot = e;
            continue;
        }
        if (strcmp(e->name, name) == 0) {
            slot = e;
            break;
        }
    }
    if (slot != NULL) {
        if (slot->value != NULL && strcmp(slot->value, value) == 0) {
            out = slot->value;
        } else {
            char *copy = malloc((size_t)m + 1);
            if (copy != NULL) {
                memcpy(copy, value, (size_t)m + 1);
                if (slot->name[0] == 0) memcpy(slot->name, name, nlen + 1);
                slot->value = copy;  /* the previous copy stays allocated: see above */
                out = copy;
            }
        }
    }
    ReleaseSRWLockExclusive(&exa_env_lock);
done:
    free(wvalue);
    free(value);
    return out;
}

const char *_exa_os_getenv(const char *name) {
    if (_exa_os_secure_execution()) return NULL;
    return exa_env_read(name);
}

#if EXA_DEBUG
int _exa_debug_os_secure(int forced) {
    return exa_atomic_exchange_acq_rel(&exa_os_secure_forced, forced < 0 ? -1 : forced != 0);
}
const char *_exa_debug_os_getenv(const char *name) { return _exa_os_getenv(name); }
#endif

/* A security descriptor whose DACL (protected: nothing inherited from the directory) grants
 * `mask` to the process's user only, plus `others` (0 for none) to Everyone: the Windows
 * reading of modes 0600 and 0644. Returns 1 and fills *sd (acl and sid point into `buf`). */
typedef struct exa_sd_s {
    SECURITY_DESCRIPTOR sd;
    SECURITY_ATTRIBUTES sa;
    unsigned char user[256];   /* TOKEN_USER and its SID */
    unsigned char world[SECURITY_MAX_SID_SIZE];
    unsigned char acl[512];
} exa_sd_t;

static int exa_sd_user_only(exa_sd_t *s, DWORD mask, DWORD others) {
    HANDLE token = NULL;
    DWORD len = 0;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return 0;
    BOOL ok = GetTokenInformation(token, TokenUser, s->user, sizeof s->user, &len);
    CloseHandle(token);
    if (!ok) return 0;
    PSID sid = ((TOKEN_USER *)(void *)s->user)->User.Sid;
    PACL acl = (PACL)(void *)s->acl;
    if (!InitializeAcl(acl, sizeof s->acl, ACL_REVISION) || !AddAccessAllowedAce(acl, ACL_REVISION, mask, sid)) return 0;
    if (others != 0) {
        DWORD wlen = sizeof s->world;
        if (!CreateWellKnownSid(WinWorldSid, NULL, (PSID)s->world, &wlen) ||
            !AddAccessAllowedAce(acl, ACL_REVISION, others, (PSID)s->world))
            return 0;
    }
    if (!InitializeSecurityDescriptor(&s->sd, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorDacl(&s->sd, TRUE, acl, FALSE) ||
        !SetSecurityDescriptorControl(&s->sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
        return 0;
    s->sa.nLength = sizeof s->sa;
    s->sa.lpSecurityDescriptor = &s->sd;
    s->sa.bInheritHandle = FALSE;
    return 1;
}

static int exa_widen(const char *text, WCHAR *out, int cap) { return MultiByteToWideChar(CP_UTF8, 0, text, -1, out, cap) != 0; }

/* Files: the handle travels in f->fd. Kernel handles are multiples of 4 and fit 32 bits
 * (Windows keeps them so for 32-bit interoperability), so 2 (standard error) and -1 never
 * name a file handle. */
enum { EXA_FD_STDERR = 2 };
static HANDLE exa_fd_handle(int fd) {
    return fd == EXA_FD_STDERR ? GetStdHandle(STD_ERROR_HANDLE) : (HANDLE)(intptr_t)fd;
}

static exa_atomic(uint32_t) exa_os_temp_serial;

/* CREATE_NEW refuses any existing name (a symbolic link or junction included) and
 * FILE_FLAG_OPEN_REPARSE_POINT keeps the open from following one; the file gets the user-only
 * descriptor (mode 0600's reading). MoveFileEx then replaces `path` by name. */
int _exa_os_file_open(exa_os_file_t *f, const char *path) {
    f->fd = -1;
    f->path[0] = f->temp[0] = 0;
    if (path == NULL || strcmp(path, "-") == 0) {
        f->fd = EXA_FD_STDERR;
        return 0;
    }
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof f->path) return -1;
    memcpy(f->path, path, n + 1);
    static exa_sd_t sd;  /* the same user for the whole process */
    static SRWLOCK sd_lock = SRWLOCK_INIT;
    AcquireSRWLockExclusive(&sd_lock);
    int have_sd = sd.sa.nLength != 0 || exa_sd_user_only(&sd, GENERIC_ALL, 0);
    ReleaseSRWLockExclusive(&sd_lock);
    if (!have_sd) {
        f->path[0] = 0;
        return -1;
    }
    WCHAR wtemp[EXA_OS_PATH_MAX + 48];
    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t serial = exa_atomic_fetch_add_relaxed(&exa_os_temp_serial, 1u);
        snprintf(f->temp, sizeof f->temp, "%s.exalloc-%u-%u.tmp", path, (unsigned)GetCurrentProcessId(), (unsigned)serial);
        if (!exa_widen(f->temp, wtemp, (int)(sizeof wtemp / sizeof wtemp[0]))) break;
        HANDLE h = CreateFileW(wtemp, GENERIC_WRITE, FILE_SHARE_READ, &sd.sa, CREATE_NEW,
                               FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            f->fd = (int)(intptr_t)h;
            return 0;
        }
        DWORD e = GetLastError();
        if (e != ERROR_FILE_EXISTS && e != ERROR_ALREADY_EXISTS) break;
    }
    f->path[0] = f->temp[0] = 0;
    return -1;
}

void _exa_os_file_write(int fd, const char *text, size_t length) { exa_write_handle(exa_fd_handle(fd), text, length); }

int _exa_os_file_close(exa_os_file_t *f) {
    int fd = f->fd, ok = 1;
    f->fd = -1;
    if (fd == -1) return -1;
    if (f->temp[0] == 0) return 0;  /* stderr */
    WCHAR wtemp[EXA_OS_PATH_MAX + 48], wpath[EXA_OS_PATH_MAX];
    ok = CloseHandle(exa_fd_handle(fd)) != 0;
    ok = ok && exa_widen(f->temp, wtemp, (int)(sizeof wtemp / sizeof wtemp[0])) &&
         exa_widen(f->path, wpath, (int)(sizeof wpath / sizeof wpath[0]));
    if (ok) ok = MoveFileExW(wtemp, wpath, MOVEFILE_REPLACE_EXISTING) != 0;
    if (!ok && exa_widen(f->temp, wtemp, (int)(sizeof wtemp / sizeof wtemp[0]))) DeleteFileW(wtemp);
    f->path[0] = f->temp[0] = 0;
    return ok ? 0 : -1;
}

int _exa_os_at_exit(void (*fn)(void)) { return atexit(fn); }

/* Windows has no fork: a new process starts from its image, never as a copy of this one, so
 * there is nothing to prepare or repair. */
int _exa_os_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    (void)prepare, (void)parent, (void)child;
    return 0;
}

/* The live view: a pagefile-backed section named Local\exalloc.<pid> (the POSIX name's last
 * component, in the session's namespace), readable by name while this process holds it. The
 * section lives as long as a handle to it does, so an earlier process's view cannot linger
 * under the name unless a reader still holds it open: then, as for any existing section, the
 * name is reported taken (owner unknown: 0). */
enum { EXA_SHM_VIEWS = 4 };
static struct {
    void *view;
    HANDLE section;
} exa_shm_views[EXA_SHM_VIEWS];
static SRWLOCK exa_shm_lock = SRWLOCK_INIT;

static HANDLE exa_shm_take(void *p) {
    HANDLE h = NULL;
    AcquireSRWLockExclusive(&exa_shm_lock);
    for (int i = 0; i < EXA_SHM_VIEWS; i++)
        if (exa_shm_views[i].view == p && p != NULL) {
            h = exa_shm_views[i].section;
            exa_shm_views[i].view = NULL;
            exa_shm_views[i].section = NULL;
            break;
        }
    ReleaseSRWLockExclusive(&exa_shm_lock);
    return h;
}

/* No fork: a process never holds a copy of another's view. Unmapping keeps the name. */
void _exa_os_shm_detach(void *p, size_t size) {
    (void)size;
    if (p != NULL) UnmapViewOfFile(p);
}

void _exa_os_shm_where(const char *name, char *buf, size_t cap) {
    const char *base = strrchr(name, '/');
    if (cap > 0) snprintf(buf, cap, "Local\\%s", base != NULL ? base + 1 : name);
}

void *_exa_os_shm_create(const char *name, size_t size, uint32_t mode, int *why, uint32_t *owner) {
    *why = EXA_OS_SHM_FAILED;
    *owner = 0;
    const char *base = strrchr(name, '/');
    base = base != NULL ? base + 1 : name;
    char local[128];
    WCHAR wname[128];
    if (snprintf(local, sizeof local, "Local\\%s", base) >= (int)sizeof local || !exa_widen(local, wname, 128)) return NULL;
    /* 0600: the user only; 0640 and 0644 add read access for everyone (Windows has no file
     * group to narrow 0640 to, so it is read as 0644). */
    exa_sd_t *sd = malloc(sizeof *sd);
    if (sd == NULL) return NULL;
    memset(sd, 0, sizeof *sd);
    DWORD others = (mode & 0044u) ? (DWORD)(FILE_MAP_READ | SYNCHRONIZE | READ_CONTROL) : 0;
    if (!exa_sd_user_only(sd, SECTION_ALL_ACCESS, others)) {
        free(sd);
        return NULL;
    }
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, &sd->sa, PAGE_READWRITE, (DWORD)((uint64_t)size >> 32),
                                  (DWORD)size, wname);
    DWORD e = GetLastError();
    free(sd);
    if (h == NULL) {
        if (e == ERROR_ACCESS_DENIED) *why = EXA_OS_SHM_TAKEN;  /* another user's section */
        return NULL;
    }
    if (e == ERROR_ALREADY_EXISTS) {
        CloseHandle(h);
        *why = EXA_OS_SHM_TAKEN;
        return NULL;
    }
    void *p = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, size);
    if (p == NULL) {
        CloseHandle(h);
        return NULL;
    }
    int kept = 0;
    AcquireSRWLockExclusive(&exa_shm_lock);
    for (int i = 0; i < EXA_SHM_VIEWS && !kept; i++)
        if (exa_shm_views[i].view == NULL) {
            exa_shm_views[i].view = p;
            exa_shm_views[i].section = h;
            kept = 1;
        }
    ReleaseSRWLockExclusive(&exa_shm_lock);
    if (!kept) {
        UnmapViewOfFile(p);
        CloseHandle(h);
        return NULL;
    }
    return p;  /* a new pagefile section reads as zeroes */
}

void _exa_os_shm_unlink(const char *name, void *p, size_t size) {
    (void)name, (void)size;
    HANDLE h = exa_shm_take(p);
    if (p != NULL) UnmapViewOfFile(p);
    if (h != NULL) CloseHandle(h);  /* the last handle: the name goes with it */
}

typedef struct exa_os_thread_start_s {
    void (*fn)(void *);
    void *arg;
} exa_os_thread_start_t;

static unsigned __stdcall exa_os_thread_main(void *raw) {
    exa_os_thread_start_t start = *(exa_os_thread_start_t *)raw;
    free(raw);
    start.fn(start.arg);
    return 0;
}

int _exa_os_thread_start(void (*fn)(void *), void *arg, uintptr_t *handle) {
    exa_os_thread_start_t *start = malloc(sizeof *start);
    if (start == NULL) return ENOMEM;
    start->fn = fn;
    start->arg = arg;
    uintptr_t h = _beginthreadex(NULL, 0, exa_os_thread_main, start, 0, NULL);
    if (h == 0) {
        int err = errno != 0 ? errno : EAGAIN;
        free(start);
        return err;
    }
    *handle = h;
    return 0;
}

void _exa_os_thread_join(uintptr_t handle) {
    WaitForSingleObject((HANDLE)handle, INFINITE);
    CloseHandle((HANDLE)handle);
}

void _exa_os_sleep_ms(uint32_t ms) { Sleep(ms); }

int _exa_os_backtrace(void **frames, int max) {
    if (max <= 0) return 0;
    return (int)CaptureStackBackTrace(0, (DWORD)(max > 0xFFFF ? 0xFFFF : max), frames, NULL);
}

/* Module and offset only ("exalloc.dll+0x1a2b3"): naming functions would need dbghelp and
 * the library's debug information at run time; the offset resolves offline against the
 * module's map or PDB. */
int _exa_os_symbolize(const void *address, char *buf, size_t capacity) {
    HMODULE module = NULL;
    if (capacity == 0 ||
        !GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCWSTR)address, &module))
        return 0;
    WCHAR wpath[MAX_PATH];
    char path[MAX_PATH * 3];
    DWORD n = GetModuleFileNameW(module, wpath, MAX_PATH);
    if (n == 0 || n >= MAX_PATH || WideCharToMultiByte(CP_UTF8, 0, wpath, -1, path, (int)sizeof path, NULL, NULL) == 0)
        snprintf(path, sizeof path, "?");
    const char *slash = strrchr(path, '\\');
    const char *name = slash != NULL ? slash + 1 : path;
    snprintf(buf, capacity, "%s+0x%llx", name, (unsigned long long)((const char *)address - (const char *)module));
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Guard pages and the access-fault handler (special pool)
 * ------------------------------------------------------------------------------------- */

void *_exa_os_pages_reserve(size_t size) { return VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS); }

/* Read-write commits the pages (a first commit reads as zeroes, a later one keeps the
 * contents); no access keeps them committed, so the contents survive a later read-write as
 * with mprotect. Pages never committed already have no access. */
int _exa_os_pages_protect(void *p, size_t size, int access) {
    DWORD old;
    if (access == EXA_OS_ACCESS_READ_WRITE) {
        if (VirtualAlloc(p, size, MEM_COMMIT, PAGE_READWRITE) == NULL) return exa_win_errno(GetLastError());
        return VirtualProtect(p, size, PAGE_READWRITE, &old) ? 0 : exa_win_errno(GetLastError());
    }
    char *c = p, *end = c + size;
    while (c < end) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery(c, &mbi, sizeof mbi) == 0) return exa_win_errno(GetLastError());
        char *stop = (char *)mbi.BaseAddress + mbi.RegionSize;
        if (stop > end) stop = end;
        if (mbi.State == MEM_COMMIT && !VirtualProtect(c, (size_t)(stop - c), PAGE_NOACCESS, &old))
            return exa_win_errno(GetLastError());
        c = stop;
    }
    return 0;
}

static int (*exa_os_fault_fn)(void *address, int write);
static INIT_ONCE exa_os_fault_once = INIT_ONCE_STATIC_INIT;
static int exa_os_fault_error;

/* A vectored handler runs before any frame-based handler. ExceptionInformation[0] says what
 * the access was (0 read, 1 write, 8 an instruction fetch: reported as unknown) and [1] the
 * address. Faults that are not the special pool's go on to the next handler. */
static LONG CALLBACK exa_os_fault_handler(EXCEPTION_POINTERS *ep) {
    EXCEPTION_RECORD *r = ep != NULL ? ep->ExceptionRecord : NULL;
    if (r == NULL || (r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION && r->ExceptionCode != EXCEPTION_GUARD_PAGE) ||
        r->NumberParameters < 2)
        return EXCEPTION_CONTINUE_SEARCH;
    ULONG_PTR kind = r->ExceptionInformation[0];
    int write = kind == 1 ? 1 : kind == 0 ? 0 : -1;
    int (*fn)(void *, int) = exa_os_fault_fn;
    if (fn != NULL && fn((void *)r->ExceptionInformation[1], write)) return EXCEPTION_CONTINUE_EXECUTION;
    return EXCEPTION_CONTINUE_SEARCH;
}

static BOOL CALLBACK exa_os_fault_install(INIT_ONCE *once, void *param, void **context) {
    (void)once, (void)param, (void)context;
    if (AddVectoredExceptionHandler(1, exa_os_fault_handler) == NULL) exa_os_fault_error = exa_win_errno(GetLastError());
    return TRUE;
}

int _exa_os_install_fault_handler(int (*fn)(void *address, int write)) {
    exa_os_fault_fn = fn;
    InitOnceExecuteOnce(&exa_os_fault_once, exa_os_fault_install, NULL, NULL);
    return exa_os_fault_error;
}
