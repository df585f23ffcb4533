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

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#  define TEST_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define TEST_TSAN 1
#  endif
#endif
#ifndef TEST_TSAN
#  define TEST_TSAN 0
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
        execl(exe, exe, name, (char *)NULL);
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

static int sec_ok(int status) { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

/* ---------------------------------------------------------------------------------------
 * The cached page size: several threads make the process's first pool allocations together
 * (the special pool and new segments ask for the page size). Under ThreadSanitizer a plain
 * cache was a data race; the body's process then exits non-zero.
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
    static const char *const env[] = {"EXALLOC_SPECIAL_POOL=all", NULL};
    int st = sec_run(NULL, "sec_page_size_body", env, sec_out, sizeof sec_out);
    if (!sec_ok(st)) printf("    child status 0x%x:\n%s\n", (unsigned)st, sec_out);
    CHECK(sec_ok(st));
    CHECK(strstr(sec_out, "ok   sec_page_size_body") != NULL);
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
    int st = sec_run(NULL, "sec_exec_enomem_body", NULL, sec_out, sizeof sec_out);
    if (!sec_ok(st)) printf("    child status 0x%x:\n%s\n", (unsigned)st, sec_out);
    CHECK(sec_ok(st));
    CHECK(strstr(sec_out, "ok   sec_exec_enomem_body") != NULL);
    CHECK(strstr(sec_out, "refused executable memory") == NULL);
}

static const test_case_t secure_cases[] = {{"sec_page_size_body", sec_page_size_body},
                                           {"sec_page_size_race", sec_page_size_race},
                                           {"sec_no_rows_body", sec_no_rows_body},
                                           {"sec_no_rows", sec_no_rows},
                                           {"sec_exec_enomem_body", sec_exec_enomem_body},
                                           {"sec_exec_enomem", sec_exec_enomem},
                                           {NULL, NULL}};
TEST_SUITE(secure);
