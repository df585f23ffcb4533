/* exalloc - native core
 * lookaside/depth.c: the depth control law (NT's ExAdjustLookasideDepth,
 * docs/lookaside.md#depth): the tick that adjusts every list's Depth, trims idle lists, and
 * the depth setters (lookaside/list.h).
 */
#include "lookaside/list.h"

/* ==========================================================================================
 * Depth adjustment (docs/lookaside.md#depth): exa_lookaside_tick, run by the balance-set
 * thread (balance.c)
 *
 * Control law (the policy docs/lookaside.md#depth recommends; NT's own constants are not
 * public). Per list and period, from the exact folded counters:
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

/* List lock held. Set Depth; when it drops, take back every idle slot (after the handshake),
 * so that the next free anywhere sees the new bound. Returns 1 when it dropped (the caches
 * are then stale and not busy until the lock is released). */
static int exa_depth_store_locked(exa_lookaside_t *l, uint32_t depth) {
    uint32_t old = exa_atomic_load_relaxed(&l->xdepth);
    exa_atomic_store_relaxed(&l->xdepth, depth);
    if (depth >= old) return 0;
    _exa_new_generation(l);
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        l->claimed -= tc->quota - n;
        tc->quota = n;
        tc->slack = 0;
        exa_tcache_limits(tc);
    }
    return 1;
}

uint32_t exa_lookaside_depth(exa_lookaside_t *l) {
    if (l == NULL || !exa_list_live(l)) return 0;
    return exa_atomic_load_relaxed(&l->xdepth);
}

exa_status_t exa_lookaside_set_depth(exa_lookaside_t *l, uint32_t depth) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER_1;
    if (!exa_list_live(l)) return EXA_STATUS_BUGCHECK;
    if (depth < 1 || depth > l->maximum_depth) return EXA_STATUS_INVALID_PARAMETER_2;
    _exa_lock(&l->lock);
    exa_depth_store_locked(l, depth);
    _exa_publish(l);
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}

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
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) _exa_tcache_fold(l, tc);
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
    _exa_publish(l);
    return trimmed;
}

void exa_lookaside_tick(void) {
    exa_u64 after = 0; /* lists are registered in id order: resume after the last one seen */
    for (;;) {
        void *chain = NULL;
        exa_lookaside_t *trimmed = NULL;
        _exa_lock(&_exa_registry_lock);
        for (exa_lookaside_t *l = _exa_registry_head; l != NULL; l = l->reg_next) {
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
        _exa_unlock(&_exa_registry_lock);
        if (trimmed == NULL) return;
        /* No lock held: delete waits for `trimming` to drop before it frees the list. */
        _exa_release_chain(trimmed, chain);
        _exa_lock(&trimmed->lock);
        trimmed->trimming--;
        _exa_unlock(&trimmed->lock);
    }
}

exa_status_t exa_lookaside_set_fixed_depth(exa_lookaside_t *l, int32_t fixed) {
    if (l == NULL) return EXA_STATUS_INVALID_PARAMETER;
    if (!exa_list_live(l)) return EXA_STATUS_BUGCHECK;
    _exa_lock(&l->lock);
    l->fixed_depth = fixed != 0;
    _exa_unlock(&l->lock);
    return EXA_STATUS_SUCCESS;
}
