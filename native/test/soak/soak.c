/* exalloc - soak test: N threads for S seconds over the pool, lookaside lists and a zone,
 * with an ownership ledger. Built and run by native/scripts/soak.sh.
 *
 * Usage: exalloc_soak THREADS SECONDS [SEED]
 *
 * Every block a thread holds is in its ledger with the owner word the thread wrote into the
 * block's first 8 bytes at allocation (thread number and a sequence number) and a fill byte
 * over the rest. Before a block is freed, or when it is handed to another thread (through
 * that thread's mailbox), the word and the fill are checked: a block the library handed to
 * two owners, or two blocks that overlap, show up as a foreign owner word or a broken fill.
 * The receiver of a handed-over block checks it, stamps its own owner word and fill, and
 * frees it later itself, so most frees are cross-thread.
 *
 * At the end every block is freed and the counters must balance: each soak tag's live
 * blocks (PoolMon's Diff) back to zero, each list's TotalAllocates == TotalFrees for the
 * blocks the soak took, the zone's free blocks == its blocks. The last line is
 * "soak: PASS ..." or "soak: FAIL ...", and the exit status says the same. */
#define _GNU_SOURCE 1
#include "exalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_THREADS = 64, HELD = 256, MAILBOX = 512, LISTS = 3, TAGS = 8, ZONE_SEGMENTS = 8,
       ZONE_SEGMENT = 64 * 1024, ZONE_BLOCK = 64 };
enum { KIND_POOL = 0, KIND_LIST = 1, KIND_ZONE = 2, KINDS = 3 };

typedef struct {
    unsigned char *p;
    exa_u64 n;
    uint64_t owner;
    uint8_t kind, index;  /* index: the list, or the pool flags entry */
} held_t;

typedef struct {
    pthread_mutex_t lock;
    held_t box[MAILBOX];
    unsigned count;
} mailbox_t;

typedef struct {
    unsigned id;
    uint64_t seed, seq;
    held_t held[HELD];
    unsigned nheld;
    uint64_t allocs[KINDS], frees[KINDS], failed[KINDS], handed, received, bad_owner, bad_fill;
    uint64_t list_allocs[LISTS], list_frees[LISTS];
} worker_t;

static unsigned nthreads;
static atomic_int stop;
static mailbox_t mail[MAX_THREADS];
static worker_t workers[MAX_THREADS];
static exa_lookaside_t *lists[LISTS];
static const exa_u64 list_size[LISTS] = {24, 200, 1000};
static exa_zone_t zone;
static exa_spinlock_t zone_lock;
static void *zone_segments[ZONE_SEGMENTS];
static const exa_u64 pool_flags[] = {EXA_POOL_FLAG_NON_PAGED, EXA_POOL_FLAG_PAGED, EXA_POOL_FLAG_NON_PAGED_EXECUTE,
                                     EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_CACHE_ALIGNED};

static uint64_t rnd(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t soak_tag(unsigned i) { return 0x006B6153u | (uint32_t)('0' + i) << 24; } /* "Sak0".."Sak7" */

static unsigned char fill_of(uint64_t owner) { return (unsigned char)(owner * 0x9Du >> 3) | 1u; }

static void stamp(worker_t *w, held_t *h) {
    h->owner = (uint64_t)(w->id + 1) << 48 | (++w->seq & 0xFFFFFFFFFFFFull);
    memcpy(h->p, &h->owner, sizeof h->owner);
    memset(h->p + 8, fill_of(h->owner), (size_t)(h->n - 8));
}

/* 1 when the block still carries h's owner word and fill. */
static int verify(worker_t *w, const held_t *h) {
    uint64_t word;
    memcpy(&word, h->p, sizeof word);
    if (word != h->owner) {
        if (w->bad_owner++ < 5)
            fprintf(stderr, "soak: block %p (kind %u, %llu bytes) owned by %016llx carries %016llx\n", (void *)h->p,
                    h->kind, (unsigned long long)h->n, (unsigned long long)h->owner, (unsigned long long)word);
        return 0;
    }
    unsigned char f = fill_of(h->owner);
    for (exa_u64 i = 8; i < h->n; i++) {
        if (h->p[i] != f) {
            if (w->bad_fill++ < 5)
                fprintf(stderr, "soak: block %p (kind %u, %llu bytes) fill broken at byte %llu\n", (void *)h->p, h->kind,
                        (unsigned long long)h->n, (unsigned long long)i);
            return 0;
        }
    }
    return 1;
}

static void release(worker_t *w, held_t *h) {
    (void)verify(w, h);
    switch (h->kind) {
    case KIND_POOL: exa_pool_free_with_tag(h->p, soak_tag(h->index % TAGS)); break;
    case KIND_LIST:
        (void)exa_lookaside_free(lists[h->index], h->p);
        w->list_frees[h->index]++;
        break;
    default: (void)exa_zone_free_interlocked(&zone, h->p, &zone_lock); break;
    }
    w->frees[h->kind]++;
}

static int acquire(worker_t *w, uint64_t r, held_t *h) {
    h->kind = (uint8_t)(r % KINDS);
    if (h->kind == KIND_POOL) {
        unsigned f = (unsigned)(r >> 8) % 4, t = (unsigned)(r >> 12) % TAGS;
        unsigned shape = (unsigned)(r >> 16) % 16;
        h->n = shape < 10 ? 16 + (r >> 24) % 240 : shape < 15 ? 16 + (r >> 24) % 4048 : 4065 + (r >> 24) % 12000;
        h->index = (uint8_t)t;
        h->p = exa_pool_allocate(pool_flags[f] | EXA_POOL_FLAG_UNINITIALIZED, h->n, soak_tag(t));
    } else if (h->kind == KIND_LIST) {
        h->index = (uint8_t)((r >> 8) % LISTS);
        h->n = list_size[h->index];
        h->p = exa_lookaside_allocate(lists[h->index]);
        if (h->p != NULL) w->list_allocs[h->index]++;
    } else {
        h->index = 0;
        h->n = ZONE_BLOCK;
        h->p = exa_zone_allocate_interlocked(&zone, &zone_lock);
    }
    if (h->p == NULL) {
        w->failed[h->kind]++;
        return 0;
    }
    w->allocs[h->kind]++;
    stamp(w, h);
    return 1;
}

static void drain_mailbox(worker_t *w) {
    held_t got[MAILBOX];
    pthread_mutex_lock(&mail[w->id].lock);
    unsigned n = mail[w->id].count;
    memcpy(got, mail[w->id].box, n * sizeof *got);
    mail[w->id].count = 0;
    pthread_mutex_unlock(&mail[w->id].lock);
    for (unsigned i = 0; i < n; i++) {
        w->received++;
        if (!verify(w, &got[i])) continue; /* counted; not freed: its owner is in doubt */
        if (w->nheld == HELD) {
            release(w, &got[i]);
            continue;
        }
        held_t *h = &w->held[w->nheld++];
        *h = got[i];
        stamp(w, h);
    }
}

static void *worker_main(void *arg) {
    worker_t *w = arg;
    uint64_t ops = 0;
    while (!atomic_load(&stop)) {
        uint64_t r = rnd(&w->seed);
        if ((ops++ & 31) == 0) drain_mailbox(w);
        unsigned action = (unsigned)(r >> 60);
        if (w->nheld > 0 && (action < 6 || w->nheld == HELD)) {
            unsigned k = (unsigned)(r >> 32) % w->nheld;
            held_t h = w->held[k];
            w->held[k] = w->held[--w->nheld];
            if (action < 2 && nthreads > 1) {
                /* Hand it over: checked now, stamped by the receiver. */
                unsigned to = (w->id + 1 + (unsigned)(r >> 20) % (nthreads - 1)) % nthreads;
                if (verify(w, &h)) {
                    pthread_mutex_lock(&mail[to].lock);
                    int sent = mail[to].count < MAILBOX;
                    if (sent) mail[to].box[mail[to].count++] = h;
                    pthread_mutex_unlock(&mail[to].lock);
                    if (sent) {
                        w->handed++;
                        continue;
                    }
                }
            }
            release(w, &h);
        } else {
            held_t h;
            if (acquire(w, r, &h)) w->held[w->nheld++] = h;
        }
    }
    for (unsigned i = 0; i < w->nheld; i++) release(w, &w->held[i]);
    w->nheld = 0;
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s THREADS SECONDS [SEED]\n", argv[0]);
        return 2;
    }
    nthreads = (unsigned)atoi(argv[1]);
    double seconds = atof(argv[2]);
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x5EED;
    if (nthreads < 1 || nthreads > MAX_THREADS || seconds <= 0) {
        fprintf(stderr, "soak: THREADS must be 1..%d and SECONDS > 0\n", MAX_THREADS);
        return 2;
    }
    int fail = 0;
    for (unsigned i = 0; i < LISTS; i++) {
        exa_lookaside_config_t cfg = {.size = list_size[i], .tag = soak_tag(TAGS + 1 + i), .pool_type = EXA_NON_PAGED_POOL_NX};
        if (exa_lookaside_create(&cfg, &lists[i]) != EXA_STATUS_SUCCESS) return 2;
    }
    exa_spinlock_init(&zone_lock);
    for (unsigned i = 0; i < ZONE_SEGMENTS; i++) {
        zone_segments[i] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, ZONE_SEGMENT, soak_tag(TAGS + 5));
        if (zone_segments[i] == NULL) return 2;
        exa_status_t st = i == 0 ? exa_zone_init(&zone, ZONE_BLOCK, zone_segments[i], ZONE_SEGMENT)
                                 : exa_zone_extend_interlocked(&zone, zone_segments[i], ZONE_SEGMENT, &zone_lock);
        if (st != EXA_STATUS_SUCCESS) return 2;
    }
    pthread_t threads[MAX_THREADS];
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_mutex_init(&mail[i].lock, NULL);
        workers[i].id = i;
        workers[i].seed = seed * 0x9E3779B97F4A7C15ull + i + 1;
    }
    double t0 = now_s();
    for (unsigned i = 0; i < nthreads; i++) pthread_create(&threads[i], NULL, worker_main, &workers[i]);
    while (now_s() - t0 < seconds) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    double elapsed = now_s() - t0;
    /* Blocks still in mailboxes: checked and freed here. */
    worker_t *w0 = &workers[0];
    for (unsigned i = 0; i < nthreads; i++) {
        for (unsigned k = 0; k < mail[i].count; k++) {
            if (verify(w0, &mail[i].box[k])) release(w0, &mail[i].box[k]);
        }
        mail[i].count = 0;
    }
    uint64_t allocs[KINDS] = {0}, frees[KINDS] = {0}, failed[KINDS] = {0}, handed = 0, bad_owner = 0, bad_fill = 0;
    uint64_t list_allocs[LISTS] = {0}, list_frees[LISTS] = {0};
    for (unsigned i = 0; i < nthreads; i++) {
        for (unsigned k = 0; k < KINDS; k++) {
            allocs[k] += workers[i].allocs[k];
            frees[k] += workers[i].frees[k];
            failed[k] += workers[i].failed[k];
        }
        for (unsigned k = 0; k < LISTS; k++) {
            list_allocs[k] += workers[i].list_allocs[k];
            list_frees[k] += workers[i].list_frees[k];
        }
        handed += workers[i].handed;
        bad_owner += workers[i].bad_owner;
        bad_fill += workers[i].bad_fill;
    }
    /* Counters balance: every soak tag back to zero live blocks, lists and zone whole. */
    uint32_t rows = exa_pool_tag_snapshot(NULL, 0);
    exa_pool_tag_row_t *row = calloc(rows + 16, sizeof *row);
    rows = row != NULL ? exa_pool_tag_snapshot(row, rows + 16) : 0;
    uint64_t live_soak = 0;
    for (uint32_t i = 0; i < rows; i++)
        for (unsigned t = 0; t < TAGS; t++)
            if (row[i].tag == soak_tag(t)) live_soak += row[i].diff;
    free(row);
    if (live_soak != 0) {
        fprintf(stderr, "soak: %llu pool blocks of the soak tags still counted live\n", (unsigned long long)live_soak);
        fail = 1;
    }
    for (unsigned i = 0; i < LISTS; i++) {
        exa_lookaside_stats_t s;
        exa_lookaside_query(lists[i], &s);
        if (list_allocs[i] != list_frees[i] || s.total_allocates != s.total_frees || s.total_allocates != list_allocs[i]) {
            fprintf(stderr, "soak: list %u: allocates %llu frees %llu, the soak's %llu / %llu\n", i,
                    (unsigned long long)s.total_allocates, (unsigned long long)s.total_frees,
                    (unsigned long long)list_allocs[i], (unsigned long long)list_frees[i]);
            fail = 1;
        }
        exa_lookaside_delete(lists[i]);
    }
    exa_zone_info_t zi;
    exa_zone_query(&zone, &zi, &zone_lock);
    uint32_t zone_free = 0;
    while (exa_zone_allocate_interlocked(&zone, &zone_lock) != NULL) zone_free++;
    if (zone_free != zi.block_count) {
        fprintf(stderr, "soak: zone has %u free blocks of %u\n", zone_free, zi.block_count);
        fail = 1;
    }
    for (unsigned i = 0; i < ZONE_SEGMENTS; i++) exa_pool_free(zone_segments[i]);
    uint64_t ops = 0;
    for (unsigned k = 0; k < KINDS; k++) ops += allocs[k] + frees[k];
    if (bad_owner != 0 || bad_fill != 0) {
        fail = 1;
    } else {
        /* Nothing was dropped after a failed check: every block taken was given back. */
        for (unsigned k = 0; k < KINDS; k++) {
            if (allocs[k] != frees[k]) {
                fprintf(stderr, "soak: kind %u: %llu allocations, %llu frees\n", k, (unsigned long long)allocs[k],
                        (unsigned long long)frees[k]);
                fail = 1;
            }
        }
    }
    printf("soak: threads %u, %.1f s: pool %llu/%llu, lookaside %llu/%llu, zone %llu/%llu (allocs/frees), "
           "zone full %llu, handed over %llu, %.2f M ops/s\n",
           nthreads, elapsed, (unsigned long long)allocs[KIND_POOL], (unsigned long long)frees[KIND_POOL],
           (unsigned long long)allocs[KIND_LIST], (unsigned long long)frees[KIND_LIST],
           (unsigned long long)allocs[KIND_ZONE], (unsigned long long)frees[KIND_ZONE],
           (unsigned long long)failed[KIND_ZONE], (unsigned long long)handed, (double)ops / elapsed / 1e6);
    printf("soak: %s threads=%u seconds=%.0f ops=%llu two_owners=%llu broken_fill=%llu\n", fail ? "FAIL" : "PASS",
           nthreads, elapsed, (unsigned long long)ops, (unsigned long long)bad_owner, (unsigned long long)bad_fill);
    return fail;
}
