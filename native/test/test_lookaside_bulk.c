/* exalloc - C tests: exa_lookaside_allocate_cached / exa_lookaside_free_cached, the bulk
 * transfers behind a caller-side (Java) per-thread cache. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


typedef struct {
    atomic_ullong allocs, frees;
} bulk_cb_t;

static void *bulk_alloc(int32_t type, exa_u64 size, uint32_t tag, void *ctx) {
    (void)type, (void)tag;
    atomic_fetch_add(&((bulk_cb_t *)ctx)->allocs, 1);
    return malloc((size_t)size);
}
static void bulk_free(void *b, void *ctx) {
    atomic_fetch_add(&((bulk_cb_t *)ctx)->frees, 1);
    free(b);
}

static exa_lookaside_t *bulk_list(bulk_cb_t *cb, uint32_t depth) {
    atomic_init(&cb->allocs, 0);
    atomic_init(&cb->frees, 0);
    exa_lookaside_config_t cfg = {.size = 64, .tag = 0x6B6C7542, .pool_type = EXA_NON_PAGED_POOL,
                                  .initial_depth = depth, .allocate = bulk_alloc, .free = bulk_free, .context = cb};
    exa_lookaside_t *l = NULL;
    return exa_lookaside_create(&cfg, &l) == EXA_STATUS_SUCCESS ? l : NULL;
}

/* Empty list: allocate_cached returns nothing and never calls the allocate callback. */
static void allocate_cached_never_calls_the_callback(void) {
    bulk_cb_t cb;
    exa_lookaside_t *l = bulk_list(&cb, 0);
    CHECK(l != NULL);
    void *out[8] = {0};
    CHECK_EQ(exa_lookaside_allocate_cached(l, out, 8), 0);
    CHECK_EQ(exa_lookaside_allocate_cached(l, out, 0), 0);
    CHECK(out[0] == NULL);
    CHECK_EQ(atomic_load(&cb.allocs), 0);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 0);
    CHECK_EQ(s.allocate_misses, 0);
    exa_lookaside_delete(l);
}

/* Depth 4: free_cached takes 4 of 10, counts 4 frees and no miss, never calls the free
 * callback; the rest go through exa_lookaside_free (misses). allocate_cached hands them back
 * LIFO and counts hits only. */
static void free_cached_depth_bound_counters_lifo(void) {
    bulk_cb_t cb;
    exa_lookaside_t *l = bulk_list(&cb, 0);
    CHECK(l != NULL);
    void *b[10];
    for (int i = 0; i < 10; i++) {
        b[i] = malloc(64);
        CHECK(b[i] != NULL);
        memset(b[i], 0x5A, 64);
    }
    uint32_t k = exa_lookaside_free_cached(l, b, 10);
    CHECK_EQ(k, 4);
    CHECK_EQ(atomic_load(&cb.frees), 0);
    for (uint32_t i = k; i < 10; i++) CHECK_EQ(exa_lookaside_free(l, b[i]), EXA_STATUS_SUCCESS);
    CHECK_EQ(atomic_load(&cb.frees), 6);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_frees, 10);
    CHECK_EQ(s.free_misses, 6);
    CHECK_EQ(s.current_depth, 4);
    CHECK_EQ(s.total_allocates, 0);

    /* A second bulk free finds no room. */
    void *extra = malloc(64);
    CHECK_EQ(exa_lookaside_free_cached(l, &extra, 1), 0);
    free(extra);

    void *out[8] = {0};
    CHECK_EQ(exa_lookaside_allocate_cached(l, out, 3), 3);
    CHECK(out[0] == b[3]);
    CHECK(out[1] == b[2]);
    CHECK(out[2] == b[1]);
    for (int i = 0; i < 3; i++) {
        void *w;
        memcpy(&w, out[i], sizeof w);
        CHECK(w != (void *)0x5A5A5A5A5A5A5A5AULL); /* first word overwritten */
        CHECK_EQ(((unsigned char *)out[i])[8], 0x5A);  /* the rest kept */
        CHECK_EQ(((unsigned char *)out[i])[63], 0x5A);
    }
    CHECK(exa_lookaside_allocate(l) == b[0]); /* the single-block path continues the order */
    CHECK_EQ(exa_lookaside_allocate_cached(l, out + 3, 5), 0);
    CHECK_EQ(atomic_load(&cb.allocs), 0);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 4);
    CHECK_EQ(s.allocate_misses, 0);
    CHECK_EQ(s.current_depth, 0);
    /* Mixing: single frees then a bulk allocate get the newest first. */
    exa_lookaside_free(l, out[0]);
    exa_lookaside_free(l, out[2]);
    void *two[2];
    CHECK_EQ(exa_lookaside_allocate_cached(l, two, 2), 2);
    CHECK(two[0] == out[2]);
    CHECK(two[1] == out[0]);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 6);
    CHECK_EQ(s.total_frees, 12);
    CHECK_EQ(s.free_misses, 6);
    free(two[0]);
    free(two[1]);
    free(out[1]);
    free(b[0]);
    exa_lookaside_delete(l);
    CHECK_EQ(atomic_load(&cb.frees), 6);
}

/* Depth larger than a thread's private stack: a bulk free of 200 blocks is bounded by
 * Depth exactly and comes back newest first across the private and shared stacks. */
static void bulk_beyond_the_thread_cache(void) {
    bulk_cb_t cb;
    exa_lookaside_t *l = bulk_list(&cb, 150);
    CHECK(l != NULL);
    enum { N = 200 };
    void **b = malloc(sizeof(void *) * N);
    CHECK(b != NULL);
    for (int i = 0; i < N; i++) b[i] = exa_lookaside_allocate(l); /* misses: attaches the cache */
    CHECK_EQ(atomic_load(&cb.allocs), N);
    /* 10 single frees first (into the private stack), then bulk. */
    for (int i = 0; i < 10; i++) exa_lookaside_free(l, b[i]);
    uint32_t k = exa_lookaside_free_cached(l, b + 10, N - 10);
    CHECK_EQ(k, 140);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.current_depth, 150);
    CHECK_EQ(s.depth, 150);
    CHECK_EQ(s.total_frees, 150);
    CHECK_EQ(s.free_misses, 0);
    for (int i = 10 + (int)k; i < N; i++) exa_lookaside_free(l, b[i]);
    CHECK_EQ(atomic_load(&cb.frees), N - 150);
    void **out = malloc(sizeof(void *) * N);
    CHECK(out != NULL);
    CHECK_EQ(exa_lookaside_allocate_cached(l, out, N), 150);
    for (int i = 0; i < 150; i++) CHECK(out[i] == b[149 - i]);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.current_depth, 0);
    CHECK_EQ(s.total_allocates, N + 150);
    CHECK_EQ(s.allocate_misses, N);
    /* And back: all 150 fit again. */
    CHECK_EQ(exa_lookaside_free_cached(l, out, 150), 150);
    CHECK_EQ(exa_lookaside_flush(l), 150);
    CHECK_EQ(atomic_load(&cb.frees), N);
    free(out);
    free(b);
    exa_lookaside_delete(l);
}

/* A thread with no cache of its own uses the shared stack directly. */
static void *other_thread_takes(void *arg) {
    exa_lookaside_t *l = arg;
    void *out[4];
    uint32_t k = exa_lookaside_allocate_cached(l, out, 4);
    void *back = (void *)(uintptr_t)k;
    if (k > 0 && exa_lookaside_free_cached(l, out, k) != k) back = NULL;
    return back;
}

static void a_thread_without_cache_uses_the_shared_stack(void) {
    bulk_cb_t cb;
    exa_lookaside_t *l = bulk_list(&cb, 8);
    CHECK(l != NULL);
    void *b[8];
    for (int i = 0; i < 8; i++) b[i] = malloc(64);
    /* Park the blocks on the shared stack: bulk-free from a thread with no cache. */
    exa_thread_cache_release();
    CHECK_EQ(exa_lookaside_free_cached(l, b, 8), 8);
    pthread_t t;
    void *ret = NULL;
    CHECK_EQ(pthread_create(&t, NULL, other_thread_takes, l), 0);
    pthread_join(t, &ret);
    CHECK_EQ((uintptr_t)ret, 4);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.current_depth, 8);
    CHECK_EQ(s.total_allocates, 4);
    CHECK_EQ(s.total_frees, 12);
    CHECK_EQ(s.thread_caches, 0);
    CHECK_EQ(exa_lookaside_flush(l), 8);
    CHECK_EQ(atomic_load(&cb.frees), 8);
    exa_lookaside_delete(l);
}

/* return_cached gives back blocks a transfer took and nobody used: they are cached again and
 * their allocates uncounted, on the taking thread (its cache) and on a thread with none. */
static void *other_thread_returns(void *arg) {
    exa_lookaside_t *l = arg;
    void *out[2];
    uint32_t k = exa_lookaside_allocate_cached(l, out, 2);
    return (void *)(uintptr_t)(k == 2 ? exa_lookaside_return_cached(l, out, 2) : 99);
}

static void return_cached_uncounts_the_allocates(void) {
    bulk_cb_t cb;
    exa_lookaside_t *l = bulk_list(&cb, 6);
    CHECK(l != NULL);
    void *b[6];
    for (int i = 0; i < 6; i++) b[i] = malloc(64);
    CHECK_EQ(exa_lookaside_free_cached(l, b, 6), 6);
    void *out[6] = {0};
    CHECK_EQ(exa_lookaside_allocate_cached(l, out, 5), 5);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 5);
    CHECK_EQ(s.current_depth, 1);
    /* Two were used (freed as usual), three never were. */
    CHECK_EQ(exa_lookaside_free_cached(l, out, 2), 2);
    CHECK_EQ(exa_lookaside_return_cached(l, out + 2, 3), 3);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 2);
    CHECK_EQ(s.total_frees, 8);
    CHECK_EQ(s.allocate_misses, 0);
    CHECK_EQ(s.free_misses, 0);
    CHECK_EQ(s.current_depth, 6);
    CHECK_EQ(exa_lookaside_return_cached(NULL, out, 1), 0);
    /* A full list caches none of them: they go to the free callback, still uncounted. */
    void *more[2];
    CHECK_EQ(exa_lookaside_flush(l), 6);
    CHECK_EQ(atomic_load(&cb.frees), 6);
    void *back[6];
    for (int i = 0; i < 6; i++) back[i] = malloc(64);
    CHECK_EQ(exa_lookaside_free_cached(l, back, 6), 6);
    CHECK_EQ(exa_lookaside_allocate_cached(l, more, 2), 2);
    CHECK_EQ(exa_lookaside_free_cached(l, (void *const[]){malloc(64), malloc(64)}, 2), 2); /* full again */
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 4);
    CHECK_EQ(s.total_frees, 16);
    CHECK_EQ(exa_lookaside_return_cached(l, more, 2), 0);
    CHECK_EQ(atomic_load(&cb.frees), 8);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 2);
    CHECK_EQ(s.total_frees, 16);
    CHECK_EQ(s.free_misses, 0);
    pthread_t t;
    void *ret = NULL;
    CHECK_EQ(pthread_create(&t, NULL, other_thread_returns, l), 0);
    pthread_join(t, &ret);
    CHECK_EQ((uintptr_t)ret, 2);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 2);
    CHECK_EQ(s.total_frees, 16);
    CHECK_EQ(s.current_depth, 6);
    CHECK_EQ(exa_lookaside_flush(l), 6);
    exa_lookaside_delete(l);
    CHECK_EQ(atomic_load(&cb.frees), 14);
}

static void bugcheck_cases_at_high_irql(void) {
    bulk_cb_t cb;
    exa_lookaside_t *l = bulk_list(&cb, 0);
    CHECK(l != NULL);
    void *b = malloc(64);
    CHECK_EQ(exa_lookaside_free_cached(l, &b, 1), 1);
    exa_u64 n0 = test_bugcheck_begin();
    uint8_t old = 0;
    exa_irql_raise(EXA_HIGH_LEVEL, &old);
    void *out[2] = {0};
    uint32_t k = exa_lookaside_allocate_cached(l, out, 2);
    exa_irql_lower(old);
    exa_bugcheck_info_t info = test_bugcheck_end(n0);
    CHECK_EQ(k, 0);
    CHECK_BUGCHECK(info, 0xC2, 0x08, EXA_HIGH_LEVEL);
    n0 = test_bugcheck_begin();
    exa_irql_raise(EXA_HIGH_LEVEL, &old);
    void *c = malloc(64);
    k = exa_lookaside_free_cached(l, &c, 1);
    exa_irql_lower(old);
    info = test_bugcheck_end(n0);
    CHECK_EQ(k, 0);
    CHECK_BUGCHECK(info, 0xC2, 0x09, EXA_HIGH_LEVEL);
    free(c);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 0);
    CHECK_EQ(s.total_frees, 1);
    CHECK_EQ(s.current_depth, 1);
    exa_lookaside_delete(l);
    CHECK_EQ(atomic_load(&cb.frees), 1);
}

/* Several threads mixing bulk and single operations: no block handed out twice, never more
 * than Depth cached, counters exact at the end. */
enum { BT = 4, BATCH = 16, HELD = 64 };
typedef struct {
    exa_lookaside_t *l;
    uint64_t seed;
    unsigned rounds;
    uint64_t allocs, frees, errors;
} bulk_worker_t;

static void *bulk_worker(void *arg) {
    bulk_worker_t *w = arg;
    void *held[HELD];
    unsigned nh = 0;
    uint64_t mark = 0xB0B0000000000000ULL | (uint64_t)(uintptr_t)w;
    for (unsigned r = 0; r < w->rounds; r++) {
        unsigned op = (unsigned)(test_rand(&w->seed) % 4);
        if (op == 0 && nh + BATCH <= HELD) {
            uint32_t k = exa_lookaside_allocate_cached(w->l, held + nh, BATCH);
            w->allocs += k;
            for (uint32_t i = 0; i < k; i++) {
                uint64_t m;
                memcpy(&m, (char *)held[nh + i] + 8, sizeof m);
                if ((m >> 48) == 0xB0B0) w->errors++;
                memcpy((char *)held[nh + i] + 8, &mark, sizeof mark);
            }
            nh += k;
        } else if (op == 1 && nh < HELD) {
            void *b = exa_lookaside_allocate(w->l);
            w->allocs++;
            if (b == NULL) { w->errors++; continue; }
            uint64_t m;
            memcpy(&m, (char *)b + 8, sizeof m);
            if ((m >> 48) == 0xB0B0) w->errors++;
            memcpy((char *)b + 8, &mark, sizeof mark);
            held[nh++] = b;
        } else if (op == 2 && nh > 0) {
            uint32_t n = nh < BATCH ? nh : BATCH;
            void **from = held + nh - n;
            for (uint32_t i = 0; i < n; i++) {
                uint64_t m;
                memcpy(&m, (char *)from[i] + 8, sizeof m);
                if (m != mark) w->errors++;
                memset((char *)from[i] + 8, 0, 8);
            }
            uint32_t k = exa_lookaside_free_cached(w->l, from, n);
            for (uint32_t i = k; i < n; i++) exa_lookaside_free(w->l, from[i]);
            w->frees += n;
            nh -= n;
        } else if (nh > 0) {
            void *b = held[--nh];
            memset((char *)b + 8, 0, 8);
            exa_lookaside_free(w->l, b);
            w->frees++;
        }
    }
    while (nh > 0) {
        void *b = held[--nh];
        memset((char *)b + 8, 0, 8);
        exa_lookaside_free(w->l, b);
        w->frees++;
    }
    return NULL;
}

static void bulk_many_threads_invariants(void) {
    bulk_cb_t cb;
    exa_lookaside_t *l = bulk_list(&cb, 100);
    CHECK(l != NULL);
    bulk_worker_t w[BT];
    pthread_t t[BT];
    for (int i = 0; i < BT; i++) {
        w[i] = (bulk_worker_t){.l = l, .seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1), .rounds = test_scale(20000)};
        CHECK_EQ(pthread_create(&t[i], NULL, bulk_worker, &w[i]), 0);
    }
    int over = 0;
    for (int j = 0; j < 200; j++) {
        exa_lookaside_stats_t s;
        exa_lookaside_query(l, &s);
        if (s.current_depth > s.depth) over++;
    }
    uint64_t allocs = 0, frees = 0, errors = 0;
    for (int i = 0; i < BT; i++) {
        pthread_join(t[i], NULL);
        allocs += w[i].allocs;
        frees += w[i].frees;
        errors += w[i].errors;
    }
    CHECK_EQ(errors, 0);
    CHECK_EQ(over, 0);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, allocs);
    CHECK_EQ(s.total_frees, frees);
    CHECK(s.current_depth <= 100);
    CHECK_EQ(exa_lookaside_flush(l), s.current_depth);
    CHECK_EQ(atomic_load(&cb.allocs), s.allocate_misses);
    CHECK_EQ(atomic_load(&cb.frees), atomic_load(&cb.allocs));
    exa_lookaside_delete(l);
}

/* The fast paths' per-thread memo (last list used): switching lists, flushing, and deleting
 * a list then creating one (often at the same address) never hands a block of one list to
 * another, and the counters stay exact. */
static void memo_follows_list_switches(void) {
    bulk_cb_t ca, cb;
    exa_lookaside_t *a = bulk_list(&ca, 8), *b = bulk_list(&cb, 8);
    CHECK(a != NULL && b != NULL);
    void *pa[4], *pb[4];
    for (int i = 0; i < 4; i++) {
        pa[i] = exa_lookaside_allocate(a);
        pb[i] = exa_lookaside_allocate(b);
    }
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 4; i++) {
            exa_lookaside_free(a, pa[i]);
            exa_lookaside_free(b, pb[i]);
        }
        for (int i = 3; i >= 0; i--) {
            CHECK(exa_lookaside_allocate(a) == pa[i]);
            CHECK(exa_lookaside_allocate(b) == pb[i]);
        }
    }
    exa_lookaside_stats_t s;
    exa_lookaside_query(a, &s);
    CHECK_EQ(s.total_allocates, 404);
    CHECK_EQ(s.allocate_misses, 4);
    CHECK_EQ(s.total_frees, 400);
    CHECK_EQ(s.free_misses, 0);
    /* A flush in the middle: the memo must not keep serving the flushed cache. */
    for (int i = 0; i < 4; i++) exa_lookaside_free(a, pa[i]);
    CHECK_EQ(exa_lookaside_flush(a), 4);
    CHECK_EQ(atomic_load(&ca.frees), 4);
    void *fresh = exa_lookaside_allocate(a); /* a miss, not a flushed block */
    CHECK_EQ(atomic_load(&ca.allocs), 5);
    exa_lookaside_query(a, &s);
    CHECK_EQ(s.current_depth, 0);
    CHECK_EQ(s.allocate_misses, 5);
    exa_lookaside_free(a, fresh);
    /* Delete a while it is the memoised list, then create c (maybe at a's address). */
    exa_lookaside_delete(a);
    CHECK_EQ(atomic_load(&ca.frees), 5);
    bulk_cb_t cc;
    exa_lookaside_t *c = bulk_list(&cc, 8);
    CHECK(c != NULL);
    void *pc = exa_lookaside_allocate(c);
    CHECK(pc != NULL);
    CHECK_EQ(atomic_load(&cc.allocs), 1);
    exa_lookaside_query(c, &s);
    CHECK_EQ(s.total_allocates, 1);
    CHECK_EQ(s.allocate_misses, 1);
    CHECK_EQ(s.current_depth, 0);
    exa_lookaside_delete(c);
    for (int i = 0; i < 4; i++) exa_lookaside_free(b, pb[i]);
    exa_lookaside_delete(b);
    CHECK_EQ(atomic_load(&cb.frees), 4);
    CHECK_EQ(atomic_load(&cc.frees), 0);
    free(pc);
}

/* AddressSanitizer visibility (ASan builds only): a block cached by a lookaside list, in the
 * thread's cache or on the shared stack, and a free zone block are poisoned, so touching one
 * after freeing it is reported (use-after-poison). Each touch runs in a child process. */
static exa_lookaside_t *track_list;
static void *track_block;

static void touch_cached_block(void) {
    volatile unsigned char *p = track_block;
    p[16] = 1; /* use after free: the block sits in this thread's cache */
    _exit(0);  /* not reached under ASan */
}

static void touch_shared_block(void) {
    volatile unsigned char *p = track_block;
    (void)p[40]; /* read after free: the block sits on the shared stack */
    _exit(0);
}

static exa_zone_t track_zone;
static _Alignas(16) unsigned char track_segment[16 + 4 * 64];
static void touch_free_zone_block(void) {
    volatile unsigned char *p = track_block;
    (void)p[8];
    _exit(0);
}

static int child_reports_poison(void (*fn)(void)) {
    static char err[32768];
    int status = test_in_child(fn, err, sizeof err);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && strstr(err, "AddressSanitizer: use-after-poison") != NULL)
        return 1;
    printf("    child status 0x%x, stderr: %.400s\n", (unsigned)status, err);
    return 0;
}

static void asan_reports_use_of_cached_and_free_blocks(void) {
    if (!TEST_ASAN) {
        TEST_SKIP("not an AddressSanitizer build: poisoning compiles to nothing");
    }
    bulk_cb_t cb;
    track_list = bulk_list(&cb, 8);
    CHECK(track_list != NULL);
    /* Thread cache. */
    void *b = exa_lookaside_allocate(track_list);
    CHECK(b != NULL);
    memset(b, 0x11, 64); /* handed out: fully usable */
    exa_lookaside_free(track_list, b);
    track_block = b;
    CHECK(child_reports_poison(touch_cached_block));
    /* Handed out again: usable again, contents past the link kept. */
    unsigned char *again = exa_lookaside_allocate(track_list);
    CHECK(again == b);
    CHECK_EQ(again[63], 0x11);
    again[20] = 2;
    /* Shared stack: a thread without a cache bulk-frees into it. */
    exa_lookaside_free(track_list, again);
    exa_thread_cache_release();
    void *other = malloc(64);
    CHECK(other != NULL);
    CHECK_EQ(exa_lookaside_free_cached(track_list, &other, 1), 1);
    track_block = other;
    CHECK(child_reports_poison(touch_shared_block));
    exa_lookaside_delete(track_list); /* the blocks go to free() unpoisoned */
    CHECK_EQ(atomic_load(&cb.frees), 2);
    /* Zone: carved and freed blocks are poisoned, allocated ones are not. */
    CHECK_EQ(exa_zone_init(&track_zone, 64, track_segment, sizeof track_segment), EXA_STATUS_SUCCESS);
    unsigned char *z = exa_zone_allocate(&track_zone);
    CHECK(z != NULL);
    memset(z, 0x22, 64);
    track_block = (unsigned char *)exa_zone_allocate(&track_zone); /* never handed out before */
    exa_zone_free(&track_zone, track_block);
    CHECK(child_reports_poison(touch_free_zone_block));
    exa_zone_free(&track_zone, z);
    track_block = z;
    CHECK(child_reports_poison(touch_free_zone_block));
    CHECK(exa_zone_allocate(&track_zone) == z);
    CHECK_EQ(z[63], 0x22);
    exa_zone_free(&track_zone, z);
    /* Free blocks stay poisoned while the zone owns them (a zone has no delete: reusing the
     * segment for something else is reported under ASan). Initialising a zone over the same
     * memory again starts clean, and allocated blocks are writable. */
    CHECK_EQ(exa_zone_init(&track_zone, 64, track_segment, sizeof track_segment), EXA_STATUS_SUCCESS);
    for (int i = 0; i < 4; i++) {
        unsigned char *p = exa_zone_allocate(&track_zone);
        CHECK(p != NULL);
        memset(p, 0x33, 64);
    }
    CHECK(exa_zone_allocate(&track_zone) == NULL);
}

static const test_case_t lookaside_bulk_cases[] = {
    {"lookaside_bulk.return_cached_uncounts_the_allocates", return_cached_uncounts_the_allocates},
    {"lookaside_bulk.allocate_cached_never_calls_the_callback", allocate_cached_never_calls_the_callback},
    {"lookaside_bulk.free_cached_depth_bound_counters_lifo", free_cached_depth_bound_counters_lifo},
    {"lookaside_bulk.bulk_beyond_the_thread_cache", bulk_beyond_the_thread_cache},
    {"lookaside_bulk.a_thread_without_cache_uses_the_shared_stack", a_thread_without_cache_uses_the_shared_stack},
    {"lookaside_bulk.bugcheck_cases_at_high_irql", bugcheck_cases_at_high_irql},
    {"lookaside_bulk.bulk_many_threads_invariants", bulk_many_threads_invariants},
    {"lookaside_bulk.memo_follows_list_switches", memo_follows_list_switches},
    {"track.asan_reports_use_of_cached_and_free_blocks", asan_reports_use_of_cached_and_free_blocks},
    {NULL, NULL}};
TEST_SUITE(lookaside_bulk);
