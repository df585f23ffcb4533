/* exalloc - native core
 * pool/free.c: the checked free: finding the block, every integrity check with its bug-check report,
 * quota return, big-allocation frees (pool/core.h).
 */
#include "pool/core.h"

/* The cases exa_find_block leaves out of line: NULL and page-aligned pointers, shadow
 * headers, and every failed check (each reported with its own code). */
exa_noinline int _exa_find_big(const void *p, exa_found_t *f, int report) {
    uintptr_t a = (uintptr_t)p;
    f->h = NULL;
    f->account = NULL;
    if (p == NULL) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_INVALID_ADDRESS, 0, 0, 0);
        return 0;
    }
    if (!_exa_big_lookup(a, &f->big)) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_UNTRACKED, a, 0, 0);
        return 0;
    }
    f->desc = exa_desc_by_index(f->big.desc);
    f->type = f->big.type;
    f->tag = f->big.tag;
    f->charged = f->big.pages << EXA_PAGE_SHIFT;
    return 1;
}

exa_noinline int _exa_find_unusual(const void *p, exa_pool_desc_t *d, exa_found_t *f, int report) {
    uintptr_t a = (uintptr_t)p;
    exa_pool_header_t *h = (exa_pool_header_t *)(void *)p - 1;
    int shadowed = 0;
    if ((a & (EXA_POOL_BLOCK_SIZE - 1)) == 0 && exa_h_type(h) == EXA_HDR_SHADOW) {
        /* A cache-aligned block: the shadow header points back less than one line. */
        uint32_t back = exa_h_prev(h);
        exa_pool_header_t *real = exa_hdr_at(h, -(int32_t)back);
        if (back != 0 && back < EXA_CACHE_LINE / EXA_POOL_BLOCK_SIZE && exa_page_of(real) == exa_page_of(h)) {
            h = real;
            shadowed = 1;
        }
    }
    if ((a & (EXA_POOL_BLOCK_SIZE - 1)) != 0 || exa_h_type(h) == EXA_HDR_SHADOW) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_BAD_ADDRESS, a, 0, 0);
        return 0;
    }
    uint32_t type = exa_h_type(h), size = exa_h_size(h);
    if (type == EXA_HDR_FREE || type == EXA_HDR_CACHED) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_ALREADY_FREE, 0, exa_h_word(h), a);
        return 0;
    }
    if (type > EXA_HDR_TYPE_MAX || exa_h_index(h) != d->index ||
        (shadowed && ((type - 1) & EXA_PT_CACHE_ALIGNED) == 0)) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_HEADER_CORRUPT, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    if (size == 0) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_SIZE_ZERO, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    uintptr_t end = exa_page_of(h) + EXA_PAGE_SIZE;
    exa_pool_header_t *next = exa_hdr_at(h, (int32_t)size);
    if ((uintptr_t)next > end || (uintptr_t)p >= (uintptr_t)next) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_SIZE_TOO_LARGE, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    if ((uintptr_t)next != end && exa_h_prev(next) != size && !_exa_checks_off() /* not at checking level off */) {
        if (report)
            _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_NEIGHBOURS_DISAGREE, (uintptr_t)h, 0, (uintptr_t)next);
        return 0;
    }
    return exa_found_small(f, d, h, type, size);
}

static void exa_release_big_found(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_big_t *big);

/* The whole free, every check reported. check_tag: 0 ExFreePool, 1 ExFreePoolWithTag, 2 the
 * block's own allocator (lookaside default free, which frees with the list's tag: nothing
 * to compare). */
exa_noinline void _exa_release_checked(void *block, uint32_t tag, int check_tag) {
    exa_pool_ready();
    /* The special pool's hook (base/hooks.h): its blocks are recognised at every level. */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_SPECIAL) && _exa_hooks.special_release(block, tag, check_tag)) return;
    exa_found_t f;
    if (!exa_find_block(block, &f, 1)) return;
    if (exa_unlikely(_exa_irql_too_high_for_pool(f.type))) {
        (void)_exa_irql_pool_violation(EXA_BAD_POOL_CALLER_FREE_IRQL, f.type, (uintptr_t)block);
        return;
    }
    /* docs/pool.md#tags: a protected tag must be passed exactly (ExFreePool passes none); in strict
     * mode any non-zero tag must match, protection bit aside. */
    if (check_tag != 2) {
        uint32_t passed = check_tag ? tag : 0;
        int bad = (f.tag & EXA_TAG_PROTECTED) ? passed != f.tag
                                               : (_exa_pool_strict() && passed != 0 &&
                                                  (passed & ~EXA_TAG_PROTECTED) != f.tag);
        if (exa_unlikely(bad)) {
            _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_WRONG_TAG, (uintptr_t)block, f.tag, passed);
            return;
        }
    }
    if (f.account != NULL && exa_unlikely(!_exa_quota_valid(f.account))) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_BAD_QUOTA_OWNER, (uintptr_t)block, f.tag,
                      (uintptr_t)f.account);
        return;
    }
    /* The verifier's hook (base/hooks.h): lookaside lists inside the block (0xC4/0xCC), free fill. */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_VERIFIER) &&
        !_exa_hooks.verifier_freeing(block, f.h != NULL ? (exa_u64)((uintptr_t)exa_hdr_at(f.h, (int32_t)exa_h_size(f.h)) -
                                                             (uintptr_t)block)
                                                  : f.charged))
        return;
    /* Every check passed: now change things. */
    exa_pool_thread_t *t = exa_thread();
    exa_pool_desc_t *d = f.desc;
    exa_pool_t *pool = d->pool;
    if (f.h != NULL) {
        exa_tag_count_t(t, f.tag, pool->kind, 1, f.charged);
        if (f.account != NULL) _exa_quota_return(f.account, pool->kind, f.charged);
        exa_block_put(d, t, f.h, exa_h_size(f.h));
        return;
    }
    /* Big: remove the record (a racing second free finds none), then the pages. */
    exa_big_stripe_t *st = exa_big_stripe(f.big.va);
    _exa_lock(&st->lock);
    exa_big_t *e = _exa_big_find(st, f.big.va);
    if (e != NULL) _exa_big_delete(st, e);
    _exa_unlock(&st->lock);
    if (e == NULL) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_UNTRACKED, f.big.va, 0, 0);
        return;
    }
    exa_release_big_found(t, d, &f.big);
}

/* A big allocation whose record this free deleted: count it, then keep its page in the
 * thread's page cache, or give the pages back (run or mapping). */
static void exa_release_big_found(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_big_t *big) {
    exa_pool_t *pool = d->pool;
    void *block = (void *)big->va;
    exa_tag_count_t(t, big->tag, pool->kind, 1, big->pages << EXA_PAGE_SHIFT);
    exa_atomic_fetch_add_relaxed(&pool->xbig, (exa_u64)0 - 1);
    if (exa_big_page_keep(t, d, big)) return;
    size_t bytes = (size_t)big->pages << EXA_PAGE_SHIFT;
    if (big->direct) {
        exa_track_unpoison(block, bytes);
        _exa_os_pages_unmap(block, bytes);
        exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)0 - bytes);
        if (big->direct & 2u) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - bytes);
        _exa_pool_unreserve(pool, big->pages);
    } else {
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        _exa_pages_give(d, big->va, (uint32_t)big->pages, &rel);
        _exa_unlock(&d->lock);
        _exa_release_run(&rel);
    }
    _exa_pool_changed(pool);
}

/* The common free of a big allocation (page-aligned pointer): look up and delete the record
 * under one stripe lock when the caller may free it (IRQL, an unprotected tag, not strict
 * mode); anything else to the checked path, which reports. */
exa_noinline void _exa_release_big(void *block, uint32_t tag, int check_tag) {
    exa_pool_thread_t *t = _exa_tls_pool;
    uintptr_t va = (uintptr_t)block;
    if (t != &_exa_thread_none && va != 0) {
        exa_big_stripe_t *st = exa_big_stripe(va);
        exa_big_t big;
        _exa_lock(&st->lock);
        exa_big_t *e = _exa_big_find(st, va);
        int ok = e != NULL && exa_free_caller_allowed(e->tag, (uint32_t)e->type);
        if (ok) {
            big = *e;
            _exa_big_delete(st, e);
        }
        _exa_unlock(&st->lock);
        if (ok) {
            exa_release_big_found(t, exa_desc_by_index(big.desc), &big);
            return;
        }
    }
    _exa_release_checked(block, tag, check_tag);
}
