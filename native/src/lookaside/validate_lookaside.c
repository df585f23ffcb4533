/* exalloc - native core
 * lookaside/validate_lookaside.c: a list's invariant validator, compiled only in the debug
 * tier (base/debug.h). See _exa_debug_lookaside_validate in lookaside/lookaside.h. */
#include "lookaside/list.h"

#if EXA_DEBUG

/* List lock held. */
static int exa_vl_check(exa_lookaside_t *l, char *why, size_t cap) {
    uint32_t depth = exa_atomic_load_relaxed(&l->xdepth);
    if (depth > l->maximum_depth)
        return _exa_debug_fail(why, cap, "list %llu: Depth %u above MaximumDepth %u", (unsigned long long)l->id, depth,
                           l->maximum_depth);
    uint32_t shared = 0;
    for (void *b = l->head; b != NULL; b = exa_link_read(b))
        if (++shared > l->maximum_depth + 1) break;  /* a cycle, or far too many */
    if (shared != l->count)
        return _exa_debug_fail(why, cap, "list %llu: %u blocks on the shared stack, count says %u", (unsigned long long)l->id,
                           shared, l->count);
    uint32_t claimed = 0, attached = 0;
    for (exa_tcache_t *tc = l->caches; tc != NULL; tc = tc->next) {
        uint32_t n = exa_atomic_load_relaxed(&tc->xn);
        if (++attached > l->nattached) break;
        if (tc->list != l)
            return _exa_debug_fail(why, cap, "list %llu: a chained thread cache is attached elsewhere", (unsigned long long)l->id);
        if (n > tc->quota || tc->quota > EXA_MAG_CAP)
            return _exa_debug_fail(why, cap, "list %llu: a thread cache holds %u blocks in %u claimed slots (at most %u)",
                               (unsigned long long)l->id, n, tc->quota, (unsigned)EXA_MAG_CAP);
        if (tc->folded_allocate_misses > tc->folded_allocates || tc->folded_free_misses > tc->folded_frees)
            return _exa_debug_fail(why, cap, "list %llu: a thread cache folded more misses than operations",
                               (unsigned long long)l->id);
        claimed += tc->quota;
    }
    if (attached != l->nattached)
        return _exa_debug_fail(why, cap, "list %llu: %u thread caches chained, nattached says %u", (unsigned long long)l->id,
                           attached, l->nattached);
    if (claimed != l->claimed)
        return _exa_debug_fail(why, cap, "list %llu: the thread caches' quotas sum to %u, claimed says %u",
                           (unsigned long long)l->id, claimed, l->claimed);
    if (l->count + l->claimed > depth)
        return _exa_debug_fail(why, cap, "list %llu: %u shared entries + %u claimed slots exceed Depth %u",
                           (unsigned long long)l->id, l->count, l->claimed, depth);
    if (l->allocate_misses > l->allocates || l->free_misses > l->frees)
        return _exa_debug_fail(why, cap, "list %llu: more misses than operations in the folded totals", (unsigned long long)l->id);
    return 1;
}

int _exa_debug_lookaside_validate(exa_lookaside_t *l, char *why, size_t cap) {
    if (why != NULL && cap != 0) why[0] = 0;
    if (l == NULL || l->magic != EXA_LOOKASIDE_MAGIC) return _exa_debug_fail(why, cap, "not a live list");
    _exa_lock(&l->lock);
    int ok = exa_vl_check(l, why, cap);
    _exa_unlock(&l->lock);
    return ok;
}

#else
typedef int exa_validate_lookaside_unused; /* ISO C wants a declaration in every file */
#endif
