/* exalloc - native core
 * lookaside/lookaside.c: lookaside lists: the fast paths (a thread-cache pop or push), the slow and
 * medium paths under the list lock, bulk calls, flush, query, create and delete
 * (lookaside/list.h).
 */
#include "lookaside/list.h"
#include "base/hooks.h"

void (*_exa_lookaside_created_hook)(void);

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

void _exa_release_chain(exa_lookaside_t *l, void *chain) {
    while (chain != NULL) {
        void *next = exa_link_read(chain);
        exa_call_free(l, exa_block_out(l, chain));
        chain = next;
    }
}

/* List lock held: write the NT struct's public fields (counters as NT's 32-bit fields). */
void _exa_publish(exa_lookaside_t *l) {
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
    l->hooks->publish(l->owner, &s, exa_atomic_load_relaxed(&l->xgate));
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
    exa_tcache_t *tc = _exa_tcache_attach(l);
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
        _exa_tcache_fold(l, tc);
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
    _exa_publish(l);
    _exa_unlock(&l->lock);
    return b != NULL ? exa_block_out(l, b) : exa_call_allocate(l);
}

/* Fast path: the calling thread's cache, attached and in the current flush generation. */
exa_inline exa_tcache_t *exa_tcache_fast(exa_lookaside_t *l) {
    exa_theap_t *h = _exa_tls_heap;
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
    exa_tcache_t *tc = _exa_tcache_attach(l);
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
                _exa_tcache_spill(l, tc);
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
        _exa_tcache_fold(l, tc);
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
    _exa_publish(l);
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

/* ==========================================================================================
 * The gated path (docs/lookaside.md#errors): a list whose gate is 0 sends every allocate and
 * free here, at no cost to the fast paths (they compare the IRQL with the gate byte, as they
 * compared it with the IRQL limit). A deleted list (a stale handle) is reported; at the
 * verifier level every free is checked, then the slow paths serve the call under the lock,
 * so that the checks see every cached block.
 * ======================================================================================== */

int _exa_lookaside_stale(const exa_lookaside_t *l) {
    _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_STALE, (uintptr_t)l, l->magic, 0);
    return 0;
}

static int exa_blocks_from_pool(const exa_lookaside_t *l) {
    if (l->hooks != NULL) return l->hooks->from_pool != NULL && l->hooks->from_pool(l->owner);
    return l->allocate == NULL;
}

/* List lock held: 1 when `b` is cached by `l` (on the shared stack or in a thread cache). */
static int exa_list_holds(exa_lookaside_t *l, const void *b) {
    for (void *p = l->head; p != NULL; p = exa_link_read(p))
        if (p == b) return 1;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        for (uint32_t i = 0; i < n; i++)
            if (tc->mag[i] == b) return 1;
    }
    return 0;
}

void *_exa_lookaside_caching(const void *block) {
    exa_lookaside_t *found = NULL;
    _exa_lock(&_exa_registry_lock);
    for (exa_lookaside_t *l = _exa_registry_head; l != NULL && found == NULL; l = l->reg_next) {
        _exa_lock(&l->lock);
        if (exa_list_holds(l, block)) found = l;
        _exa_unlock(&l->lock);
    }
    _exa_unlock(&_exa_registry_lock);
    return found;
}

/* List lock held: the gate for the current level. A gate change starts a new generation, so
 * that no thread is left inside a fast path that began before it. */
static void exa_set_gate(exa_lookaside_t *l, int verify) {
    uint8_t gate = verify ? (uint8_t)0 : (uint8_t)(l->irql_limit + 1);
    if (exa_atomic_load_relaxed(&l->xgate) == gate) return;
    exa_atomic_store_relaxed(&l->xgate, gate);
    _exa_publish(l); /* the NT struct's copy of the gate */
    _exa_new_generation(l);
}

void _exa_lookaside_verify(int on) {
    _exa_lock(&_exa_registry_lock);
    for (exa_lookaside_t *l = _exa_registry_head; l != NULL; l = l->reg_next) {
        _exa_lock(&l->lock);
        exa_set_gate(l, on);
        _exa_unlock(&l->lock);
    }
    _exa_unlock(&_exa_registry_lock);
}

/* The verifier's free checks: 1 when `block` may be cached by `l`, else the report and 0
 * (the block stays with the caller). */
static int exa_verify_free(exa_lookaside_t *l, void *block) {
    void *holder = _exa_lookaside_caching(block);
    if (holder != NULL) { /* a second free: the block would have two owners */
        _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_DOUBLE_FREE,
                      (uintptr_t)holder, (uintptr_t)block, (uintptr_t)l);
        return 0;
    }
    if (exa_blocks_from_pool(l)) { /* the pool's header tells the block's real size */
        exa_pool_block_info_t info;
        exa_u64 size = _exa_pool_describe(block, &info) == EXA_STATUS_SUCCESS ? info.size : 0;
        if (size < l->size) {
            _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_WRONG_SIZE,
                          (uintptr_t)l, (uintptr_t)block, size);
            return 0;
        }
    }
    return 1;
}

static exa_cold void *exa_allocate_gated(exa_lookaside_t *l) {
    if (!exa_list_live(l)) return NULL;
    if (_exa_irql() > l->irql_limit) return exa_allocate_irql_violation(l);
    return exa_allocate_slow(l);
}

static exa_cold exa_status_t exa_free_gated(exa_lookaside_t *l, void *block) {
    if (!exa_list_live(l)) return EXA_STATUS_BUGCHECK; /* the block stays with the caller */
    if (_exa_irql() > l->irql_limit) return exa_free_irql_violation(l, block);
    if (block == NULL) return EXA_STATUS_SUCCESS;
    if ((_exa_verifier_state() & EXA_VBIT_VERIFIER) && !exa_verify_free(l, block)) return EXA_STATUS_BUGCHECK;
    *(void **)block = NULL; /* NT overwrites the first word with the SList link */
    exa_free_slow(l, block);
    return EXA_STATUS_SUCCESS;
}

/* A NULL handle (docs/lookaside.md#null): NULL, with exa_last_status
 * EXA_STATUS_INVALID_PARAMETER; the NT names fault as NT's inline routines would. */
static exa_cold void *exa_allocate_null(void) {
    _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
    return NULL;
}

/* The fast paths proper: IRQL byte check, the thread's memo (last list -> its cache), the
 * busy/stale handshake, one array access. Everything else is out of line. */
void *exa_lookaside_allocate(exa_lookaside_t *l) {
    if (exa_unlikely(l == NULL)) return exa_allocate_null();
    if (exa_unlikely(_exa_irql() >= exa_atomic_load_relaxed(&l->xgate))) return exa_allocate_gated(l);
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
    if (exa_unlikely(l == NULL)) return EXA_STATUS_INVALID_PARAMETER; /* the block stays with the caller */
    if (exa_unlikely(_exa_irql() >= exa_atomic_load_relaxed(&l->xgate))) return exa_free_gated(l, block);
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
    if (l == NULL) {
        _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
        return 0;
    }
    if (!exa_list_live(l)) return 0;
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
        _exa_tcache_fold(l, tc);
    } else {
        l->allocates += k;
    }
    if (k > 0) _exa_publish(l);
    _exa_unlock(&l->lock);
    for (uint32_t i = 0; i < k; i++) exa_block_out(l, out[i]);
    return k;
}

/* exa_lookaside_free_cached and exa_lookaside_return_cached: `unused` blocks uncount their
 * allocate instead of counting a free. */
static uint32_t exa_cache_given(exa_lookaside_t *l, void *const *blocks, uint32_t n, int unused) {
    if (l == NULL) {
        _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
        return 0;
    }
    if (!exa_list_live(l)) return 0;
    if (exa_atomic_load_relaxed(&l->xgate) == 0 && (_exa_verifier_state() & EXA_VBIT_VERIFIER)) {
        /* The verifier level: the blocks one by one, each checked (a refused one stops it). */
        uint32_t k = 0;
        while (k < n && blocks != NULL && blocks[k] != NULL && exa_verify_free(l, blocks[k])) k++;
        n = k;
    }
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
            _exa_tcache_spill(l, tc);
            for (uint32_t i = 0; i < k; i++) {
                *(void **)blocks[i] = l->head;
                exa_block_cache(l, blocks[i]);
                l->head = blocks[i];
            }
            l->count += k;
        }
        if (unused)  /* 64-bit counters folded as differences: a decrement folds exactly */
            exa_atomic_store_relaxed(&tc->xallocates, exa_atomic_load_relaxed(&tc->xallocates) - n);
        else
            exa_atomic_store_relaxed(&tc->xfrees, exa_atomic_load_relaxed(&tc->xfrees) + k);
        tc->batch = exa_batch_for(depth);
        tc->slack = l->count + l->claimed > depth ? 0 : 2 * tc->batch;
        exa_tcache_limits(tc);
        _exa_tcache_fold(l, tc);
    } else {
        k = n < avail ? n : avail;
        for (uint32_t i = 0; i < k; i++) {
            *(void **)blocks[i] = l->head;
            exa_block_cache(l, blocks[i]);
            l->head = blocks[i];
        }
        l->count += k;
        if (unused)
            l->allocates -= n;
        else
            l->frees += k;
    }
    if (k > 0 || unused) _exa_publish(l);
    _exa_unlock(&l->lock);
    if (unused)
        for (uint32_t i = k; i < n; i++) exa_call_free(l, blocks[i]); /* uncounted, as never taken */
    return k;
}

uint32_t exa_lookaside_free_cached(exa_lookaside_t *l, void *const *blocks, uint32_t n) {
    return exa_cache_given(l, blocks, n, 0);
}

uint32_t exa_lookaside_return_cached(exa_lookaside_t *l, void *const *blocks, uint32_t n) {
    return exa_cache_given(l, blocks, n, 1);
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
void _exa_new_generation(exa_lookaside_t *l) {
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
    _exa_new_generation(l);
    uint32_t total = l->count;
    *chain = l->head;
    l->head = NULL;
    l->count = 0;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        total += _exa_tcache_take_all(l, tc, chain);
    }
    return total;
}

exa_u64 exa_lookaside_flush(exa_lookaside_t *l) {
    if (l == NULL || !exa_list_live(l)) return 0;
    void *chain;
    _exa_lock(&l->lock);
    uint32_t n = exa_collect_all(l, &chain);
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) _exa_tcache_fold(l, tc);
    _exa_publish(l);
    _exa_unlock(&l->lock);
    _exa_release_chain(l, chain);
    return n;
}

static void exa_stats_fill(exa_lookaside_t *l, exa_lookaside_stats_t *out) {
    uint32_t cached = l->count;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        _exa_tcache_fold(l, tc);
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
    if (!exa_list_live(l)) return EXA_STATUS_BUGCHECK;
    _exa_lock(&l->lock);
    exa_stats_fill(l, out);
    _exa_publish(l);
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_lookaside_reset_counters(exa_lookaside_t *l) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER;
    if (!exa_list_live(l)) return EXA_STATUS_BUGCHECK;
    _exa_lock(&l->lock);
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) _exa_tcache_fold(l, tc);
    l->allocates = l->allocate_misses = l->frees = l->free_misses = 0;
    l->last_allocates = l->last_allocate_misses = 0;
    _exa_publish(l);
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}

uint32_t exa_lookaside_enumerate(exa_lookaside_stats_t *out, uint32_t capacity) {
    _exa_lock(&_exa_registry_lock);
    uint32_t i = 0;
    for (exa_lookaside_t *l = _exa_registry_head; l != NULL && i < capacity && out != NULL; l = l->reg_next, i++) {
        _exa_lock(&l->lock);
        exa_stats_fill(l, &out[i]);
        _exa_unlock(&l->lock);
    }
    uint32_t total = _exa_registry_count;
    _exa_unlock(&_exa_registry_lock);
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
    if (depth > maximum) return EXA_STATUS_INVALID_PARAMETER_8; /* both depths stand for NT's Depth argument */
    _exa_init();

    _exa_lock(&_exa_registry_lock);
    exa_lookaside_t *l = _exa_dead_take(); /* a deleted list's memory, past its quarantine */
    _exa_unlock(&_exa_registry_lock);
    if (l == NULL) l = _exa_os_alloc_aligned(sizeof *l, EXA_CACHE_LINE);
    if (l == NULL) return EXA_STATUS_INSUFFICIENT_RESOURCES;
    memset(l, 0, sizeof *l);
    l->size = cfg->size < EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE ? EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE : cfg->size;
    l->tag = cfg->tag;
    l->pool_type = cfg->pool_type;
    l->maximum_depth = maximum;
    l->irql_limit = (uint8_t)(EXA_DISPATCH_LEVEL - (cfg->pool_type & EXA_PAGED_POOL));
    exa_atomic_store_relaxed(&l->xgate, (uint8_t)(l->irql_limit + 1));
    exa_atomic_store_relaxed(&l->xdepth, depth);
    l->minimum_depth = depth;
    l->allocate = cfg->allocate;
    l->free = cfg->free;
    l->context = cfg->context;
    l->hooks = hooks;
    l->owner = owner;
    exa_spinlock_init(&l->lock);

    _exa_lock(&_exa_registry_lock);
    if (!_exa_slot_take(&l->slot)) {
        l->magic = EXA_LOOKASIDE_DEAD;
        exa_atomic_store_relaxed(&l->xgate, (uint8_t)0);
        _exa_dead_push(l); /* it may have been a deleted list's memory: kept, never freed */
        _exa_unlock(&_exa_registry_lock);
        return EXA_STATUS_INSUFFICIENT_RESOURCES;
    }
    l->id = _exa_next_list_id++;
    l->magic = EXA_LOOKASIDE_MAGIC;
    /* The verifier level's checks (set here under the registry lock, which the level change
     * takes too, so no list misses one). */
    if (_exa_verifier_state() & EXA_VBIT_VERIFIER) exa_atomic_store_relaxed(&l->xgate, (uint8_t)0);
    l->reg_prev = _exa_registry_tail;
    if (_exa_registry_tail != NULL) _exa_registry_tail->reg_next = l;
    else _exa_registry_head = l;
    _exa_registry_tail = l;
    _exa_registry_count++;
    _exa_lock(&l->lock);
    _exa_publish(l);
    _exa_unlock(&l->lock);
    _exa_unlock(&_exa_registry_lock);
    *out = l;
    void (*created)(void) = _exa_lookaside_created_hook;
    if (created != NULL) created();
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_lookaside_create(const exa_lookaside_config_t *cfg, exa_lookaside_t **out) {
    return _exa_lookaside_create(cfg, NULL, NULL, out);
}

exa_status_t exa_lookaside_delete(exa_lookaside_t *l) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER;
    void *chain;
    _exa_lock(&_exa_registry_lock);
    if (!exa_list_live(l)) { /* deleted twice */
        _exa_unlock(&_exa_registry_lock);
        return EXA_STATUS_BUGCHECK;
    }
    _exa_lock(&l->lock);
    exa_atomic_store_relaxed(&l->xgate, (uint8_t)0); /* from now on every call takes the gated path, which finds the list dead */
    (void)exa_collect_all(l, &chain);
    while (l->caches != NULL) _exa_tcache_unlink(l, l->caches);
    _exa_publish(l);
    _exa_unlock(&l->lock);
    if (l->reg_prev != NULL) l->reg_prev->reg_next = l->reg_next;
    else _exa_registry_head = l->reg_next;
    if (l->reg_next != NULL) l->reg_next->reg_prev = l->reg_prev;
    else _exa_registry_tail = l->reg_prev;
    _exa_registry_count--;
    _exa_slot_release(l->slot);
    l->magic = EXA_LOOKASIDE_DEAD;
    _exa_unlock(&_exa_registry_lock);
    _exa_release_chain(l, chain);
    for (;;) { /* a tick may still be handing trimmed blocks to the free callback */
        _exa_lock(&l->lock);
        uint32_t trimming = l->trimming;
        _exa_unlock(&l->lock);
        if (trimming == 0) break;
        _exa_os_yield();
    }
    _exa_lock(&_exa_registry_lock);
    _exa_dead_push(l); /* kept, so that a stale handle is reported (list.h) */
    _exa_unlock(&_exa_registry_lock);
    return EXA_STATUS_SUCCESS;
}

/* ==========================================================================================
 * Diagnostics walkers (diag.c: the leak report names each list's handle and NT owner)
 * ======================================================================================== */

/* The handle and the NT owner (NULL for lists made by exa_lookaside_create) of the live list
 * with this id; 0 when there is none. */
int _exa_lookaside_handle_of(exa_u64 id, void **handle, void **owner) {
    int found = 0;
    _exa_lock(&_exa_registry_lock);
    for (exa_lookaside_t *l = _exa_registry_head; l != NULL; l = l->reg_next) {
        if (l->id != id) continue;
        *handle = l;
        *owner = l->owner;
        found = 1;
        break;
    }
    _exa_unlock(&_exa_registry_lock);
    return found;
}

/* ==========================================================================================
 * Fork (base/fork.c, docs/conventions.md#fork)
 *
 * prepare: the registry lock, then every list's lock, each followed by a new generation
 * (the flush handshake): when fork() copies the process no other thread is inside a fast
 * path, so every thread cache's array and count agree. The owners resync in their next
 * slow path, in the parent as after a flush.
 * child:   the caches of the threads that do not exist in the child are reclaimed: their
 * counters are folded into the list's totals, their blocks go to the shared stack and
 * their slots back to the budget, and they are unlinked and freed. The forking thread's
 * own caches stay attached. The locks are then free again.
 * ======================================================================================== */

static void exa_lookaside_fork_prepare(void) {
    _exa_lock(&_exa_registry_lock);
    for (exa_lookaside_t *l = _exa_registry_head; l != NULL; l = l->reg_next) {
        _exa_lock(&l->lock);
        _exa_new_generation(l);
    }
}

static void exa_lookaside_fork_parent(void) {
    for (exa_lookaside_t *l = _exa_registry_head; l != NULL; l = l->reg_next) _exa_unlock(&l->lock);
    _exa_unlock(&_exa_registry_lock);
}

static void exa_lookaside_fork_child(void) {
    exa_theap_t *mine = _exa_tls_heap;
    for (exa_lookaside_t *l = _exa_registry_head; l != NULL; l = l->reg_next) {
        exa_tcache_t *tc = l->caches;
        while (tc != NULL) {
            exa_tcache_t *next = tc->next;
            if (mine == NULL || tc->heap != mine) {
                _exa_tcache_spill(l, tc);
                _exa_tcache_unlink(l, tc);
                _exa_os_free_aligned(tc);
            }
            tc = next;
        }
        _exa_lock_reset(&l->lock);
    }
    _exa_lock_reset(&_exa_registry_lock);
}

static const exa_fork_handler_t exa_lookaside_fork = {EXA_FORK_RANK_LOOKASIDE, exa_lookaside_fork_prepare,
                                                      exa_lookaside_fork_parent, exa_lookaside_fork_child};
EXA_ON_LOAD(exa_lookaside_fork_load) { _exa_fork_register(&exa_lookaside_fork); }
