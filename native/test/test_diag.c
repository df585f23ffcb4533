/* exalloc - C tests: diagnostics (leak report, allocation dump and snapshot, PoolMon and
 * !lookaside text, the bug-check dump, the live view and the exapoolmon tool). */
#define _GNU_SOURCE 1
#include "test.h"
#include "exalloc_nt.h"
#include "diag/diag_shm.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if TEST_POSIX
#  include <sys/stat.h>
#endif

#define TAG4(s) ((uint32_t)(unsigned char)(s)[0] | (uint32_t)(unsigned char)(s)[1] << 8 | \
                 (uint32_t)(unsigned char)(s)[2] << 16 | (uint32_t)(unsigned char)(s)[3] << 24)

static char big_text[1 << 20];

/* The line of `text` that starts with `prefix` (after leading blanks), copied to out. */
static int find_line(const char *text, const char *prefix, char *out, size_t cap) {
    for (const char *line = text; line && *line;) {
        const char *p = line;
        while (*p == ' ') p++;
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            size_t k = len < cap - 1 ? len : cap - 1;
            memcpy(out, line, k);
            out[k] = 0;
            return 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Column values of a PoolMon row: tag type allocs frees diff bytes per_alloc. */
static int parse_row(const char *line, unsigned long long v[5]) {
    char tag[8], type[8];
    return sscanf(line, " %4s %5s %llu %llu %llu %llu %llu", tag, type, &v[0], &v[1], &v[2], &v[3], &v[4]) == 7;
}

static exa_u64 charged(void *p) {
    exa_pool_block_info_t info;
    if (exa_pool_query_block(p, &info) != EXA_STATUS_SUCCESS) return 0;
    return info.charged;
}

static void diag_poolmon_text(void) {
    void *a[3], *b;
    for (int i = 0; i < 3; i++) a[i] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100, TAG4("DgPa"));
    b = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 1000, TAG4("DgPb"));
    CHECK(a[0] && a[1] && a[2] && b);
    exa_pool_free(a[2]);
    exa_u64 n = exa_poolmon_text(big_text, sizeof big_text, EXA_POOLMON_SORT_BYTES);
    CHECK_EQ(n, strlen(big_text));
    char line[256];
    unsigned long long v[5];
    CHECK(find_line(big_text, "Tag ", line, sizeof line));
    CHECK(find_line(big_text, "DgPa Nonp", line, sizeof line));
    CHECK(parse_row(line, v));
    CHECK_EQ(v[0], 3);
    CHECK_EQ(v[1], 1);
    CHECK_EQ(v[2], 2);
    CHECK_EQ(v[3], 2 * charged(a[0]));
    CHECK_EQ(v[4], charged(a[0]));
    CHECK(find_line(big_text, "DgPb Nonp", line, sizeof line));
    CHECK(parse_row(line, v));
    CHECK_EQ(v[0], 1);
    CHECK_EQ(v[3], charged(b));
    /* By bytes DgPb (1 block of ~1 KiB) comes before DgPa (2 of ~128); by diff after it. */
    CHECK(strstr(big_text, "DgPb") < strstr(big_text, "DgPa"));
    exa_poolmon_text(big_text, sizeof big_text, EXA_POOLMON_SORT_DIFF);
    CHECK(strstr(big_text, "DgPa") < strstr(big_text, "DgPb"));
    exa_poolmon_text(big_text, sizeof big_text, EXA_POOLMON_SORT_TAG);
    CHECK(strstr(big_text, "DgPa") < strstr(big_text, "DgPb"));
    /* snprintf semantics: the length without a buffer, truncation with a NUL. */
    exa_u64 need = exa_poolmon_text(NULL, 0, EXA_POOLMON_SORT_TAG);
    CHECK_EQ(need, strlen(big_text));
    char small[11];
    memset(small, 'x', sizeof small);
    CHECK_EQ(exa_poolmon_text(small, sizeof small, EXA_POOLMON_SORT_TAG), need);
    CHECK_EQ(strlen(small), 10);
    CHECK(strncmp(small, big_text, 10) == 0);
    exa_pool_free(a[0]);
    exa_pool_free(a[1]);
    exa_pool_free(b);
}

static void diag_allocation_snapshot(void) {
    void *p[3];
    p[0] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100, TAG4("DgSa"));
    p[1] = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 300, TAG4("DgSb"));
    p[2] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 10000, TAG4("DgSc"));  /* big */
    CHECK(p[0] && p[1] && p[2]);
    exa_u64 total = exa_allocation_snapshot(NULL, 0);
    CHECK(total >= 3);
    exa_u64 cap = total + 64;
    exa_allocation_info_t *v = calloc(cap, sizeof *v);
    CHECK(v != NULL);
    exa_u64 got = exa_allocation_snapshot(v, cap);
    CHECK(got <= cap);
    const uint32_t tags[3] = {TAG4("DgSa"), TAG4("DgSb"), TAG4("DgSc")};
    int seen[3] = {0, 0, 0};
    for (exa_u64 i = 0; i < got; i++) {
        for (int k = 0; k < 3; k++) {
            if (v[i].address != (exa_u64)(uintptr_t)p[k]) continue;
            exa_pool_block_info_t info;
            exa_pool_query_block(p[k], &info);
            seen[k]++;
            if (v[i].tag != tags[k] || v[i].size != info.size || v[i].pool_type != info.pool_type) seen[k] = 100;
        }
    }
    free(v);
    CHECK_EQ(seen[0], 1);
    CHECK_EQ(seen[1], 1);
    CHECK_EQ(seen[2], 1);
    /* The text form names each block with its tag. */
    exa_allocation_dump(big_text, sizeof big_text);
    char addr[32], line[256];
    snprintf(addr, sizeof addr, "0x%016llx", (unsigned long long)(uintptr_t)p[2]);
    CHECK(find_line(big_text, addr, line, sizeof line));
    CHECK(strstr(line, "DgSc") != NULL);
    CHECK(strstr(line, "NonPagedPoolNx") != NULL);
    for (int k = 0; k < 3; k++) exa_pool_free(p[k]);
    got = exa_allocation_snapshot(NULL, 0);
    CHECK_EQ(got, total - 3);
}

static void diag_leak_report(void) {
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 72;
    cfg.tag = TAG4("DgLk");
    cfg.pool_type = EXA_PAGED_POOL;
    exa_lookaside_t *l;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);
    exa_lookaside_stats_t st;
    exa_lookaside_query(l, &st);
    void *b1 = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 48, TAG4("DgLe"));
    void *b2 = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 48, TAG4("DgLe"));
    CHECK(b1 && b2);
    exa_u64 n = exa_leak_report(big_text, sizeof big_text);
    CHECK_EQ(n, strlen(big_text));
    char want[64], line[256];
    snprintf(want, sizeof want, "list %llu  tag DgLk  type PagedPool (0x1)  size 72", st.id);
    CHECK(strstr(big_text, want) != NULL);
    char handle[128];
    snprintf(handle, sizeof handle, "handle 0x%llx  owner (exa_lookaside_create)", (unsigned long long)(uintptr_t)l);
    CHECK(strstr(strstr(big_text, want), handle) != NULL);
    /* An NT list: its owner is the caller's NPAGED_LOOKASIDE_LIST. */
    static NPAGED_LOOKASIDE_LIST nt;
    ExInitializeNPagedLookasideList(&nt, NULL, NULL, 0, 32, TAG4("DgNt"), 0);
    exa_leak_report(big_text, sizeof big_text);
    char owner[64];
    snprintf(owner, sizeof owner, "owner 0x%llx (NT lookaside structure)", (unsigned long long)(uintptr_t)&nt);
    const char *ntline = strstr(big_text, "tag DgNt  type NonPagedPool (0x0)  size 32");
    CHECK(ntline != NULL);
    CHECK(strstr(ntline, owner) != NULL);
    ExDeleteNPagedLookasideList(&nt);
    CHECK(strstr(big_text, "Outstanding pool allocations:") != NULL);
    CHECK(find_line(big_text, "DgLe Nonp", line, sizeof line));
    unsigned long long v[5];
    CHECK(parse_row(line, v));
    CHECK_EQ(v[2], 2);
    CHECK_EQ(v[3], 2 * charged(b1));
    exa_lookaside_delete(l);
    exa_pool_free(b1);
    exa_pool_free(b2);
    exa_leak_report(big_text, sizeof big_text);
    CHECK(strstr(big_text, want) == NULL);
    CHECK(!find_line(big_text, "DgLe", line, sizeof line));
}

static char exit_path[128];

/* The path travels in the environment: a child on Windows is a new process. */
static void leak_at_exit_child(void) {
    const char *path = getenv("EXA_TEST_EXIT_PATH");
    if (path == NULL || exa_leak_report_at_exit(1, path) != EXA_STATUS_SUCCESS) _exit(3);
    (void)exa_pool_allocate(EXA_POOL_FLAG_PAGED, 200, TAG4("DgEx"));  /* leaked on purpose */
    exit(0);  /* atexit handlers run */
}

static int read_file(const char *path, char *out, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    size_t used = fread(out, 1, cap - 1, f);
    out[used] = 0;
    fclose(f);
    return (int)used;
}

static void diag_leak_report_at_exit(void) {
    snprintf(exit_path, sizeof exit_path, "%sexalloc-leak-%u.txt", test_temp_dir(), test_pid());
    remove(exit_path);
    char err[256];
    test_setenv("EXA_TEST_EXIT_PATH", exit_path);
    int status = test_in_child(leak_at_exit_child, err, sizeof err);
    test_unsetenv("EXA_TEST_EXIT_PATH");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(read_file(exit_path, big_text, sizeof big_text) > 0);
    remove(exit_path);
    CHECK(strstr(big_text, "exalloc leak report (pid ") != NULL);
    char line[256];
    unsigned long long v[5];
    CHECK(find_line(big_text, "DgEx Paged", line, sizeof line));
    CHECK(parse_row(line, v));
    CHECK_EQ(v[0], 1);
    CHECK_EQ(v[2], 1);
    CHECK_EQ(v[3], 224);  /* 200 + the 16-byte header, rounded to 16 */
}

static void diag_sites(void) {
    int32_t before = exa_diag_record_sites(1);
    void *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 40, TAG4("DgVs"));
    void *q = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 40, TAG4("DgVt"));
    CHECK(p && q);
    exa_pool_free(q);
    exa_allocation_dump(big_text, sizeof big_text);
    exa_diag_record_sites(before);
    char addr[32];
    snprintf(addr, sizeof addr, "  0x%016llx", (unsigned long long)(uintptr_t)p);
    const char *at = strstr(big_text, addr);
    CHECK(at != NULL);
    const char *next = strchr(at, '\n');
    CHECK(next != NULL);
    CHECK(strncmp(next + 1, "      #0 0x", 11) == 0);  /* the allocation site follows */
    /* A freed block's site is gone with it (q's address may be reused: check by tag). */
    CHECK(strstr(big_text, "DgVt") == NULL);
    exa_pool_free(p);
}

static void fatal_child(void) {
    char *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, TAG4("DgFt"));
    exa_pool_free(p);
    exa_pool_free(p);  /* double free: 0xC2 / 0x07 with the block in p4 */
    _exit(0);
}

static void diag_bugcheck_dump(void) {
    char *err = big_text;
    test_unsetenv("EXALLOC_DUMP_PATH");
    int status = test_in_child(fatal_child, err, 65536);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strncmp(err, "*** STOP: 0x000000C2 (0x0000000000000007", 40) == 0);
    CHECK(strstr(err, "exalloc bug-check dump (pid ") != NULL);
    const char *c = strstr(err, "Culprit: ");
    CHECK(c != NULL);
    CHECK(strstr(c, "tag DgFt") != NULL);
    CHECK(strstr(err, "Live pool tags") != NULL);
    CHECK(strstr(err, "Live allocations: ") != NULL);
    /* To a file instead of stderr. */
    char path[128];
    snprintf(path, sizeof path, "%sexalloc-dump-%u.txt", test_temp_dir(), test_pid());
    remove(path);
    test_setenv("EXALLOC_DUMP_PATH", path);
    status = test_in_child(fatal_child, err, 65536);
    test_unsetenv("EXALLOC_DUMP_PATH");
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(err, "Culprit") == NULL);
    static char file[65536];
    CHECK(read_file(path, file, sizeof file) > 0);
    remove(path);
    CHECK(strstr(file, "Culprit: ") != NULL && strstr(file, "tag DgFt") != NULL);
}

#if TEST_POSIX
/* The exapoolmon binary: $EXAPOOLMON, or beside / above the test runner. */
static int tool_path(char *out, size_t cap) {
    const char *env = getenv("EXAPOOLMON");
    if (env != NULL) {
        snprintf(out, cap, "%s", env);
        return access(out, X_OK) == 0;
    }
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 0;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash == NULL) return 0;
    *slash = 0;
    static const char *rel[] = {"exapoolmon", "../bin/exapoolmon", "../../../bin/exapoolmon", "../../bin/exapoolmon"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        snprintf(out, cap, "%s/%s", self, rel[i]);
        if (access(out, X_OK) == 0) return 1;
    }
    return 0;
}

static int run_tool(const char *args, char *out, size_t cap) {
    char tool[1200], cmd[1400];
    if (!tool_path(tool, sizeof tool)) return -1;
    snprintf(cmd, sizeof cmd, "%s'%s' %s 2>&1", test_shell_prefix(), tool, args);
    FILE *f = popen(cmd, "r");
    if (f == NULL) return -2;
    size_t used = fread(out, 1, cap - 1, f);
    out[used] = 0;
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
#endif

static void diag_publish(void) {
    CHECK_EQ(exa_publish_start(20), EXA_STATUS_SUCCESS);
    void *p[3];
    for (int i = 0; i < 3; i++) p[i] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, TAG4("DgPu"));
    CHECK(p[0] && p[1] && p[2]);
    exa_pool_free(p[2]);
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 96;
    cfg.tag = TAG4("DgPl");
    cfg.pool_type = EXA_NON_PAGED_POOL_NX;
    exa_lookaside_t *l;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);
    void *x = exa_lookaside_allocate(l), *y = exa_lookaside_allocate(l);
    exa_lookaside_free(l, x);
    exa_lookaside_free(l, y);
    x = exa_lookaside_allocate(l);
    exa_lookaside_free(l, x);
    CHECK_EQ(exa_publish_now(), EXA_STATUS_SUCCESS);

    CHECK_EQ(test_view_mode(test_pid()), 0600);  /* the user's alone unless asked otherwise */
    exa_shm_word_t *w = test_view_map(test_pid(), (size_t)exa_shm_bytes());
    CHECK(w != NULL);
    static exa_shm_snapshot_t s;
    CHECK_EQ(exa_shm_read(w, &s, 1000000), 0);
    CHECK_EQ(s.pid, (uint64_t)test_pid());
    CHECK_EQ(s.period_ms, 20);
    const exa_pool_tag_row_t *row = NULL;
    for (uint32_t i = 0; i < s.tag_rows; i++)
        if (s.tags[i].tag == TAG4("DgPu")) row = &s.tags[i];
    CHECK(row != NULL);
    CHECK_EQ(row->pool, EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(row->allocs, 3);
    CHECK_EQ(row->frees, 1);
    CHECK_EQ(row->diff, 2);
    CHECK_EQ(row->bytes, 2 * charged(p[0]));
    const exa_lookaside_stats_t *ls = NULL;
    for (uint32_t i = 0; i < s.list_rows; i++)
        if (s.lists[i].tag == TAG4("DgPl")) ls = &s.lists[i];
    CHECK(ls != NULL);
    CHECK_EQ(ls->total_allocates, 3);
    CHECK_EQ(ls->allocate_misses, 2);
    CHECK_EQ(ls->total_frees, 3);
    CHECK_EQ(ls->free_misses, 0);
    CHECK_EQ(ls->size, 96);
    CHECK_EQ(ls->current_depth, 2);
    /* The thread publishes by itself. */
    uint64_t first = s.publishes;
    for (int i = 0; i < 400 && s.publishes < first + 2; i++) {
        test_sleep_ms(10);
        CHECK_EQ(exa_shm_read(w, &s, 1000000), 0);
    }
    CHECK(s.publishes >= first + 2);

#if TEST_POSIX
    /* The tool, as a child process. */
    char args[64], line[256];
    snprintf(args, sizeof args, "--once %d", (int)getpid());
    int rc = run_tool(args, big_text, sizeof big_text);
    if (rc == -1) {
        printf("    (exapoolmon not built: tool run skipped)\n");
    } else {
        CHECK_EQ(rc, 0);
        CHECK(find_line(big_text, "DgPu Nonp", line, sizeof line));
        unsigned long long v[5];
        CHECK(parse_row(line, v));
        CHECK_EQ(v[0], 3);
        CHECK_EQ(v[1], 1);
        CHECK_EQ(v[2], 2);
        CHECK_EQ(v[3], 2 * charged(p[0]));
        CHECK_EQ(v[4], charged(p[0]));
        snprintf(args, sizeof args, "--once --lookaside %d", (int)getpid());
        CHECK_EQ(run_tool(args, big_text, sizeof big_text), 0);
        char want[32];
        snprintf(want, sizeof want, "%llu DgPl", (unsigned long long)ls->id);
        CHECK(find_line(big_text, want, line, sizeof line));
        unsigned long long id, size, ta, am, tf, fm;
        unsigned hi, lo, depth, maxd, cur;
        char tag[8], type[32];
        CHECK(sscanf(line, " %llu %4s %31s %llu %llu %llu %u.%u %llu %llu %u %u %u", &id, tag, type, &size, &ta, &am, &hi,
                     &lo, &tf, &fm, &depth, &maxd, &cur) == 13);
        CHECK(strcmp(type, "NonPagedPoolNx") == 0);
        CHECK_EQ(ta, 3);
        CHECK_EQ(am, 2);
        CHECK_EQ(hi * 10 + lo, 333);  /* 1 hit in 3: 33.3% */
        CHECK_EQ(tf, 3);
        CHECK_EQ(cur, 2);
        CHECK_EQ(run_tool("--once 1", big_text, sizeof big_text), 2);  /* pid 1 publishes nothing */

        /* Refresh mode: the second frame shows what changed since the first, as (+n). */
        char tool[1200], cmd[1400];
        CHECK(tool_path(tool, sizeof tool));
        snprintf(cmd, sizeof cmd, "%s'%s' --count=2 --interval=1500 %d", test_shell_prefix(), tool, (int)getpid());
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        char l1[256] = "", l2[256] = "";
        while (fgets(line, sizeof line, f) != NULL && line[0] != '\n')
            if (strstr(line, " DgPu Nonp") == line) snprintf(l1, sizeof l1, "%s", line);
        void *more[2];
        for (int i = 0; i < 2; i++) more[i] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, TAG4("DgPu"));
        exa_publish_now();
        while (fgets(line, sizeof line, f) != NULL && line[0] != '\n')
            if (strstr(line, " DgPu Nonp") == line) snprintf(l2, sizeof l2, "%s", line);
        int st = pclose(f);
        exa_pool_free(more[0]);
        exa_pool_free(more[1]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        CHECK(l1[0] != 0 && l2[0] != 0);
        CHECK(strstr(l1, "(+") == NULL);  /* first frame: no deltas */
        unsigned long long allocs, frees, diff, bytes;
        char da[16], dd[16], db[16];
        CHECK(sscanf(l2, " DgPu Nonp %llu %15s %llu %llu %15s %llu %15s", &allocs, da, &frees, &diff, dd, &bytes, db) == 7);
        CHECK_EQ(allocs, 5);
        CHECK(strcmp(da, "(+2)") == 0);
        CHECK_EQ(frees, 1);
        CHECK_EQ(diff, 4);
        CHECK(strcmp(dd, "(+2)") == 0);
        char wantb[32];
        snprintf(wantb, sizeof wantb, "(+%llu)", (unsigned long long)(2 * charged(p[0])));
        CHECK(strcmp(db, wantb) == 0);
    }
#else
    printf("    (exapoolmon reads /dev/shm: it is built for POSIX hosts only; the view was checked directly)\n");
#endif
    test_view_unmap(w, (size_t)exa_shm_bytes());
    exa_lookaside_delete(l);
    exa_pool_free(p[0]);
    exa_pool_free(p[1]);
    CHECK_EQ(exa_publish_stop(), EXA_STATUS_SUCCESS);
    CHECK(!test_view_exists(test_pid()));
}

/* Standard error into a file for a while (in-process messages). */
static int stderr_to(const char *path) {
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (saved < 0 || fd < 0) return -1;
    dup2(fd, 2);
    close(fd);
    return saved;
}
static void stderr_back(int saved) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}


#if TEST_POSIX
static int count_of(const char *text, const char *what) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p++) n++;
    return n;
}

/* A name somebody else holds: publishing fails with a message (once), and the file or link
 * there is neither written into nor removed. */
static void diag_publish_taken(void) {
    char view[64], target[64], errpath[64];
    snprintf(view, sizeof view, "/dev/shm/exalloc.%d", (int)getpid());
    snprintf(target, sizeof target, "/tmp/exalloc-taken-%d", (int)getpid());
    snprintf(errpath, sizeof errpath, "/tmp/exalloc-taken-err-%d", (int)getpid());
    CHECK(access(view, F_OK) != 0);
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "mine\n", 5) == 5);
    close(fd);
    CHECK(symlink(target, view) == 0);  /* a link planted at the name */
    int saved = stderr_to(errpath);
    CHECK(saved >= 0);
    exa_status_t a = exa_publish_now(), b = exa_publish_start(50);
    stderr_back(saved);
    struct stat sb;
    int still_link = lstat(view, &sb) == 0 && S_ISLNK(sb.st_mode);
    int target_kept = read_file(target, big_text, sizeof big_text) == 5 && strcmp(big_text, "mine\n") == 0;
    unlink(view);
    unlink(target);
    CHECK_EQ(a, EXA_STATUS_UNSUCCESSFUL);
    CHECK_EQ(b, EXA_STATUS_UNSUCCESSFUL);
    CHECK(still_link);
    CHECK(target_kept);
    CHECK(read_file(errpath, big_text, sizeof big_text) > 0);
    unlink(errpath);
    CHECK_EQ(count_of(big_text, "is not this process's"), 1);  /* said once */
    CHECK(strstr(big_text, view + 8) != NULL);
    if (geteuid() == 0) {
        /* Another user's file (root could remove it; it must not). */
        fd = open(view, O_RDWR | O_CREAT | O_EXCL, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, "theirs\n", 7) == 7);
        CHECK(fchown(fd, 65534, 65534) == 0);
        close(fd);
        exa_status_t c = exa_publish_now();
        int kept = lstat(view, &sb) == 0 && sb.st_uid == 65534 && read_file(view, big_text, sizeof big_text) == 7;
        unlink(view);
        CHECK_EQ(c, EXA_STATUS_UNSUCCESSFUL);
        CHECK(kept);
    }
    /* The name free again: publishing works. A stale view of this user's is replaced. */
    fd = open(view, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(exa_publish_now(), EXA_STATUS_SUCCESS);
    CHECK(lstat(view, &sb) == 0 && (uint64_t)sb.st_size == exa_shm_bytes());
    CHECK_EQ(exa_publish_stop(), EXA_STATUS_SUCCESS);
    CHECK(access(view, F_OK) != 0);
}

#else
/* Windows: the name is a section; one somebody else created first (here: this test, through
 * a handle of its own) makes publishing fail with one message, and the holder's section is
 * left alone. Once the holder lets go, the name is free again. */
static void diag_publish_taken(void) {
    char errpath[300];
    snprintf(errpath, sizeof errpath, "%sexalloc-taken-err-%u", test_temp_dir(), test_pid());
    CHECK(!test_view_exists(test_pid()));
    void *hold = test_view_hold(test_pid(), 4096);
    CHECK(hold != NULL);
    int saved = stderr_to(errpath);
    exa_status_t a = exa_publish_now(), b = exa_publish_start(50);
    stderr_back(saved);
    int still = test_view_exists(test_pid());
    test_view_release(hold);
    CHECK_EQ(a, EXA_STATUS_UNSUCCESSFUL);
    CHECK_EQ(b, EXA_STATUS_UNSUCCESSFUL);
    CHECK(still);
    CHECK(!test_view_exists(test_pid()));  /* the holder's handle was the last */
    CHECK(read_file(errpath, big_text, sizeof big_text) > 0);
    remove(errpath);
    char name[32];
    snprintf(name, sizeof name, "Local\\exalloc.%u exists", test_pid());
    CHECK(strstr(big_text, name) != NULL);
    CHECK(strstr(big_text, "is not this process's") != NULL);
    CHECK(strstr(strstr(big_text, "is not this process's") + 1, "is not this process's") == NULL);  /* said once */
    CHECK_EQ(exa_publish_now(), EXA_STATUS_SUCCESS);
    CHECK(test_view_exists(test_pid()));
    CHECK_EQ(exa_publish_stop(), EXA_STATUS_SUCCESS);
    CHECK(!test_view_exists(test_pid()));
}
#endif

/* EXALLOC_PUBLISH_MODE widens the view's mode on request; anything else keeps 0600 (Windows:
 * the user alone, or with read access for Everyone; it has no file group, so 0640 reads as
 * 0644 there). */
static void diag_publish_mode(void) {
    static const struct { const char *value; int mode; } cases[] = {
        {"0644", 0644}, {"0640", TEST_POSIX ? 0640 : 0644}, {"0666", 0600}, {"", 0600}};
    char errpath[300];
    snprintf(errpath, sizeof errpath, "%sexalloc-mode-err-%u", test_temp_dir(), test_pid());
#if TEST_POSIX
    mode_t old = umask(077);  /* the mode is the library's, not the umask's */
#endif
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !bad; i++) {
        test_setenv("EXALLOC_PUBLISH_MODE", cases[i].value);
        int saved = stderr_to(errpath);
        exa_status_t st = exa_publish_now();
        stderr_back(saved);
        int mode = test_view_mode(test_pid());
        exa_publish_stop();
        if (st != EXA_STATUS_SUCCESS || mode != cases[i].mode) {
            printf("    EXALLOC_PUBLISH_MODE=%s: status 0x%x, mode 0%o\n", cases[i].value, (unsigned)st, (unsigned)mode);
            bad = 1;
        }
    }
#if TEST_POSIX
    umask(old);
#endif
    test_unsetenv("EXALLOC_PUBLISH_MODE");
    remove(errpath);
    CHECK(!bad);
}

#if TEST_POSIX
/* A process that only waits (the pid a planted view names). */
static pid_t sleeper(void) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        for (;;) pause();
    }
    return p;
}
static void sleeper_end(pid_t p) {
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
}

/* Copy this process's live view to /dev/shm/exalloc.<pid> (mode 0600, this user's). */
static int plant_view(pid_t pid, char *path, size_t cap) {
    static char copy[1 << 18];
    char mine[64];
    snprintf(mine, sizeof mine, "/dev/shm/exalloc.%d", (int)getpid());
    if (sizeof copy < exa_shm_bytes()) return 0;
    void *row = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, TAG4("DgPv"));  /* a row to show */
    exa_status_t st = exa_publish_now();
    exa_pool_free(row);
    if (st != EXA_STATUS_SUCCESS) return 0;
    int n = read_file(mine, copy, sizeof copy);
    exa_publish_stop();
    if ((uint64_t)n != exa_shm_bytes()) return 0;
    snprintf(path, cap, "/dev/shm/exalloc.%d", (int)pid);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return 0;
    int ok = write(fd, copy, (size_t)n) == n;
    return close(fd) == 0 && ok;
}

/* The tool shows only a view owned by the process's user, and never one through a link. */
static void diag_tool_owner(void) {
    char tool[1200];
    if (!tool_path(tool, sizeof tool)) {
        printf("    (exapoolmon not built: skipped)\n");
        return;
    }
    pid_t pid = sleeper();
    CHECK(pid > 0);
    char path[64], args[64];
    int planted = plant_view(pid, path, sizeof path);
    snprintf(args, sizeof args, "--once %d", (int)pid);
    int rc_own = planted ? run_tool(args, big_text, sizeof big_text) : -9;
    int shown = strstr(big_text, "DgPv Nonp") != NULL;
    int rc_other = 0;
    static char other[4096];
    if (planted && geteuid() == 0) {
        rc_other = chown(path, 65534, 65534) == 0 ? run_tool(args, other, sizeof other) : -8;
    }
    unlink(path);
    /* A link at the name, to this user's own file. */
    char target[64];
    snprintf(target, sizeof target, "/dev/shm/exalloc-link-%d", (int)pid);  /* rename stays on tmpfs */
    int linked = planted && plant_view(pid, path, sizeof path) && rename(path, target) == 0 && symlink(target, path) == 0;
    static char via_link[4096];
    int rc_link = linked ? run_tool(args, via_link, sizeof via_link) : -7;
    unlink(path);
    unlink(target);
    sleeper_end(pid);
    CHECK(planted);
    CHECK_EQ(rc_own, 0);  /* this user's file for this user's process: shown */
    CHECK(shown);
    if (geteuid() == 0) {
        CHECK_EQ(rc_other, 4);
        CHECK(strstr(other, "refused") != NULL);
        CHECK(strstr(other, "DgPv") == NULL);
    }
    CHECK(linked);
    CHECK_EQ(rc_link, 4);
    CHECK(strstr(via_link, "DgPv") == NULL);
}

/* A view truncated while the tool reads it ends the tool with a message (a mapping used to
 * die of SIGBUS). */
static void diag_tool_truncated(void) {
    char tool[1200], cmd[1400], path[64], line[512];
    if (!tool_path(tool, sizeof tool)) {
        printf("    (exapoolmon not built: skipped)\n");
        return;
    }
    pid_t pid = sleeper();
    CHECK(pid > 0);
    int planted = plant_view(pid, path, sizeof path);
    if (!planted) sleeper_end(pid);
    CHECK(planted);
    snprintf(cmd, sizeof cmd, "%s'%s' --count=200 --interval=50 %d 2>&1", test_shell_prefix(), tool, (int)pid);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    int first = 0;
    while (fgets(line, sizeof line, f) != NULL && line[0] != '\n') first |= strstr(line, " DgPv Nonp") == line;
    int fd = open(path, O_RDWR);
    int cut = fd >= 0 && ftruncate(fd, 0) == 0;
    if (fd >= 0) close(fd);
    big_text[0] = 0;
    size_t used = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (used + strlen(line) < sizeof big_text) {
            memcpy(big_text + used, line, strlen(line) + 1);
            used += strlen(line);
        }
    int st = pclose(f);
    unlink(path);
    sleeper_end(pid);
    CHECK(first);
    CHECK(cut);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 3)) printf("    tool status 0x%x, output tail: %.300s\n", (unsigned)st, big_text);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    CHECK(strstr(big_text, "was truncated") != NULL);
}

#else
static void diag_tool_owner(void) { TEST_SKIP("exapoolmon reads /dev/shm: it is built for POSIX hosts only"); }
static void diag_tool_truncated(void) { TEST_SKIP("exapoolmon reads /dev/shm: it is built for POSIX hosts only"); }
#endif

static void diag_lookaside_text(void) {
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 40;
    cfg.tag = TAG4("DgLt");
    cfg.pool_type = EXA_PAGED_POOL;
    exa_lookaside_t *l;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);
    void *x = exa_lookaside_allocate(l);
    exa_lookaside_free(l, x);
    x = exa_lookaside_allocate(l);
    exa_lookaside_free(l, x);
    exa_lookaside_stats_t st;
    exa_lookaside_query(l, &st);
    exa_u64 n = exa_lookaside_text(big_text, sizeof big_text);
    CHECK_EQ(n, strlen(big_text));
    CHECK(strstr(big_text, "TotalAllocates") != NULL);
    char want[32], line[256];
    snprintf(want, sizeof want, "%llu DgLt", (unsigned long long)st.id);
    CHECK(find_line(big_text, want, line, sizeof line));
    CHECK(strstr(line, " PagedPool ") != NULL);
    CHECK(strstr(line, " 50.0 ") != NULL);
    exa_lookaside_delete(l);
}

/* Run by diag_env in a fresh process (the variables are read when the library loads). */
static void diag_env_child_body(void) {
    if (getenv("EXA_DIAG_ENV_CHILD") == NULL) return;  /* in the normal run: nothing */
    (void)exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 500, TAG4("DgEv"));  /* leaked on purpose */
    printf("pid=%u\n", test_pid());
    CHECK(test_view_exists(test_pid()));  /* EXALLOC_PUBLISH=1 started the publisher */
}

static void diag_env(void) {
    char path[300], leak[330], out[2048];
    snprintf(path, sizeof path, "%sexalloc-env-%u.txt", test_temp_dir(), test_pid());
    snprintf(leak, sizeof leak, "EXALLOC_LEAK_REPORT=%s", path);
    remove(path);
    const char *const env[] = {"EXA_DIAG_ENV_CHILD=1", leak, "EXALLOC_CHECKS=verifier", "EXALLOC_PUBLISH=1", NULL};
    int status = test_run_self("diag_env_child_body", env, out, sizeof out);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) printf("    child status 0x%x, output: %s\n", (unsigned)status, out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(read_file(path, big_text, sizeof big_text) > 0);
    remove(path);
    char line[256];
    unsigned long long v[5];
    CHECK(find_line(big_text, "DgEv Nonp", line, sizeof line));
    CHECK(parse_row(line, v));
    CHECK_EQ(v[2], 1);
    CHECK_EQ(v[3], 528);  /* 500 + the 16-byte header, rounded to 16 */
    const char *sites = strstr(big_text, "Outstanding blocks with their allocation sites:");
    CHECK(sites != NULL);
    const char *blk = strstr(sites, " DgEv NonPagedPoolNx (0x200)\n      #0 0x");
    CHECK(blk != NULL);
    const char *pidline = strstr(out, "pid=");
    CHECK(pidline != NULL);
    CHECK(!test_view_exists((unsigned)strtoul(pidline + 4, NULL, 10)));  /* removed at exit */
}

static const test_case_t diag_cases[] = {{"diag_env_child_body", diag_env_child_body},
                                  {"diag_env", diag_env},
                                  {"diag_poolmon_text", diag_poolmon_text},
                                  {"diag_allocation_snapshot", diag_allocation_snapshot},
                                  {"diag_leak_report", diag_leak_report},
                                  {"diag_leak_report_at_exit", diag_leak_report_at_exit},
                                  {"diag_sites", diag_sites},
                                  {"diag_bugcheck_dump", diag_bugcheck_dump},
                                  {"diag_lookaside_text", diag_lookaside_text},
                                  {"diag_publish", diag_publish},
                                  {"diag_publish_taken", diag_publish_taken},
                                  {"diag_publish_mode", diag_publish_mode},
                                  {"diag_tool_owner", diag_tool_owner},
                                  {"diag_tool_truncated", diag_tool_truncated},
                                  {NULL, NULL}};
TEST_SUITE(diag);
