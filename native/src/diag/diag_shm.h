/* exalloc - native core and tools
 * diag/diag_shm.h: the layout of the live-view file a process publishes
 * (/dev/shm/exalloc.<pid>, docs/diagnostics.md#live-view) and the reader the exapoolmon tool and the
 * tests use. Shared by publish.c (the writer), tools/exapoolmon.c and test/test_diag.c.
 *
 * The file is a header, then `tag_capacity` PoolMon rows (exa_pool_tag_row_t, 6 words
 * each), then `list_capacity` lookaside rows (exa_lookaside_stats_t, 9 words each). Every
 * field is a 64-bit word written with release and read with acquire atomics (seqlock order without
 * fences, which ThreadSanitizer does not model), so a reader in another
 * process (or thread) never tears a word; whole snapshots are versioned by a seqlock: the
 * writer makes `seq` odd, writes, makes it even again; a reader retries while it is odd or
 * changed under it. */
#ifndef EXA_INTERNAL_DIAG_SHM_H
#define EXA_INTERNAL_DIAG_SHM_H

#include "exalloc.h"
#include "base/atomic.h"

#include <stdint.h>
#include <string.h>

#define EXA_SHM_MAGIC 0x4D4F4D4C4F505845ull  /* "EXPOLMOM" */
enum {
    EXA_SHM_VERSION = 1,
    EXA_SHM_TAG_CAPACITY = 2048,
    EXA_SHM_LIST_CAPACITY = 512,
    EXA_SHM_TAG_WORDS = 6,
    EXA_SHM_LIST_WORDS = 9,
    EXA_SHM_HEADER_WORDS = 16
};
_Static_assert(sizeof(exa_pool_tag_row_t) == EXA_SHM_TAG_WORDS * 8, "tag row is 6 words");
_Static_assert(sizeof(exa_lookaside_stats_t) == EXA_SHM_LIST_WORDS * 8, "lookaside row is 9 words");

/* Header word indexes. */
enum {
    EXA_SHM_W_MAGIC = 0,
    EXA_SHM_W_VERSION = 1,
    EXA_SHM_W_SEQ = 2,            /* seqlock: odd while the writer is writing */
    EXA_SHM_W_PID = 3,
    EXA_SHM_W_PUBLISHES = 4,      /* snapshots written so far */
    EXA_SHM_W_TIME_NS = 5,        /* monotonic time of the last snapshot */
    EXA_SHM_W_PERIOD_MS = 6,      /* the publisher thread's period, 0 = on demand only */
    EXA_SHM_W_TAG_CAPACITY = 7,
    EXA_SHM_W_LIST_CAPACITY = 8,
    EXA_SHM_W_TAG_ROWS = 9,       /* rows stored (<= capacity) */
    EXA_SHM_W_TAG_TOTAL = 10,     /* rows there were */
    EXA_SHM_W_LIST_ROWS = 11,
    EXA_SHM_W_LIST_TOTAL = 12
};

typedef exa_atomic(uint64_t) exa_shm_word_t;

static inline uint64_t exa_shm_bytes(void) {
    return 8ull * (EXA_SHM_HEADER_WORDS + (uint64_t)EXA_SHM_TAG_CAPACITY * EXA_SHM_TAG_WORDS +
                   (uint64_t)EXA_SHM_LIST_CAPACITY * EXA_SHM_LIST_WORDS);
}

static inline exa_shm_word_t *exa_shm_tags(exa_shm_word_t *w) { return w + EXA_SHM_HEADER_WORDS; }
static inline exa_shm_word_t *exa_shm_lists(exa_shm_word_t *w) {
    return w + EXA_SHM_HEADER_WORDS + (uint64_t)EXA_SHM_TAG_CAPACITY * EXA_SHM_TAG_WORDS;
}

static inline void exa_shm_put(exa_shm_word_t *dst, const void *src, uint32_t words) {
    for (uint32_t i = 0; i < words; i++) {
        uint64_t v;
        memcpy(&v, (const char *)src + 8 * i, 8);
        exa_atomic_store_release(&dst[i], v);
    }
}
static inline void exa_shm_get(void *dst, exa_shm_word_t *src, uint32_t words) {
    for (uint32_t i = 0; i < words; i++) {
        uint64_t v = exa_atomic_load_acquire(&src[i]);
        memcpy((char *)dst + 8 * i, &v, 8);
    }
}

/* One consistent snapshot, as a reader sees it. */
typedef struct exa_shm_snapshot_s {
    uint64_t pid, publishes, time_ns, period_ms, seq;
    uint32_t tag_rows, tag_total, list_rows, list_total;
    exa_pool_tag_row_t tags[EXA_SHM_TAG_CAPACITY];
    exa_lookaside_stats_t lists[EXA_SHM_LIST_CAPACITY];
} exa_shm_snapshot_t;

/* Read a snapshot from a mapped file of at least exa_shm_bytes() bytes. 0 on success; -1
 * when the magic or version is wrong; -2 when no consistent copy was seen in `tries`. */
static inline int exa_shm_read(exa_shm_word_t *w, exa_shm_snapshot_t *out, uint32_t tries) {
    if (exa_atomic_load_relaxed(&w[EXA_SHM_W_MAGIC]) != EXA_SHM_MAGIC ||
        exa_atomic_load_relaxed(&w[EXA_SHM_W_VERSION]) != EXA_SHM_VERSION)
        return -1;
    for (uint32_t t = 0; t < tries; t++) {
        uint64_t s1 = exa_atomic_load_acquire(&w[EXA_SHM_W_SEQ]);
        if (s1 & 1) continue;
        out->pid = exa_atomic_load_acquire(&w[EXA_SHM_W_PID]);
        out->publishes = exa_atomic_load_acquire(&w[EXA_SHM_W_PUBLISHES]);
        out->time_ns = exa_atomic_load_acquire(&w[EXA_SHM_W_TIME_NS]);
        out->period_ms = exa_atomic_load_acquire(&w[EXA_SHM_W_PERIOD_MS]);
        uint64_t tr = exa_atomic_load_acquire(&w[EXA_SHM_W_TAG_ROWS]);
        uint64_t lr = exa_atomic_load_acquire(&w[EXA_SHM_W_LIST_ROWS]);
        out->tag_total = (uint32_t)exa_atomic_load_acquire(&w[EXA_SHM_W_TAG_TOTAL]);
        out->list_total = (uint32_t)exa_atomic_load_acquire(&w[EXA_SHM_W_LIST_TOTAL]);
        if (tr > EXA_SHM_TAG_CAPACITY) tr = EXA_SHM_TAG_CAPACITY;
        if (lr > EXA_SHM_LIST_CAPACITY) lr = EXA_SHM_LIST_CAPACITY;
        out->tag_rows = (uint32_t)tr;
        out->list_rows = (uint32_t)lr;
        for (uint64_t i = 0; i < tr; i++) exa_shm_get(&out->tags[i], exa_shm_tags(w) + i * EXA_SHM_TAG_WORDS, EXA_SHM_TAG_WORDS);
        for (uint64_t i = 0; i < lr; i++)
            exa_shm_get(&out->lists[i], exa_shm_lists(w) + i * EXA_SHM_LIST_WORDS, EXA_SHM_LIST_WORDS);
        if (exa_atomic_load_acquire(&w[EXA_SHM_W_SEQ]) == s1) {
            out->seq = s1;
            return 0;
        }
    }
    return -2;
}

/* A tag as four printable characters (memory order; others shown as '.'). */
static inline void exa_shm_tag_text(uint32_t tag, char out[5]) {
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(tag >> (8 * i));
        out[i] = (c >= 0x20 && c < 0x7F) ? (char)c : '.';
    }
    out[4] = 0;
}

#endif /* EXA_INTERNAL_DIAG_SHM_H */
