/* exalloc - native core
 * pool/tag.c: per-tag accounting with PoolMon's columns (docs/pool.md#tags).
 *
 * Theory of operation
 * -------------------
 * NT (and ReactOS) keep one global table keyed by tag and bump its counters with
 * interlocked instructions on every allocate and free. That is exact, but every thread
 * allocating with a popular tag then writes the same cache line: at a few hundred
 * nanoseconds per contended interlocked add, that would cost more than the allocation.
 * exalloc keeps the global table but puts a per-thread cache of deltas in front of it:
 *
 *   - each thread has EXA_TAG_SLOTS slots, direct-mapped by a hash of (tag, pool); a slot
 *     holds a key and four counters (allocs, frees, bytes allocated, bytes freed) that only
 *     the owner writes, with relaxed atomic load + store: a plain increment in machine code,
 *     yet race-free for readers;
 *   - an allocate or free whose slot holds its key just bumps two counters (no atomic RMW,
 *     no shared line);
 *   - otherwise (the slot holds another key) the owner takes the tag lock, adds the slot's
 *     counters to the global entry of the old key, zeroes the slot, and claims it for the
 *     new key; a thread without a cache (out of memory, or exiting) counts straight into
 *     the global table under the lock;
 *   - thread exit folds all slots into the global table and unregisters the cache;
 *   - a snapshot, under the tag lock, sums the global table and every registered thread's
 *     slots.
 *
 * Exactness: a count moves between a slot and the global table only under the tag lock,
 * which the snapshot holds, so it is seen exactly once; an owner's bump is a single store
 * per counter, so a snapshot sees it entirely or not yet. A snapshot taken while no thread
 * is inside an allocate or free is therefore exact; one taken meanwhile may see an
 * operation's `allocs` before its `bytes` (PoolMon's own counters are no better).
 *
 * The global table grows by doubling (open addressing, at most half full). If it cannot
 * grow (no memory), counts go to an "Ovfl" row per pool rather than being dropped (ReactOS
 * drops them). Keys strip PROTECTED_POOL: a protected tag and its plain form are one row. */
#include "pool/pool.h"

#include <string.h>

typedef struct exa_tag_entry_s {
    exa_u64 key;  /* 0 = empty */
    exa_u64 allocs, frees, alloc_bytes, free_bytes;
} exa_tag_entry_t;

#define EXA_TAG_OVERFLOW 0x6C66764Fu /* bytes "Ovfl" */

static exa_spinlock_t exa_tag_lock;
static exa_tag_entry_t *exa_tag_table;           /* tag lock */
static uint32_t exa_tag_capacity, exa_tag_count;  /* capacity: 0 or a power of two */
static exa_tag_entry_t exa_tag_overflow[2];
static exa_tag_cache_t *exa_tag_caches;          /* registered thread caches (tag lock) */
static uint32_t exa_tag_cache_count;

exa_inline uint32_t exa_tag_home(exa_u64 key, uint32_t capacity) {
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & (capacity - 1);
}

static exa_tag_entry_t *exa_tag_probe(exa_tag_entry_t *table, uint32_t capacity, exa_u64 key) {
    uint32_t i = exa_tag_home(key, capacity);
    while (table[i].key != 0 && table[i].key != key) i = (i + 1) & (capacity - 1);
    return &table[i];
}

/* Tag lock held. The global entry for key, inserted if new; the overflow row if the table
 * is full and cannot grow. */
static exa_tag_entry_t *exa_tag_entry(exa_u64 key) {
    if (exa_tag_capacity != 0) {
        exa_tag_entry_t *e = exa_tag_probe(exa_tag_table, exa_tag_capacity, key);
        if (e->key == key) return e;
    }
    if ((exa_tag_count + 1) * 2 > exa_tag_capacity) {
        uint32_t cap = exa_tag_capacity ? exa_tag_capacity * 2 : 256;
        exa_tag_entry_t *grown = _exa_os_alloc_aligned(sizeof(exa_tag_entry_t) * cap, sizeof(void *));
        if (grown == NULL) {
            exa_tag_entry_t *o = &exa_tag_overflow[(key >> 32) & 1];
            o->key = _exa_tag_key(EXA_TAG_OVERFLOW, (int32_t)((key >> 32) & 1));
            return o;
        }
        memset(grown, 0, sizeof(exa_tag_entry_t) * cap);
        for (uint32_t i = 0; i < exa_tag_capacity; i++)
            if (exa_tag_table[i].key != 0) *exa_tag_probe(grown, cap, exa_tag_table[i].key) = exa_tag_table[i];
        _exa_os_free_aligned(exa_tag_table);
        exa_tag_table = grown;
        exa_tag_capacity = cap;
    }
    exa_tag_entry_t *e = exa_tag_probe(exa_tag_table, exa_tag_capacity, key);
    e->key = key;
    exa_tag_count++;
    return e;
}

static void exa_tag_add(exa_tag_entry_t *e, int is_free, exa_u64 bytes) {
    if (is_free) {
        e->frees++;
        e->free_bytes += bytes;
    } else {
        e->allocs++;
        e->alloc_bytes += bytes;
    }
}

/* Tag lock held, by the slot's owner: move the slot's counts to the global table. */
static void exa_tag_fold(exa_tag_slot_t *s) {
    if (s->key == 0) return;
    exa_tag_entry_t *e = exa_tag_entry(s->key);
    e->allocs += exa_atomic_load_relaxed(&s->xallocs);
    e->frees += exa_atomic_load_relaxed(&s->xfrees);
    e->alloc_bytes += exa_atomic_load_relaxed(&s->xalloc_bytes);
    e->free_bytes += exa_atomic_load_relaxed(&s->xfree_bytes);
    exa_atomic_store_relaxed(&s->xallocs, (exa_u64)0);
    exa_atomic_store_relaxed(&s->xfrees, (exa_u64)0);
    exa_atomic_store_relaxed(&s->xalloc_bytes, (exa_u64)0);
    exa_atomic_store_relaxed(&s->xfree_bytes, (exa_u64)0);
    s->key = 0;
}

void _exa_tag_count_slow(exa_tag_cache_t *c, exa_u64 key, int is_free, exa_u64 bytes) {
    _exa_lock(&exa_tag_lock);
    if (c != NULL) {
        exa_tag_slot_t *s = &c->slot[_exa_tag_slot_of(key)];
        exa_tag_fold(s);
        s->key = key;
        _exa_tag_slot_add(s, is_free, bytes);
    } else {
        exa_tag_add(exa_tag_entry(key), is_free, bytes);
    }
    _exa_unlock(&exa_tag_lock);
}

void _exa_tag_cache_attach(exa_tag_cache_t *c) {
    _exa_lock(&exa_tag_lock);
    c->prev = NULL;
    c->next = exa_tag_caches;
    if (exa_tag_caches != NULL) exa_tag_caches->prev = c;
    exa_tag_caches = c;
    c->registered = 1;
    exa_tag_cache_count++;
    _exa_unlock(&exa_tag_lock);
}

void _exa_tag_cache_detach(exa_tag_cache_t *c) {
    _exa_lock(&exa_tag_lock);
    if (c->registered) {
        for (uint32_t i = 0; i < EXA_TAG_SLOTS; i++) exa_tag_fold(&c->slot[i]);
        if (c->prev != NULL) c->prev->next = c->next;
        else exa_tag_caches = c->next;
        if (c->next != NULL) c->next->prev = c->prev;
        c->registered = 0;
        exa_tag_cache_count--;
    }
    _exa_unlock(&exa_tag_lock);
}

/* ==========================================================================================
 * Snapshot
 * ======================================================================================== */

/* Tag bytes in display order, for sorting. */
exa_inline uint32_t exa_tag_display_order(uint32_t tag) {
    return (tag & 0xFFu) << 24 | (tag & 0xFF00u) << 8 | (tag >> 8 & 0xFF00u) | tag >> 24;
}

static int exa_row_before(const exa_pool_tag_row_t *a, const exa_pool_tag_row_t *b) {
    uint32_t x = exa_tag_display_order(a->tag), y = exa_tag_display_order(b->tag);
    return x != y ? x < y : a->pool < b->pool;
}

/* Heap sort: no recursion, no allocation, O(n log n). */
static void exa_rows_sift(exa_pool_tag_row_t *rows, uint32_t root, uint32_t n) {
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && exa_row_before(&rows[child], &rows[child + 1])) child++;
        if (!exa_row_before(&rows[root], &rows[child])) return;
        exa_pool_tag_row_t t = rows[root];
        rows[root] = rows[child];
        rows[child] = t;
        root = child;
    }
}

static void exa_rows_sort(exa_pool_tag_row_t *rows, uint32_t n) {
    for (uint32_t i = n / 2; i-- > 0;) exa_rows_sift(rows, i, n);
    for (uint32_t end = n; end-- > 1;) {
        exa_pool_tag_row_t t = rows[0];
        rows[0] = rows[end];
        rows[end] = t;
        exa_rows_sift(rows, 0, end);
    }
}

static void exa_merge(exa_tag_entry_t *table, uint32_t capacity, exa_u64 key, exa_u64 allocs, exa_u64 frees,
                      exa_u64 alloc_bytes, exa_u64 free_bytes) {
    exa_tag_entry_t *e = exa_tag_probe(table, capacity, key);
    e->key = key;
    e->allocs += allocs;
    e->frees += frees;
    e->alloc_bytes += alloc_bytes;
    e->free_bytes += free_bytes;
}

uint32_t exa_pool_tag_snapshot(exa_pool_tag_row_t *out, uint32_t capacity) {
    _exa_lock(&exa_tag_lock);
    /* Every distinct key: the global ones, each thread's slots, the overflow rows. */
    exa_u64 bound = (exa_u64)exa_tag_count + (exa_u64)exa_tag_cache_count * EXA_TAG_SLOTS + 2;
    uint32_t cap = 64;
    while ((exa_u64)cap < 2 * bound) cap *= 2;
    exa_tag_entry_t *merged = _exa_os_alloc_aligned(sizeof(exa_tag_entry_t) * cap, sizeof(void *));
    if (merged == NULL) {
        _exa_unlock(&exa_tag_lock);
        return 0;
    }
    memset(merged, 0, sizeof(exa_tag_entry_t) * cap);
    for (uint32_t i = 0; i < exa_tag_capacity; i++) {
        exa_tag_entry_t *e = &exa_tag_table[i];
        if (e->key != 0) exa_merge(merged, cap, e->key, e->allocs, e->frees, e->alloc_bytes, e->free_bytes);
    }
    for (uint32_t i = 0; i < 2; i++) {
        exa_tag_entry_t *e = &exa_tag_overflow[i];
        if (e->key != 0) exa_merge(merged, cap, e->key, e->allocs, e->frees, e->alloc_bytes, e->free_bytes);
    }
    for (exa_tag_cache_t *c = exa_tag_caches; c != NULL; c = c->next) {
        for (uint32_t i = 0; i < EXA_TAG_SLOTS; i++) {
            exa_tag_slot_t *s = &c->slot[i];
            if (s->key == 0) continue;
            exa_merge(merged, cap, s->key, exa_atomic_load_relaxed(&s->xallocs), exa_atomic_load_relaxed(&s->xfrees),
                      exa_atomic_load_relaxed(&s->xalloc_bytes), exa_atomic_load_relaxed(&s->xfree_bytes));
        }
    }
    _exa_unlock(&exa_tag_lock);

    /* Rows for the keys with any activity, sorted. */
    uint32_t n = 0;
    for (uint32_t i = 0; i < cap; i++) n += merged[i].key != 0 && (merged[i].allocs != 0 || merged[i].frees != 0);
    exa_pool_tag_row_t *rows = _exa_os_alloc_aligned(sizeof(exa_pool_tag_row_t) * (n ? n : 1), sizeof(void *));
    if (rows == NULL) {
        _exa_os_free_aligned(merged);
        return 0;
    }
    n = 0;
    for (uint32_t i = 0; i < cap; i++) {
        const exa_tag_entry_t *e = &merged[i];
        if (e->key == 0 || (e->allocs == 0 && e->frees == 0)) continue;
        exa_pool_tag_row_t *r = &rows[n++];
        r->tag = (uint32_t)e->key;
        r->pool = (int32_t)((e->key >> 32) & 0xFF);
        r->allocs = e->allocs;
        r->frees = e->frees;
        r->diff = e->allocs - e->frees;
        r->bytes = e->alloc_bytes - e->free_bytes;
        r->per_alloc = r->diff != 0 ? r->bytes / r->diff : 0;
    }
    _exa_os_free_aligned(merged);
    exa_rows_sort(rows, n);
    if (out != NULL) memcpy(out, rows, sizeof(exa_pool_tag_row_t) * (n < capacity ? n : capacity));
    _exa_os_free_aligned(rows);
    return n;
}

/* Fork (base/fork.c): the tag lock is held across fork. The child keeps every registered
 * thread slot table, those of threads that do not exist there included: their counts are
 * the parent's history up to the fork, and snapshots keep folding them in. */
static void exa_tag_fork_prepare(void) { _exa_lock(&exa_tag_lock); }
static void exa_tag_fork_parent(void) { _exa_unlock(&exa_tag_lock); }
static void exa_tag_fork_child(void) { _exa_lock_reset(&exa_tag_lock); }
static const exa_fork_handler_t exa_tag_fork = {EXA_FORK_RANK_TAGS, exa_tag_fork_prepare, exa_tag_fork_parent,
                                                exa_tag_fork_child};
EXA_ON_LOAD(exa_tag_fork_load) { _exa_fork_register(&exa_tag_fork); }
