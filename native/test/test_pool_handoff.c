/* exalloc - C tests: pool blocks handed between threads, written whole at once.
 *
 * Four threads allocate pool blocks (every front pool, cache-aligned and plain, small,
 * one-page and multi-page sizes), write each one whole the moment they get it, and hand it
 * to another thread, which checks it and frees it: almost every free is cross-thread, so
 * front caches fill with other threads' blocks and drain to the descriptors while their
 * neighbours are being carved and handed out again.
 *
 * Checked: a block is addressable for exactly its requested bytes from the moment it is
 * handed out until it is freed (under AddressSanitizer: no byte of it poisoned, both right
 * after the allocation and just before the free; any write to a poisoned byte stops the run
 * with use-after-poison), and nobody else writes it in between (owner word and fill intact).
 * This is the test of the pool's ASan bookkeeping (base/track.h) under concurrency: a
 * thread may only poison or unpoison a block while it owns it. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if TEST_ASAN
#  include <sanitizer/asan_interface.h>
static int handoff_poisoned(const void *p, exa_u64 n) {
    return __asan_region_is_poisoned((void *)(uintptr_t)p, (size_t)n) != NULL;
}
#else
static int handoff_poisoned(const void *p, exa_u64 n) { return (void)p, (void)n, 0; }
#endif

enum { HANDOFF_THREADS = 4, HANDOFF_BOX = 128 };

typedef struct {
    unsigned char *p;
    exa_u64 n;
    uint64_t owner;
} handoff_block_t;

typedef struct {
    pthread_mutex_t lock;
    handoff_block_t box[HANDOFF_BOX];
    unsigned count;
} handoff_box_t;

typedef struct {
    unsigned id;
    uint64_t seed;
    unsigned iterations;
    unsigned poisoned_new, poisoned_held, foreign, nulls;
    exa_u64 freed;
} handoff_worker_t;

static handoff_box_t handoff_boxes[HANDOFF_THREADS];
static atomic_uint handoff_running;

static unsigned char handoff_fill(uint64_t owner) { return (unsigned char)(owner >> 3) | 1u; }

static void handoff_release(handoff_worker_t *w, handoff_block_t *b) {
    if (handoff_poisoned(b->p, b->n)) w->poisoned_held++;
    uint64_t word;
    memcpy(&word, b->p, sizeof word);
    int intact = word == b->owner;
    for (exa_u64 i = 8; intact && i < b->n; i++) intact = b->p[i] == handoff_fill(b->owner);
    if (!intact) w->foreign++;
    exa_pool_free(b->p);
    w->freed++;
}

static void handoff_drain(handoff_worker_t *w) {
    handoff_block_t got[HANDOFF_BOX];
    handoff_box_t *box = &handoff_boxes[w->id];
    pthread_mutex_lock(&box->lock);
    unsigned n = box->count;
    memcpy(got, box->box, n * sizeof *got);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
    for (unsigned i = 0; i < n; i++) handoff_release(w, &got[i]);
}

static void *handoff_main(void *arg) {
    handoff_worker_t *w = arg;
    static const exa_u64 pools[] = {EXA_POOL_FLAG_NON_PAGED, EXA_POOL_FLAG_PAGED, EXA_POOL_FLAG_NON_PAGED_EXECUTE,
                                    EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_CACHE_ALIGNED};
    for (unsigned it = 0; it < w->iterations; it++) {
        uint64_t r = test_rand(&w->seed);
        if ((it & 7) == 0) handoff_drain(w);
        unsigned shape = (unsigned)(r >> 8) % 32;
        exa_u64 n = shape < 20 ? 8 + (r >> 16) % 248 : shape < 30 ? 8 + (r >> 16) % 4056 : 4065 + (r >> 16) % 9000;
        handoff_block_t b;
        b.n = n;
        b.p = exa_pool_allocate(pools[(r >> 40) % 4] | ((r >> 44) & 1 ? EXA_POOL_FLAG_UNINITIALIZED : 0), n,
                                test_tag("Hand"));
        if (b.p == NULL) {
            w->nulls++;
            continue;
        }
        if (handoff_poisoned(b.p, n)) w->poisoned_new++;
        b.owner = (uint64_t)(w->id + 1) << 56 | it;
        /* The owner's first write: the whole block at once. */
        memset(b.p, handoff_fill(b.owner), (size_t)n);
        memcpy(b.p, &b.owner, sizeof b.owner);
        unsigned to = (w->id + 1 + (unsigned)(r >> 50) % (HANDOFF_THREADS - 1)) % HANDOFF_THREADS;
        handoff_box_t *box = &handoff_boxes[to];
        pthread_mutex_lock(&box->lock);
        int sent = box->count < HANDOFF_BOX;
        if (sent) box->box[box->count++] = b;
        pthread_mutex_unlock(&box->lock);
        if (!sent) handoff_release(w, &b);
    }
    /* Keep draining until every thread has stopped sending. */
    atomic_fetch_sub(&handoff_running, 1u);
    while (atomic_load(&handoff_running) != 0) handoff_drain(w);
    handoff_drain(w);
    return NULL;
}

static void cross_thread_frees_keep_blocks_addressable(void) {
    exa_pool_tag_row_t before_np = test_tag_row(test_tag("Hand"), EXA_POOL_KIND_NON_PAGED);
    exa_pool_tag_row_t before_p = test_tag_row(test_tag("Hand"), EXA_POOL_KIND_PAGED);
    static handoff_worker_t w[HANDOFF_THREADS];
    pthread_t th[HANDOFF_THREADS];
    atomic_store(&handoff_running, HANDOFF_THREADS);
    for (unsigned i = 0; i < HANDOFF_THREADS; i++) {
        pthread_mutex_init(&handoff_boxes[i].lock, NULL);
        handoff_boxes[i].count = 0;
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].seed = 0xA5A5A5A5ull * (i + 3);
        w[i].iterations = test_scale(120000);
    }
    for (unsigned i = 0; i < HANDOFF_THREADS; i++) CHECK_EQ(pthread_create(&th[i], NULL, handoff_main, &w[i]), 0);
    for (unsigned i = 0; i < HANDOFF_THREADS; i++) pthread_join(th[i], NULL);
    unsigned poisoned_new = 0, poisoned_held = 0, foreign = 0, nulls = 0;
    exa_u64 freed = 0;
    for (unsigned i = 0; i < HANDOFF_THREADS; i++) {
        poisoned_new += w[i].poisoned_new;
        poisoned_held += w[i].poisoned_held;
        foreign += w[i].foreign;
        nulls += w[i].nulls;
        freed += w[i].freed;
        CHECK_EQ(handoff_boxes[i].count, 0);
    }
    CHECK_EQ(poisoned_new, 0);
    CHECK_EQ(poisoned_held, 0);
    CHECK_EQ(foreign, 0);
    CHECK_EQ(nulls, 0);
    exa_u64 made = 0;
    for (unsigned i = 0; i < HANDOFF_THREADS; i++) made += w[i].iterations;
    CHECK_EQ(freed, made);
    /* Every block is back: the tag's live count is where it was. */
    CHECK_EQ(test_tag_row(test_tag("Hand"), EXA_POOL_KIND_NON_PAGED).diff, before_np.diff);
    CHECK_EQ(test_tag_row(test_tag("Hand"), EXA_POOL_KIND_PAGED).diff, before_p.diff);
}

static const test_case_t pool_handoff_cases[] = {
    {"pool_handoff.cross_thread_frees_keep_blocks_addressable", cross_thread_frees_keep_blocks_addressable},
    {NULL, NULL},
};
TEST_SUITE(pool_handoff);
