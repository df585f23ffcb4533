/* exalloc - native core
 * lookaside/list.h: what the lookaside files share: the list and thread-cache structures and
 * the inline steps of the fast paths (docs/lookaside.md).
 *
 *   registry.c   the registry of live lists: its lock, the chain, ids, cache-table slots
 *   lookaside.c  lists: the fast and slow allocate and free, bulk calls, flush, query,
 *                create and delete
 *   tcache.c     per-thread caches: attach, fold, spill, the thread's table, thread exit
 *   depth.c      the depth control law (exa_lookaside_tick) and the depth setters
 *   balance.c    the balance-set thread that runs the law periodically
 *
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
#ifndef EXA_LOOKASIDE_LIST_H
#define EXA_LOOKASIDE_LIST_H

#include "base/base.h"
#include "lookaside/lookaside.h"
#include "pool/pool.h"
#include "base/track.h"

#include <stddef.h>
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
    exa_atomic(uint8_t) xgate;         /* (relaxed) the fast paths run while IRQL < gate:
                                        * irql_limit + 1 for a plain list; 0 sends every call
                                        * to the gated path (a deleted list, or the verifier
                                        * level's checks) */
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
/* The memo lives in the library's shared TLS block (base/base.h): la_busy, la_list, la_tc. */

#define exa_tls_memo _exa_tls

/* ==========================================================================================
 * Shared between the lookaside files (file named after each)
 * ======================================================================================== */

/* registry.c: the registry lock guards the chain of live lists, their count, ids and slots. */
extern exa_spinlock_t _exa_registry_lock;
extern exa_lookaside_t *_exa_registry_head;
extern exa_lookaside_t *_exa_registry_tail;
extern uint32_t _exa_registry_count;
extern exa_u64 _exa_next_list_id;
int _exa_slot_take(uint32_t *slot);   /* registry lock held: a free slot (0: no memory) */
/* Deleted lists' memory (registry lock held): a deleted list is kept, gated and marked dead,
 * so that a stale handle is reported rather than followed into freed memory; its memory is
 * reused for a new list only once more than EXA_LOOKASIDE_QUARANTINE others were deleted
 * after it. It is never returned to the OS, so a stale handle always points at a list. */
enum { EXA_LOOKASIDE_QUARANTINE = 64 };
void _exa_dead_push(exa_lookaside_t *l);
exa_lookaside_t *_exa_dead_take(void);  /* the oldest beyond the quarantine, or NULL */
void _exa_slot_release(uint32_t slot);  /* registry lock held; capacity was ensured by take */

extern exa_thread_local exa_theap_t *_exa_tls_heap;  /* tcache.c */
void _exa_tcache_fold(exa_lookaside_t *l, exa_tcache_t *tc);  /* tcache.c */
void _exa_tcache_spill(exa_lookaside_t *l, exa_tcache_t *tc);  /* tcache.c */
uint32_t _exa_tcache_take_all(exa_lookaside_t *l, exa_tcache_t *tc, void **chain);  /* tcache.c */
void _exa_tcache_unlink(exa_lookaside_t *l, exa_tcache_t *tc);  /* tcache.c */
exa_cold exa_tcache_t *_exa_tcache_attach(exa_lookaside_t *l);  /* tcache.c */
void _exa_release_chain(exa_lookaside_t *l, void *chain);  /* lookaside.c */
void _exa_publish(exa_lookaside_t *l);  /* lookaside.c */
void _exa_new_generation(exa_lookaside_t *l);  /* lookaside.c */
exa_cold int _exa_lookaside_stale(const exa_lookaside_t *l);  /* lookaside.c: reports, returns 0 */

/* 1 when `l` is a live list; else the stale-handle report (0xC4/0x1014) and 0. */
exa_inline int exa_list_live(const exa_lookaside_t *l) {
    if (exa_likely(l->magic == EXA_LOOKASIDE_MAGIC)) return 1;
    return _exa_lookaside_stale(l);
}

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

#endif /* EXA_LOOKASIDE_LIST_H */
