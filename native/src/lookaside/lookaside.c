/* exalloc - native core
 * lookaside.c: lookaside lists (spec section 2) with per-thread front caches.
 *
 * Theory of operation
 * -------------------
 * A list (exa_lookaside_t) has a shared LIFO stack of cached blocks, linked through each
 * block's first word as NT's SList is, guarded by the list's spin lock. In front of it every
 * thread that uses the list has a thread cache (exa_tcache_t): a private array stack `mag`
 * of up to EXA_LOOKASIDE_THREAD_CACHE blocks, touched without any atomic read-modify-write.
 *
 * The depth bound is a budget of cache slots. A thread cache may hold blocks only in slots it
 * has claimed (`quota`); the list's lock guards
 *
 *     shared_count + claimed <= depth,     claimed = sum over thread caches of quota,
 *     and for every thread cache:  n <= quota <= EXA_LOOKASIDE_THREAD_CACHE
 *
 * so the blocks cached anywhere never exceed Depth (when Depth is lowered, the inequality is
 * restored as blocks drain: no new slot is granted until it holds again).
 *
 *   free:     n < quota                -> push on mag                      (fast, no lock)
 *             else under the lock: claim up to `batch` free slots and push; if none is
 *             free, FreeMiss -> free callback. (With other threads attached, the full mag
 *             first moves to the shared stack so they can allocate its blocks.)
 *   allocate: n > 0                    -> pop from mag                     (fast, no lock)
 *             else under the lock: take up to `batch` blocks from the shared stack (the
 *             newest first, so LIFO order holds), or AllocateMiss -> allocate callback.
 *             A thread holding more than 2*batch unused slots gives the surplus back.
 *
 * batch = clamp(depth / 8, 1, THREAD_CACHE / 2). With one thread this reproduces NT exactly:
 * the thread ends up holding all Depth slots, a free beyond Depth cached blocks misses, and
 * blocks come back in LIFO order. Each thread counts its own operations in owner-only
 * counters; query folds them in under the lock, so counts are exact, not NT's racy ones.
 *
 * Flush and delete reach every thread's cache without slowing the fast path, with an
 * asymmetric Dekker handshake (as liburcu's membarrier flavour) on a per-cache `stale` flag:
 *   owner:   busy = 1 (relaxed); compiler barrier; if tc.stale -> slow path; op; busy = 0
 *            (release)
 *   flusher: (under the list lock) tc.stale = 1 for every cache; process-wide barrier
 *            (membarrier); for each thread cache: wait until busy == 0 (acquire), then take
 *            its blocks.
 * After the process barrier, an owner either had busy = 1 visible (the flusher waits for it)
 * or sees stale and goes to the slow path, which needs the lock the flusher holds; only the
 * owner clears stale, under the lock. Without membarrier (or under TSan) the owner uses a
 * seq_cst store and load instead.
 *
 * The fast paths find the cache through a per-thread one-entry memo (the list used last and
 * the thread's cache for it, see exa_memo_note) and check the IRQL against a byte the list
 * precomputes; a memo miss takes the "medium" path through the thread's table of caches.
 *
 * Locks, in acquisition order: the registry lock, then a list's lock. Callbacks are always
 * called with no lock held.
 */
#include "base/base.h"
#include "lookaside/lookaside.h"
#include "base/track.h"

#include <string.h>

enum {
    EXA_MAG_CAP = EXA_LOOKASIDE_THREAD_CACHE,
    EXA_LOOKASIDE_MAGIC = 0x4C6F6F6B,  /* 'Look' */
    EXA_LOOKASIDE_DEAD = 0x44656164    /* 'Dead' */
};

typedef struct exa_theap_s exa_theap_t;
typedef exa_tls_block_t exa_memo_t;

/* A thread's cache for one list. Written by its owner thread; the fields marked (x) are read
 * (and, under the list lock while the owner is not busy, written) by other threads. */
typedef struct exa_tcache_s {
    exa_atomic(uint32_t) xbusy;        /* (x) 1 while the owner touches mag/n */
    exa_atomic(uint32_t) xstale;       /* (x) 1 sends the owner to the slow path: set by a
                                        * flusher (list lock held), cleared by the owner under
                                        * the list lock */
    exa_atomic(uint32_t) xn;           /* (x) blocks in mag */
    uint32_t quota;                    /* slots claimed from the list's budget (list lock) */
    uint32_t slack;                    /* surplus slots tolerated before giving some back */
    uint32_t batch;                    /* blocks moved per transfer */
    uint32_t low;                      /* max(quota - slack, 0): a pop leaving fewer blocks
                                        * than this gives slots back (slow path) */
    exa_atomic(exa_u64) xlist_id;      /* (x) id of the list attached to, 0 when detached */
    exa_lookaside_t *list;             /* attached list (registry lock or list lock) */
    struct exa_tcache_s *next;         /* the list's chain of caches (list lock) */
    exa_theap_t *heap;
    exa_memo_t *memo;                  /* the owner's memo (see exa_tcache_resync) */
    /* owner-only counters, read by query under the list lock. The fast paths count only their
     * frees (xfast_frees); their allocates are derived: every other change of n adds its
     * delta to xadj (exa_tcache_set_n), so fast allocates = xadj + xfast_frees - n. The
     * others count every operation of the slower paths. */
    exa_atomic(exa_u64) xallocates, xallocate_misses, xfrees, xfree_misses;
    exa_atomic(exa_u64) xfast_frees, xadj;
    /* the part of the counters already folded into the list's totals (list lock) */
    exa_u64 folded_allocates, folded_allocate_misses, folded_frees, folded_free_misses;
    void *mag[EXA_MAG_CAP];
} exa_tcache_t;

/* A thread's table of caches, indexed by list slot. */
struct exa_theap_s {
    exa_tcache_t **caches;
    uint32_t capacity;
};

struct exa_lookaside_s {
    /* --- line 0: read by every fast path, written rarely ------------------------------- */
    exa_cache_aligned exa_u64 id;
    uint32_t slot;                     /* index into each thread's cache table */
    uint32_t magic;
    uint8_t irql_limit;                /* highest IRQL the list may be used at */
    exa_atomic(uint32_t) xdepth;       /* NT Depth */
    uint32_t maximum_depth;            /* NT MaximumDepth */
    uint32_t tag;
    int32_t pool_type;
    exa_u64 size;

    /* --- line 1+: the shared stack and the budget, under `lock` ------------------------- */
    exa_cache_aligned exa_spinlock_t lock;
    void *head;                        /* newest cached block; links through the first word */
    uint32_t count;                    /* blocks on the shared stack */
    uint32_t claimed;                  /* slots held by thread caches */
    uint32_t nattached;                /* thread caches in `caches` */
    exa_tcache_t *caches;
    exa_u64 allocates, allocate_misses, frees, free_misses;  /* folded totals */
    /* depth adjustment (exa_lookaside_tick) */
    exa_u64 last_allocates, last_allocate_misses;  /* NT LastTotalAllocates, LastAllocateMisses */
    uint32_t minimum_depth;            /* the initial depth: the floor of the adjustment */
    uint32_t fixed_depth;              /* 1: the tick leaves Depth alone */
    uint32_t trimming;                 /* a tick is releasing blocks of this list */

    /* --- cold: used on misses and by management calls ---------------------------------- */
    exa_allocate_fn allocate;
    exa_free_fn free;
    void *context;
    const exa_lookaside_hooks_t *hooks;  /* NT adapters, or NULL */
    void *owner;                          /* the NT struct when created through exalloc_nt.h */
    /* registry links (registry lock) */
    struct exa_lookaside_s *reg_next, *reg_prev;
};

_Static_assert(offsetof(exa_lookaside_t, lock) % EXA_CACHE_LINE == 0, "shared state on its own line");
_Static_assert(offsetof(exa_lookaside_t, lock) == EXA_CACHE_LINE, "read-mostly part fits one line");

/* ==========================================================================================
 * Registry of live lists and slot allocation
 * ======================================================================================== */

static exa_spinlock_t exa_registry_lock;
static exa_lookaside_t *exa_registry_head, *exa_registry_tail;
static uint32_t exa_registry_count;
static exa_u64 exa_next_list_id = 1;
static uint32_t *exa_free_slots;       /* stack of recycled slots */
static uint32_t exa_free_slot_count, exa_free_slot_capacity, exa_next_slot;

static exa_thread_local exa_theap_t *exa_tls_heap;

/* Registry lock held. */
static int exa_slot_take(uint32_t *slot) {
    if (exa_free_slot_count > 0) {
        *slot = exa_free_slots[--exa_free_slot_count];
        return 1;
    }
    if (exa_free_slot_count == exa_free_slot_capacity) {
        uint32_t cap = exa_free_slot_capacity ? exa_free_slot_capacity * 2 : 64;
        uint32_t *grown = _exa_os_alloc_aligned(sizeof(uint32_t) * cap, sizeof(void *));
        if (grown == NULL) return 0;
        if (exa_free_slots != NULL) {
            memcpy(grown, exa_free_slots, sizeof(uint32_t) * exa_free_slot_count);
            _exa_os_free_aligned(exa_free_slots);
        }
        exa_free_slots = grown;
        exa_free_slot_capacity = cap;
    }
    *slot = exa_next_slot++;
    return 1;
}

/* Registry lock held; capacity was ensured by exa_slot_take (count < capacity). */
static void exa_slot_release(uint32_t slot) { exa_free_slots[exa_free_slot_count++] = slot; }

/* ==========================================================================================
 * Thread caches
 * ======================================================================================== */

exa_inline uint32_t exa_batch_for(uint32_t depth) {
    uint32_t b = depth / 8;
    if (b < 1) b = 1;
    if (b > EXA_MAG_CAP / 2) b = EXA_MAG_CAP / 2;
    return b;
}

/* AddressSanitizer (track.h; all of this compiles to nothing without it): a cached block,
 * in a thread cache or on the shared stack, is poisoned over the list's Size, its link word
 * included; the link is unpoisoned only around its own reads and writes, and the whole block
 * when it leaves the list (handed out, or passed to the free callback). */
exa_inline void exa_block_cache(const exa_lookaside_t *l, void *b) { exa_track_poison(b, (size_t)l->size); }
exa_inline void *exa_block_out(const exa_lookaside_t *l, void *b) {
    exa_track_unpoison(b, (size_t)l->size);
    return b;
}
exa_inline void *exa_link_read(void *b) {
    exa_track_unpoison(b, sizeof(void *));
    void *next = *(void **)b;
    exa_track_poison(b, sizeof(void *));
    return next;
}
exa_inline void exa_link_write(void *b, void *next) {
    exa_track_unpoison(b, sizeof(void *));
    *(void **)b = next;
    exa_track_poison(b, sizeof(void *));
}

/* After quota or slack changed (list lock held, owner not in a fast path). */
exa_inline void exa_tcache_limits(exa_tcache_t *tc) { tc->low = tc->quota > tc->slack ? tc->quota - tc->slack : 0; }

/* The thread's one-entry memo: the list it used last and its cache there, plus the thread's
 * busy flag for the memo path. Written by the owner thread only under that list's lock (in a
 * slow path, right after clearing the cache's stale flag), and only when the fast paths'
 * fences suit the host (asymmetric fences, or a TSan build, where the memo path uses seq_cst);
 * cleared by the owner when its caches go. A flusher makes `list` NULL (if it names the list
 * being flushed) with the same handshake as `stale`:
 *   owner:   memo.busy = 1; compiler barrier; if memo.list != l -> medium path; op; busy = 0
 *   flusher: (list lock) CAS memo.list l -> NULL for every cache; process barrier; wait until
 *            memo.busy == 0.
 * So the fast path needs no load of the cache's stale flag; the medium path (a memo miss:
 * another list, or after a flush) still checks it. */
/* The memo lives in the library's shared TLS block (internal.h): la_busy, la_list, la_tc. */
#define exa_tls_memo _exa_tls

/* List lock held, by the owner: the cache is in the current generation again. */
exa_inline void exa_tcache_resync(exa_lookaside_t *l, exa_tcache_t *tc) {
    exa_atomic_store_relaxed(&tc->xstale, 0u);
    if (_exa_asymmetric_fences || EXA_TSAN) {  /* the memo needs the process barrier, or TSan */
        exa_tls_memo.la_tc = tc;
        exa_atomic_store_relaxed(&exa_tls_memo.la_list, (void *)l);
    }
}

/* The owner, when its caches go. */
exa_inline void exa_memo_clear(void) {
    exa_atomic_store_relaxed(&exa_tls_memo.la_list, (void *)NULL);
    exa_tls_memo.la_tc = NULL;
}

/* Busy on the memo path: its fence kind is fixed at compile time. */
exa_inline void exa_memo_busy_enter(void) {
    if (EXA_TSAN) {
        exa_atomic_store_seq_cst(&exa_tls_memo.la_busy, 1u);
    } else {
        exa_atomic_store_relaxed(&exa_tls_memo.la_busy, 1u);
        exa_atomic_compiler_fence();
    }
}

exa_inline void exa_memo_busy_exit(void) { exa_atomic_store_release(&exa_tls_memo.la_busy, 0u); }

/* Owner side of the handshake (see the theory block). */
exa_inline void exa_busy_enter(exa_tcache_t *tc) {
    if (exa_likely(_exa_asymmetric_fences)) {
        exa_atomic_store_relaxed(&tc->xbusy, 1u);
        exa_atomic_compiler_fence();
    } else {
        exa_atomic_store_seq_cst(&tc->xbusy, 1u);
    }
}

exa_inline void exa_busy_exit(exa_tcache_t *tc) { exa_atomic_store_release(&tc->xbusy, 0u); }

/* Set n outside the fast paths (the owner, or anyone while the owner is not busy): keeps the
 * derived count of fast allocates unchanged. */
exa_inline void exa_tcache_set_n(exa_tcache_t *tc, uint32_t n) {
    exa_u64 adj = exa_atomic_load_relaxed(&tc->xadj) + (exa_u64)n - exa_atomic_load_relaxed(&tc->xn);
    exa_atomic_store_relaxed(&tc->xadj, adj);
    exa_atomic_store_relaxed(&tc->xn, n);
}

/* List lock held. Fold the cache's counters into the list's totals. Exact when the owner is
 * quiescent; while it runs a fast path the sums may be off by one operation for a moment
 * (u64 arithmetic makes the next fold correct them). */
static void exa_tcache_fold(exa_lookaside_t *l, exa_tcache_t *tc) {
    exa_u64 n = exa_atomic_load_relaxed(&tc->xn);
    exa_u64 ff = exa_atomic_load_relaxed(&tc->xfast_frees);
    exa_u64 fa = exa_atomic_load_relaxed(&tc->xadj) + ff - n;
    exa_u64 a = exa_atomic_load_relaxed(&tc->xallocates) + fa, am = exa_atomic_load_relaxed(&tc->xallocate_misses);
    exa_u64 f = exa_atomic_load_relaxed(&tc->xfrees) + ff, fm = exa_atomic_load_relaxed(&tc->xfree_misses);
    l->allocates += a - tc->folded_allocates;
    l->allocate_misses += am - tc->folded_allocate_misses;
    l->frees += f - tc->folded_frees;
    l->free_misses += fm - tc->folded_free_misses;
    tc->folded_allocates = a;
    tc->folded_allocate_misses = am;
    tc->folded_frees = f;
    tc->folded_free_misses = fm;
}

/* List lock held, owner not busy. Move the cache's blocks to the shared stack (oldest first,
 * so the newest ends on top) and give back all its slots. */
static void exa_tcache_spill(exa_lookaside_t *l, exa_tcache_t *tc) {
    uint32_t n = exa_atomic_load_relaxed(&tc->xn);
    for (uint32_t i = 0; i < n; i++) {
        void *b = tc->mag[i];
        exa_link_write(b, l->head);
        l->head = b;
    }
    l->count += n;
    l->claimed -= tc->quota;
    tc->quota = 0;
    exa_tcache_limits(tc);
    exa_tcache_set_n(tc, 0u);
}

/* List lock held, owner not busy. Move the cache's blocks onto `chain` (for release through
 * the free callback) and give back its slots. Returns the number moved. */
static uint32_t exa_tcache_take_all(exa_lookaside_t *l, exa_tcache_t *tc, void **chain) {
    uint32_t n = exa_atomic_load_relaxed(&tc->xn);
    for (uint32_t i = 0; i < n; i++) {
        void *b = tc->mag[i];
        exa_link_write(b, *chain);
        *chain = b;
    }
    l->claimed -= tc->quota;
    tc->quota = 0;
    exa_tcache_limits(tc);
    exa_tcache_set_n(tc, 0u);
    return n;
}

/* List lock held. Unlink tc from l's chain and fold its counters. */
static void exa_tcache_unlink(exa_lookaside_t *l, exa_tcache_t *tc) {
    exa_tcache_fold(l, tc);
    for (exa_tcache_t **pp = &l->caches; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == tc) {
            *pp = tc->next;
            break;
        }
    }
    l->nattached--;
    tc->next = NULL;
    tc->list = NULL;
    exa_atomic_store_relaxed(&tc->xstale, 1u);
    exa_atomic_store_relaxed(&tc->xlist_id, (exa_u64)0);
}

static void exa_theap_destroy(void *value);

/* The calling thread's heap, created on first use (NULL if out of memory). */
static exa_theap_t *exa_theap_get(void) {
    exa_theap_t *h = exa_tls_heap;
    if (exa_likely(h != NULL)) return h;
    h = _exa_os_alloc_aligned(sizeof *h, sizeof(void *));
    if (h == NULL) return NULL;
    h->caches = NULL;
    h->capacity = 0;
    if (_exa_os_at_thread_exit(exa_theap_destroy, h) != 0) {
        _exa_os_free_aligned(h);
        return NULL;
    }
    exa_tls_heap = h;
    return h;
}

/* The calling thread's cache for l, attaching one if needed; NULL if out of memory (the
 * caller then works on the shared stack directly). */
static exa_cold exa_tcache_t *exa_tcache_attach(exa_lookaside_t *l) {
    exa_theap_t *h = exa_theap_get();
    if (h == NULL) return NULL;
    if (l->slot >= h->capacity) {
        uint32_t cap = h->capacity ? h->capacity : 8;
        while (cap <= l->slot) cap *= 2;
        exa_tcache_t **grown = _exa_os_alloc_aligned(sizeof(void *) * cap, sizeof(void *));
        if (grown == NULL) return NULL;
        memset(grown, 0, sizeof(void *) * cap);
        if (h->caches != NULL) {
            memcpy(grown, h->caches, sizeof(void *) * h->capacity);
            _exa_os_free_aligned(h->caches);
        }
        h->caches = grown;
        h->capacity = cap;
    }
    exa_tcache_t *tc = h->caches[l->slot];
    if (tc != NULL && exa_atomic_load_relaxed(&tc->xlist_id) == l->id) return tc;
    if (tc == NULL) {
        /* A detached cache in this slot (its list was deleted) is reused as it is. */
        tc = _exa_os_alloc_aligned(sizeof *tc, EXA_CACHE_LINE);
        if (tc == NULL) return NULL;
        memset(tc, 0, sizeof *tc);
        tc->heap = h;
        h->caches[l->slot] = tc;
    }
    _exa_lock(&l->lock);
    exa_atomic_store_relaxed(&tc->xbusy, 0u);
    exa_atomic_store_relaxed(&tc->xn, 0u);
    tc->quota = 0;
    uint32_t batch = exa_batch_for(exa_atomic_load_relaxed(&l->xdepth));
    tc->batch = batch;
    tc->slack = 2 * batch;
    exa_tcache_limits(tc);
    exa_atomic_store_relaxed(&tc->xallocates, (exa_u64)0);
    exa_atomic_store_relaxed(&tc->xallocate_misses, (exa_u64)0);
    exa_atomic_store_relaxed(&tc->xfrees, (exa_u64)0);
    exa_atomic_store_relaxed(&tc->xfree_misses, (exa_u64)0);
    exa_atomic_store_relaxed(&tc->xfast_frees, (exa_u64)0);
    exa_atomic_store_relaxed(&tc->xadj, (exa_u64)0);
    tc->folded_allocates = tc->folded_allocate_misses = tc->folded_frees = tc->folded_free_misses = 0;
    tc->memo = &exa_tls_memo;
    exa_tcache_resync(l, tc);
    tc->list = l;
    tc->next = l->caches;
    l->caches = tc;
    l->nattached++;
    exa_atomic_store_relaxed(&tc->xlist_id, l->id);
    _exa_unlock(&l->lock);
    return tc;
}

/* Thread exit: every attached cache goes back to its list's shared stack. */
static void exa_theap_destroy(void *value) {
    exa_theap_t *h = value;
    exa_memo_clear(); /* runs on the owner thread (thread exit or exa_thread_cache_release) */
    _exa_lock(&exa_registry_lock);
    for (uint32_t i = 0; i < h->capacity; i++) {
        exa_tcache_t *tc = h->caches[i];
        if (tc == NULL) continue;
        exa_lookaside_t *l = tc->list;
        if (l != NULL) {
            _exa_lock(&l->lock);
            exa_tcache_spill(l, tc);
            exa_tcache_unlink(l, tc);
            _exa_unlock(&l->lock);
        }
        _exa_os_free_aligned(tc);
    }
    _exa_unlock(&exa_registry_lock);
    if (exa_tls_heap == h) exa_tls_heap = NULL;
    _exa_os_free_aligned(h->caches);
    _exa_os_free_aligned(h);
}

int32_t exa_lookaside_fence_mode(void) {
    _exa_init();
    return _exa_asymmetric_fences ? EXA_FENCES_ASYMMETRIC : EXA_FENCES_SYMMETRIC;
}

void exa_thread_cache_release(void) {
    exa_theap_t *h = exa_tls_heap;
    if (h == NULL) return;
    exa_tls_heap = NULL;
    (void)_exa_os_at_thread_exit(exa_theap_destroy, NULL);
    exa_theap_destroy(h);
}

/* ==========================================================================================
 * Callbacks
 * ======================================================================================== */

static void *exa_call_allocate(exa_lookaside_t *l) {
    if (l->hooks != NULL) return l->hooks->allocate(l->owner, l->pool_type, l->size, l->tag);
    if (l->allocate != NULL) return l->allocate(l->pool_type, l->size, l->tag, l->context);
    return _exa_pool_allocate(l->pool_type, l->size, l->tag);
}

static void exa_call_free(exa_lookaside_t *l, void *block) {
    if (l->hooks != NULL) l->hooks->free(l->owner, block);
    else if (l->free != NULL) l->free(block, l->context);
    else _exa_pool_free(block);
}

static void exa_release_chain(exa_lookaside_t *l, void *chain) {
    while (chain != NULL) {
        void *next = exa_link_read(chain);
        exa_call_free(l, exa_block_out(l, chain));
        chain = next;
    }
}

/* List lock held: write the NT struct's public fields (counters as NT's 32-bit fields). */
static void exa_publish(exa_lookaside_t *l) {
    if (l->hooks == NULL || l->hooks->publish == NULL) return;
    exa_lookaside_stats_t s;
    s.total_allocates = l->allocates;
    s.allocate_misses = l->allocate_misses;
    s.total_frees = l->frees;
    s.free_misses = l->free_misses;
    s.depth = exa_atomic_load_relaxed(&l->xdepth);
    s.maximum_depth = l->maximum_depth;
    uint32_t cached = l->count;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) cached += exa_atomic_load_relaxed(&tc->xn);
    s.current_depth = cached;
    l->hooks->publish(l->owner, &s);
}

/* ==========================================================================================
 * Allocate and free
 * ======================================================================================== */

/* List lock held, by the owner. After a pop left `n` blocks, give back idle slots beyond
 * one batch; while the list holds more than Depth (Depth was lowered), keep none, so that the
 * next free misses exactly as on NT. */
static void exa_give_back_slots(exa_lookaside_t *l, exa_tcache_t *tc, uint32_t n) {
    int over = l->count + l->claimed > exa_atomic_load_relaxed(&l->xdepth);
    uint32_t keep = over ? n : n + tc->batch;
    if (over) tc->slack = 0;
    if (tc->quota > keep) {
        l->claimed -= tc->quota - keep;
        tc->quota = keep;
    }
    exa_tcache_limits(tc);
}

static exa_noinline void *exa_allocate_slow(exa_lookaside_t *l) {
    exa_tcache_t *tc = exa_tcache_attach(l);
    _exa_lock(&l->lock);
    void *b = NULL;
    if (tc != NULL) {
        exa_tcache_resync(l, tc);
        exa_atomic_owner_inc(&tc->xallocates);
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        if (n > 0) {
            /* The fast path stepped aside for a flush in progress; the cache may still hold
             * blocks if the flush has not reached it. */
            b = tc->mag[--n];
            exa_tcache_set_n(tc, n);
            exa_give_back_slots(l, tc, n);
        } else if (l->count > 0) {
            /* Refill: the newest block is returned, the next ones go to mag so that they
             * come out newest first. */
            uint32_t k = l->count < tc->batch ? l->count : tc->batch;
            b = l->head;
            void *p = exa_link_read(b);
            for (uint32_t i = k - 1; i > 0; i--) {
                tc->mag[i - 1] = p;
                p = exa_link_read(p);
            }
            l->head = p;
            l->count -= k;
            if (tc->quota < k - 1) {
                l->claimed += (k - 1) - tc->quota;
                tc->quota = k - 1;
            }
            exa_tcache_set_n(tc, k - 1);
        } else {
            exa_atomic_owner_inc(&tc->xallocate_misses);
        }
        exa_tcache_limits(tc);
        exa_tcache_fold(l, tc);
    } else {
        l->allocates++;
        if (l->count > 0) {
            b = l->head;
            l->head = exa_link_read(b);
            l->count--;
        } else {
            l->allocate_misses++;
        }
    }
    exa_publish(l);
    _exa_unlock(&l->lock);
    return b != NULL ? exa_block_out(l, b) : exa_call_allocate(l);
}

/* Fast path: the calling thread's cache, attached and in the current flush generation. */
exa_inline exa_tcache_t *exa_tcache_fast(exa_lookaside_t *l) {
    exa_theap_t *h = exa_tls_heap;
    if (exa_unlikely(h == NULL || l->slot >= h->capacity)) return NULL;
    exa_tcache_t *tc = h->caches[l->slot];
    if (exa_unlikely(tc == NULL || exa_atomic_load_relaxed(&tc->xlist_id) != l->id)) return NULL;
    return tc;
}

static exa_cold void *exa_allocate_irql_violation(exa_lookaside_t *l) {
    return _exa_irql_pool_violation(EXA_BAD_POOL_CALLER_ALLOCATE_IRQL, l->pool_type, l->size);
}

static exa_cold exa_status_t exa_free_irql_violation(exa_lookaside_t *l, void *block) {
    (void)_exa_irql_pool_violation(EXA_BAD_POOL_CALLER_FREE_IRQL, l->pool_type, (uintptr_t)block);
    return EXA_STATUS_BUGCHECK; /* the block stays with the caller */
}

/* Pop under the lock and give back idle slots beyond the batch (see the theory block). */
static exa_noinline void *exa_allocate_surplus(exa_lookaside_t *l, exa_tcache_t *tc) {
    void *b = NULL;
    _exa_lock(&l->lock);
    uint32_t n = exa_atomic_load_relaxed(&tc->xn);
    if (n > 0) {
        b = tc->mag[--n];
        exa_tcache_set_n(tc, n);
        exa_atomic_owner_inc(&tc->xallocates);
        exa_give_back_slots(l, tc, n);
    }
    _exa_unlock(&l->lock);
    return b != NULL ? exa_block_out(l, b) : exa_allocate_slow(l);
}

/* The memo missed or its cache could not serve: find the cache through the thread's table
 * (and memoise it), then the same fast path with the runtime-selected fences. */
static exa_noinline void *exa_allocate_medium(exa_lookaside_t *l) {
    exa_tcache_t *tc = exa_tcache_fast(l);
    if (exa_likely(tc != NULL)) {
        exa_busy_enter(tc);
        if (exa_likely(exa_atomic_load_seq_cst(&tc->xstale) == 0)) {
            uint32_t n = exa_atomic_load_relaxed(&tc->xn);
            if (exa_unlikely(n == 0)) {
                exa_busy_exit(tc);
                return exa_allocate_slow(l);
            }
            if (exa_likely(tc->quota - (n - 1) <= tc->slack)) {
                void *b = tc->mag[n - 1];
                exa_tcache_set_n(tc, n - 1);
                exa_atomic_owner_inc(&tc->xallocates);
                exa_busy_exit(tc);
                return exa_block_out(l, b);
            }
            exa_busy_exit(tc);
            return exa_allocate_surplus(l, tc);
        }
        exa_busy_exit(tc);
    }
    return exa_allocate_slow(l);
}

static exa_noinline void exa_free_slow(exa_lookaside_t *l, void *block) {
    exa_tcache_t *tc = exa_tcache_attach(l);
    int cached = 0;
    _exa_lock(&l->lock);
    uint32_t depth = exa_atomic_load_relaxed(&l->xdepth);
    if (tc != NULL) {
        exa_tcache_resync(l, tc);
        exa_atomic_owner_inc(&tc->xfrees);
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        if (n >= tc->quota) {
            uint32_t used = l->count + l->claimed;
            uint32_t avail = depth > used ? depth - used : 0;
            if (avail == 0 && n > 0 && l->nattached > 1) {
                /* Others may be allocating: let them have this thread's blocks. */
                exa_tcache_spill(l, tc);
                n = 0;
            }
            if (avail > 0 && tc->quota >= EXA_MAG_CAP) {
                /* The private stack is full but the list has room: move its older half to
                 * the shared stack (oldest first, so LIFO order holds across both). */
                uint32_t k = EXA_MAG_CAP / 2;
                for (uint32_t i = 0; i < k; i++) {
                    exa_link_write(tc->mag[i], l->head);
                    l->head = tc->mag[i];
                }
                memmove(&tc->mag[0], &tc->mag[k], sizeof(void *) * (n - k));
                n -= k;
                exa_tcache_set_n(tc, n);
                tc->quota -= k;
                l->claimed -= k;
                l->count += k;
            }
            if (avail > 0) {
                uint32_t g = tc->batch;
                if (g > avail) g = avail;
                if (g > EXA_MAG_CAP - tc->quota) g = EXA_MAG_CAP - tc->quota;
                tc->quota += g;
                l->claimed += g;
            }
        }
        if (n < tc->quota) {
            exa_block_cache(l, block);
            tc->mag[n] = block;
            exa_tcache_set_n(tc, n + 1);
            cached = 1;
        } else {
            exa_atomic_owner_inc(&tc->xfree_misses);
        }
        /* Refresh the transfer size: Depth may have changed since the cache attached. While
         * the list holds more than Depth, every pop gives its slot back (slack 0). */
        tc->batch = exa_batch_for(depth);
        tc->slack = l->count + l->claimed > depth ? 0 : 2 * tc->batch;
        exa_tcache_limits(tc);
        exa_tcache_fold(l, tc);
    } else {
        l->frees++;
        if (l->count + l->claimed < depth) {
            *(void **)block = l->head;
            exa_block_cache(l, block);
            l->head = block;
            l->count++;
            cached = 1;
        } else {
            l->free_misses++;
        }
    }
    exa_publish(l);
    _exa_unlock(&l->lock);
    if (!cached) exa_call_free(l, block);
}

static exa_noinline exa_status_t exa_free_medium(exa_lookaside_t *l, void *block) {
    exa_tcache_t *tc = exa_tcache_fast(l);
    if (exa_likely(tc != NULL)) {
        exa_busy_enter(tc);
        if (exa_likely(exa_atomic_load_seq_cst(&tc->xstale) == 0)) {
            uint32_t n = exa_atomic_load_relaxed(&tc->xn);
            if (exa_likely(n < tc->quota)) {
                *(void **)block = NULL; /* NT overwrites the first word with the SList link */
                exa_block_cache(l, block);
                tc->mag[n] = block;
                exa_tcache_set_n(tc, n + 1);
                exa_atomic_owner_inc(&tc->xfrees);
                exa_busy_exit(tc);
                return EXA_STATUS_SUCCESS;
            }
        }
        exa_busy_exit(tc);
    }
    *(void **)block = NULL;
    exa_free_slow(l, block);
    return EXA_STATUS_SUCCESS;
}

/* The fast paths proper: IRQL byte check, the thread's memo (last list -> its cache), the
 * busy/stale handshake, one array access. Everything else is out of line. */
void *exa_lookaside_allocate(exa_lookaside_t *l) {
    if (exa_unlikely(_exa_irql() > l->irql_limit)) return exa_allocate_irql_violation(l);
    exa_memo_busy_enter();
    if (exa_likely(exa_atomic_load_seq_cst(&exa_tls_memo.la_list) == (void *)l)) {
        exa_tcache_t *tc = (exa_tcache_t *)exa_tls_memo.la_tc;
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        if (exa_likely(n > tc->low)) {
            void *b = tc->mag[n - 1];
            exa_atomic_store_relaxed(&tc->xn, n - 1); /* counted: see xfast_frees */
            exa_memo_busy_exit();
            return exa_block_out(l, b);
        }
    }
    exa_memo_busy_exit();
    return exa_allocate_medium(l);
}

exa_status_t exa_lookaside_free(exa_lookaside_t *l, void *block) {
    if (exa_unlikely(_exa_irql() > l->irql_limit)) return exa_free_irql_violation(l, block);
    if (exa_unlikely(block == NULL)) return EXA_STATUS_SUCCESS;
    exa_memo_busy_enter();
    if (exa_likely(exa_atomic_load_seq_cst(&exa_tls_memo.la_list) == (void *)l)) {
        exa_tcache_t *tc = (exa_tcache_t *)exa_tls_memo.la_tc;
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        if (exa_likely(n < tc->quota)) {
            *(void **)block = NULL; /* NT overwrites the first word with the SList link */
            exa_block_cache(l, block);
            tc->mag[n] = block;
            exa_atomic_store_relaxed(&tc->xn, n + 1);
            exa_atomic_owner_inc(&tc->xfast_frees);
            exa_memo_busy_exit();
            return EXA_STATUS_SUCCESS;
        }
    }
    exa_memo_busy_exit();
    return exa_free_medium(l, block);
}

/* ==========================================================================================
 * Bulk transfers for a caller-side cache (exa_lookaside_allocate_cached / _free_cached)
 *
 * Both work under the list lock, on the calling thread's cache when it has one (never
 * attaching one: that could call the OS) and on the shared stack, and never call a callback,
 * so they are bounded and OS-free. They keep the same invariants as the slow paths above:
 * the depth budget (shared_count + claimed <= Depth), LIFO order across the thread cache and
 * the shared stack, and exact per-thread counters.
 * ======================================================================================== */

uint32_t exa_lookaside_allocate_cached(exa_lookaside_t *l, void **out, uint32_t n) {
    if (exa_unlikely(_exa_irql_too_high_for_pool(l->pool_type))) {
        (void)_exa_irql_pool_violation(EXA_BAD_POOL_CALLER_ALLOCATE_IRQL, l->pool_type, l->size);
        return 0;
    }
    if (n == 0 || out == NULL) return 0;
    exa_tcache_t *tc = exa_tcache_fast(l);
    uint32_t k = 0;
    _exa_lock(&l->lock);
    if (tc != NULL) {
        /* The owner, under the lock: the same footing as the slow paths. */
        exa_tcache_resync(l, tc);
        uint32_t m = exa_atomic_load_relaxed(&tc->xn);
        while (k < n && m > 0) out[k++] = tc->mag[--m];
        exa_tcache_set_n(tc, m);
    }
    while (k < n && l->head != NULL) {
        void *b = l->head;
        l->head = exa_link_read(b);
        l->count--;
        out[k++] = b;
    }
    if (tc != NULL) {
        exa_atomic_store_relaxed(&tc->xallocates, exa_atomic_load_relaxed(&tc->xallocates) + k);
        exa_give_back_slots(l, tc, exa_atomic_load_relaxed(&tc->xn));
        exa_tcache_limits(tc);
        exa_tcache_fold(l, tc);
    } else {
        l->allocates += k;
    }
    if (k > 0) exa_publish(l);
    _exa_unlock(&l->lock);
    for (uint32_t i = 0; i < k; i++) exa_block_out(l, out[i]);
    return k;
}

uint32_t exa_lookaside_free_cached(exa_lookaside_t *l, void *const *blocks, uint32_t n) {
    if (exa_unlikely(_exa_irql_too_high_for_pool(l->pool_type))) {
        (void)_exa_irql_pool_violation(EXA_BAD_POOL_CALLER_FREE_IRQL, l->pool_type,
                                       n > 0 && blocks != NULL ? (uintptr_t)blocks[0] : 0);
        return 0; /* every block stays with the caller */
    }
    if (n == 0 || blocks == NULL) return 0;
    exa_tcache_t *tc = exa_tcache_fast(l);
    uint32_t k;
    _exa_lock(&l->lock);
    uint32_t depth = exa_atomic_load_relaxed(&l->xdepth);
    uint32_t used = l->count + l->claimed;
    uint32_t avail = depth > used ? depth - used : 0;  /* unclaimed slots */
    if (tc != NULL) {
        exa_tcache_resync(l, tc);
        uint32_t m = exa_atomic_load_relaxed(&tc->xn);
        uint32_t room = tc->quota - m + avail;            /* slots this thread may fill */
        k = n < room ? n : room;
        if (m + k <= EXA_MAG_CAP) {
            /* All into the private stack, claiming the slots it lacks. */
            if (m + k > tc->quota) {
                l->claimed += m + k - tc->quota;
                tc->quota = m + k;
            }
            for (uint32_t i = 0; i < k; i++) {
                *(void **)blocks[i] = NULL; /* NT overwrites the first word with the link */
                exa_block_cache(l, blocks[i]);
                tc->mag[m + i] = blocks[i];
            }
            exa_tcache_set_n(tc, m + k);
        } else {
            /* More than the private stack holds: move it under the new blocks on the shared
             * stack (its slots become shared entries, the budget is unchanged). */
            exa_tcache_spill(l, tc);
            for (uint32_t i = 0; i < k; i++) {
                *(void **)blocks[i] = l->head;
                exa_block_cache(l, blocks[i]);
                l->head = blocks[i];
            }
            l->count += k;
        }
        exa_atomic_store_relaxed(&tc->xfrees, exa_atomic_load_relaxed(&tc->xfrees) + k);
        tc->batch = exa_batch_for(depth);
        tc->slack = l->count + l->claimed > depth ? 0 : 2 * tc->batch;
        exa_tcache_limits(tc);
        exa_tcache_fold(l, tc);
    } else {
        k = n < avail ? n : avail;
        for (uint32_t i = 0; i < k; i++) {
            *(void **)blocks[i] = l->head;
            exa_block_cache(l, blocks[i]);
            l->head = blocks[i];
        }
        l->count += k;
        l->frees += k;
    }
    if (k > 0) exa_publish(l);
    _exa_unlock(&l->lock);
    return k;
}

/* ==========================================================================================
 * Flush, delete, query
 * ======================================================================================== */

/* List lock held. Start a new generation, wait out in-flight fast paths, and collect every
 * cached block (shared and per-thread) onto a chain. */
/* List lock held. Start a new flush generation and return once no thread cache is inside a
 * fast path of the old one (see the theory block). The caches' owners resync to the new
 * generation in their next slow path, under the lock; the flusher never writes a cache's
 * generation (if it did, an owner that had read `n` just before the flush could then see
 * matching generations and pop a block the flusher had already taken). */
static void exa_new_generation(exa_lookaside_t *l) {
    if (l->caches == NULL) return; /* no owner to hand-shake with */
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        exa_atomic_store_seq_cst(&tc->xstale, 1u);
        void *expected = l;
        (void)exa_atomic_cas_strong_acq_rel(&tc->memo->la_list, &expected, (void *)NULL);
    }
    if (!_exa_asymmetric_fences) exa_atomic_fence_seq_cst();
    if (_exa_asymmetric_fences) _exa_os_process_barrier();
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next)
        while (exa_atomic_load_seq_cst(&tc->xbusy) != 0 || exa_atomic_load_seq_cst(&tc->memo->la_busy) != 0)
            exa_cpu_pause();
}

static uint32_t exa_collect_all(exa_lookaside_t *l, void **chain) {
    exa_new_generation(l);
    uint32_t total = l->count;
    *chain = l->head;
    l->head = NULL;
    l->count = 0;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        total += exa_tcache_take_all(l, tc, chain);
    }
    return total;
}

exa_u64 exa_lookaside_flush(exa_lookaside_t *l) {
    if (l == NULL) return 0;
    void *chain;
    _exa_lock(&l->lock);
    uint32_t n = exa_collect_all(l, &chain);
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) exa_tcache_fold(l, tc);
    exa_publish(l);
    _exa_unlock(&l->lock);
    exa_release_chain(l, chain);
    return n;
}

static void exa_stats_fill(exa_lookaside_t *l, exa_lookaside_stats_t *out) {
    uint32_t cached = l->count;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        exa_tcache_fold(l, tc);
        cached += exa_atomic_load_relaxed(&tc->xn);
    }
    out->id = l->id;
    out->total_allocates = l->allocates;
    out->allocate_misses = l->allocate_misses;
    out->total_frees = l->frees;
    out->free_misses = l->free_misses;
    out->size = l->size;
    out->current_depth = cached;
    out->depth = exa_atomic_load_relaxed(&l->xdepth);
    out->maximum_depth = l->maximum_depth;
    out->tag = l->tag;
    out->pool_type = l->pool_type;
    out->thread_caches = l->nattached;
}

exa_status_t exa_lookaside_query(exa_lookaside_t *l, exa_lookaside_stats_t *out) {
    if (l == NULL || out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    _exa_lock(&l->lock);
    exa_stats_fill(l, out);
    exa_publish(l);
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_lookaside_reset_counters(exa_lookaside_t *l) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER;
    _exa_lock(&l->lock);
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) exa_tcache_fold(l, tc);
    l->allocates = l->allocate_misses = l->frees = l->free_misses = 0;
    l->last_allocates = l->last_allocate_misses = 0;
    exa_publish(l);
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}

/* List lock held. Set Depth; when it drops, take back every idle slot (after the handshake),
 * so that the next free anywhere sees the new bound. Returns 1 when it dropped (the caches
 * are then stale and not busy until the lock is released). */
static int exa_depth_store_locked(exa_lookaside_t *l, uint32_t depth) {
    uint32_t old = exa_atomic_load_relaxed(&l->xdepth);
    exa_atomic_store_relaxed(&l->xdepth, depth);
    if (depth >= old) return 0;
    exa_new_generation(l);
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        l->claimed -= tc->quota - n;
        tc->quota = n;
        tc->slack = 0;
        exa_tcache_limits(tc);
    }
    return 1;
}

exa_status_t exa_lookaside_set_depth(exa_lookaside_t *l, uint32_t depth) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER_1;
    if (depth < 1 || depth > l->maximum_depth) return EXA_STATUS_INVALID_PARAMETER_2;
    _exa_lock(&l->lock);
    exa_depth_store_locked(l, depth);
    exa_publish(l);
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}

uint32_t exa_lookaside_enumerate(exa_lookaside_stats_t *out, uint32_t capacity) {
    _exa_lock(&exa_registry_lock);
    uint32_t i = 0;
    for (exa_lookaside_t *l = exa_registry_head; l != NULL && i < capacity && out != NULL; l = l->reg_next, i++) {
        _exa_lock(&l->lock);
        exa_stats_fill(l, &out[i]);
        _exa_unlock(&l->lock);
    }
    uint32_t total = exa_registry_count;
    _exa_unlock(&exa_registry_lock);
    return total;
}

/* ==========================================================================================
 * Create and delete
 * ======================================================================================== */

exa_status_t _exa_lookaside_create(const exa_lookaside_config_t *cfg, const exa_lookaside_hooks_t *hooks, void *owner,
                                   exa_lookaside_t **out) {
    if (cfg == NULL || out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    *out = NULL;
    if (cfg->size == 0 || cfg->size > UINT32_MAX) return EXA_STATUS_INVALID_PARAMETER;
    if (!_exa_pool_type_is_valid_for_lookaside(_exa_pool_base_type(cfg->pool_type))) return EXA_STATUS_INVALID_PARAMETER_4;
    uint32_t maximum = cfg->maximum_depth == 0 ? EXA_LOOKASIDE_DEFAULT_MAXIMUM_DEPTH : cfg->maximum_depth;
    if (maximum < EXA_LOOKASIDE_DEFAULT_MAXIMUM_DEPTH || maximum > EXA_LOOKASIDE_MAXIMUM_DEPTH_LIMIT)
        return EXA_STATUS_INVALID_PARAMETER_8;
    uint32_t depth = cfg->initial_depth == 0 ? EXA_LOOKASIDE_INITIAL_DEPTH : cfg->initial_depth;
    if (depth > maximum) return EXA_STATUS_INVALID_PARAMETER;
    _exa_init();

    exa_lookaside_t *l = _exa_os_alloc_aligned(sizeof *l, EXA_CACHE_LINE);
    if (l == NULL) return EXA_STATUS_INSUFFICIENT_RESOURCES;
    memset(l, 0, sizeof *l);
    l->size = cfg->size < EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE ? EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE : cfg->size;
    l->tag = cfg->tag;
    l->pool_type = cfg->pool_type;
    l->maximum_depth = maximum;
    l->irql_limit = (uint8_t)(EXA_DISPATCH_LEVEL - (cfg->pool_type & EXA_PAGED_POOL));
    exa_atomic_store_relaxed(&l->xdepth, depth);
    l->minimum_depth = depth;
    l->allocate = cfg->allocate;
    l->free = cfg->free;
    l->context = cfg->context;
    l->hooks = hooks;
    l->owner = owner;
    exa_spinlock_init(&l->lock);

    _exa_lock(&exa_registry_lock);
    if (!exa_slot_take(&l->slot)) {
        _exa_unlock(&exa_registry_lock);
        _exa_os_free_aligned(l);
        return EXA_STATUS_INSUFFICIENT_RESOURCES;
    }
    l->id = exa_next_list_id++;
    l->magic = EXA_LOOKASIDE_MAGIC;
    l->reg_prev = exa_registry_tail;
    if (exa_registry_tail != NULL) exa_registry_tail->reg_next = l;
    else exa_registry_head = l;
    exa_registry_tail = l;
    exa_registry_count++;
    _exa_lock(&l->lock);
    exa_publish(l);
    _exa_unlock(&l->lock);
    _exa_unlock(&exa_registry_lock);
    *out = l;
    _exa_balance_autostart();
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_lookaside_create(const exa_lookaside_config_t *cfg, exa_lookaside_t **out) {
    return _exa_lookaside_create(cfg, NULL, NULL, out);
}

exa_status_t exa_lookaside_delete(exa_lookaside_t *l) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER;
    void *chain;
    _exa_lock(&exa_registry_lock);
    _exa_lock(&l->lock);
    (void)exa_collect_all(l, &chain);
    while (l->caches != NULL) exa_tcache_unlink(l, l->caches);
    exa_publish(l);
    _exa_unlock(&l->lock);
    if (l->reg_prev != NULL) l->reg_prev->reg_next = l->reg_next;
    else exa_registry_head = l->reg_next;
    if (l->reg_next != NULL) l->reg_next->reg_prev = l->reg_prev;
    else exa_registry_tail = l->reg_prev;
    exa_registry_count--;
    exa_slot_release(l->slot);
    l->magic = EXA_LOOKASIDE_DEAD;
    _exa_unlock(&exa_registry_lock);
    exa_release_chain(l, chain);
    for (;;) { /* a tick may still be handing trimmed blocks to the free callback */
        _exa_lock(&l->lock);
        uint32_t trimming = l->trimming;
        _exa_unlock(&l->lock);
        if (trimming == 0) break;
        _exa_os_yield();
    }
    _exa_os_free_aligned(l);
    return EXA_STATUS_SUCCESS;
}


/* ==========================================================================================
 * Diagnostics walkers (diag.c: the leak report names each list's handle and NT owner)
 * ======================================================================================== */

/* The handle and the NT owner (NULL for lists made by exa_lookaside_create) of the live list
 * with this id; 0 when there is none. */
int _exa_lookaside_handle_of(exa_u64 id, void **handle, void **owner) {
    int found = 0;
    _exa_lock(&exa_registry_lock);
    for (exa_lookaside_t *l = exa_registry_head; l != NULL; l = l->reg_next) {
        if (l->id != id) continue;
        *handle = l;
        *owner = l->owner;
        found = 1;
        break;
    }
    _exa_unlock(&exa_registry_lock);
    return found;
}

/* ==========================================================================================
 * Depth adjustment (spec 2.9): exa_lookaside_tick, run by the balance-set thread (balance.c)
 *
 * Control law (spec 2.9's recommended policy; NT's own constants are not public). Per list
 * and period, from the exact folded counters:
 *     A = TotalAllocates - LastTotalAllocates,  M = AllocateMisses - LastAllocateMisses
 *     idle          A < 32                  Depth = max(MinimumDepth, Depth - 8)
 *     hits enough   M <= 0.5 % of A         Depth = max(MinimumDepth, Depth - 1)
 *     missing       otherwise               Depth = min(MaximumDepth,
 *                                                       Depth + clamp(ceil(M / 2), 1, MaximumDepth / 4))
 * MinimumDepth is the list's initial depth (NT's 4 unless configured); a Depth set below it
 * by exa_lookaside_set_depth is never lowered further and is raised only on misses. The
 * misses of the last period estimate how many more cached entries would have helped; a
 * half step damps the oscillation of a list at its working-set size, and the slow -1 decay
 * keeps a hot list just big enough. When Depth drops, the surplus cached entries (shared
 * stack first, newest first, then the oldest of each thread's cache) are trimmed back
 * through the free callback, with no lock held during the callbacks.
 * ======================================================================================== */

enum { EXA_ADJUST_IDLE_ALLOCATES = 32, EXA_ADJUST_IDLE_STEP = 8 };

/* List lock held, after exa_depth_store_locked lowered Depth (caches stale, not busy):
 * move cached blocks beyond Depth onto *chain. Returns how many. */
static uint32_t exa_trim_locked(exa_lookaside_t *l, void **chain) {
    uint32_t depth = exa_atomic_load_relaxed(&l->xdepth);
    uint32_t cached = l->count, k = 0;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) cached += exa_atomic_load_relaxed(&tc->xn);
    while (cached > depth && l->head != NULL) {
        void *b = l->head;
        l->head = exa_link_read(b);
        l->count--;
        exa_link_write(b, *chain);
        *chain = b;
        cached--;
        k++;
    }
    for (exa_tcache_t *tc = l->caches; tc != NULL && cached > depth; tc = tc->next) {
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        uint32_t t = n < cached - depth ? n : cached - depth;
        if (t == 0) continue;
        for (uint32_t i = 0; i < t; i++) {
            exa_link_write(tc->mag[i], *chain);
            *chain = tc->mag[i];
        }
        memmove(&tc->mag[0], &tc->mag[t], sizeof(void *) * (n - t));
        exa_tcache_set_n(tc, n - t);
        tc->quota -= t; /* quota == n after exa_depth_store_locked */
        l->claimed -= t;
        exa_tcache_limits(tc);
        cached -= t;
        k += t;
    }
    return k;
}

/* List lock held. One adjustment of l; surplus blocks go onto *chain (returns how many). */
static uint32_t exa_adjust_locked(exa_lookaside_t *l, void **chain) {
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) exa_tcache_fold(l, tc);
    exa_u64 a = l->allocates - l->last_allocates, m = l->allocate_misses - l->last_allocate_misses;
    l->last_allocates = l->allocates;
    l->last_allocate_misses = l->allocate_misses;
    if (l->fixed_depth) return 0;
    uint32_t depth = exa_atomic_load_relaxed(&l->xdepth), floor = l->minimum_depth, max = l->maximum_depth;
    uint32_t target = depth;
    if (a < EXA_ADJUST_IDLE_ALLOCATES || m * 200 <= a) {
        uint32_t step = a < EXA_ADJUST_IDLE_ALLOCATES ? EXA_ADJUST_IDLE_STEP : 1;
        if (depth > floor) target = depth - floor > step ? depth - step : floor;
    } else {
        exa_u64 step = (m + 1) / 2;
        exa_u64 cap = max / 4 > 0 ? max / 4 : 1;
        if (step > cap) step = cap;
        if (step < 1) step = 1;
        target = depth + step > max ? max : depth + (uint32_t)step;
        if (target < depth) target = depth; /* a Depth above MaximumDepth is impossible */
    }
    if (target == depth) return 0;
    uint32_t trimmed = 0;
    if (exa_depth_store_locked(l, target)) trimmed = exa_trim_locked(l, chain);
    exa_publish(l);
    return trimmed;
}

void exa_lookaside_tick(void) {
    exa_u64 after = 0; /* lists are registered in id order: resume after the last one seen */
    for (;;) {
        void *chain = NULL;
        exa_lookaside_t *trimmed = NULL;
        _exa_lock(&exa_registry_lock);
        for (exa_lookaside_t *l = exa_registry_head; l != NULL; l = l->reg_next) {
            if (l->id <= after) continue;
            after = l->id;
            _exa_lock(&l->lock);
            if (exa_adjust_locked(l, &chain) > 0) {
                l->trimming++;
                trimmed = l;
            }
            _exa_unlock(&l->lock);
            if (trimmed != NULL) break;
        }
        _exa_unlock(&exa_registry_lock);
        if (trimmed == NULL) return;
        /* No lock held: delete waits for `trimming` to drop before it frees the list. */
        exa_release_chain(trimmed, chain);
        _exa_lock(&trimmed->lock);
        trimmed->trimming--;
        _exa_unlock(&trimmed->lock);
    }
}

exa_status_t exa_lookaside_set_fixed_depth(exa_lookaside_t *l, int32_t fixed) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER;
    _exa_lock(&l->lock);
    l->fixed_depth = fixed != 0;
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}
