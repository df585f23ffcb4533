/* exalloc - C tests: fork() in a multithreaded process (docs/conventions.md#fork).
 *
 * Four threads allocate and free pool blocks (many tags, so the tag lock is taken often,
 * every pool, small and big blocks) and lookaside blocks (one shared list, so blocks sit in
 * every thread's cache), and the balance-set thread runs, while the main thread forks
 * FORKS times. Every child must, promptly and with its only thread:
 *  - allocate and free in each pool, and see exact tag counts for its own tag;
 *  - use the lookaside list, whose statistics must show the other threads' caches
 *    reclaimed (only the child's own cache attached) and exact counts;
 *  - find the balance-set thread stopped, and be able to start and stop one of its own.
 * The parent waits for each child with a deadline: a child that hangs (a lock held by a
 * thread that does not exist in the child) is killed and fails the test. Without the fork
 * handlers most children hang on their first allocation (a tag or descriptor lock).
 *
 * ThreadSanitizer cannot follow a fork of a multithreaded process (its runtime may itself
 * deadlock in the child, and it reports nothing useful there): skipped in that build. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#if TEST_HAVE_FORK
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { WORKERS = 4, FORKS = 40, LIVE = 32, WORKER_TAGS = 48, CHILD_DEADLINE_MS = 15000 };

static atomic_int fork_stop;
static atomic_int fork_warm; /* workers past their first allocations (thread state made) */
static exa_lookaside_t *fork_list;
static const exa_u64 fork_pools[3] = {EXA_POOL_FLAG_NON_PAGED, EXA_POOL_FLAG_PAGED, EXA_POOL_FLAG_NON_PAGED_EXECUTE};

static uint32_t worker_tag(uint32_t i) { return 0x00006B46u | (uint32_t)('a' + i % 26) << 16 | (uint32_t)('a' + i / 26) << 24; }

static void *fork_worker(void *arg) {
    uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 11;
    void *pool_live[LIVE] = {0};
    void *list_live[LIVE] = {0};
    unsigned rounds = 0;
    while (!atomic_load(&fork_stop)) {
        uint64_t r = test_rand(&seed);
        unsigned k = (unsigned)(r >> 8) % LIVE;
        if (pool_live[k] != NULL) {
            exa_pool_free(pool_live[k]);
            pool_live[k] = NULL;
        } else {
            exa_u64 n = (r >> 20) % 16 == 0 ? 4096 + (r >> 30) % 8192 : 1 + (r >> 30) % 2000;
            pool_live[k] = exa_pool_allocate(fork_pools[(r >> 40) % 3] | EXA_POOL_FLAG_UNINITIALIZED, n,
                                             worker_tag((uint32_t)(r >> 44) % WORKER_TAGS));
        }
        unsigned j = (unsigned)(r >> 50) % LIVE;
        if (list_live[j] != NULL) {
            (void)exa_lookaside_free(fork_list, list_live[j]);
            list_live[j] = NULL;
        } else {
            list_live[j] = exa_lookaside_allocate(fork_list);
        }
        /* A snapshot takes the tag lock and mallocs its rows. This libasan's allocator does
         * not hold its own locks across fork, so under ASan the workers leave malloc alone
         * once warm (a child could otherwise hang inside ASan, not inside the library). */
        if (!TEST_ASAN && (r >> 56) == 0) (void)exa_pool_tag_snapshot(NULL, 0);
        if (++rounds == 1000) atomic_fetch_add(&fork_warm, 1);
    }
    for (unsigned i = 0; i < LIVE; i++) {
        exa_pool_free(pool_live[i]);
        (void)exa_lookaside_free(fork_list, list_live[i]);
    }
    return NULL;
}

/* Runs in the child, which has one thread. */
static void fork_child_body(void) {
    /* Pool: every pool, a small and a big block, exact counts for a tag nobody else uses. */
    uint32_t tag = test_tag("Chld");
    for (int32_t kind = EXA_POOL_KIND_NON_PAGED; kind <= EXA_POOL_KIND_PAGED; kind++) {
        exa_pool_tag_row_t before = test_tag_row(tag, kind);
        for (unsigned i = 0; i < 3; i++) {
            if ((fork_pools[i] == EXA_POOL_FLAG_PAGED) != (kind == EXA_POOL_KIND_PAGED)) continue;
            for (exa_u64 n = 24; n <= 24 + 8192; n += 8192) {
                unsigned char *p = exa_pool_allocate(fork_pools[i], n, tag);
                CHECK(p != NULL);
                memset(p, 0x5A, (size_t)n);
                exa_pool_free(p);
            }
        }
        exa_pool_tag_row_t after = test_tag_row(tag, kind);
        exa_u64 made = kind == EXA_POOL_KIND_PAGED ? 2 : 4;
        CHECK_EQ(after.allocs, before.allocs + made);
        CHECK_EQ(after.frees, before.frees + made);
        CHECK_EQ(after.diff, before.diff);
    }
    /* Lookaside: the vanished threads' caches are reclaimed, the counts add up. */
    exa_lookaside_stats_t s0, s1;
    CHECK_EQ(exa_lookaside_query(fork_list, &s0), EXA_STATUS_SUCCESS);
    CHECK(s0.thread_caches == 0);  /* the main thread never used the list */
    CHECK(s0.current_depth <= s0.depth);
    void *held[10];
    for (unsigned i = 0; i < 10; i++) CHECK((held[i] = exa_lookaside_allocate(fork_list)) != NULL);
    for (unsigned i = 0; i < 10; i++) CHECK_EQ(exa_lookaside_free(fork_list, held[i]), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_query(fork_list, &s1), EXA_STATUS_SUCCESS);
    CHECK_EQ(s1.total_allocates, s0.total_allocates + 10);
    CHECK_EQ(s1.total_frees, s0.total_frees + 10);
    CHECK_EQ(s1.thread_caches, 1);
    CHECK(s1.current_depth <= s1.depth);
    /* Background threads: not running in the child; a new one can be started. */
    CHECK_EQ(exa_balance_set_running(), 0);
    CHECK_EQ(exa_balance_set_start(5), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_balance_set_running(), 1);
    CHECK_EQ(exa_balance_set_stop(), EXA_STATUS_SUCCESS);
}

static uint64_t fork_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The child's wait status, or -1 when it missed the deadline (then killed). */
static int fork_wait(pid_t pid) {
    uint64_t deadline = fork_now_ms() + CHILD_DEADLINE_MS;
    int status = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) return status;
        if (got < 0) return -2;
        if (fork_now_ms() > deadline) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, &status, 0);
            return -1;
        }
        usleep(1000);
    }
}

static void children_of_a_busy_parent_work(void) {
    if (TEST_TSAN) {
        TEST_SKIP("ThreadSanitizer does not support fork() in a multithreaded process");
    }
    if (test_emulator() != NULL)
        TEST_SKIP("qemu-user cannot fork while other threads run guest code (its child asserts cpu == current_cpu)");
    exa_lookaside_config_t cfg = {.size = 64, .tag = test_tag("FkLa"), .pool_type = EXA_NON_PAGED_POOL_NX,
                                  .initial_depth = 256};
    CHECK_EQ(exa_lookaside_create(&cfg, &fork_list), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_balance_set_start(2), EXA_STATUS_SUCCESS);
    atomic_store(&fork_stop, 0);
    atomic_store(&fork_warm, 0);
    pthread_t threads[WORKERS];
    for (uintptr_t i = 0; i < WORKERS; i++) CHECK(pthread_create(&threads[i], NULL, fork_worker, (void *)(i + 1)) == 0);
    while (atomic_load(&fork_warm) < WORKERS) usleep(1000);
    unsigned forks = FORKS;
    unsigned hung = 0, failed = 0;
    for (unsigned i = 0; i < forks; i++) {
        usleep(2000); /* let the workers get back inside the library */
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(CHILD_DEADLINE_MS / 1000 + 5); /* a hung child ends even if the parent dies */
            test_current_failed = 0;
            fork_child_body();
            fflush(stdout);
            _exit(test_current_failed ? 1 : 0);
        }
        if (pid < 0) {
            failed++;
            continue;
        }
        int status = fork_wait(pid);
        if (status == -1) hung++;
        else if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("    child %u: status 0x%x\n", i, (unsigned)status);
            failed++;
        }
    }
    atomic_store(&fork_stop, 1);
    for (unsigned i = 0; i < WORKERS; i++) pthread_join(threads[i], NULL);
    CHECK_EQ(exa_balance_set_stop(), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_delete(fork_list), EXA_STATUS_SUCCESS);
    fork_list = NULL;
    if (hung != 0) printf("    %u of %u children hung\n", hung, forks);
    CHECK_EQ(hung, 0);
    CHECK_EQ(failed, 0);
}

#else
static void children_of_a_busy_parent_work(void) {
    TEST_SKIP("Windows has no fork(): a process is never a copy of another, so there is no child to check");
}
#endif

static const test_case_t fork_cases[] = {
    {"fork.children_of_a_busy_parent_work", children_of_a_busy_parent_work},
    {NULL, NULL},
};
TEST_SUITE(fork);
