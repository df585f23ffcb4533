/* exalloc - C tests: the process's environment and output files (docs/diagnostics.md#secure-execution,
 * #output-files) and the small races and undefined behaviour of a fresh process (the cached
 * page size, reports with no tag rows, executable memory under a memory shortage).
 *
 * Several cases run a body in a fresh process: the test runner executes itself with the
 * body's name as the filter and EXA_TEST_BODY naming the body, so the library loads anew
 * (the environment is read at load, the page size is cached on first use). A body does
 * nothing in the ordinary run. */
#define _GNU_SOURCE 1
#include "test.h"
#include "exalloc_nt.h"

#include "base/platform.h"  /* the debug tier's secure-execution override */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if TEST_POSIX
#  include <dirent.h>
#  include <fcntl.h>
#  include <grp.h>
#  include <sys/auxv.h>
#  include <sys/resource.h>
#  include <sys/stat.h>
#  include <unistd.h>
#endif

static char sec_out[1 << 16];

/* 1 when this process runs as the body `name` (see above). */
static int sec_body(const char *name) {
    const char *b = getenv("EXA_TEST_BODY");
    return b != NULL && strcmp(b, name) == 0;
}

/* Run `exe` (NULL: this runner) with the body `name`, the extra environment `env`
 * ("NAME=value" strings, NULL-terminated) and stdout and stderr captured into out.
 * Returns the wait status, -1 when the child could not be started. */
#if TEST_POSIX
static int sec_run(const char *exe, const char *name, const char *const *env, char *out, size_t cap) {
    char self[1024];
    if (exe == NULL) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) return -1;
        self[n] = 0;
        exe = self;
    }
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        setenv("EXA_TEST_BODY", name, 1);
        for (const char *const *e = env; e != NULL && *e != NULL; e++) putenv((char *)*e);
        test_exec(exe, name);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while ((n = read(fds[0], out + used, cap - 1 - used)) > 0 && used + 1 < cap) used += (size_t)n;
    out[used] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}
#else
/* Windows: only this runner (no setgid copies there); standard output is captured. */
static int sec_run(const char *exe, const char *name, const char *const *env, char *out, size_t cap) {
    if (exe != NULL) return -1;
    const char *all[16];
    char body[128];
    snprintf(body, sizeof body, "EXA_TEST_BODY=%s", name);
    int n = 0;
    all[n++] = body;
    for (const char *const *e = env; e != NULL && *e != NULL && n < 15; e++) all[n++] = *e;
    all[n] = NULL;
    return test_run_self(name, all, out, cap);
}
#endif

static int sec_ok(int status) { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

/* ---------------------------------------------------------------------------------------
 * The cached page size: several threads make the process's first pool allocations together
 * (the special pool, at the verifier level, asks for the page size before it takes a lock;
 * big blocks map segments). Under ThreadSanitizer a plain cache was a data race (seen in 2
 * of 3 processes); the body's process then exits non-zero.
 * ------------------------------------------------------------------------------------- */

static pthread_barrier_t sec_barrier;

static void *sec_first_alloc(void *arg) {
    pthread_barrier_wait(&sec_barrier);
    /* Small blocks go to the special pool (EXALLOC_SPECIAL_POOL=all), which reads the page
     * size before it takes a lock; big ones map segments. */
    exa_u64 size = (uintptr_t)arg & 2 ? 100000 : 64;
    void *p = exa_pool_allocate((uintptr_t)arg & 1 ? EXA_POOL_FLAG_PAGED : EXA_POOL_FLAG_NON_PAGED, size, test_tag("SPg1"));
    if (p != NULL) exa_pool_free(p);
    return p;
}

static void sec_page_size_body(void) {
    if (!sec_body("sec_page_size_body")) return;
    enum { N = 8 };
    pthread_t t[N];
    pthread_barrier_init(&sec_barrier, NULL, N);
    for (uintptr_t i = 0; i < N; i++) CHECK(pthread_create(&t[i], NULL, sec_first_alloc, (void *)i) == 0);
    int all = 1;
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        all &= r != NULL;
    }
    CHECK(all);
}

static void sec_page_size_race(void) {
    /* One first use per process: a few processes, so that the threads meet at least once. */
    static const char *const env[] = {"EXALLOC_SPECIAL_POOL=all", "EXALLOC_CHECKS=verifier", NULL};
    for (int run = 0; run < 4; run++) {
        int st = sec_run(NULL, "sec_page_size_body", env, sec_out, sizeof sec_out);
        if (!sec_ok(st)) printf("    child status 0x%x:\n%s\n", (unsigned)st, sec_out);
        CHECK(sec_ok(st));
        CHECK(strstr(sec_out, "ok   sec_page_size_body") != NULL);
    }
}

/* ---------------------------------------------------------------------------------------
 * Text reports in a process that has no tag rows yet: sorting nothing must not hand qsort a
 * null array (UndefinedBehaviorSanitizer's nonnull check stops the body's process).
 * ------------------------------------------------------------------------------------- */

static void sec_no_rows_body(void) {
    if (!sec_body("sec_no_rows_body")) return;
    CHECK_EQ(exa_pool_tag_snapshot(NULL, 0), 0);  /* the case under test: no rows at all */
    char buf[4096];
    CHECK(exa_poolmon_text(buf, sizeof buf, EXA_POOLMON_SORT_BYTES) > 0);
    CHECK(exa_poolmon_text(buf, sizeof buf, EXA_POOLMON_SORT_TAG) > 0);
    CHECK(exa_leak_report(buf, sizeof buf) > 0);
    CHECK(strstr(buf, "No leaks.") != NULL);
}

static void sec_no_rows(void) {
    int st = sec_run(NULL, "sec_no_rows_body", NULL, sec_out, sizeof sec_out);
    if (!sec_ok(st)) printf("    child status 0x%x:\n%s\n", (unsigned)st, sec_out);
    CHECK(sec_ok(st));
    CHECK(strstr(sec_out, "ok   sec_no_rows_body") != NULL);
}

/* The bug-check dump cases' child: a double free, which the default handler reports by writing
 * the dump (EXALLOC_DUMP_PATH) and aborting. */
static void sec_dump_child(void) {
    char *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, test_tag("SDmp"));
    exa_pool_free(p);
    exa_pool_free(p);  /* double free: the default handler writes the dump and aborts */
    _exit(0);
}

#if TEST_POSIX
/* ---------------------------------------------------------------------------------------
 * Executable memory under a memory shortage: with the address space limited to what the
 * process already has, an executable request fails (the host had no memory, it did not
 * refuse executable memory); with the limit lifted, the next executable request gets
 * executable memory and nothing said the host refused it.
 * ------------------------------------------------------------------------------------- */

static size_t sec_vm_size(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

static void sec_exec_enomem_body(void) {
    if (!sec_body("sec_exec_enomem_body")) return;
    exa_pool_stats_t st;
    CHECK_EQ(exa_pool_query(EXA_POOL_KIND_NON_PAGED, &st), EXA_STATUS_SUCCESS);
    CHECK_EQ(st.executable, 1);  /* this host gives executable memory */
    struct rlimit old, tight;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    size_t vm = sec_vm_size();
    CHECK(vm > 0);
    tight = old;
    tight.rlim_cur = (rlim_t)(vm + (256u << 10));
    CHECK(setrlimit(RLIMIT_AS, &tight) == 0);
    /* NonPagedPool (0) is the executable type: a small block (a new segment) and a big one. */
    void *small = ExAllocatePoolWithTag(NonPagedPool, 64, test_tag("SExs"));
    void *big = ExAllocatePoolWithTag(NonPagedPool, 8u << 20, test_tag("SExb"));
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    CHECK(small == NULL);
    CHECK(big == NULL);
    CHECK_EQ(exa_pool_query(EXA_POOL_KIND_NON_PAGED, &st), EXA_STATUS_SUCCESS);
    CHECK_EQ(st.executable, 1);  /* still: a shortage is no refusal */
    small = ExAllocatePoolWithTag(NonPagedPool, 64, test_tag("SExs"));
    big = ExAllocatePoolWithTag(NonPagedPool, 8u << 20, test_tag("SExb"));
    CHECK(small != NULL && big != NULL);
    exa_pool_free(small);
    exa_pool_free(big);
}

static void sec_exec_enomem(void) {
    if (TEST_ASAN || TEST_TSAN) {  /* their shadow memory does not fit under RLIMIT_AS */
        printf("    (sanitizer build: address-space limit not usable, skipped)\n");
        return;
    }
    if (test_emulator() != NULL)
        TEST_SKIP("the emulator does not enforce RLIMIT_AS (qemu-user keeps the limit from its own process)");
    int st = sec_run(NULL, "sec_exec_enomem_body", NULL, sec_out, sizeof sec_out);
    if (!sec_ok(st)) printf("    child status 0x%x:\n%s\n", (unsigned)st, sec_out);
    CHECK(sec_ok(st));
    CHECK(strstr(sec_out, "ok   sec_exec_enomem_body") != NULL);
    CHECK(strstr(sec_out, "refused executable memory") == NULL);
}

/* ---------------------------------------------------------------------------------------
 * Output files: reports and dumps are new files of mode 0600 renamed into place; a symbolic
 * link at the path is replaced, never written through; an existing file is replaced, never
 * truncated or written into.
 * ------------------------------------------------------------------------------------- */

static char sec_dir[64];

static int sec_write(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return 0;
    int ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    fchmod(fd, mode);
    return close(fd) == 0 && ok;
}

static ssize_t sec_read(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0) buf[n] = 0;
    return n;
}

static void sec_report_file(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[128], buf[256];
    snprintf(path, sizeof path, "%s/leaks.txt", sec_dir);
    mode_t old = umask(0);  /* the mode is the library's, not the umask's */
    exa_status_t st = exa_leak_report_write(path);
    umask(old);
    CHECK_EQ(st, EXA_STATUS_SUCCESS);
    struct stat sb;
    CHECK(lstat(path, &sb) == 0);
    CHECK(S_ISREG(sb.st_mode));
    CHECK_EQ(sb.st_mode & 07777, 0600);
    CHECK(sec_read(path, buf, sizeof buf) > 0);
    CHECK_EQ(test_dir_count(sec_dir), 1);  /* no temporary left beside it */
    test_remove_dir(sec_dir);
}

static void sec_report_symlink(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[128], victim[128], buf[256];
    snprintf(path, sizeof path, "%s/leaks.txt", sec_dir);
    snprintf(victim, sizeof victim, "%s/victim", sec_dir);
    CHECK(sec_write(victim, "precious\n", 0644));
    CHECK(symlink(victim, path) == 0);
    CHECK_EQ(exa_leak_report_write(path), EXA_STATUS_SUCCESS);
    CHECK(sec_read(victim, buf, sizeof buf) == 9);
    CHECK(strcmp(buf, "precious\n") == 0);  /* the link's target is untouched */
    struct stat sb;
    CHECK(stat(victim, &sb) == 0);
    CHECK_EQ(sb.st_mode & 07777, 0644);
    CHECK(lstat(path, &sb) == 0);
    CHECK(S_ISREG(sb.st_mode));  /* the link itself was replaced by the report */
    CHECK_EQ(sb.st_mode & 07777, 0600);
    CHECK_EQ(test_dir_count(sec_dir), 2);
    test_remove_dir(sec_dir);
}

static void sec_report_existing(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[128], link2[128], buf[256];
    snprintf(path, sizeof path, "%s/leaks.txt", sec_dir);
    snprintf(link2, sizeof link2, "%s/other-name", sec_dir);
    CHECK(sec_write(path, "someone else's file\n", 0640));
    CHECK(link(path, link2) == 0);  /* the same file under a second name */
    CHECK_EQ(exa_leak_report_write(path), EXA_STATUS_SUCCESS);
    CHECK(sec_read(link2, buf, sizeof buf) == 20);
    CHECK(strcmp(buf, "someone else's file\n") == 0);  /* not truncated, not written into */
    struct stat a, b;
    CHECK(stat(path, &a) == 0 && stat(link2, &b) == 0);
    CHECK(a.st_ino != b.st_ino);
    CHECK_EQ(a.st_mode & 07777, 0600);
    CHECK_EQ(b.st_mode & 07777, 0640);
    CHECK(sec_read(path, buf, sizeof buf) > 0 && strstr(buf, "someone") == NULL);
    /* A path that cannot be replaced (a directory): the call fails and leaves no temporary. */
    char dir[128];
    snprintf(dir, sizeof dir, "%s/adir", sec_dir);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_EQ(exa_leak_report_write(dir), EXA_STATUS_UNSUCCESSFUL);
    rmdir(dir);
    CHECK_EQ(test_dir_count(sec_dir), 2);
    test_remove_dir(sec_dir);
}

/* The bug-check dump (EXALLOC_DUMP_PATH, read when the dump is written) through a link. */
static void sec_dump_file(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[128], victim[128];
    snprintf(path, sizeof path, "%s/dump.txt", sec_dir);
    snprintf(victim, sizeof victim, "%s/victim", sec_dir);
    CHECK(sec_write(victim, "precious\n", 0644));
    CHECK(symlink(victim, path) == 0);
    setenv("EXALLOC_DUMP_PATH", path, 1);
    int status = test_in_child(sec_dump_child, sec_out, sizeof sec_out);
    unsetenv("EXALLOC_DUMP_PATH");
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(sec_read(victim, sec_out, sizeof sec_out) == 9);
    CHECK(strcmp(sec_out, "precious\n") == 0);
    struct stat sb;
    CHECK(lstat(path, &sb) == 0);
    CHECK(S_ISREG(sb.st_mode));
    CHECK_EQ(sb.st_mode & 07777, 0600);
    CHECK(sec_read(path, sec_out, sizeof sec_out) > 0);
    CHECK(strstr(sec_out, "exalloc bug-check dump") != NULL && strstr(sec_out, "tag SDmp") != NULL);
    test_remove_dir(sec_dir);
}

#else
static void sec_exec_enomem_body(void) {}
static void sec_exec_enomem(void) {
    TEST_SKIP("Windows has no address-space limit a process can set for itself (RLIMIT_AS)");
}
/* Windows: the same rules in Windows' terms. The new file's DACL is the user's alone (mode
 * 0600's reading, checked through test_file_mode), an existing file is replaced by name and
 * never written into (a hard link to it keeps the old contents), a symbolic link at the path
 * is replaced, not followed. */
static char sec_dir[300];

static int sec_put(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return 0;
    int ok = fwrite(text, 1, strlen(text), f) == strlen(text);
    return fclose(f) == 0 && ok;
}

static long sec_get(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return (long)n;
}

static void sec_report_file(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[400], buf[256];
    snprintf(path, sizeof path, "%s\\leaks.txt", sec_dir);
    exa_status_t st = exa_leak_report_write(path);
    int mode = test_file_mode(path), entries = test_dir_count(sec_dir);
    long n = sec_get(path, buf, sizeof buf);
    test_remove_dir(sec_dir);
    CHECK_EQ(st, EXA_STATUS_SUCCESS);
    CHECK_EQ(mode, 0600);
    CHECK(n > 0);
    CHECK_EQ(entries, 1);  /* no temporary left beside it */
}

static void sec_report_symlink(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[400], victim[400], buf[256];
    snprintf(path, sizeof path, "%s\\leaks.txt", sec_dir);
    snprintf(victim, sizeof victim, "%s\\victim", sec_dir);
    CHECK(sec_put(victim, "precious\n"));
    const char *why = NULL;
    int made = test_symlink(victim, path, &why);
    if (made == 1) {
        test_remove_dir(sec_dir);
        TEST_SKIP(why);
    }
    CHECK_EQ(made, 0);
    exa_status_t st = exa_leak_report_write(path);
    long n = sec_get(victim, buf, sizeof buf);
    int victim_kept = n == 9 && strcmp(buf, "precious\n") == 0;
    int link_gone = !test_is_link(path), mode = test_file_mode(path), entries = test_dir_count(sec_dir);
    test_remove_dir(sec_dir);
    CHECK_EQ(st, EXA_STATUS_SUCCESS);
    CHECK(victim_kept);  /* the link's target is untouched */
    CHECK(link_gone);    /* the link itself was replaced by the report */
    CHECK_EQ(mode, 0600);
    CHECK_EQ(entries, 2);
}

static void sec_report_existing(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[400], link2[400], dir[400], buf[256];
    snprintf(path, sizeof path, "%s\\leaks.txt", sec_dir);
    snprintf(link2, sizeof link2, "%s\\other-name", sec_dir);
    snprintf(dir, sizeof dir, "%s\\adir", sec_dir);
    int ok = sec_put(path, "someone else's file\n") && test_hard_link(path, link2) == 0 && test_same_file(path, link2);
    exa_status_t st = exa_leak_report_write(path);
    long n = sec_get(link2, buf, sizeof buf);
    int old_kept = n == 20 && strcmp(buf, "someone else's file\n") == 0;  /* not truncated, not written into */
    int apart = !test_same_file(path, link2), mode = test_file_mode(path);
    int replaced = sec_get(path, buf, sizeof buf) > 0 && strstr(buf, "someone") == NULL;
    /* A path that cannot be replaced (a directory): the call fails and leaves no temporary. */
    int made_dir = test_mkdir(dir);
    exa_status_t st_dir = exa_leak_report_write(dir);
    int entries = test_dir_count(sec_dir);
    test_remove_dir(sec_dir);
    CHECK(ok);
    CHECK_EQ(st, EXA_STATUS_SUCCESS);
    CHECK(old_kept);
    CHECK(apart);
    CHECK_EQ(mode, 0600);
    CHECK(replaced);
    CHECK(made_dir);
    CHECK_EQ(st_dir, EXA_STATUS_UNSUCCESSFUL);
    CHECK_EQ(entries, 3);
}

/* The bug-check dump (EXALLOC_DUMP_PATH, read when the dump is written) over an existing
 * file with a second name: the old file is kept under that name, the dump is new. */
static void sec_dump_file(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char path[400], other[400];
    snprintf(path, sizeof path, "%s\\dump.txt", sec_dir);
    snprintf(other, sizeof other, "%s\\victim", sec_dir);
    int ok = sec_put(path, "precious\n") && test_hard_link(path, other) == 0;
    test_setenv("EXALLOC_DUMP_PATH", path);
    int status = test_in_child(sec_dump_child, sec_out, sizeof sec_out);
    test_unsetenv("EXALLOC_DUMP_PATH");
    static char text[1 << 16];
    int kept = sec_get(other, text, sizeof text) == 9 && strcmp(text, "precious\n") == 0;
    int mode = test_file_mode(path);
    int dumped = sec_get(path, text, sizeof text) > 0 && strstr(text, "exalloc bug-check dump") != NULL &&
                 strstr(text, "tag SDmp") != NULL;
    test_remove_dir(sec_dir);
    CHECK(ok);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(kept);
    CHECK_EQ(mode, 0600);
    CHECK(dumped);
}
#endif

/* ---------------------------------------------------------------------------------------
 * Secure execution: every EXALLOC_* variable is ignored.
 * ------------------------------------------------------------------------------------- */

/* The decision through the debug tier's override (the same process, either answer). */
static void sec_env_decision(void) {
#if EXA_DEBUG
    setenv("EXALLOC_TEST_PROBE", "on", 1);
    const char *v = _exa_debug_os_getenv("EXALLOC_TEST_PROBE");
    CHECK(v != NULL && strcmp(v, "on") == 0);
    int before = _exa_debug_os_secure(1);
    v = _exa_debug_os_getenv("EXALLOC_TEST_PROBE");
    _exa_debug_os_secure(before);
    CHECK(v == NULL);
    CHECK(_exa_debug_os_getenv("EXALLOC_TEST_PROBE") != NULL);
    unsetenv("EXALLOC_TEST_PROBE");
#else
    printf("    (not a debug-tier build: the override is not exported; sec_env_setgid covers it)\n");
#endif
}

#if TEST_POSIX
/* In a fresh process whose environment asks for everything the variables can do. Prints
 * "secure=<0|1>"; checks that the variables took effect in an ordinary process and that
 * none did in a secure one. */
static void sec_env_body(void) {
    if (!sec_body("sec_env_body")) return;
    int secure = getauxval(AT_SECURE) != 0;
    printf("secure=%d\n", secure);
    char shm[64];
    snprintf(shm, sizeof shm, "/dev/shm/exalloc.%d", (int)getpid());
    void *low = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, test_tag("SLow"));  /* injected failure */
    void *sp = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, test_tag("SSpc"));   /* special pool */
    CHECK(sp != NULL);
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 64;
    cfg.tag = test_tag("SBal");
    cfg.pool_type = EXA_NON_PAGED_POOL_NX;
    exa_lookaside_t *l = NULL;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);  /* EXALLOC_BALANCE_SET's moment */
    int level = exa_get_check_level(), special = exa_is_special_pool_address(sp) != 0;
    int published = access(shm, F_OK) == 0, balance = exa_balance_set_running() != 0;
    printf("level=%d low=%d special=%d published=%d balance=%d\n", level, low == NULL, special, published, balance);
    exa_lookaside_delete(l);
    exa_pool_free(sp);
    if (low != NULL) exa_pool_free(low);
    (void)exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100, test_tag("SLek"));  /* for the leak report */
    if (secure) {
        CHECK(level != EXA_CHECKS_VERIFIER);
        CHECK(low != NULL);
        CHECK(!special);
        CHECK(!published);
        CHECK(!balance);
    } else {
        CHECK_EQ(level, EXA_CHECKS_VERIFIER);
        CHECK(low == NULL);
        CHECK(special);
        CHECK(published);
        CHECK(balance);
    }
}

/* Run the body from a copy of this runner: plain, then setgid to a group the caller is not
 * in effectively (the loader then starts it in secure execution, AT_SECURE). */
static void sec_env_setgid(void) {
    CHECK(test_temp_subdir(sec_dir, sizeof sec_dir));
    char self[1024], exe[256], leak[256], e_leak[300];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    snprintf(exe, sizeof exe, "%s/runner", sec_dir);
    snprintf(leak, sizeof leak, "%s/leaks.txt", sec_dir);
    snprintf(e_leak, sizeof e_leak, "EXALLOC_LEAK_REPORT=%s", leak);
    {
        int in = open(self, O_RDONLY), out = open(exe, O_WRONLY | O_CREAT | O_EXCL, 0755);
        CHECK(in >= 0 && out >= 0);
        static char chunk[1 << 16];
        ssize_t r;
        while ((r = read(in, chunk, sizeof chunk)) > 0) CHECK(write(out, chunk, (size_t)r) == r);
        close(in);
        CHECK(close(out) == 0);
    }
    const char *env[] = {e_leak, "EXALLOC_PUBLISH=1", "EXALLOC_CHECKS=verifier", "EXALLOC_SPECIAL_POOL=tag:SSpc",
                         "EXALLOC_LOW_RESOURCES=10000,tag=SLow", "EXALLOC_BALANCE_SET=1", NULL};
    /* Ordinary: the variables work (and the leak report is a 0600 file). */
    int st = sec_run(exe, "sec_env_body", env, sec_out, sizeof sec_out);
    if (!sec_ok(st)) printf("    plain child status 0x%x:\n%s\n", (unsigned)st, sec_out);
    CHECK(sec_ok(st));
    CHECK(strstr(sec_out, "secure=0") != NULL);
    struct stat sb;
    CHECK(stat(leak, &sb) == 0);
    CHECK_EQ(sb.st_mode & 07777, 0600);
    CHECK(sec_read(leak, sec_out, sizeof sec_out) > 0 && strstr(sec_out, "SLek") != NULL);
    unlink(leak);
    /* Secure execution: setgid to another group. */
    gid_t other = (gid_t)-1;
    if (geteuid() == 0) {
        other = getegid() != 65534 ? 65534 : 65533;
    } else {
        gid_t groups[64];
        int k = getgroups(64, groups);
        for (int i = 0; i < k; i++)
            if (groups[i] != getegid()) other = groups[i];
    }
    if (other == (gid_t)-1 || chown(exe, (uid_t)-1, other) != 0 || chmod(exe, 02755) != 0) {
        printf("    (no second group to setgid to: secure-execution run skipped)\n");
        test_remove_dir(sec_dir);
        return;
    }
    st = sec_run(exe, "sec_env_body", env, sec_out, sizeof sec_out);
    if (strstr(sec_out, "secure=1") == NULL) {
        /* nosuid mounts, no_new_privs, or a loader that cannot find the library without
         * LD_LIBRARY_PATH (ignored in secure execution): nothing to learn here. */
        printf("    (the setgid copy did not run in secure execution: status 0x%x, skipped)\n%s\n", (unsigned)st, sec_out);
        test_remove_dir(sec_dir);
        return;
    }
    if (!sec_ok(st)) printf("    secure child status 0x%x:\n%s\n", (unsigned)st, sec_out);
    CHECK(sec_ok(st));
    CHECK(access(leak, F_OK) != 0);  /* EXALLOC_LEAK_REPORT ignored */
    test_remove_dir(sec_dir);
}
#else
static void sec_env_body(void) {}
static void sec_env_setgid(void) {
    TEST_SKIP("Windows has no setuid or setgid programs: no process runs in secure execution there");
}
#endif

static const test_case_t secure_cases[] = {{"sec_page_size_body", sec_page_size_body},
                                           {"sec_page_size_race", sec_page_size_race},
                                           {"sec_no_rows_body", sec_no_rows_body},
                                           {"sec_no_rows", sec_no_rows},
                                           {"sec_exec_enomem_body", sec_exec_enomem_body},
                                           {"sec_exec_enomem", sec_exec_enomem},
                                           {"sec_report_file", sec_report_file},
                                           {"sec_report_symlink", sec_report_symlink},
                                           {"sec_report_existing", sec_report_existing},
                                           {"sec_dump_file", sec_dump_file},
                                           {"sec_env_decision", sec_env_decision},
                                           {"sec_env_body", sec_env_body},
                                           {"sec_env_setgid", sec_env_setgid},
                                           {NULL, NULL}};
TEST_SUITE(secure);
