/* exalloc - C tests: the pool under four threads (fixed seeds).
 *
 * Invariants checked:
 *  - no block is handed to two owners at once: each live block carries its owner's stamp
 *    and a fill byte, checked before it is freed;
 *  - per-tag accounting is exact: at the end, every (tag, pool) row's allocs, frees and
 *    bytes equal the sums of what the workers counted themselves, although blocks are
 *    freed by other threads than the one that allocated them, snapshots run concurrently,
 *    and the workers use more tags than a thread's slot table holds (slot evictions);
 *  - quota charged concurrently to one account never passes its limit and returns to zero;
 *  - when everything is freed and the workers have exited, the pools hold exactly the pages
 *    they held before (their caches were returned and every page coalesced). */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, TAGS = 40, LIVE = 64, EXCHANGE = 256, QUOTA_LIMIT = 64 * 1024 };

typedef struct {
    exa_u64 allocs[TAGS][2], frees[TAGS][2], bytes[TAGS][2];
} counts_t;

typedef struct {
    unsigned char *p;
    exa_u64 n;
    uint32_t tag_index;
    int32_t pool;
    exa_u64 charged;
} block_t;

static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static block_t exchange[EXCHANGE];
static unsigned exchange_count;
static exa_quota_account_t *shared_account;
static atomic_int workers_done;

static uint32_t stress_tag(uint32_t i) { return 0x00005453u | (uint32_t)('a' + i % 26) << 16 | (uint32_t)('a' + i / 26) << 24; }

typedef struct {
    uint64_t seed;
    unsigned iterations;
    counts_t counts;
    exa_u64 quota_ok, quota_refused;
    int errors;
} worker_t;

static int block_intact(const block_t *b) {
    unsigned char fill = (unsigned char)(b->tag_index * 7 + 1);
    for (exa_u64 i = 0; i < b->n; i++)
        if (b->p[i] != fill) return 0;
    return 1;
}

static void release(worker_t *w, block_t *b) {
    if (!block_intact(b)) w->errors++;
    w->counts.frees[b->tag_index][b->pool]++;
    w->counts.bytes[b->tag_index][b->pool] -= b->charged;
    exa_pool_free_with_tag(b->p, stress_tag(b->tag_index));
    b->p = NULL;
}

static void *worker(void *arg) {
    worker_t *w = arg;
    block_t live[LIVE];
    memset(live, 0, sizeof live);
    exa_quota_account_t *saved = exa_quota_attach(shared_account);
    static const int32_t types[] = {EXA_NON_PAGED_POOL_NX, EXA_PAGED_POOL, EXA_PAGED_POOL_CACHE_ALIGNED,
                                    EXA_NON_PAGED_POOL};
    for (unsigned it = 0; it < w->iterations; it++) {
        uint64_t r = test_rand(&w->seed);
        block_t *b = &live[r % LIVE];
        unsigned op = (unsigned)(r >> 8) % 8;
        if (b->p != NULL) {
            if (op == 0) {
                /* Hand it to whoever takes it from the exchange. */
                pthread_mutex_lock(&exchange_lock);
                if (exchange_count < EXCHANGE) {
                    exchange[exchange_count++] = *b;
                    b->p = NULL;
                }
                pthread_mutex_unlock(&exchange_lock);
            }
            if (b->p != NULL) release(w, b);
            continue;
        }
        if (op == 1) {
            block_t x = {0};
            pthread_mutex_lock(&exchange_lock);
            if (exchange_count > 0) x = exchange[--exchange_count];
            pthread_mutex_unlock(&exchange_lock);
            if (x.p != NULL) release(w, &x);
            continue;
        }
        uint32_t ti = (uint32_t)((r >> 16) % TAGS);
        uint64_t k = (r >> 24) % 100;
        exa_u64 n = k < 85 ? 1 + (r >> 32) % 600 : k < 97 ? 3000 + (r >> 32) % 1500 : 1 + (r >> 32) % 30000;
        int32_t type = types[(r >> 56) % 4];
        if (op == 2 && n <= 4064) {
            b->p = exa_pool_allocate_quota(type | EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, n, stress_tag(ti));
            if (b->p == NULL) {
                w->quota_refused++;
                continue;
            }
            w->quota_ok++;
        } else {
            b->p = exa_pool_allocate_typed(type, n, stress_tag(ti), EXA_POOL_PRIORITY_HIGH);
            if (b->p == NULL) {
                w->errors++;
                continue;
            }
        }
        exa_pool_block_info_t bi;
        if (exa_pool_query_block(b->p, &bi) != EXA_STATUS_SUCCESS || bi.tag != stress_tag(ti) || bi.size < n) w->errors++;
        b->n = n;
        b->tag_index = ti;
        b->pool = type & 1;
        b->charged = bi.charged;
        memset(b->p, (int)(ti * 7 + 1), n);
        w->counts.allocs[ti][b->pool]++;
        w->counts.bytes[ti][b->pool] += bi.charged;
    }
    for (int i = 0; i < LIVE; i++)
        if (live[i].p != NULL) release(w, &live[i]);
    exa_quota_attach(saved);
    atomic_fetch_add(&workers_done, 1);
    return NULL;
}

/* Snapshots and statistics while the workers run: must not disturb them. */
static void *monitor(void *arg) {
    exa_u64 *snapshots = arg;
    exa_pool_tag_row_t rows[256];
    while (atomic_load(&workers_done) < THREADS) {
        (void)exa_pool_tag_snapshot(rows, 256);
        exa_pool_stats_t s;
        exa_pool_query(EXA_POOL_KIND_PAGED, &s);
        exa_quota_stats_t q;
        exa_quota_query(shared_account, &q);
        if (q.non_paged_usage + q.paged_usage > QUOTA_LIMIT * 2) abort();
        (*snapshots)++;
    }
    return NULL;
}

static exa_pool_tag_row_t find_row(const exa_pool_tag_row_t *rows, uint32_t n, uint32_t tag, int32_t pool) {
    exa_pool_tag_row_t none;
    memset(&none, 0, sizeof none);
    for (uint32_t i = 0; i < n; i++)
        if (rows[i].tag == tag && rows[i].pool == pool) return rows[i];
    return none;
}

static void four_threads_exact_accounting(void) {
    exa_pool_trim();
    exa_pool_stats_t base[2];
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &base[0]);
    exa_pool_query(EXA_POOL_KIND_PAGED, &base[1]);
    static exa_pool_tag_row_t before[1024], after[1024];
    uint32_t nb = exa_pool_tag_snapshot(before, 1024);
    CHECK(nb < 1024);
    CHECK_EQ(exa_quota_create(QUOTA_LIMIT, QUOTA_LIMIT, &shared_account), EXA_STATUS_SUCCESS);
    atomic_store(&workers_done, 0);
    exchange_count = 0;

    static worker_t w[THREADS];
    pthread_t th[THREADS], mon;
    exa_u64 snapshots = 0;
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        w[i].iterations = test_scale(150000);
        CHECK_EQ(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    CHECK_EQ(pthread_create(&mon, NULL, monitor, &snapshots), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    pthread_join(mon, NULL);
    /* Blocks still in the exchange: the main thread frees them, counting as a worker. */
    worker_t rest;
    memset(&rest, 0, sizeof rest);
    while (exchange_count > 0) release(&rest, &exchange[--exchange_count]);

    int errors = rest.errors;
    exa_u64 quota_ok = 0, quota_refused = 0;
    for (int i = 0; i < THREADS; i++) {
        errors += w[i].errors;
        quota_ok += w[i].quota_ok;
        quota_refused += w[i].quota_refused;
    }
    CHECK_EQ(errors, 0);
    CHECK(snapshots > 0);
    CHECK(quota_ok > 0);
    uint32_t na = exa_pool_tag_snapshot(after, 1024);
    CHECK(na < 1024);
    for (uint32_t t = 0; t < TAGS; t++) {
        for (int32_t pool = 0; pool < 2; pool++) {
            exa_u64 allocs = 0, frees = 0, bytes = 0;
            for (int i = 0; i < THREADS; i++) {
                allocs += w[i].counts.allocs[t][pool];
                frees += w[i].counts.frees[t][pool];
                bytes += w[i].counts.bytes[t][pool];
            }
            frees += rest.counts.frees[t][pool];
            bytes += rest.counts.bytes[t][pool];
            exa_pool_tag_row_t a = find_row(after, na, stress_tag(t), pool), b = find_row(before, nb, stress_tag(t), pool);
            CHECK_EQ(a.allocs - b.allocs, allocs);
            CHECK_EQ(a.frees - b.frees, frees);
            CHECK_EQ(allocs, frees);
            CHECK_EQ(bytes, 0);
            CHECK_EQ(a.diff, 0);
            CHECK_EQ(a.bytes, 0);
        }
    }
    exa_quota_stats_t q;
    exa_quota_query(shared_account, &q);
    CHECK_EQ(q.non_paged_usage, 0);
    CHECK_EQ(q.paged_usage, 0);
    CHECK_EQ(q.charged_blocks, 0);
    CHECK(q.non_paged_peak <= QUOTA_LIMIT && q.paged_peak <= QUOTA_LIMIT);
    CHECK_EQ(exa_quota_close(shared_account), EXA_STATUS_SUCCESS);
    exa_pool_trim();
    exa_pool_stats_t end[2];
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &end[0]);
    exa_pool_query(EXA_POOL_KIND_PAGED, &end[1]);
    for (int k = 0; k < 2; k++) {
        CHECK_EQ(end[k].in_use, base[k].in_use);
        CHECK_EQ(end[k].small_pages, base[k].small_pages);
        CHECK_EQ(end[k].big_allocations, base[k].big_allocations);
    }
    (void)quota_refused;
}

static const test_case_t pool_stress_cases[] = {
    {"pool_stress.four_threads_exact_accounting", four_threads_exact_accounting},
    {NULL, NULL}};
TEST_SUITE(pool_stress);
