/* exalloc - C tests: lookaside lists under several threads (fixed seeds).
 *
 * Invariants checked:
 *  - no block is ever handed to two owners at once (each live block carries its owner's
 *    stamp, checked before it is freed);
 *  - the number of cached blocks never exceeds Depth (a monitor thread queries while the
 *    workers run);
 *  - at the end, after a flush, every block the allocate callback produced went back through
 *    the free callback, and the list's counters equal the workers' own counts exactly. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 64, THREADS = 4, LIVE = 48 };

typedef struct {
    atomic_ullong allocs, frees;
} cb_counts_t;

static void *cb_alloc(int32_t type, exa_u64 size, uint32_t tag, void *ctx) {
    (void)type, (void)tag;
    atomic_fetch_add(&((cb_counts_t *)ctx)->allocs, 1);
    return malloc((size_t)size);
}
static void cb_free(void *b, void *ctx) {
    atomic_fetch_add(&((cb_counts_t *)ctx)->frees, 1);
    free(b);
}

/* A list whose callbacks count into *cb (zeroed here). NULL if creation failed. */
static exa_lookaside_t *counted_list(cb_counts_t *cb, exa_u64 size, uint32_t tag, int32_t type, uint32_t depth,
                                     uint32_t maximum) {
    atomic_init(&cb->allocs, 0);
    atomic_init(&cb->frees, 0);
    exa_lookaside_config_t cfg = {.size = size, .tag = tag, .pool_type = type, .maximum_depth = maximum,
                                  .initial_depth = depth, .allocate = cb_alloc, .free = cb_free, .context = cb};
    exa_lookaside_t *l = NULL;
    return exa_lookaside_create(&cfg, &l) == EXA_STATUS_SUCCESS ? l : NULL;
}

typedef struct {
    exa_lookaside_t *list;
    atomic_uint *monitor_samples; /* start only once the monitor is sampling */
    uint64_t seed;
    unsigned iterations;
    uint64_t allocs, frees;  /* this worker's own counts */
    int errors;
} worker_t;

/* Owner stamp at offset 8 (the first word belongs to the list). */
static void stamp(void *b, uint64_t v) { memcpy((char *)b + 8, &v, sizeof v); }
static uint64_t stamp_of(void *b) {
    uint64_t v;
    memcpy(&v, (char *)b + 8, sizeof v);
    return v;
}

static void *worker(void *arg) {
    worker_t *w = arg;
    void *live[LIVE] = {0};
    uint64_t mine = (uint64_t)(uintptr_t)w;
    while (atomic_load(w->monitor_samples) == 0) sched_yield();
    for (unsigned i = 0; i < w->iterations; i++) {
        unsigned k = (unsigned)(test_rand(&w->seed) % LIVE);
        if (live[k] == NULL) {
            void *b = exa_lookaside_allocate(w->list);
            w->allocs++;
            if (b == NULL) { w->errors++; continue; }
            if (stamp_of(b) == 0xA110CA7EDULL) w->errors++; /* still owned by someone */
            stamp(b, 0xA110CA7EDULL);
            memcpy((char *)b + 16, &mine, sizeof mine);
            live[k] = b;
        } else {
            void *b = live[k];
            uint64_t owner;
            memcpy(&owner, (char *)b + 16, sizeof owner);
            if (owner != mine || stamp_of(b) != 0xA110CA7EDULL) w->errors++;
            stamp(b, 0xF4EEDULL);
            exa_lookaside_free(w->list, b);
            w->frees++;
            live[k] = NULL;
        }
    }
    for (unsigned k = 0; k < LIVE; k++) {
        if (live[k]) {
            stamp(live[k], 0xF4EEDULL);
            exa_lookaside_free(w->list, live[k]);
            w->frees++;
        }
    }
    return NULL;
}

typedef struct {
    exa_lookaside_t *list;
    atomic_int stop;
    int violations;
    int flush;
    uint64_t flushed;
    atomic_uint samples;
} monitor_t;

static void *monitor(void *arg) {
    monitor_t *m = arg;
    while (!atomic_load(&m->stop)) {
        exa_lookaside_stats_t s;
        exa_lookaside_query(m->list, &s);
        if (s.current_depth > s.depth) m->violations++;
        unsigned n = atomic_fetch_add(&m->samples, 1) + 1;
        if (m->flush && (n % 4) == 0) m->flushed += exa_lookaside_flush(m->list);
        for (volatile int spin = 0; spin < 2000; spin++) {}
    }
    return NULL;
}

static void run(uint32_t depth, int flush, uint64_t seed_base) {
    cb_counts_t cb;
    exa_lookaside_t *l = counted_list(&cb, BLOCK, 0x73727453, EXA_NON_PAGED_POOL, depth, 1024);
    CHECK(l != NULL);
    worker_t w[THREADS];
    pthread_t t[THREADS], mt;
    monitor_t m = {.list = l, .flush = flush};
    atomic_init(&m.stop, 0);
    atomic_init(&m.samples, 0u);
    pthread_create(&mt, NULL, monitor, &m);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){.list = l, .monitor_samples = &m.samples, .seed = seed_base + (uint64_t)i * 7919,
                          .iterations = test_scale(300000)};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    uint64_t allocs = 0, frees = 0;
    int errors = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        allocs += w[i].allocs;
        frees += w[i].frees;
        errors += w[i].errors;
    }
    atomic_store(&m.stop, 1);
    pthread_join(mt, NULL);
    CHECK_EQ(errors, 0);
    CHECK_EQ(m.violations, 0);
    CHECK(atomic_load(&m.samples) > 0);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, allocs);
    CHECK_EQ(s.total_frees, frees);
    CHECK_EQ(allocs, frees);
    CHECK_EQ(s.allocate_misses, atomic_load(&cb.allocs));
    CHECK_EQ(s.thread_caches, 0); /* every worker exited: its cache went back */
    CHECK(s.current_depth <= s.depth);
    uint64_t flushed = exa_lookaside_flush(l);
    CHECK_EQ(s.free_misses + m.flushed + flushed, atomic_load(&cb.frees));
    CHECK_EQ(atomic_load(&cb.allocs), atomic_load(&cb.frees));
    exa_lookaside_delete(l);
}

static void four_threads_depth_4(void) { run(4, 0, 1); }
static void four_threads_depth_256(void) { run(256, 0, 2); }
static void four_threads_depth_1024_with_flushes(void) { run(1024, 1, 3); }

/* One thread allocates, another frees (through a bounded hand-off ring). */
typedef struct {
    exa_lookaside_t *list;
    void *_Atomic ring[64];
    unsigned count;
    int errors;
} handoff_t;

static void *producer(void *arg) {
    handoff_t *h = arg;
    for (unsigned i = 0; i < h->count; i++) {
        void *b = exa_lookaside_allocate(h->list);
        if (b == NULL) { h->errors++; continue; }
        stamp(b, i);
        unsigned slot = i % 64;
        while (atomic_load(&h->ring[slot]) != NULL) sched_yield();
        atomic_store(&h->ring[slot], b);
    }
    return NULL;
}

static void *consumer(void *arg) {
    handoff_t *h = arg;
    for (unsigned i = 0; i < h->count; i++) {
        unsigned slot = i % 64;
        void *b;
        while ((b = atomic_load(&h->ring[slot])) == NULL) sched_yield();
        atomic_store(&h->ring[slot], NULL);
        if (stamp_of(b) != i) h->errors++;
        exa_lookaside_free(h->list, b);
    }
    return NULL;
}

static void cross_thread_free(void) {
    cb_counts_t cb;
    static handoff_t h;
    memset(&h, 0, sizeof h);
    h.list = counted_list(&cb, BLOCK, 0x736F7243, EXA_PAGED_POOL, 128, 0);
    CHECK(h.list != NULL);
    h.count = test_scale(200000);
    pthread_t p, c;
    pthread_create(&p, NULL, producer, &h);
    pthread_create(&c, NULL, consumer, &h);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    CHECK_EQ(h.errors, 0);
    exa_lookaside_stats_t s;
    exa_lookaside_query(h.list, &s);
    CHECK_EQ(s.total_allocates, h.count);
    CHECK_EQ(s.total_frees, h.count);
    CHECK(s.current_depth <= 128);
    /* Blocks flow back to the producer through the shared stack: most allocations hit. */
    CHECK(s.allocate_misses < h.count / 2);
    exa_lookaside_delete(h.list);
    CHECK_EQ(atomic_load(&cb.allocs), atomic_load(&cb.frees));
}

/* A thread's cache returns to the list when the thread exits. */
static exa_lookaside_t *exit_list;
static void *use_then_exit(void *arg) {
    (void)arg;
    void *b[3];
    for (int i = 0; i < 3; i++) b[i] = exa_lookaside_allocate(exit_list);
    for (int i = 0; i < 3; i++) exa_lookaside_free(exit_list, b[i]);
    return NULL;
}

static void thread_exit_returns_cache(void) {
    cb_counts_t cb;
    exit_list = counted_list(&cb, 32, 0x74697845, EXA_NON_PAGED_POOL, 0, 0);
    CHECK(exit_list != NULL);
    pthread_t t;
    pthread_create(&t, NULL, use_then_exit, NULL);
    pthread_join(t, NULL);
    exa_lookaside_stats_t s;
    exa_lookaside_query(exit_list, &s);
    CHECK_EQ(s.thread_caches, 0);
    CHECK_EQ(s.current_depth, 3);
    CHECK_EQ(s.total_allocates, 3);
    CHECK_EQ(s.total_frees, 3);
    /* The main thread now gets those blocks (no new miss). */
    void *b = exa_lookaside_allocate(exit_list);
    CHECK(b != NULL);
    CHECK_EQ(atomic_load(&cb.allocs), 3);
    exa_lookaside_free(exit_list, b);
    exa_thread_cache_release();
    exa_lookaside_query(exit_list, &s);
    CHECK_EQ(s.thread_caches, 0);
    CHECK_EQ(s.current_depth, 3);
    exa_lookaside_delete(exit_list);
    CHECK_EQ(atomic_load(&cb.frees), 3);
}

static const test_case_t stress_cases[] = {
    {"stress.four_threads_depth_4", four_threads_depth_4},
    {"stress.four_threads_depth_256", four_threads_depth_256},
    {"stress.four_threads_depth_1024_with_flushes", four_threads_depth_1024_with_flushes},
    {"stress.cross_thread_free", cross_thread_free},
    {"stress.thread_exit_returns_cache", thread_exit_returns_cache},
    {NULL, NULL}};
TEST_SUITE(stress);
