/* exalloc - C tests: the pool's fast doors (pool/doors.c).
 *
 * The common requests (ExAllocatePool2 with one pool flag, ExAllocatePoolWithTag with
 * NonPagedPool / PagedPool / NonPagedPoolNx, 1..4096 bytes, a non-zero tag) are served from
 * the thread's front cache or page cache; these tests check that what they hand out is
 * exactly what the full path would (headers, types, PoolMon rows, statistics) and that
 * everything unusual still reaches the full path and its reports. Own tags throughout. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { PAGE = 4096 };

/* Every door and every small size: the header the query reads back (tag, type, pool, usable
 * size, charged bytes), LIFO reuse of the same block (the cache served it), zeroing for
 * ExAllocatePool2 without UNINITIALIZED. */
static void doors_format_blocks_like_the_full_path(void) {
    static const struct {
        exa_u64 flags;   /* 0: legacy */
        int32_t legacy;  /* POOL_TYPE for ExAllocatePoolWithTag */
        int32_t type, pool;
    } doors[] = {
        {EXA_POOL_FLAG_NON_PAGED, 0, 512, EXA_POOL_KIND_NON_PAGED},
        {EXA_POOL_FLAG_NON_PAGED_EXECUTE | EXA_POOL_FLAG_UNINITIALIZED, 0, 0, EXA_POOL_KIND_NON_PAGED},
        {EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_RAISE_ON_FAILURE, 0, 1, EXA_POOL_KIND_PAGED},
        {0, NonPagedPoolNx, 512, EXA_POOL_KIND_NON_PAGED},
        {0, NonPagedPool, 0, EXA_POOL_KIND_NON_PAGED},
        {0, PagedPool, 1, EXA_POOL_KIND_PAGED},
    };
    uint32_t tag = test_tag("FstA");
    /* Start from empty caches: a thread at its front budget sends a free of a size it holds
     * none of straight to the descriptor, and the next allocate would not get it back. */
    exa_pool_trim();
    for (size_t d = 0; d < sizeof doors / sizeof doors[0]; d++) {
        for (exa_u64 n = 1; n <= 4064; n += (n < 64 ? 1 : 37)) {
            unsigned char *p = doors[d].flags ? exa_pool_allocate(doors[d].flags, n, tag)
                                              : ExAllocatePoolWithTag((POOL_TYPE)doors[d].legacy, n, tag);
            CHECK(p != NULL);
            CHECK_EQ((uintptr_t)p % 16, 0);
            exa_pool_block_info_t bi = test_block_info(p);
            exa_u64 units = (n + 31) / 16;
            CHECK_EQ(bi.tag, tag);
            CHECK_EQ(bi.pool_type, doors[d].type);
            CHECK_EQ(bi.pool, doors[d].pool);
            CHECK_EQ(bi.big, 0);
            CHECK_EQ(bi.quota_charged, 0);
            CHECK_EQ(bi.charged, units * 16);
            CHECK_EQ(bi.size, units * 16 - 16);
            memset(p, 0xAB, n);
            ExFreePoolWithTag(p, tag);
            unsigned char *q = doors[d].flags ? exa_pool_allocate(doors[d].flags, n, tag)
                                              : ExAllocatePoolWithTag((POOL_TYPE)doors[d].legacy, n, tag);
            CHECK(q == p); /* the thread's cache, newest first */
            int zeroed = doors[d].flags != 0 && !(doors[d].flags & EXA_POOL_FLAG_UNINITIALIZED);
            if (zeroed)
                for (exa_u64 i = 0; i < n; i++) CHECK_EQ(q[i], 0);
            exa_pool_free(q);
        }
    }
    exa_pool_trim();
    exa_pool_tag_row_t r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
    CHECK(r.allocs > 0);
    CHECK_EQ(r.allocs, r.frees);
    CHECK_EQ(r.bytes, 0);
}

/* PoolMon rows stay exact when many tags share the thread's direct-mapped slots and its
 * one-entry memo: 300 tags (more than the 64 slots), allocations interleaved tag by tag,
 * checked live and after the frees. */
static void poolmon_rows_exact_under_tag_churn(void) {
    enum { TAGS = 300, PER = 5 };
    static void *blocks[TAGS][PER];
    for (int k = 0; k < PER; k++) {
        for (int t = 0; t < TAGS; t++) {
            uint32_t tag = test_tag("Ch00") + (uint32_t)(t % 26) * 0x10000u + (uint32_t)(t / 26) * 0x1000000u;
            blocks[t][k] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED,
                                             (exa_u64)(16 + 16 * ((t + k) % 8)), tag);
            CHECK(blocks[t][k] != NULL);
        }
    }
    for (int t = 0; t < TAGS; t++) {
        uint32_t tag = test_tag("Ch00") + (uint32_t)(t % 26) * 0x10000u + (uint32_t)(t / 26) * 0x1000000u;
        exa_u64 bytes = 0;
        for (int k = 0; k < PER; k++) bytes += (exa_u64)(16 + 16 * ((t + k) % 8)) + 16;
        exa_pool_tag_row_t r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
        CHECK_EQ(r.allocs, PER);
        CHECK_EQ(r.frees, 0);
        CHECK_EQ(r.diff, PER);
        CHECK_EQ(r.bytes, bytes);
    }
    for (int t = TAGS - 1; t >= 0; t--)
        for (int k = 0; k < PER; k++) exa_pool_free(blocks[t][k]);
    for (int t = 0; t < TAGS; t++) {
        uint32_t tag = test_tag("Ch00") + (uint32_t)(t % 26) * 0x10000u + (uint32_t)(t / 26) * 0x1000000u;
        exa_pool_tag_row_t r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
        CHECK_EQ(r.allocs, PER);
        CHECK_EQ(r.frees, PER);
        CHECK_EQ(r.bytes, 0);
    }
}

/* The memo must not outlive its slot: tag A counted twice (its slot and the memo hold it),
 * then a tag B that may take A's slot, then A again. Over 200 B's some share A's slot;
 * every row must still be exact. */
static void memo_follows_slot_changes(void) {
    enum { BS = 200 };
    uint32_t a = test_tag("MemA");
    static void *v[BS][4];
    for (int i = 0; i < BS; i++) {
        uint32_t b = test_tag("Mb00") + (uint32_t)(i % 26) * 0x10000u + (uint32_t)(i / 26) * 0x1000000u;
        v[i][0] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 32, a);
        v[i][1] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 32, a);
        v[i][2] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 32, b);
        v[i][3] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 32, a);
        exa_pool_free(v[i][2]); /* B freed: the free may take the slot back as well */
        exa_pool_free(v[i][0]);
    }
    exa_pool_tag_row_t r = test_tag_row(a, EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(r.allocs, 3 * BS);
    CHECK_EQ(r.frees, BS);
    CHECK_EQ(r.bytes, 2 * BS * 48);
    for (int i = 0; i < BS; i++) {
        uint32_t b = test_tag("Mb00") + (uint32_t)(i % 26) * 0x10000u + (uint32_t)(i / 26) * 0x1000000u;
        exa_pool_tag_row_t rb = test_tag_row(b, EXA_POOL_KIND_NON_PAGED);
        CHECK_EQ(rb.allocs, 1);
        CHECK_EQ(rb.frees, 1);
        CHECK_EQ(rb.bytes, 0);
        exa_pool_free(v[i][1]);
        exa_pool_free(v[i][3]);
    }
    r = test_tag_row(a, EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(r.frees, 3 * BS);
    CHECK_EQ(r.bytes, 0);
}

/* One-page big allocations (4065..4096 bytes) go through the thread's page cache: the same
 * page comes back, the record is exact, a second free is still 0x19/0x22, and after a trim the
 * statistics are back where they were. */
static void one_page_cache(void) {
    uint32_t tag = test_tag("FstP");
    exa_pool_trim();
    exa_pool_stats_t s0, s1, s2;
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s0);
    unsigned char *a = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, PAGE, tag);
    CHECK(a != NULL);
    CHECK_EQ((uintptr_t)a % PAGE, 0);
    memset(a, 0xCD, PAGE);
    exa_pool_free(a);
    unsigned char *b = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 4065, tag); /* zeroed */
    CHECK(b == a);
    for (int i = 0; i < 4065; i++) CHECK_EQ(b[i], 0);
    exa_pool_block_info_t bi = test_block_info(b);
    CHECK_EQ(bi.big, 1);
    CHECK_EQ(bi.charged, PAGE);
    CHECK_EQ(bi.tag, tag);
    CHECK_EQ(bi.pool_type, 512);
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s1);
    CHECK_EQ(s1.big_allocations, s0.big_allocations + 1);
    exa_pool_tag_row_t r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(r.allocs, 2);
    CHECK_EQ(r.frees, 1);
    CHECK_EQ(r.bytes, PAGE);
    void *c = ExAllocatePoolWithTag(PagedPool, PAGE, tag); /* another descriptor's cache */
    CHECK(c != NULL && c != b);
    CHECK_EQ(test_block_info(c).pool, EXA_POOL_KIND_PAGED);
    ExFreePoolWithTag(c, tag);
    ExFreePoolWithTag(b, tag);
    exa_u64 cnt = test_bugcheck_begin();
    exa_pool_free(b); /* cached, not live: no big-table entry */
    exa_bugcheck_info_t bc = test_bugcheck_end(cnt);
    CHECK_BUGCHECK(bc, 0x19, 0x22, (uintptr_t)b);
    CHECK(exa_pool_trim() >= 2); /* both cached pages went back */
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s2);
    CHECK_EQ(s2.big_allocations, s0.big_allocations);
    CHECK_EQ(s2.in_use, s0.in_use);
    r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(r.frees, 2);
    CHECK_EQ(r.bytes, 0);
}

/* What the fast doors must leave to the full path: a protected tag freed without it
 * (0xC2/0x0A), strict mode's tag rules for ExAllocatePoolWithTag (0x9D), paged pool at
 * DISPATCH_LEVEL (0xC2/0x08 allocate, 0x09 free), a double free (0xC2/0x07), a zero tag
 * for ExAllocatePool2 (NULL). */
static void unusual_requests_reach_the_full_path(void) {
    uint32_t tag = test_tag("FstU");
    uint32_t prot = tag | EXA_POOL_TAG_PROTECTED;
    void *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100, prot);
    CHECK(p != NULL);
    CHECK_EQ(test_block_info(p).tag, prot);
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(p);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x0A, (uintptr_t)p);
    exa_pool_free_with_tag(p, prot);
    CHECK(exa_pool_query_block(p, &(exa_pool_block_info_t){0}) == EXA_STATUS_INVALID_PARAMETER);

    void *big = exa_pool_allocate(EXA_POOL_FLAG_PAGED, PAGE, prot);
    c = test_bugcheck_begin();
    exa_pool_free(big);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x0A, (uintptr_t)big);
    exa_pool_free_with_tag(big, prot);

    CHECK(exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100, 0) == NULL);

    uint32_t saved = exa_pool_get_options();
    exa_pool_set_options(EXA_POOL_OPTION_STRICT);
    c = test_bugcheck_begin();
    void *bad = ExAllocatePoolWithTag(NonPagedPoolNx, 64, 0x01020304u); /* no letter or digit */
    bc = test_bugcheck_end(c);
    exa_pool_set_options(saved);
    CHECK(bad == NULL);
    CHECK_BUGCHECK(bc, 0xC2, 0x9D, NonPagedPoolNx);

    void *paged = ExAllocatePoolWithTag(PagedPool, 64, tag);
    void *paged_big = exa_pool_allocate(EXA_POOL_FLAG_PAGED, PAGE, tag);
    uint8_t old;
    CHECK_EQ(exa_irql_raise(EXA_DISPATCH_LEVEL, &old), EXA_STATUS_SUCCESS);
    c = test_bugcheck_begin();
    void *none = ExAllocatePoolWithTag(PagedPool, 64, tag);
    exa_bugcheck_info_t abc = test_bugcheck_end(c);
    c = test_bugcheck_begin();
    void *none_big = exa_pool_allocate(EXA_POOL_FLAG_PAGED, PAGE, tag);
    exa_bugcheck_info_t bbc = test_bugcheck_end(c);
    c = test_bugcheck_begin();
    ExFreePoolWithTag(paged, tag);
    exa_bugcheck_info_t fbc = test_bugcheck_end(c);
    c = test_bugcheck_begin();
    exa_pool_free(paged_big);
    exa_bugcheck_info_t gbc = test_bugcheck_end(c);
    exa_irql_lower(old);
    CHECK(none == NULL && none_big == NULL);
    CHECK_BUGCHECK(abc, 0xC2, 0x08, EXA_DISPATCH_LEVEL);
    CHECK_BUGCHECK(bbc, 0xC2, 0x08, EXA_DISPATCH_LEVEL);
    CHECK_BUGCHECK(fbc, 0xC2, 0x09, EXA_DISPATCH_LEVEL);
    CHECK_BUGCHECK(gbc, 0xC2, 0x09, EXA_DISPATCH_LEVEL);
    CHECK_EQ(test_block_info(paged).tag, tag); /* still live: the handler returned */
    ExFreePoolWithTag(paged, tag);
    exa_pool_free(paged_big);

    void *d = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 48, tag);
    exa_pool_free(d);
    c = test_bugcheck_begin();
    exa_pool_free(d); /* in the front cache: already free */
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x07, 0);
    CHECK_EQ(bc.parameter4, (uintptr_t)d);
}

/* Two threads on the fast doors, each freeing half of its blocks and handing the other half
 * to the other thread to free: the rows are exact once both have finished. */
typedef struct {
    uint32_t tag;
    void **mine, **theirs;
    int n;
    pthread_barrier_t *bar;
} churn_arg_t;

static void *churn_thread(void *v) {
    churn_arg_t *a = v;
    uint64_t rs = a->tag;
    for (int i = 0; i < a->n; i++) {
        exa_u64 n = 1 + test_rand(&rs) % 4096;
        a->mine[i] = (i & 1) ? ExAllocatePoolWithTag(NonPagedPoolNx, n, a->tag)
                             : exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, n, a->tag);
        if (i % 4 == 3) {
            exa_pool_free(a->mine[i - 1]);
            a->mine[i - 1] = NULL;
        }
    }
    pthread_barrier_wait(a->bar);
    for (int i = 0; i < a->n; i++)
        if (a->theirs[i] != NULL) exa_pool_free(a->theirs[i]);
    exa_pool_trim();
    return NULL;
}

static void two_threads_cross_free_exact_rows(void) {
    enum { N = 4000 };
    unsigned n = test_scale(N);
    void **x = calloc(n, sizeof *x), **y = calloc(n, sizeof *y);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    churn_arg_t a = {test_tag("FsX1"), x, y, (int)n, &bar}, b = {test_tag("FsX2"), y, x, (int)n, &bar};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, churn_thread, &a);
    pthread_create(&tb, NULL, churn_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&bar);
    for (int k = 0; k < 2; k++) {
        exa_pool_tag_row_t r = test_tag_row(k ? b.tag : a.tag, EXA_POOL_KIND_NON_PAGED);
        CHECK_EQ(r.allocs, n);
        CHECK_EQ(r.frees, n);
        CHECK_EQ(r.bytes, 0);
    }
    free(x);
    free(y);
}

/* Per-thread tag deltas (docs/pool.md#tags): several threads on the fast doors with one tag,
 * a snapshot taken meanwhile by this thread. Every snapshot counts each completed call and
 * never goes back from one snapshot to the next; with every thread parked between calls (its deltas still its
 * own, not yet folded) a snapshot is exact, Bytes included; after the joins too. */
enum { DELTA_THREADS = 4, DELTA_LIVE = 8 };

typedef struct {
    uint32_t tag;
    unsigned n;
    int id;
    pthread_barrier_t *bar;
    _Atomic unsigned long long *started, *done; /* allocations begun / frees completed, all threads */
    unsigned long long live_bytes;              /* at the barrier: the bytes this thread holds */
} delta_arg_t;

static unsigned long long delta_bytes(exa_u64 n) { return ((n + 31) / 16) * 16; }

static void *delta_thread(void *v) {
    delta_arg_t *a = v;
    uint64_t rs = a->tag + (uint64_t)a->id * 7919u;
    void *live[DELTA_LIVE] = {0};
    exa_u64 size[DELTA_LIVE] = {0};
    for (unsigned i = 0; i < 2 * a->n; i++) {
        if (i == a->n) {
            /* halfway: park holding DELTA_LIVE blocks while the main thread takes an exact snapshot */
            a->live_bytes = 0;
            for (int k = 0; k < DELTA_LIVE; k++) a->live_bytes += delta_bytes(size[k]);
            pthread_barrier_wait(a->bar);
            pthread_barrier_wait(a->bar);
        }
        unsigned k = i % DELTA_LIVE;
        if (live[k] != NULL) {
            ExFreePoolWithTag(live[k], a->tag);
            atomic_fetch_add(a->done, 1);
        }
        size[k] = 16 + test_rand(&rs) % 1009;
        atomic_fetch_add(a->started, 1);
        live[k] = (i & 1) ? ExAllocatePoolWithTag(NonPagedPoolNx, size[k], a->tag)
                          : ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, size[k], a->tag);
        if (live[k] == NULL) abort();
    }
    for (int k = 0; k < DELTA_LIVE; k++) {
        ExFreePoolWithTag(live[k], a->tag);
        atomic_fetch_add(a->done, 1);
    }
    return NULL;
}

static void per_thread_deltas_exact_and_monotonic(void) {
    unsigned n = test_scale(20000);
    if (n < DELTA_LIVE) n = DELTA_LIVE;
    uint32_t tag = test_tag("FsD1");
    exa_pool_tag_row_t base = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED); /* zero unless a rerun */
    _Atomic unsigned long long started = 0, done = 0;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, DELTA_THREADS + 1);
    delta_arg_t a[DELTA_THREADS];
    pthread_t th[DELTA_THREADS];
    for (int i = 0; i < DELTA_THREADS; i++) {
        a[i] = (delta_arg_t){tag, n, i, &bar, &started, &done, 0};
        pthread_create(&th[i], NULL, delta_thread, &a[i]);
    }
    exa_u64 last_allocs = base.allocs, last_frees = base.frees;
    unsigned snapshots = 0;
    /* First half: snapshots while the threads run. */
    for (; snapshots < 200 && atomic_load(&started) < (unsigned long long)DELTA_THREADS * n / 2; snapshots++) {
        unsigned long long done_before = atomic_load(&done);
        exa_pool_tag_row_t r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
        CHECK(r.allocs >= last_allocs && r.frees >= last_frees);
        CHECK(r.frees - base.frees >= done_before);              /* every completed free counted */
        CHECK(r.allocs - base.allocs <= (exa_u64)DELTA_THREADS * n); /* no thread is past halfway */
        last_allocs = r.allocs;
        last_frees = r.frees;
    }
    /* Halfway: every thread parked between calls, its counts still in its own slots. */
    pthread_barrier_wait(&bar);
    exa_pool_tag_row_t r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
    unsigned long long held = 0;
    for (int i = 0; i < DELTA_THREADS; i++) held += a[i].live_bytes;
    CHECK_EQ(r.allocs - base.allocs, (exa_u64)DELTA_THREADS * n);
    CHECK_EQ(r.frees - base.frees, (exa_u64)DELTA_THREADS * (n - DELTA_LIVE));
    CHECK_EQ(r.bytes - base.bytes, held);
    CHECK(r.allocs >= last_allocs && r.frees >= last_frees);
    last_allocs = r.allocs;
    last_frees = r.frees;
    pthread_barrier_wait(&bar);
    /* Second half, then thread exit folds each thread's slots into the global table. */
    for (unsigned k = 0; k < 200 && atomic_load(&done) < (unsigned long long)DELTA_THREADS * 2 * n; k++) {
        exa_pool_tag_row_t q = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
        CHECK(q.allocs >= last_allocs && q.frees >= last_frees);
        last_allocs = q.allocs;
        last_frees = q.frees;
    }
    for (int i = 0; i < DELTA_THREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    r = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(r.allocs - base.allocs, (exa_u64)DELTA_THREADS * 2 * n);
    CHECK_EQ(r.frees - base.frees, (exa_u64)DELTA_THREADS * 2 * n);
    CHECK_EQ(r.bytes, base.bytes);
    CHECK(r.allocs >= last_allocs && r.frees >= last_frees);
}

/* A free of an address below the first possible segment (its segment memo key would be 0)
 * is caught from the segment map, never read: on a thread with pool state and on one without
 * (whose memo is the shared empty state's). */
typedef struct {
    uintptr_t address;
    exa_bugcheck_info_t bc;
} low_free_t;

static void *low_free_thread(void *v) {
    low_free_t *a = v;
    exa_u64 c = test_bugcheck_begin();
    ExFreePoolWithTag((void *)a->address, test_tag("FsLo"));
    a->bc = test_bugcheck_end(c);
    return NULL;
}

static void low_addresses_are_never_read(void) {
    static const uintptr_t low[] = {0x10, 0x1230, 0x3FFF0};
    exa_pool_free(ExAllocatePoolWithTag(NonPagedPoolNx, 64, test_tag("FsLo"))); /* this thread has state */
    for (unsigned i = 0; i < sizeof low / sizeof low[0]; i++) {
        exa_u64 c = test_bugcheck_begin();
        ExFreePoolWithTag((void *)low[i], test_tag("FsLo"));
        exa_bugcheck_info_t bc = test_bugcheck_end(c);
        CHECK_BUGCHECK(bc, 0xC2, 0x42, low[i]);
        low_free_t a = {low[i], {0}};
        pthread_t th;
        pthread_create(&th, NULL, low_free_thread, &a);
        pthread_join(th, NULL);
        CHECK_BUGCHECK(a.bc, 0xC2, 0x42, low[i]);
    }
}

static const test_case_t pool_fast_cases[] = {
    {"pool_fast.doors_format_blocks_like_the_full_path", doors_format_blocks_like_the_full_path},
    {"pool_fast.poolmon_rows_exact_under_tag_churn", poolmon_rows_exact_under_tag_churn},
    {"pool_fast.memo_follows_slot_changes", memo_follows_slot_changes},
    {"pool_fast.one_page_cache", one_page_cache},
    {"pool_fast.unusual_requests_reach_the_full_path", unusual_requests_reach_the_full_path},
    {"pool_fast.two_threads_cross_free_exact_rows", two_threads_cross_free_exact_rows},
    {"pool_fast.per_thread_deltas_exact_and_monotonic", per_thread_deltas_exact_and_monotonic},
    {"pool_fast.low_addresses_are_never_read", low_addresses_are_never_read},
    {NULL, NULL}};
TEST_SUITE(pool_fast);
