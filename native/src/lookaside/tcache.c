/* exalloc - native core
 * lookaside/tcache.c: per-thread caches: the thread's table of caches, attach and detach, folding
 * counters, spilling and taking blocks, and what thread exit releases (lookaside/list.h).
 */
#include "lookaside/list.h"

static void exa_theap_destroy(void *value);

exa_thread_local exa_theap_t *_exa_tls_heap;

/* List lock held. Fold the cache's counters into the list's totals. Exact when the owner is
 * quiescent; while it runs a fast path the sums may be off by one operation for a moment
 * (u64 arithmetic makes the next fold correct them). */
void _exa_tcache_fold(exa_lookaside_t *l, exa_tcache_t *tc) {
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
void _exa_tcache_spill(exa_lookaside_t *l, exa_tcache_t *tc) {
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
uint32_t _exa_tcache_take_all(exa_lookaside_t *l, exa_tcache_t *tc, void **chain) {
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
void _exa_tcache_unlink(exa_lookaside_t *l, exa_tcache_t *tc) {
    _exa_tcache_fold(l, tc);
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

/* The calling thread's heap, created on first use (NULL if out of memory). */
static exa_theap_t *exa_theap_get(void) {
    exa_theap_t *h = _exa_tls_heap;
    if (exa_likely(h != NULL)) return h;
    h = _exa_os_alloc_aligned(sizeof *h, sizeof(void *));
    if (h == NULL) return NULL;
    h->caches = NULL;
    h->capacity = 0;
    if (_exa_os_at_thread_exit(exa_theap_destroy, h) != 0) {
        _exa_os_free_aligned(h);
        return NULL;
    }
    _exa_tls_heap = h;
    return h;
}

/* The calling thread's cache for l, attaching one if needed; NULL if out of memory (the
 * caller then works on the shared stack directly). */
exa_cold exa_tcache_t *_exa_tcache_attach(exa_lookaside_t *l) {
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
    _exa_lock(&_exa_registry_lock);
    for (uint32_t i = 0; i < h->capacity; i++) {
        exa_tcache_t *tc = h->caches[i];
        if (tc == NULL) continue;
        exa_lookaside_t *l = tc->list;
        if (l != NULL) {
            _exa_lock(&l->lock);
            _exa_tcache_spill(l, tc);
            _exa_tcache_unlink(l, tc);
            _exa_unlock(&l->lock);
        }
        _exa_os_free_aligned(tc);
    }
    _exa_unlock(&_exa_registry_lock);
    if (_exa_tls_heap == h) _exa_tls_heap = NULL;
    _exa_os_free_aligned(h->caches);
    _exa_os_free_aligned(h);
}

int32_t exa_lookaside_fence_mode(void) {
    _exa_init();
    return _exa_asymmetric_fences ? EXA_FENCES_ASYMMETRIC : EXA_FENCES_SYMMETRIC;
}

void exa_thread_cache_release(void) {
    exa_theap_t *h = _exa_tls_heap;
    if (h == NULL) return;
    _exa_tls_heap = NULL;
    (void)_exa_os_at_thread_exit(exa_theap_destroy, NULL);
    exa_theap_destroy(h);
}
