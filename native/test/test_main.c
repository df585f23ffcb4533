/* exalloc - C tests: the runner. Usage: exalloc_tests [substring]. */
#define _GNU_SOURCE 1
#include "test.h"

#include <stdlib.h>
#include <string.h>

int test_current_failed;
static int test_current_skipped;

void test_skip(const char *why) {
    test_current_skipped = 1;
    printf("    skipped: %s\n", why);
}

void test_report(const char *file, int line, const char *expr, const char *detail) {
    test_current_failed = 1;
    printf("    FAILED %s:%d: %s%s%s\n", file, line, expr, detail ? "  -- " : "", detail ? detail : "");
}

unsigned test_scale(unsigned n) {
    const char *s = getenv("EXA_TEST_SCALE");
    unsigned div = s ? (unsigned)atoi(s) : 1u;
    if (div == 0) div = 1;
    return n / div > 0 ? n / div : 1;
}

int test_in_child(void (*fn)(void), char *err, size_t cap) { return test_os_child(fn, err, cap); }

int test_child_stops(void (*fn)(void), const char *stop) {
    char err[1024];
    int status = test_in_child(fn, err, sizeof err);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strncmp(err, stop, strlen(stop)) == 0) return 1;
    printf("    child status 0x%x, stderr: %s\n", (unsigned)status, err);
    return 0;
}

uint32_t test_tag(const char *s) {
    return (uint32_t)(unsigned char)s[0] | (uint32_t)(unsigned char)s[1] << 8 | (uint32_t)(unsigned char)s[2] << 16 |
           (uint32_t)(unsigned char)s[3] << 24;
}

exa_pool_tag_row_t test_tag_row(uint32_t tag, int32_t pool) {
    exa_pool_tag_row_t none;
    memset(&none, 0, sizeof none);
    uint32_t n = exa_pool_tag_snapshot(NULL, 0);
    exa_pool_tag_row_t *rows = calloc(n + 64, sizeof *rows);
    if (rows == NULL) return none;
    n = exa_pool_tag_snapshot(rows, n + 64);
    for (uint32_t i = 0; i < n; i++) {
        if (rows[i].tag == (tag & 0x7FFFFFFFu) && rows[i].pool == pool) {
            none = rows[i];
            break;
        }
    }
    free(rows);
    return none;
}

exa_pool_block_info_t test_block_info(const void *p) {
    exa_pool_block_info_t bi;
    memset(&bi, 0, sizeof bi);
    if (exa_pool_query_block(p, &bi) != EXA_STATUS_SUCCESS) memset(&bi, 0, sizeof bi);
    return bi;
}

static test_suite_t *test_suites;
static size_t test_suite_count;

void test_register_suite(test_suite_t *suite) {
    suite->next = test_suites;
    test_suites = suite;
    test_suite_count++;
}

static int test_suite_order(const void *a, const void *b) {
    return strcmp((*(test_suite_t *const *)a)->name, (*(test_suite_t *const *)b)->name);
}

int main(int argc, char **argv) {
    test_os_init(argv[0]);
    test_os_child_main(argc, argv); /* a child process started by test_in_child: runs and exits */
    /* Every test file registered its suites before main; run them in name order. */
    test_suite_t **suites = calloc(test_suite_count + 1, sizeof *suites);
    if (suites == NULL) return 1;
    size_t nsuites = 0;
    for (test_suite_t *s = test_suites; s != NULL; s = s->next) suites[nsuites++] = s;
    qsort(suites, nsuites, sizeof *suites, test_suite_order);
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t s = 0; s < nsuites; s++) {
        for (const test_case_t *t = suites[s]->cases; t->name != NULL; t++) {
            if (filter && !strstr(t->name, filter)) continue;
            test_current_failed = 0;
            test_current_skipped = 0;
            t->fn();
            /* A case must leave the thread as it found it; one that failed half-way may not. */
            exa_set_bugcheck_handler(NULL, NULL);
            if (exa_irql_get() != EXA_PASSIVE_LEVEL) {
                if (!test_current_failed) test_report(__FILE__, __LINE__, "IRQL back at PASSIVE_LEVEL", NULL);
                exa_irql_lower(EXA_PASSIVE_LEVEL);
            }
            printf("%s %s\n", test_current_failed ? "FAIL" : test_current_skipped ? "skip" : "ok  ", t->name);
            if (test_current_failed) failed++;
            else if (test_current_skipped) skipped++;
            else passed++;
        }
    }
    free(suites);
    printf("native: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 && passed > 0 ? 0 : 1;
}
