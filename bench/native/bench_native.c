/* exalloc - native benchmark: lookaside lists and the pool against malloc/free.
 *
 * One source, built once per peer (see bench/native/build.sh):
 *   bench_glibc      glibc malloc/free, plus exa_lookaside, the interlocked zone and the pool
 *                    (-DBENCH_WITH_EXALLOC, linked against libexalloc.so)
 *   bench_jemalloc   linked with -ljemalloc         \
 *   bench_mimalloc   linked with -lmimalloc          > malloc/free interposed by the allocator
 *   bench_tcmalloc   linked with -ltcmalloc_minimal /
 * Each allocator replaces malloc/free for the whole process, so each gets its own binary and
 * the benchmark always calls plain malloc/free (the same call sequence for every peer). The
 * binary prints which shared object provides malloc, so the harness can check the interposition.
 *
 * Usage:
 *   bench_<peer> time [target_ms]          all patterns and sizes; each timed run is sized
 *                                          to take about target_ms (default 100; smoke: 2)
 *   (the glibc binary also times an interlocked zone, "zone", and the NT lookaside names
 *    compiled with EXA_NT_INLINE_LOOKASIDE, "lookaside-inline", through the same patterns, and
 *    the spin locks: LOCK lines, see time_locks)
 *   bench_<peer> time-pool [target_ms]     only the pool patterns (poolpair, poolpair2t, poolmixed)
 *   bench_<peer> mem pool|malloc <size>   retained memory after a burst (MEM lines, see mem_run)
 *   bench_<peer> callgrind <peer> <size> <n>   only n pairs (for valgrind --tool=callgrind);
 *                                          peer is "lookaside", "lookaside-inline", "pool",
 *                                          "poolzero", "poolnt", "malloc", or "lock-classic" /
 *                                          "lock-queued" (uncontended acquire + release);
 *                                          size "mixed": n operations of poolmixed instead
 *
 * Output (time mode), one tab-separated line per result:
 *   RESULT <pattern> <size> <peer> <median ns/op> <min ns/op>      (size "mixed" for poolmixed)
 *   RESULT compute|compute2t 0 <peer> ...   (and compute-end, compute2t-end) the control: a pure compute loop (no memory, no
 *                                          allocator) on one thread, and on 2 threads at once
 *                                          (per iteration per thread), so that every 2-thread
 *                                          row can be read against what 2 threads cost this
 *                                          machine at that moment; every binary measures it first and last
 * ns/op is per allocate+free pair (per block for batch1024 and xfree, per pair per thread for
 * pair2t). Each result: a short calibration run (which is also the warm-up) picks the iteration
 * count, then 5 timed runs of about target_ms each (clock_gettime, CLOCK_MONOTONIC); the median
 * of the 5 is reported, and the best as the last column.
 *
 * Patterns:
 *   pair       p = allocate; free(p); repeated (one thread)
 *   batch1024  allocate 1024 blocks, then free them in allocation order (one thread)
 *   pair2t     pair on 2 threads at once, each on its own blocks (lookaside: one shared list)
 *   xfree      thread A allocates and passes blocks through a 1024-slot ring to thread B,
 *              which frees them (cross-thread free)
 * Lookaside lists: pair and pair2t use NT's default depths (Depth 4, MaximumDepth 256);
 * batch1024 and xfree use initial_depth = maximum_depth = 1024 so that a whole batch / the
 * ring's worth of blocks is cached.
 *
 * Pool patterns (the general-purpose allocators against exalloc's pool, sizes 16..4096):
 *   poolpair   p = allocate(size); free(p); repeated (one thread)
 *   poolpair2t poolpair on 2 threads at once, each on its own blocks; per pair per thread
 *   poolmixed  a window of 64 live blocks; each operation frees the block in a pseudo-random
 *              slot and allocates a new one of a pseudo-random size in 16..1024 into it (one
 *              free + one allocate = one op). The slots and sizes come from a fixed-seed
 *              table of 65536 operations, built once, the same for every peer; every timed
 *              run is a whole number of passes over it, so every peer does exactly the same
 *              sequence of requests. Sizes: a power-of-two class 16..1024 chosen uniformly,
 *              then a size uniform within it (so small sizes are as likely as large classes)
 * exalloc peers: "pool" = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED,
 * size, 'Benc') (ExAllocatePool2 asking for NonPagedPoolNx, uninitialised: the fair comparison
 * with malloc) and exa_pool_free (ExFreePool); "poolzero" (poolpair only) = the same without
 * EXA_POOL_FLAG_UNINITIALIZED, ExAllocatePool2's default, which zeroes the requested bytes;
 * "poolnt" = ExAllocatePoolWithTag(NonPagedPoolNx, size, 'Benc') / ExFreePoolWithTag, the NT names.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_WITH_EXALLOC
#  include "exalloc.h"
/* the NT names with the header-inline lookaside fast path (peer "lookaside-inline") */
#  define EXA_NT_INLINE_LOOKASIDE 1
#  include "exalloc_nt.h"
#endif

#ifndef BENCH_PEER
#  define BENCH_PEER "glibc"
#endif

enum { BATCH = 1024, RUNS = 5, RING = 1024 };

static const size_t sizes[] = {64, 256, 4096};
static const size_t pool_sizes[] = {16, 64, 256, 1024, 4096};

#define BENCH_TAG 0x636E6542u /* 'Benc' */

/* Every block escapes through this store, so the compiler cannot drop a malloc/free pair.
 * Thread-local: a shared global would bounce its cache line between the two threads of
 * pair2t and make every peer look 2-4x slower there. */
static _Thread_local void *volatile sink;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "bench_native: %s\n", what);
    exit(1);
}

/* ------------------------------------------------------------------------------------------
 * Peers. The loops are written once (always_inline, with the peer's functions as constant
 * arguments) and instantiated per peer, so every call in a timed loop is a direct call.
 * ---------------------------------------------------------------------------------------- */

typedef void *(*alloc_fn)(void *ctx, size_t size);
typedef void (*free_fn)(void *ctx, void *block);

static void *m_alloc(void *ctx, size_t size) {
    (void)ctx;
    return malloc(size);
}
static void m_free(void *ctx, void *block) {
    (void)ctx;
    free(block);
}

#ifdef BENCH_WITH_EXALLOC
static void *la_alloc(void *ctx, size_t size) {
    (void)size;
    return exa_lookaside_allocate((exa_lookaside_t *)ctx);
}
static void la_free(void *ctx, void *block) { exa_lookaside_free((exa_lookaside_t *)ctx, block); }
#endif

#define INLINE static inline __attribute__((always_inline))

INLINE void loop_pair(alloc_fn a, free_fn f, void *ctx, size_t size, long n) {
    for (long i = 0; i < n; i++) {
        void *p = a(ctx, size);
        if (__builtin_expect(p == NULL, 0)) die("out of memory");
        sink = p;
        f(ctx, p);
    }
}

INLINE void loop_batch(alloc_fn a, free_fn f, void *ctx, size_t size, long batches) {
    void *blocks[BATCH];
    for (long b = 0; b < batches; b++) {
        for (int i = 0; i < BATCH; i++) {
            void *p = a(ctx, size);
            if (__builtin_expect(p == NULL, 0)) die("out of memory");
            blocks[i] = p;
        }
        sink = blocks[BATCH - 1];
        for (int i = 0; i < BATCH; i++) f(ctx, blocks[i]);
    }
}

/* poolmixed: the fixed-seed table of (slot, size) operations and the live window. */
enum { WINDOW = 64, MIX_LEN = 1 << 16 };
static uint16_t mix_size[MIX_LEN];
static uint8_t mix_slot[MIX_LEN];

static void mix_init(void) {
    uint64_t x = 0x9E3779B97F4A7C15u; /* fixed seed: xorshift64* */
    for (int i = 0; i < MIX_LEN; i++) {
        uint32_t r[3];
        for (int k = 0; k < 3; k++) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            r[k] = (uint32_t)((x * 0x2545F4914F6CDD1Du) >> 32);
        }
        uint32_t hi = 16u << (r[0] % 7u);       /* class upper bound: 16, 32, ..., 1024 */
        uint32_t lo = hi == 16u ? 16u : hi / 2 + 1; /* 16, 17..32, 33..64, ..., 513..1024 */
        mix_size[i] = (uint16_t)(lo + r[1] % (hi - lo + 1));
        mix_slot[i] = (uint8_t)(r[2] % WINDOW);
    }
}

typedef struct {
    void *ctx;           /* the peer's context (NULL for malloc and the pool) */
    void *slot[WINDOW];  /* the live blocks */
} mix_state_t;

/* Operation i uses table entry i mod MIX_LEN. The timed runs make n a multiple of MIX_LEN (whole
 * passes), so every run starts from the same window and makes the same requests. */
INLINE void loop_mixed(alloc_fn a, free_fn f, mix_state_t *m, long n) {
    for (long i = 0; i < n; i++) {
        uint32_t at = (uint32_t)i & (MIX_LEN - 1);
        uint32_t k = mix_slot[at];
        f(m->ctx, m->slot[k]);
        void *p = a(m->ctx, mix_size[at]);
        if (__builtin_expect(p == NULL, 0)) die("out of memory");
        m->slot[k] = p;
    }
    sink = m->slot[0];
}

/* Single-producer single-consumer ring for the cross-thread free. */
typedef struct {
    _Alignas(64) _Atomic(uint64_t) head; /* written by the producer */
    _Alignas(64) _Atomic(uint64_t) tail; /* written by the consumer */
    _Alignas(64) void *slot[RING];
} ring_t;

static void spin_wait(unsigned *spins) {
    if (++*spins > 256) {
        *spins = 0;
        sched_yield(); /* 2 noisy cores: do not burn the other thread's time slice */
    }
}

INLINE void loop_produce(alloc_fn a, void *ctx, size_t size, long n, ring_t *r) {
    uint64_t head = 0, tail = 0;
    for (long i = 0; i < n; i++) {
        void *p = a(ctx, size);
        if (__builtin_expect(p == NULL, 0)) die("out of memory");
        unsigned spins = 0;
        while (head - tail == RING) {
            tail = atomic_load_explicit(&r->tail, memory_order_acquire);
            if (head - tail == RING) spin_wait(&spins);
        }
        r->slot[head % RING] = p;
        atomic_store_explicit(&r->head, ++head, memory_order_release);
    }
}

INLINE void loop_consume(free_fn f, void *ctx, long n, ring_t *r) {
    uint64_t head = 0, tail = 0;
    for (long i = 0; i < n; i++) {
        unsigned spins = 0;
        while (head == tail) {
            head = atomic_load_explicit(&r->head, memory_order_acquire);
            if (head == tail) spin_wait(&spins);
        }
        void *p = r->slot[tail % RING];
        atomic_store_explicit(&r->tail, ++tail, memory_order_release);
        f(ctx, p);
    }
}

typedef struct {
    const char *name;
    alloc_fn alloc; /* untimed set-up and tear-down of poolmixed's window */
    free_fn free;
    void (*pair)(void *ctx, size_t size, long n);
    void (*mixed)(mix_state_t *m, long n);
    void (*batch)(void *ctx, size_t size, long batches);
    void (*produce)(void *ctx, size_t size, long n, ring_t *r);
    void (*consume)(void *ctx, long n, ring_t *r);
    void *(*make)(size_t size, int deep); /* per-size context (a list), or NULL */
    void (*drop)(void *ctx);
} peer_t;

#define NOINLINE static __attribute__((noinline))
#define DEFINE_PEER_LOOPS(P, A, F)                                                                 \
    NOINLINE void P##_pair(void *ctx, size_t size, long n) { loop_pair(A, F, ctx, size, n); }     \
    NOINLINE void P##_batch(void *ctx, size_t size, long b) { loop_batch(A, F, ctx, size, b); }   \
    NOINLINE void P##_produce(void *ctx, size_t size, long n, ring_t *r) {                        \
        loop_produce(A, ctx, size, n, r);                                                         \
    }                                                                                             \
    NOINLINE void P##_consume(void *ctx, long n, ring_t *r) { loop_consume(F, ctx, n, r); }      \
    NOINLINE void P##_mixed(mix_state_t *m, long n) { loop_mixed(A, F, m, n); }

DEFINE_PEER_LOOPS(m, m_alloc, m_free)

static void *m_make(size_t size, int deep) {
    (void)size;
    (void)deep;
    return NULL;
}
static void m_drop(void *ctx) { (void)ctx; }

#ifdef BENCH_WITH_EXALLOC
DEFINE_PEER_LOOPS(la, la_alloc, la_free)

/* deep = 0: NT's defaults (Depth 4, MaximumDepth 256); deep = 1: Depth = MaximumDepth = 1024. */
static void *la_make(size_t size, int deep) {
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.tag = BENCH_TAG;
    cfg.pool_type = EXA_NON_PAGED_POOL;
    cfg.maximum_depth = deep ? 1024u : 0u;
    cfg.initial_depth = deep ? 1024u : 0u;
    exa_lookaside_t *l = NULL;
    if (exa_lookaside_create(&cfg, &l) != EXA_STATUS_SUCCESS) die("exa_lookaside_create failed");
    return l;
}
static void la_drop(void *ctx) {
    if (exa_lookaside_delete((exa_lookaside_t *)ctx) != EXA_STATUS_SUCCESS) die("exa_lookaside_delete failed");
}

/* An interlocked zone (ExInterlockedAllocateFromZone / ExInterlockedFreeToZone): one segment
 * carved into blocks of `size`, one spin lock around the free list. Sized for the pattern:
 * deep = 1 holds a 1024-block batch (and the xfree ring), deep = 0 a few blocks. */
typedef struct {
    exa_zone_t zone;
    exa_spinlock_t lock;
    void *segment;
} zone_ctx_t;

static void *zn_alloc(void *ctx, size_t size) {
    (void)size;
    zone_ctx_t *z = ctx;
    void *p = exa_zone_allocate_interlocked(&z->zone, &z->lock);
    if (p == NULL) die("zone exhausted");
    return p;
}
static void zn_free(void *ctx, void *block) {
    zone_ctx_t *z = ctx;
    (void)exa_zone_free_interlocked(&z->zone, block, &z->lock);
}
DEFINE_PEER_LOOPS(zn, zn_alloc, zn_free)

static void *zn_make(size_t size, int deep) {
    zone_ctx_t *z = calloc(1, sizeof *z);
    size_t blocks = deep ? BATCH + RING + 64 : 64;
    size_t bytes = 16 + blocks * size;
    if (z == NULL || posix_memalign(&z->segment, 64, bytes) != 0) die("zone segment");
    exa_spinlock_init(&z->lock);
    if (exa_zone_init(&z->zone, (uint32_t)size, z->segment, (uint32_t)bytes) != EXA_STATUS_SUCCESS) die("exa_zone_init");
    return z;
}
/* The NT names compiled with EXA_NT_INLINE_LOOKASIDE: a LOOKASIDE_LIST_EX (its maximum depth
 * can be 1024) through ExAllocateFromLookasideListEx / ExFreeToLookasideListEx, inlined. */
static void *ni_alloc(void *ctx, size_t size) {
    (void)size;
    return ExAllocateFromLookasideListEx((PLOOKASIDE_LIST_EX)ctx);
}
static void ni_free(void *ctx, void *block) { ExFreeToLookasideListEx((PLOOKASIDE_LIST_EX)ctx, block); }
DEFINE_PEER_LOOPS(ni, ni_alloc, ni_free)

static void *ni_make(size_t size, int deep) {
    void *mem = NULL;
    if (posix_memalign(&mem, 64, sizeof(LOOKASIDE_LIST_EX)) != 0) die("list memory");
    PLOOKASIDE_LIST_EX l = mem;
    if (ExInitializeLookasideListEx(l, NULL, NULL, NonPagedPool, 0, size, BENCH_TAG, deep ? 1024 : 0) != STATUS_SUCCESS)
        die("ExInitializeLookasideListEx failed");
    if (deep && exa_lookaside_set_depth((exa_lookaside_t *)(uintptr_t)l->L.ListHead.Region, 1024) != EXA_STATUS_SUCCESS)
        die("exa_lookaside_set_depth failed");
    return l;
}
static void ni_drop(void *ctx) {
    ExDeleteLookasideListEx((PLOOKASIDE_LIST_EX)ctx);
    free(ctx);
}

static void zn_drop(void *ctx) {
    zone_ctx_t *z = ctx;
    free(z->segment);
    free(z);
}

/* The pool: ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED) / ExFreePool, and
 * the zeroing default (no POOL_FLAG_UNINITIALIZED) as a diagnostic. */
static void *pl_alloc(void *ctx, size_t size) {
    (void)ctx;
    return exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, size, BENCH_TAG);
}
static void *pz_alloc(void *ctx, size_t size) {
    (void)ctx;
    return exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, size, BENCH_TAG);
}
static void pl_free(void *ctx, void *block) {
    (void)ctx;
    exa_pool_free(block);
}
#define pz_free pl_free
DEFINE_PEER_LOOPS(pl, pl_alloc, pl_free)
DEFINE_PEER_LOOPS(pz, pz_alloc, pz_free)
/* The pool through the NT names NT code calls: ExAllocatePoolWithTag(NonPagedPoolNx) /
 * ExFreePoolWithTag (uninitialised, as malloc). */
static void *pn_alloc(void *ctx, size_t size) {
    (void)ctx;
    return ExAllocatePoolWithTag(NonPagedPoolNx, size, BENCH_TAG);
}
static void pn_free(void *ctx, void *block) {
    (void)ctx;
    ExFreePoolWithTag(block, BENCH_TAG);
}
DEFINE_PEER_LOOPS(pn, pn_alloc, pn_free)
#endif

#define PEER(NAME, P, MAKE, DROP) \
    {NAME, P##_alloc, P##_free, P##_pair, P##_mixed, P##_batch, P##_produce, P##_consume, MAKE, DROP}

/* The lookaside patterns (pair, pair2t, batch1024, xfree). */
static const peer_t peers[] = {
#ifdef BENCH_WITH_EXALLOC
    PEER("lookaside", la, la_make, la_drop),
    PEER("lookaside-inline", ni, ni_make, ni_drop),
    PEER("zone", zn, zn_make, zn_drop),
#endif
    PEER(BENCH_PEER, m, m_make, m_drop),
};

/* The pool patterns (poolpair, poolpair2t, poolmixed); "poolzero" only in poolpair. */
static const peer_t pool_peers[] = {
#ifdef BENCH_WITH_EXALLOC
    PEER("pool", pl, m_make, m_drop),
    PEER("poolzero", pz, m_make, m_drop),
    PEER("poolnt", pn, m_make, m_drop),
#endif
    PEER(BENCH_PEER, m, m_make, m_drop),
};

/* ------------------------------------------------------------------------------------------
 * Timing
 * ---------------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *pattern, const char *size, const char *peer, double r[RUNS]) {
    qsort(r, RUNS, sizeof r[0], cmp_double);
    printf("RESULT\t%s\t%s\t%s\t%.2f\t%.2f\n", pattern, size, peer, r[RUNS / 2], r[0]);
    fflush(stdout);
}

/* Two-thread runs: both threads start at a barrier; the result is the wall time from the
 * barrier to the end of the slower thread. */
typedef struct {
    const peer_t *peer;
    void *ctx;
    size_t size;
    long n;
    int role; /* pair2t: 0; xfree: 1 = producer, 2 = consumer */
    ring_t *ring;
    pthread_barrier_t *barrier;
    uint64_t start, end;
} job_t;

static void *job_main(void *arg) {
    job_t *j = arg;
    pthread_barrier_wait(j->barrier);
    j->start = now_ns();
    if (j->role == 0) j->peer->pair(j->ctx, j->size, j->n);
    else if (j->role == 1) j->peer->produce(j->ctx, j->size, j->n, j->ring);
    else j->peer->consume(j->ctx, j->n, j->ring);
    j->end = now_ns();
    return NULL;
}

static uint64_t run_two(const peer_t *p, void *ctx, size_t size, long n, int xfree) {
    static ring_t ring;
    atomic_store(&ring.head, 0);
    atomic_store(&ring.tail, 0);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    job_t jobs[2];
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        jobs[t] = (job_t){p, ctx, size, n, xfree ? t + 1 : 0, &ring, &barrier, 0, 0};
        if (pthread_create(&th[t], NULL, job_main, &jobs[t]) != 0) die("pthread_create failed");
    }
    for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&barrier);
    uint64_t start = jobs[0].start < jobs[1].start ? jobs[0].start : jobs[1].start;
    uint64_t end = jobs[0].end > jobs[1].end ? jobs[0].end : jobs[1].end;
    return end - start;
}

/* Runners: do n units of a pattern, return the elapsed ns. */
typedef uint64_t (*runner_fn)(const peer_t *p, void *ctx, size_t size, long n);

static uint64_t run_pair(const peer_t *p, void *ctx, size_t size, long n) {
    uint64_t t0 = now_ns();
    p->pair(ctx, size, n);
    return now_ns() - t0;
}
static uint64_t run_batch(const peer_t *p, void *ctx, size_t size, long n) {
    uint64_t t0 = now_ns();
    p->batch(ctx, size, n);
    return now_ns() - t0;
}
static uint64_t run_pair2t(const peer_t *p, void *ctx, size_t size, long n) { return run_two(p, ctx, size, n, 0); }
static uint64_t run_xfree(const peer_t *p, void *ctx, size_t size, long n) { return run_two(p, ctx, size, n, 1); }

/* One result: a calibration run of n_min units (also the warm-up) sizes the timed runs to about
 * target_ns each; then RUNS timed runs. ops_per_unit: 1024 for batch1024 (reported per block). */
static void measure(const char *pattern, runner_fn run, long n_min, long ops_per_unit, const peer_t *p, void *ctx,
                    size_t size, double target_ns) {
    double est = (double)run(p, ctx, size, n_min) / (double)n_min;
    long n = est > 0 ? (long)(target_ns / est) : n_min;
    if (n < n_min) n = n_min;
    double r[RUNS];
    for (int i = 0; i < RUNS; i++) r[i] = (double)run(p, ctx, size, n) / (double)(n * ops_per_unit);
    char label[32];
    snprintf(label, sizeof label, "%zu", size);
    report(pattern, label, p->name, r);
}

/* poolmixed: fill the window (untimed), a calibration pass, RUNS timed runs of whole passes
 * sized to about target_ns, then free the window. */
static void mix_fill(const peer_t *p, mix_state_t *m) {
    m->ctx = NULL;
    for (int k = 0; k < WINDOW; k++) {
        m->slot[k] = p->alloc(NULL, mix_size[MIX_LEN - WINDOW + k]);
        if (m->slot[k] == NULL) die("out of memory");
    }
}
static void mix_drain(const peer_t *p, mix_state_t *m) {
    for (int k = 0; k < WINDOW; k++) p->free(NULL, m->slot[k]);
}
static uint64_t run_mixed(const peer_t *p, mix_state_t *m, long n) {
    uint64_t t0 = now_ns();
    p->mixed(m, n);
    return now_ns() - t0;
}
static void measure_mixed(const peer_t *p, double target_ns) {
    mix_state_t m;
    mix_fill(p, &m);
    double est = (double)run_mixed(p, &m, MIX_LEN) / (double)MIX_LEN;
    long passes = est > 0 ? (long)(target_ns / (est * MIX_LEN) + 0.5) : 1;
    if (passes < 1) passes = 1;
    double r[RUNS];
    for (int i = 0; i < RUNS; i++) r[i] = (double)run_mixed(p, &m, passes * MIX_LEN) / (double)(passes * MIX_LEN);
    mix_drain(p, &m);
    report("poolmixed", "mixed", p->name, r);
}

/* The control: a pure compute loop (xorshift, registers only), timed on one thread and on 2
 * threads at once like pair and pair2t, so that a 2-thread row can be compared with what two
 * threads cost this machine in the same run (on shared vCPUs even this loop can slow down). */
NOINLINE void compute_loop(void *ctx, size_t size, long n) {
    (void)ctx;
    uint64_t x = 0x9E3779B97F4A7C15u + size;
    for (long i = 0; i < n; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
    }
    sink = (void *)(uintptr_t)x;
}
static const peer_t compute_peer = {BENCH_PEER, NULL, NULL, compute_loop, NULL, NULL, NULL, NULL, m_make, m_drop};

static void time_control(double target_ms, const char *when) {
    double target = target_ms * 1e6;
    char one[32], two[32];
    snprintf(one, sizeof one, "compute%s", when);
    snprintf(two, sizeof two, "compute2t%s", when);
    measure(one, run_pair, 1000000, 1, &compute_peer, NULL, 0, target);
    measure(two, run_pair2t, 1000000, 1, &compute_peer, NULL, 0, target);
}

static void time_all(double target_ms) {
    double target = target_ms * 1e6;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t size = sizes[s];
        for (size_t k = 0; k < sizeof peers / sizeof peers[0]; k++) {
            const peer_t *p = &peers[k];
            void *ctx = p->make(size, 0); /* NT's default depths */
            measure("pair", run_pair, 10000, 1, p, ctx, size, target);
            measure("pair2t", run_pair2t, 10000, 1, p, ctx, size, target);
            p->drop(ctx);
            ctx = p->make(size, 1); /* Depth = MaximumDepth = 1024 */
            measure("batch1024", run_batch, 8, BATCH, p, ctx, size, target);
            measure("xfree", run_xfree, 10000, 1, p, ctx, size, target);
            p->drop(ctx);
        }
    }
}

static void time_pool(double target_ms) {
    double target = target_ms * 1e6;
    const size_t np = sizeof pool_peers / sizeof pool_peers[0];
    for (size_t s = 0; s < sizeof pool_sizes / sizeof pool_sizes[0]; s++) {
        for (size_t k = 0; k < np; k++) {
            const peer_t *p = &pool_peers[k];
            measure("poolpair", run_pair, 10000, 1, p, NULL, pool_sizes[s], target);
            if (strcmp(p->name, "poolzero") != 0) measure("poolpair2t", run_pair2t, 10000, 1, p, NULL, pool_sizes[s], target);
        }
    }
    for (size_t k = 0; k < np; k++) {
        if (strcmp(pool_peers[k].name, "poolzero") != 0) measure_mixed(&pool_peers[k], target);
    }
}

#ifdef BENCH_WITH_EXALLOC
/* ------------------------------------------------------------------------------------------
 * Spin locks: classic (KeAcquireSpinLock: test-and-test-and-set) against in-stack queued
 * (KeAcquireInStackQueuedSpinLock: MCS), acquire + release with an empty critical section.
 * "uncontended": one thread; "contended<N>t": N threads (2, 4, 8) on one lock (wall time per
 * acquire+release per thread: the time of N * n acquisitions / n). Both raise to DISPATCH_LEVEL and restore, as the NT routines do.
 * Output: LOCK <pattern> <kind> <median ns> <best ns>
 * ---------------------------------------------------------------------------------------- */
static exa_spinlock_t bench_lock;
static _Thread_local uint64_t lock_sink;

NOINLINE void lock_classic(long n) {
    for (long i = 0; i < n; i++) {
        uint8_t old;
        exa_spinlock_acquire_raise(&bench_lock, &old);
        lock_sink++;
        exa_spinlock_release_lower(&bench_lock, old);
    }
}

NOINLINE void lock_queued(long n) {
    exa_queued_lock_handle_t h __attribute__((aligned(128)));
    for (long i = 0; i < n; i++) {
        exa_queued_lock_acquire(&bench_lock, &h);
        lock_sink++;
        exa_queued_lock_release(&h);
    }
}

typedef struct {
    void (*body)(long);
    long n;
    pthread_barrier_t *barrier;
    uint64_t start, end;
} lock_job_t;

static void *lock_job(void *arg) {
    lock_job_t *j = arg;
    pthread_barrier_wait(j->barrier);
    j->start = now_ns();
    j->body(j->n);
    j->end = now_ns();
    return NULL;
}

enum { LOCK_THREADS_MAX = 8 };

static uint64_t lock_run(void (*body)(long), long n, int threads) {
    exa_spinlock_init(&bench_lock);
    if (threads == 1) {
        uint64_t t0 = now_ns();
        body(n);
        return now_ns() - t0;
    }
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    lock_job_t jobs[LOCK_THREADS_MAX];
    pthread_t th[LOCK_THREADS_MAX];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (lock_job_t){body, n, &barrier, 0, 0};
        if (pthread_create(&th[t], NULL, lock_job, &jobs[t]) != 0) die("pthread_create failed");
    }
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&barrier);
    uint64_t start = jobs[0].start, end = jobs[0].end;
    for (int t = 1; t < threads; t++) {
        if (jobs[t].start < start) start = jobs[t].start;
        if (jobs[t].end > end) end = jobs[t].end;
    }
    return end - start;
}

static void lock_measure(const char *pattern, const char *kind, void (*body)(long), int threads, double target_ns) {
    long n_min = threads > 2 ? 2000 : 20000;
    double est = (double)lock_run(body, n_min, threads) / (double)n_min;
    long n = est > 0 ? (long)(target_ns / est) : n_min;
    if (n < n_min) n = n_min;
    double r[RUNS];
    for (int i = 0; i < RUNS; i++) r[i] = (double)lock_run(body, n, threads) / (double)n;
    qsort(r, RUNS, sizeof r[0], cmp_double);
    printf("LOCK\t%s\t%s\t%.2f\t%.2f\n", pattern, kind, r[RUNS / 2], r[0]);
    fflush(stdout);
}

static void time_locks(double target_ms) {
    double target = target_ms * 1e6;
    lock_measure("uncontended", "classic", lock_classic, 1, target);
    lock_measure("uncontended", "queued", lock_queued, 1, target);
    /* contended with 2, 4 and 8 threads (on 2 vCPUs: more threads than CPUs from 4 on); each
     * kind right after the other, so that both see the same machine */
    static const int threads[] = {2, 4, 8};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        char pattern[32];
        snprintf(pattern, sizeof pattern, "contended%dt", threads[i]);
        lock_measure(pattern, "classic", lock_classic, threads[i], target);
        lock_measure(pattern, "queued", lock_queued, threads[i], target);
    }
}
#endif

/* ------------------------------------------------------------------------------------------
 * Memory (mode "mem"): what an allocator keeps after a burst. One process per (peer, size)
 * (bench/run.sh), so nothing earlier in the process muddies the numbers:
 *   allocate MEM_BLOCKS blocks of `size` bytes (each written whole, so its pages are resident),
 *   free them all, then ask the allocator to give memory back (trim).
 * Output, one line per source of numbers:
 *   MEM <peer> <size> <blocks> <source> <live> <after_free> <after_trim> <overhead/block>
 * live / after_free / after_trim: bytes above the baseline taken just before the burst;
 * overhead/block = live / blocks - size. source "rss": resident set (/proc/self/statm), every
 * peer; "mapped" and "in_use": the pool's own statistics (exa_pool_query, non-paged pool).
 * Trim: glibc malloc_trim(0); jemalloc thread.tcache.flush + arena.<all>.purge; mimalloc
 * mi_collect(true); tcmalloc MallocExtension_ReleaseFreeMemory; the pool exa_pool_trim (the
 * thread's front caches, then empty segments back to the host).
 * ---------------------------------------------------------------------------------------- */
enum { MEM_BLOCKS = 100000 };

static long long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long long total = 0, resident = 0;
    if (f == NULL || fscanf(f, "%lld %lld", &total, &resident) != 2) die("/proc/self/statm");
    fclose(f);
    return resident * (long long)sysconf(_SC_PAGESIZE);
}

/* The interposed allocator's "give memory back", looked up at run time (no headers needed). */
static void malloc_give_back(void) {
    if (strcmp(BENCH_PEER, "jemalloc") == 0) {
        int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
            (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
        if (mallctl != NULL) {
            (void)mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
            (void)mallctl("arena.4096.purge", NULL, NULL, NULL, 0); /* MALLCTL_ARENAS_ALL */
        }
    } else if (strcmp(BENCH_PEER, "mimalloc") == 0) {
        void (*collect)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "mi_collect");
        if (collect != NULL) collect(1);
    } else if (strcmp(BENCH_PEER, "tcmalloc") == 0) {
        void (*release)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory");
        if (release != NULL) release();
    } else {
        int (*trim)(size_t) = (int (*)(size_t))dlsym(RTLD_DEFAULT, "malloc_trim");
        if (trim != NULL) (void)trim(0);
    }
}

typedef struct mem_point_s {
    long long rss, mapped, in_use;
} mem_point_t;

static mem_point_t mem_point(int pool) {
    mem_point_t m = {rss_bytes(), 0, 0};
#ifdef BENCH_WITH_EXALLOC
    if (pool) {
        exa_pool_stats_t st;
        if (exa_pool_query(EXA_POOL_KIND_NON_PAGED, &st) != EXA_STATUS_SUCCESS) die("exa_pool_query");
        m.mapped = (long long)st.mapped;
        m.in_use = (long long)st.in_use;
    }
#else
    (void)pool;
#endif
    return m;
}

static void mem_line(const char *peer, size_t size, const char *source, long long base, long long live,
                     long long freed, long long trimmed) {
    printf("MEM\t%s\t%zu\t%d\t%s\t%lld\t%lld\t%lld\t%.1f\n", peer, size, MEM_BLOCKS, source, live - base,
           freed - base, trimmed - base, (double)(live - base) / MEM_BLOCKS - (double)size);
}

static void mem_run(const peer_t *p, int pool, size_t size) {
    void **v = calloc(MEM_BLOCKS, sizeof *v);
    if (v == NULL) die("calloc");
    memset(v, 0, MEM_BLOCKS * sizeof *v); /* resident before the baseline */
    void *ctx = p->make(size, 0);
    p->free(ctx, p->alloc(ctx, size));   /* start-up (thread state, first segment) */
    mem_point_t m0 = mem_point(pool);
    for (int i = 0; i < MEM_BLOCKS; i++) {
        v[i] = p->alloc(ctx, size);
        if (v[i] == NULL) die("allocation failed");
        memset(v[i], 0x5A, size);
    }
    mem_point_t m1 = mem_point(pool);
    for (int i = 0; i < MEM_BLOCKS; i++) p->free(ctx, v[i]);
    mem_point_t m2 = mem_point(pool);
#ifdef BENCH_WITH_EXALLOC
    if (pool) (void)exa_pool_trim();
    else
#endif
        malloc_give_back();
    mem_point_t m3 = mem_point(pool);
    mem_line(p->name, size, "rss", m0.rss, m1.rss, m2.rss, m3.rss);
    if (pool) {
        mem_line(p->name, size, "mapped", m0.mapped, m1.mapped, m2.mapped, m3.mapped);
        mem_line(p->name, size, "in_use", m0.in_use, m1.in_use, m2.in_use, m3.in_use);
    }
    p->drop(ctx);
    free(v);
    fflush(stdout);
}

/* Which shared object provides malloc in this process (checks the link-time interposition). */
static void print_provider(void) {
    Dl_info info;
    void *(*fn)(size_t) = malloc;
    const char *where = "?";
    if (dladdr(*(void **)&fn, &info) != 0 && info.dli_fname != NULL) where = info.dli_fname;
    printf("INFO\tmalloc\t%s\t%s\n", BENCH_PEER, where);
#ifdef BENCH_WITH_EXALLOC
    printf("INFO\texalloc\t%s\n", exa_version_string());
#endif
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "time";
    if (strcmp(mode, "time") == 0 || strcmp(mode, "time-pool") == 0) {
        double target_ms = argc > 2 ? atof(argv[2]) : 100.0;
        if (!(target_ms > 0)) die("target_ms must be > 0");
        print_provider();
        mix_init();
        if (strcmp(mode, "time-pool") == 0) { /* the pool patterns alone: short focused runs */
            time_pool(target_ms);
            return 0;
        }
        time_control(target_ms, "");
        time_all(target_ms);
        time_pool(target_ms);
        time_control(target_ms, "-end"); /* again at the end: the machine's load drifts */
#ifdef BENCH_WITH_EXALLOC
        time_locks(target_ms);
#endif
        return 0;
    }
    if (strcmp(mode, "mem") == 0 && argc == 4) {
        /* mem pool|malloc <size>: one burst (see mem_run) */
        size_t size = (size_t)strtoull(argv[3], NULL, 10);
        const peer_t *p = NULL;
        int pool = 0;
        if (strcmp(argv[2], "malloc") == 0) p = &peers[sizeof peers / sizeof peers[0] - 1];
#ifdef BENCH_WITH_EXALLOC
        if (strcmp(argv[2], "pool") == 0) p = &pool_peers[0], pool = 1;
#endif
        if (p == NULL || size == 0) die("usage: mem pool|malloc <size>");
        mem_run(p, pool, size);
        return 0;
    }
    if (strcmp(mode, "callgrind") == 0 && argc == 5) {
        const char *which = argv[2];
        int mixed = strcmp(argv[3], "mixed") == 0;
        size_t size = mixed ? 1 : (size_t)strtoull(argv[3], NULL, 10);
        long n = atol(argv[4]);
        const peer_t *p = NULL;
        if (strcmp(which, "malloc") == 0) p = &peers[sizeof peers / sizeof peers[0] - 1];
#ifdef BENCH_WITH_EXALLOC
        if (strcmp(which, "lookaside") == 0 && !mixed) p = &peers[0];
        if (strcmp(which, "lookaside-inline") == 0 && !mixed) p = &peers[1];
        /* the spin locks, uncontended: n acquire + release pairs (size ignored) */
        if (strcmp(which, "lock-classic") == 0 || strcmp(which, "lock-queued") == 0) {
            exa_spinlock_init(&bench_lock);
            if (strcmp(which, "lock-classic") == 0) lock_classic(n);
            else lock_queued(n);
            return 0;
        }
        if (strcmp(which, "pool") == 0) p = &pool_peers[0];
        if (strcmp(which, "poolzero") == 0) p = &pool_peers[1];
        if (strcmp(which, "poolnt") == 0) p = &pool_peers[2];
#endif
        if (p == NULL || size == 0 || n < 0)
            die("usage: callgrind lookaside|lookaside-inline|lock-classic|lock-queued|pool|poolzero|poolnt|malloc <size>|mixed <n>");
        if (mixed) {
            /* n operations of poolmixed (the window's set-up cancels out between N and 2N) */
            mix_init();
            mix_state_t m;
            mix_fill(p, &m);
            p->mixed(&m, n);
            mix_drain(p, &m);
            return 0;
        }
        void *ctx = p->make(size, 0);
        p->pair(ctx, size, n);
        p->drop(ctx);
        return 0;
    }
    fprintf(stderr, "usage: %s time|time-pool [target_ms] | callgrind lookaside|lookaside-inline|lock-classic|lock-queued|pool|poolzero|poolnt|malloc <size>|mixed <n> | mem pool|malloc <size>\n",
            argv[0]);
    return 2;
}
