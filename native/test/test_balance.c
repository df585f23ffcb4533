/* exalloc - C tests: depth adjustment (exa_lookaside_tick) and the balance-set thread. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    atomic_ullong allocs, frees;
} bal_cb_t;

static void *bal_alloc(int32_t type, exa_u64 size, uint32_t tag, void *ctx) {
    (void)type, (void)tag;
    atomic_fetch_add(&((bal_cb_t *)ctx)->allocs, 1);
    return malloc((size_t)size);
}
static void bal_free(void *b, void *ctx) {
    atomic_fetch_add(&((bal_cb_t *)ctx)->frees, 1);
    free(b);
}

static exa_lookaside_t *bal_list(bal_cb_t *cb, uint32_t depth, uint32_t maximum) {
    atomic_init(&cb->allocs, 0);
    atomic_init(&cb->frees, 0);
    exa_lookaside_config_t cfg = {.size = 64, .tag = 0x616C6142, .pool_type = EXA_NON_PAGED_POOL,
                                  .initial_depth = depth, .maximum_depth = maximum, .allocate = bal_alloc,
                                  .free = bal_free, .context = cb};
    exa_lookaside_t *l = NULL;
    return exa_lookaside_create(&cfg, &l) == EXA_STATUS_SUCCESS ? l : NULL;
}

static uint32_t depth_of(exa_lookaside_t *l) {
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    return s.depth;
}

static uint32_t cached_of(exa_lookaside_t *l) {
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    return s.current_depth;
}

/* Allocate k blocks, then free them all. */
static void burst(exa_lookaside_t *l, void **b, int k) {
    for (int i = 0; i < k; i++) b[i] = exa_lookaside_allocate(l);
    for (int i = 0; i < k; i++) exa_lookaside_free(l, b[i]);
}

/* Misses raise Depth by ceil(M/2) (capped at MaximumDepth/4); idle periods lower it by 8
 * down to the initial depth; the surplus goes back through the free callback. */
static void depth_rises_on_misses_and_falls_when_idle(void) {
    bal_cb_t cb;
    exa_lookaside_t *l = bal_list(&cb, 0, 0);
    CHECK(l != NULL);
    void *b[64];
    CHECK_EQ(depth_of(l), 4);
    exa_lookaside_tick(); /* nothing happened yet: idle, already at the floor */
    CHECK_EQ(depth_of(l), 4);
    burst(l, b, 64); /* 64 allocates, 64 misses; 60 free misses */
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 4 + 32);
    burst(l, b, 64); /* 4 hits, 60 misses */
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 36 + 30);
    CHECK_EQ(cached_of(l), 36);
    burst(l, b, 64); /* 36 hits, 28 misses; 64 cached after the frees... but Depth 66 */
    CHECK_EQ(cached_of(l), 64);
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 66 + 14);
    /* Idle: -8 a period; cached blocks beyond Depth are trimmed through the callback. */
    unsigned long long frees0 = atomic_load(&cb.frees);
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 72);
    CHECK_EQ(cached_of(l), 64);
    CHECK_EQ(atomic_load(&cb.frees), frees0);
    for (int i = 0; i < 7; i++) exa_lookaside_tick(); /* 64, 56, ..., 16 */
    CHECK_EQ(depth_of(l), 16);
    CHECK_EQ(cached_of(l), 16);
    CHECK_EQ(atomic_load(&cb.frees), frees0 + 48);
    for (int i = 0; i < 5; i++) exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 4); /* the floor: the initial depth */
    CHECK_EQ(cached_of(l), 4);
    CHECK_EQ(atomic_load(&cb.frees), frees0 + 60);
    /* The trimmed blocks were the oldest: the newest four are still served LIFO. */
    CHECK(exa_lookaside_allocate(l) == b[63]);
    CHECK(exa_lookaside_allocate(l) == b[62]);
    exa_lookaside_free(l, b[62]);
    exa_lookaside_free(l, b[63]);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 64 * 3 + 2);
    CHECK_EQ(s.allocate_misses, 64 + 60 + 28);
    CHECK_EQ(exa_lookaside_flush(l), 4);
    CHECK_EQ(atomic_load(&cb.frees), atomic_load(&cb.allocs));
    exa_lookaside_delete(l);
}

/* A hot list with (almost) no misses decays by one a period; Depth never passes
 * MaximumDepth, and a fixed list does not move. */
static void low_miss_decay_maximum_and_fixed(void) {
    bal_cb_t cb;
    exa_lookaside_t *l = bal_list(&cb, 0, 0);
    CHECK(l != NULL);
    CHECK_EQ(exa_lookaside_set_depth(l, 20), EXA_STATUS_SUCCESS);
    void *p = exa_lookaside_allocate(l);
    exa_lookaside_free(l, p);
    exa_lookaside_tick(); /* 1 allocate: idle, -8 */
    CHECK_EQ(depth_of(l), 12);
    for (int i = 0; i < 1000; i++) {
        p = exa_lookaside_allocate(l);
        exa_lookaside_free(l, p);
    }
    exa_lookaside_tick(); /* 1000 hits, 0 misses */
    CHECK_EQ(depth_of(l), 11);
    /* Misses without end: +clamp(ceil(M/2), 1, 64) until 256. */
    void **b = malloc(sizeof(void *) * 300);
    CHECK(b != NULL);
    for (int round = 0; round < 10; round++) {
        burst(l, b, 300);
        exa_lookaside_tick();
        CHECK(depth_of(l) <= 256);
    }
    CHECK_EQ(depth_of(l), 256);
    CHECK_EQ(cached_of(l), 256);
    CHECK_EQ(exa_lookaside_set_fixed_depth(l, 1), EXA_STATUS_SUCCESS);
    for (int i = 0; i < 3; i++) exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 256);
    CHECK_EQ(exa_lookaside_set_fixed_depth(l, 0), EXA_STATUS_SUCCESS);
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 248);
    CHECK_EQ(cached_of(l), 248);
    CHECK_EQ(exa_lookaside_set_fixed_depth(NULL, 1), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_lookaside_depth(l), 248);
    CHECK_EQ(exa_lookaside_set_depth(l, 17), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_depth(l), 17);
    CHECK_EQ(exa_lookaside_depth(NULL), 0);
    exa_lookaside_delete(l);
    CHECK_EQ(atomic_load(&cb.frees), atomic_load(&cb.allocs));
    free(b);
}

/* Blocks parked in another thread's cache are trimmed too (the flush handshake reaches that
 * cache), oldest first, and the thread then gets the survivors newest first. */
typedef struct {
    exa_lookaside_t *l;
    atomic_int phase;
} parked_t;

static void *hold_and_wait(void *arg) {
    parked_t *p = arg;
    void *b[40];
    for (int i = 0; i < 40; i++) b[i] = exa_lookaside_allocate(p->l);
    for (int i = 0; i < 40; i++) exa_lookaside_free(p->l, b[i]);
    atomic_store(&p->phase, 1);
    while (atomic_load(&p->phase) != 2) sched_yield();
    int bad = 0;
    for (int i = 39; i >= 12; i--) /* b[0..11] were trimmed */
        if (exa_lookaside_allocate(p->l) != b[i]) bad++;
    void *fresh = exa_lookaside_allocate(p->l); /* a miss */
    for (int i = 12; i < 40; i++) exa_lookaside_free(p->l, b[i]);
    exa_lookaside_free(p->l, fresh);
    atomic_store(&p->phase, bad == 0 ? 3 : -bad);
    return NULL;
}

static void trim_reaches_other_threads_oldest_first(void) {
    bal_cb_t cb;
    exa_lookaside_t *l = bal_list(&cb, 0, 0);
    CHECK(l != NULL);
    CHECK_EQ(exa_lookaside_set_depth(l, 40), EXA_STATUS_SUCCESS);
    parked_t p = {.l = l};
    atomic_init(&p.phase, 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, hold_and_wait, &p), 0);
    while (atomic_load(&p.phase) != 1) sched_yield();
    CHECK_EQ(cached_of(l), 40);
    exa_lookaside_tick(); /* 40 allocates, 40 misses: 40 + 20 */
    CHECK_EQ(depth_of(l), 60);
    exa_lookaside_tick(); /* idle from here: -8 a period */
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 44);
    CHECK_EQ(atomic_load(&cb.frees), 0);
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 36);
    CHECK_EQ(atomic_load(&cb.frees), 4);
    exa_lookaside_tick();
    CHECK_EQ(depth_of(l), 28);
    CHECK_EQ(atomic_load(&cb.frees), 12);
    CHECK_EQ(cached_of(l), 28);
    atomic_store(&p.phase, 2);
    pthread_join(t, NULL);
    CHECK_EQ(atomic_load(&p.phase), 3);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.thread_caches, 0);
    CHECK_EQ(s.current_depth, 28); /* 28 of the 29 frees fitted */
    CHECK_EQ(s.total_allocates, 40 + 29);
    CHECK_EQ(s.allocate_misses, 41);
    exa_lookaside_delete(l);
    CHECK_EQ(atomic_load(&cb.frees), atomic_load(&cb.allocs));
}

/* The balance-set thread: ticks on its own, stops, stop is idempotent. */
static void balance_set_thread_start_stop(void) {
    CHECK_EQ(exa_balance_set_running(), 0);
    CHECK_EQ(exa_balance_set_stop(), EXA_STATUS_SUCCESS); /* not running: fine */
    bal_cb_t cb;
    exa_lookaside_t *l = bal_list(&cb, 0, 0);
    CHECK(l != NULL);
    CHECK_EQ(exa_lookaside_set_depth(l, 200), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_balance_set_start(5), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_balance_set_running(), 1);
    CHECK_EQ(exa_balance_set_start(5), EXA_STATUS_SUCCESS); /* already running */
    /* Idle: 200 -> 4 takes 25 periods of 5 ms; allow up to 5 s on a loaded machine. */
    for (int i = 0; i < 500 && depth_of(l) != 4; i++) {
        test_sleep_ms(10);
    }
    CHECK_EQ(depth_of(l), 4);
    CHECK_EQ(exa_balance_set_stop(), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_balance_set_running(), 0);
    CHECK_EQ(exa_balance_set_stop(), EXA_STATUS_SUCCESS);
    /* Stopped: nothing moves Depth any more. */
    CHECK_EQ(exa_lookaside_set_depth(l, 100), EXA_STATUS_SUCCESS);
    test_sleep_ms(30);
    CHECK_EQ(depth_of(l), 100);
    exa_lookaside_delete(l);
}

/* Ticks racing with workers and with delete: Depth bound and block conservation hold. */
enum { BW = 3 };
typedef struct {
    exa_lookaside_t *l;
    uint64_t seed;
    unsigned rounds;
    int errors;
} bal_worker_t;

static void *bal_worker(void *arg) {
    bal_worker_t *w = arg;
    void *held[64];
    unsigned nh = 0;
    for (unsigned r = 0; r < w->rounds; r++) {
        unsigned burst_n = (unsigned)(test_rand(&w->seed) % 64);
        while (nh < burst_n) {
            void *b = exa_lookaside_allocate(w->l);
            if (b == NULL) { w->errors++; break; }
            held[nh++] = b;
        }
        while (nh > 0) exa_lookaside_free(w->l, held[--nh]);
    }
    return NULL;
}

static atomic_int ticker_stop;
static void *ticker(void *arg) {
    exa_lookaside_t *l = arg;
    int over = 0;
    while (!atomic_load(&ticker_stop)) {
        exa_lookaside_tick();
        exa_lookaside_stats_t s;
        exa_lookaside_query(l, &s);
        if (s.current_depth > s.depth) over++;
    }
    return (void *)(intptr_t)over;
}

static void ticks_race_with_workers(void) {
    bal_cb_t cb;
    exa_lookaside_t *l = bal_list(&cb, 0, 0);
    CHECK(l != NULL);
    atomic_store(&ticker_stop, 0);
    pthread_t tt, t[BW];
    bal_worker_t w[BW];
    CHECK_EQ(pthread_create(&tt, NULL, ticker, l), 0);
    for (int i = 0; i < BW; i++) {
        w[i] = (bal_worker_t){.l = l, .seed = 0x1234567ULL * (uint64_t)(i + 3), .rounds = test_scale(3000)};
        CHECK_EQ(pthread_create(&t[i], NULL, bal_worker, &w[i]), 0);
    }
    int errors = 0;
    for (int i = 0; i < BW; i++) {
        pthread_join(t[i], NULL);
        errors += w[i].errors;
    }
    atomic_store(&ticker_stop, 1);
    void *over = NULL;
    pthread_join(tt, &over);
    CHECK_EQ(errors, 0);
    CHECK_EQ((intptr_t)over, 0);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK(s.depth >= 4 && s.depth <= 256);
    exa_lookaside_delete(l);
    CHECK_EQ(atomic_load(&cb.frees), atomic_load(&cb.allocs));
}

/* EXALLOC_BALANCE_SET starts the thread at the first list creation. The process that checks
 * this must start with the variable set: the test runs this binary again, filtered to this
 * case, with EXALLOC_BALANCE_SET=7 and a marker; that child checks the thread runs and that
 * it adjusts a list, and reports through its exit status. */
static void environment_variable_starts_the_thread(void) {
    if (getenv("EXA_TEST_BALANCE_CHILD") != NULL) {
        bal_cb_t cb;
        exa_lookaside_t *l = bal_list(&cb, 0, 0);
        CHECK(l != NULL);
        CHECK_EQ(exa_balance_set_running(), 1);
        CHECK_EQ(exa_lookaside_set_depth(l, 20), EXA_STATUS_SUCCESS);
        for (int i = 0; i < 500 && depth_of(l) != 4; i++) {
            test_sleep_ms(10);
        }
        CHECK_EQ(depth_of(l), 4);
        CHECK_EQ(exa_balance_set_stop(), EXA_STATUS_SUCCESS);
        exa_lookaside_delete(l);
        return;
    }
    static const char *const env[] = {"EXALLOC_BALANCE_SET=7", "EXA_TEST_BALANCE_CHILD=1", NULL};
    char out[2048];
    int status = test_run_self("balance.environment_variable_starts_the_thread", env, out, sizeof out);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) printf("    child status 0x%x, output: %s\n", (unsigned)status, out);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0); /* the child's runner: 1 passed, 0 failed */
    CHECK_EQ(exa_balance_set_running(), 0); /* not set here */
}

static const test_case_t balance_cases[] = {
    {"balance.depth_rises_on_misses_and_falls_when_idle", depth_rises_on_misses_and_falls_when_idle},
    {"balance.low_miss_decay_maximum_and_fixed", low_miss_decay_maximum_and_fixed},
    {"balance.trim_reaches_other_threads_oldest_first", trim_reaches_other_threads_oldest_first},
    {"balance.balance_set_thread_start_stop", balance_set_thread_start_stop},
    {"balance.ticks_race_with_workers", ticks_race_with_workers},
    {"balance.environment_variable_starts_the_thread", environment_variable_starts_the_thread},
    {NULL, NULL}};
TEST_SUITE(balance);
