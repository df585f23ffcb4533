/* exalloc - C tests: the OS functions of test_os.h, for POSIX hosts and for Windows. */
#if !defined(_WIN32)
#  define _GNU_SOURCE 1
#endif
#include "test_os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
/* ======================================================================================= */
#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

size_t test_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }
unsigned test_pid(void) { return (unsigned)getpid(); }
void *test_alloc16(size_t size) {
    void *p = NULL;
    return posix_memalign(&p, 16, size == 0 ? 1 : size) == 0 ? p : NULL;
}
void test_free16(void *p) { free(p); }
void test_sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
int test_setenv(const char *name, const char *value) { return setenv(name, value, 1); }
int test_unsetenv(const char *name) { return unsetenv(name); }
void *test_library_symbol(const char *name) { return dlsym(RTLD_DEFAULT, name); }
const char *test_temp_dir(void) { return "/tmp/"; }
int test_under_wine(void) { return 0; }
void test_os_init(const char *argv0) { (void)argv0; }
void test_os_child_main(int argc, char **argv) { (void)argc, (void)argv; }

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

static void test_view_path(unsigned pid, char *path, size_t cap) { snprintf(path, cap, "/dev/shm/exalloc.%u", pid); }

void *test_view_map(unsigned pid, size_t size) {
    char path[64];
    test_view_path(pid, path, sizeof path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) return NULL;
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}
void test_view_unmap(void *view, size_t size) {
    if (view != NULL) munmap(view, size);
}
int test_view_exists(unsigned pid) {
    char path[64];
    struct stat sb;
    test_view_path(pid, path, sizeof path);
    return lstat(path, &sb) == 0;
}
int test_view_mode(unsigned pid) {
    char path[64];
    struct stat sb;
    test_view_path(pid, path, sizeof path);
    if (lstat(path, &sb) != 0) return -1;
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) return -2;
    return (int)(sb.st_mode & 07777);
}

#include <dirent.h>

int test_temp_subdir(char *out, size_t cap) {
    if (cap < 32) return 0;
    snprintf(out, cap, "/tmp/exalloc-test-XXXXXX");
    return mkdtemp(out) != NULL;
}
int test_mkdir(const char *path) { return mkdir(path, 0700) == 0; }
int test_limit_commit(uint64_t bytes) {
    (void)bytes;
    return -1;
}
void *test_view_hold(unsigned pid, size_t size) {
    (void)pid, (void)size;
    return NULL;
}
void test_view_release(void *hold) { (void)hold; }
void test_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0) rmdir(p);
        }
        closedir(d);
    }
    rmdir(dir);
}
int test_dir_count(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}
int test_file_mode(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return -1;
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) return -2;
    return (int)(sb.st_mode & 07777);
}
int test_hard_link(const char *existing, const char *name) { return link(existing, name) == 0 ? 0 : -1; }
int test_symlink(const char *target, const char *name, const char **why) {
    *why = NULL;
    return symlink(target, name) == 0 ? 0 : -1;
}
int test_same_file(const char *a, const char *b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}
int test_is_link(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode);
}

const char *test_emulator(void) {
    const char *e = getenv("EXA_TEST_EMULATOR");
    return e != NULL && *e != 0 ? e : NULL;
}

const char *test_shell_prefix(void) {
    static char prefix[512];
    const char *e = test_emulator();
    if (e == NULL) return "";
    snprintf(prefix, sizeof prefix, "%s ", e);
    return prefix;
}

void test_exec(const char *exe, const char *arg) {
    char self[1024];
    if (exe == NULL) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) return;
        self[n] = 0;
        exe = self;
    }
    const char *e = test_emulator();
    if (e == NULL) {
        execl(exe, exe, arg, (char *)NULL);
        return;
    }
    /* the emulator's words (no quoting: paths without spaces), then the program */
    char words[512];
    char *argv[24];
    int n = 0;
    snprintf(words, sizeof words, "%s", e);
    for (char *w = strtok(words, " "); w != NULL && n < 20; w = strtok(NULL, " ")) argv[n++] = w;
    argv[n++] = (char *)exe;
    argv[n++] = (char *)arg;
    argv[n] = NULL;
    execvp(argv[0], argv);
}

static size_t test_drain(int fd, char *out, size_t cap) {
    size_t used = 0;
    ssize_t n;
    char sink[512];
    for (;;) {
        if (out != NULL && used + 1 < cap) n = read(fd, out + used, cap - 1 - used);
        else n = read(fd, sink, sizeof sink);
        if (n <= 0) break;
        if (out != NULL && used + 1 < cap) used += (size_t)n;
    }
    if (out != NULL && cap > 0) out[used] = 0;
    return used;
}

/* fork with the child's descriptor `target` (1 or 2) going into a pipe whose read end the
 * parent gets in *rd. The pid (0 in the child), -1 on failure. */
static pid_t test_fork_piped(int target, int *rd) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], target);
        close(fds[0]);
        return 0;
    }
    close(fds[1]);
    *rd = fds[0];
    return pid;
}

/* In the parent: the child's piped output into out, then its wait status. */
static int test_reap(pid_t pid, int rd, char *out, size_t cap) {
    test_drain(rd, out, cap);
    close(rd);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

int test_os_child(void (*fn)(void), char *err, size_t cap) {
    int rd = -1;
    pid_t pid = test_fork_piped(2, &rd);
    if (pid < 0) return -1;
    if (pid == 0) {
        fn();
        _exit(0);
    }
    return test_reap(pid, rd, err, cap);
}

int test_run_self(const char *filter, const char *const *env, char *out, size_t cap) {
    int rd = -1;
    pid_t pid = test_fork_piped(1, &rd);
    if (pid < 0) return -1;
    if (pid == 0) {
        for (const char *const *e = env; e != NULL && *e != NULL; e++) {
            char name[128];
            const char *eq = strchr(*e, '=');
            size_t n = eq ? (size_t)(eq - *e) : 0;
            if (n == 0 || n >= sizeof name) _exit(126);
            memcpy(name, *e, n);
            name[n] = 0;
            setenv(name, eq + 1, 1);
        }
        test_exec(NULL, filter);
        _exit(127);
    }
    return test_reap(pid, rd, out, cap);
}

#else
/* ======================================================================================= */
#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN 1
#endif
#include <windows.h>

const char *test_emulator(void) { return NULL; }
const char *test_shell_prefix(void) { return ""; }

size_t test_page_size(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
}
unsigned test_pid(void) { return (unsigned)GetCurrentProcessId(); }
void *test_alloc16(size_t size) { return malloc(size == 0 ? 1 : size); } /* MEMORY_ALLOCATION_ALIGNMENT: 16 */
void test_free16(void *p) { free(p); }
void test_sleep_ms(unsigned ms) { Sleep(ms); }

/* The C runtime's copy and the process's environment block (which CreateProcess passes on
 * and the library reads) both. */
int test_setenv(const char *name, const char *value) {
    size_t n = strlen(name) + strlen(value) + 2;
    char *kv = malloc(n);
    if (kv == NULL) return -1;
    snprintf(kv, n, "%s=%s", name, value);
    int r = _putenv(kv);
    free(kv);
    return r == 0 && SetEnvironmentVariableA(name, value) ? 0 : -1;
}
int test_unsetenv(const char *name) {
    size_t n = strlen(name) + 2;
    char *kv = malloc(n);
    if (kv == NULL) return -1;
    snprintf(kv, n, "%s=", name);
    (void)_putenv(kv);
    free(kv);
    SetEnvironmentVariableA(name, NULL);
    return 0;
}

void *test_library_symbol(const char *name) {
    HMODULE lib = GetModuleHandleW(L"exalloc.dll");
    if (lib == NULL) return NULL;
    FARPROC f = GetProcAddress(lib, name);
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

int test_under_wine(void) {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

const char *test_temp_dir(void) {
    static char dir[MAX_PATH + 1];
    if (dir[0] == 0) {
        DWORD n = GetTempPathA(sizeof dir, dir);
        if (n == 0 || n >= sizeof dir) snprintf(dir, sizeof dir, ".\\");
    }
    return dir;
}

void test_os_init(const char *argv0) {
    (void)argv0;
    /* A crash ends the process with its exception code: no dialog, no debugger. Children
     * inherit the error mode. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
}

void test_os_child_main(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], "--exa-child") != 0) return;
    uintptr_t offset = (uintptr_t)strtoull(argv[2], NULL, 16);
    uintptr_t base = (uintptr_t)GetModuleHandleW(NULL);
    void (*fn)(void);
    uintptr_t address = base + offset;
    memcpy(&fn, &address, sizeof fn);
    fn();
    fflush(stdout);
    _exit(0);
}

#include <aclapi.h>

static HANDLE test_view_open(unsigned pid, DWORD access) {
    WCHAR name[64];
    _snwprintf(name, 64, L"Local\\exalloc.%u", pid);
    name[63] = 0;
    return OpenFileMappingW(access, FALSE, name);
}

/* Who a DACL lets in, as a POSIX mode: 0600 when only the process's user has an allow entry,
 * 0644 when Everyone also has one without write access, else -2. An entry for LocalSystem
 * widens nothing (SYSTEM may take any file anyway) and is passed over: Wine reports one on
 * every file, derived from the Unix owner's bits. */
static int test_dacl_mode(PACL dacl, DWORD write_mask) {
    unsigned char user[256], world[SECURITY_MAX_SID_SIZE], system[SECURITY_MAX_SID_SIZE];
    DWORD len = 0, wlen = sizeof world, slen = sizeof system;
    HANDLE token = NULL;
    int mode = -2, have_user = 0, have_world = 0, other = 0;
    if (dacl == NULL || !OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return -2;
    if (GetTokenInformation(token, TokenUser, user, sizeof user, &len) &&
        CreateWellKnownSid(WinWorldSid, NULL, (PSID)world, &wlen) &&
        CreateWellKnownSid(WinLocalSystemSid, NULL, (PSID)system, &slen)) {
        PSID me = ((TOKEN_USER *)(void *)user)->User.Sid;
        for (DWORD i = 0; i < dacl->AceCount; i++) {
            ACCESS_ALLOWED_ACE *ace = NULL;
            if (!GetAce(dacl, i, (void **)&ace) || ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE) {
                other = 1;
                continue;
            }
            PSID sid = (PSID)&ace->SidStart;
            if (EqualSid(sid, me)) have_user = 1;
            else if (EqualSid(sid, (PSID)world) && (ace->Mask & write_mask) == 0) have_world = 1;
            else if (!EqualSid(sid, (PSID)system)) other = 1;
        }
        if (have_user && !other) mode = have_world ? 0644 : 0600;
    }
    CloseHandle(token);
    return mode;
}

void *test_view_map(unsigned pid, size_t size) {
    HANDLE h = test_view_open(pid, FILE_MAP_READ);
    if (h == NULL) return NULL;
    void *p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, size);
    CloseHandle(h);  /* the view keeps the section */
    return p;
}
void test_view_unmap(void *view, size_t size) {
    (void)size;
    if (view != NULL) UnmapViewOfFile(view);
}
int test_view_exists(unsigned pid) {
    HANDLE h = test_view_open(pid, FILE_MAP_READ);
    if (h == NULL) return GetLastError() == ERROR_ACCESS_DENIED;
    CloseHandle(h);
    return 1;
}
int test_view_mode(unsigned pid) {
    HANDLE h = test_view_open(pid, READ_CONTROL);
    if (h == NULL) return GetLastError() == ERROR_ACCESS_DENIED ? -2 : -1;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD e = GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd);
    CloseHandle(h);
    if (e != ERROR_SUCCESS) return -2;
    int mode = test_dacl_mode(dacl, FILE_MAP_WRITE | WRITE_DAC | WRITE_OWNER);
    LocalFree(sd);
    return mode;
}

int test_temp_subdir(char *out, size_t cap) {
    static unsigned serial;
    for (int i = 0; i < 100; i++) {
        snprintf(out, cap, "%sexalloc-test-%u-%u", test_temp_dir(), test_pid(), serial++);
        if (CreateDirectoryA(out, NULL)) return 1;
        if (GetLastError() != ERROR_ALREADY_EXISTS) return 0;
    }
    return 0;
}
int test_mkdir(const char *path) { return CreateDirectoryA(path, NULL) != 0; }
int test_limit_commit(uint64_t bytes) {
    HANDLE job = CreateJobObjectW(NULL, NULL);
    if (job == NULL) return -1;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
    memset(&li, 0, sizeof li);
    li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    li.ProcessMemoryLimit = (SIZE_T)bytes;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li, sizeof li) ||
        !AssignProcessToJobObject(job, GetCurrentProcess()))
        return -1;
    return 0;  /* the handle stays open: the job lives as long as the process */
}
void *test_view_hold(unsigned pid, size_t size) {
    WCHAR name[64];
    _snwprintf(name, 64, L"Local\\exalloc.%u", pid);
    name[63] = 0;
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)size, name);
    if (h != NULL && GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(h);
        return NULL;
    }
    return h;
}
void test_view_release(void *hold) {
    if (hold != NULL) CloseHandle((HANDLE)hold);
}
void test_remove_dir(const char *dir) {
    char pattern[MAX_PATH + 4], p[2 * MAX_PATH];
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    WIN32_FIND_DATAA fd;
    HANDLE f = FindFirstFileA(pattern, &fd);
    if (f != INVALID_HANDLE_VALUE) {
        do {
            if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0) continue;
            snprintf(p, sizeof p, "%s\\%s", dir, fd.cFileName);
            if (!DeleteFileA(p)) RemoveDirectoryA(p);
        } while (FindNextFileA(f, &fd));
        FindClose(f);
    }
    RemoveDirectoryA(dir);
}
int test_dir_count(const char *dir) {
    char pattern[MAX_PATH + 4];
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    WIN32_FIND_DATAA fd;
    HANDLE f = FindFirstFileA(pattern, &fd);
    if (f == INVALID_HANDLE_VALUE) return -1;
    int n = 0;
    do n += strcmp(fd.cFileName, ".") != 0 && strcmp(fd.cFileName, "..") != 0;
    while (FindNextFileA(f, &fd));
    FindClose(f);
    return n;
}
int test_file_mode(const char *path) {
    DWORD attr = GetFileAttributesA(path);
    if (attr == INVALID_FILE_ATTRIBUTES) return -1;
    if (attr & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) return -2;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    if (GetNamedSecurityInfoA(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd) !=
        ERROR_SUCCESS)
        return -2;
    int mode = test_dacl_mode(dacl, FILE_WRITE_DATA | FILE_APPEND_DATA | WRITE_DAC | WRITE_OWNER | DELETE);
    LocalFree(sd);
    return mode;
}
int test_hard_link(const char *existing, const char *name) { return CreateHardLinkA(name, existing, NULL) ? 0 : -1; }
int test_is_link(const char *path) {
    DWORD attr = GetFileAttributesA(path);
    return attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}
#ifndef SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE
#  define SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE 0x2
#endif
int test_symlink(const char *target, const char *name, const char **why) {
    *why = NULL;
    if (!CreateSymbolicLinkA(name, target, SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE)) {
        if (GetLastError() == ERROR_PRIVILEGE_NOT_HELD) {
            *why = "creating a symbolic link needs SeCreateSymbolicLinkPrivilege or Developer Mode on this host";
            return 1;
        }
        return -1;
    }
    if (!test_is_link(name)) {
        *why = "this host (Wine) reports CreateSymbolicLink as done but makes no link";
        DeleteFileA(name);
        return 1;
    }
    return 0;
}
int test_same_file(const char *a, const char *b) {
    HANDLE x = CreateFileA(a, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
    HANDLE y = CreateFileA(b, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
    BY_HANDLE_FILE_INFORMATION ix, iy;
    int same = x != INVALID_HANDLE_VALUE && y != INVALID_HANDLE_VALUE && GetFileInformationByHandle(x, &ix) &&
               GetFileInformationByHandle(y, &iy) && ix.dwVolumeSerialNumber == iy.dwVolumeSerialNumber &&
               ix.nFileIndexHigh == iy.nFileIndexHigh && ix.nFileIndexLow == iy.nFileIndexLow;
    if (x != INVALID_HANDLE_VALUE) CloseHandle(x);
    if (y != INVALID_HANDLE_VALUE) CloseHandle(y);
    return same;
}

/* The POSIX wait status for a Windows exit code (see test_os.h). */
static int test_status_of(DWORD code) {
    if (code == 3) return SIGABRT;
    if (code == (DWORD)EXCEPTION_ACCESS_VIOLATION || code == (DWORD)EXCEPTION_GUARD_PAGE ||
        code == (DWORD)EXCEPTION_IN_PAGE_ERROR)
        return SIGSEGV;
    if (code >= 0xC0000000u) return SIGTERM;  /* another unhandled exception */
    return (int)((code & 0xffu) << 8);
}

/* Start `args` (after the executable's quoted path) with standard error or output (`which`:
 * STD_ERROR_HANDLE or STD_OUTPUT_HANDLE) into a pipe read into out; the wait status. */
static int test_spawn(const char *args, DWORD which, char *out, size_t cap) {
    WCHAR exe[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) return -1;
    WCHAR cmd[MAX_PATH + 300];
    WCHAR wargs[280];
    if (MultiByteToWideChar(CP_UTF8, 0, args, -1, wargs, 280) == 0) return -1;
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %ls", exe, wargs);
    cmd[sizeof cmd / sizeof cmd[0] - 1] = 0;
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd = NULL, wr = NULL;
    if (!CreatePipe(&rd, &wr, &sa, 0)) return -1;
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    HANDLE self = GetCurrentProcess(), other = NULL;
    HANDLE keep = GetStdHandle(which == STD_ERROR_HANDLE ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE);
    if (keep != NULL && keep != INVALID_HANDLE_VALUE) DuplicateHandle(self, keep, self, &other, 0, TRUE, DUPLICATE_SAME_ACCESS);
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdError = which == STD_ERROR_HANDLE ? wr : other;
    si.hStdOutput = which == STD_ERROR_HANDLE ? other : wr;
    PROCESS_INFORMATION pi;
    fflush(stdout);
    fflush(stderr);
    BOOL started = CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    CloseHandle(wr);
    if (other != NULL) CloseHandle(other);
    if (!started) {
        CloseHandle(rd);
        return -1;
    }
    CloseHandle(pi.hThread);
    size_t used = 0;
    char sink[512];
    for (;;) {
        DWORD got = 0;
        BOOL ok;
        if (out != NULL && used + 1 < cap) ok = ReadFile(rd, out + used, (DWORD)(cap - 1 - used), &got, NULL);
        else ok = ReadFile(rd, sink, sizeof sink, &got, NULL);
        if (!ok || got == 0) break;
        if (out != NULL && used + 1 < cap) used += got;
    }
    if (out != NULL && cap > 0) out[used] = 0;
    CloseHandle(rd);
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    return test_status_of(code);
}

int test_os_child(void (*fn)(void), char *err, size_t cap) {
    uintptr_t address;
    memcpy(&address, &fn, sizeof address);
    char args[64];
    snprintf(args, sizeof args, "--exa-child %llx", (unsigned long long)(address - (uintptr_t)GetModuleHandleW(NULL)));
    return test_spawn(args, STD_ERROR_HANDLE, err, cap);
}

int test_run_self(const char *filter, const char *const *env, char *out, size_t cap) {
    enum { MAX_SET = 16 };
    char names[MAX_SET][128];
    char *old[MAX_SET];
    int count = 0;
    for (const char *const *e = env; e != NULL && *e != NULL && count < MAX_SET; e++, count++) {
        const char *eq = strchr(*e, '=');
        size_t n = eq ? (size_t)(eq - *e) : 0;
        if (n == 0 || n >= sizeof names[0]) return -1;
        memcpy(names[count], *e, n);
        names[count][n] = 0;
        const char *was = getenv(names[count]);
        old[count] = was != NULL ? _strdup(was) : NULL;
        test_setenv(names[count], eq + 1);
    }
    char args[256];
    snprintf(args, sizeof args, "\"%s\"", filter);
    int status = test_spawn(args, STD_OUTPUT_HANDLE, out, cap);
    for (int i = 0; i < count; i++) {
        if (old[i] != NULL) test_setenv(names[i], old[i]);
        else test_unsetenv(names[i]);
        free(old[i]);
    }
    return status;
}
int test_host_refuses_node_binding(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    void *p = VirtualAllocExNuma(GetCurrentProcess(), NULL, si.dwPageSize, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0);
    if (p == NULL) return 1;
    VirtualFree(p, 0, MEM_RELEASE);
    return 0;
}

#endif
