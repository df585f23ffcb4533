/* exalloc - native core
 * pool/allocate.c: the allocation request that every entry point reduces to: descriptor choice, small
 * and big blocks, quota, limits, priority, must-succeed and raise (pool/core.h).
 */
#include "pool/core.h"

/* Big allocation of `pages` pages: a segment run (<= 64 pages) or a mapping of its own. */
static void *exa_big_allocate(exa_pool_desc_t *d, const exa_pool_request_t *r, exa_u64 pages, exa_status_t *status) {
    int must = (r->type & EXA_PT_MUST_SUCCEED) != 0;
    exa_big_t e = {0, pages, r->tag, (r->type & ~EXA_PT_NX) | d->type_bits, d->index, 0};
    exa_pool_t *pool = d->pool;
    if (pages <= EXA_POOL_SEGMENT_PAGES) {
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        e.va = _exa_pages_take(d, (uint32_t)pages, must, status);
        _exa_unlock(&d->lock);
        if (e.va == 0) return NULL;
        if (!_exa_big_insert(&e)) {
            _exa_lock(&d->lock);
            _exa_pages_give(d, e.va, (uint32_t)pages, &rel);
            _exa_unlock(&d->lock);
            _exa_release_run(&rel);
            *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
            return NULL;
        }
        if (r->options & EXA_REQ_ZERO) {
            exa_track_unpoison((void *)e.va, (size_t)r->size);
            memset((void *)e.va, 0, (size_t)r->size);
        }
    } else {
        *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
        if (pages > (exa_u64)SIZE_MAX >> EXA_PAGE_SHIFT || !_exa_pool_reserve(pool, pages, must)) return NULL;
        size_t bytes = (size_t)pages << EXA_PAGE_SHIFT;
        int exec = d->executable && exa_atomic_load_relaxed(&_exa_executable_refused) == 0, why = 0;
        void *a = _exa_os_pages_map(bytes, EXA_PAGE_SIZE, exec, &why);
        if (a == NULL && exec && why == EXA_OS_MAP_EXEC_REFUSED) {
            _exa_pool_exec_refused();
            a = _exa_os_pages_map(bytes, EXA_PAGE_SIZE, 0, NULL);
        }
        int locked = 0;
        if (a != NULL && d->node >= 0 && !_exa_pool_bind_node(pool, a, bytes, (uint32_t)d->node)) {
            _exa_os_pages_unmap(a, bytes);
            a = NULL;
        }
        if (a != NULL && pool->kind == EXA_POOL_KIND_NON_PAGED) {
            uint32_t policy = exa_atomic_load_relaxed(&pool->xlock_policy);
            if (policy != EXA_POOL_LOCK_NONE) {
                int err = _exa_os_pages_lock(a, bytes);
                _exa_pool_note_lock(pool, bytes, err);
                locked = err == 0;
                if (!locked && policy == EXA_POOL_LOCK_REQUIRED) {
                    *status = EXA_STATUS_WORKING_SET_QUOTA;
                    _exa_os_pages_unmap(a, bytes);
                    a = NULL;
                }
            }
        }
        e.va = (uintptr_t)a;
        e.direct = 1u | (locked ? 2u : 0u);
        if (a == NULL || !_exa_big_insert(&e)) {
            if (a != NULL) {
                _exa_os_pages_unmap(a, bytes);
                if (locked) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - bytes);
            }
            _exa_pool_unreserve(pool, pages);
            _exa_pool_changed(pool);
            return NULL;
        }
        exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)bytes);
        exa_track_poison((char *)a + r->size, bytes - (size_t)r->size);
    }
    exa_track_unpoison((void *)e.va, (size_t)r->size);
    exa_atomic_fetch_add_relaxed(&pool->xbig, (exa_u64)1);
    _exa_pool_changed(pool);
    /* Cold hint (docs/pool.md#placement): pageable pages only; locked pages cannot go cold. */
    if ((r->options & EXA_REQ_COLD) && pool->kind == EXA_POOL_KIND_PAGED &&
        _exa_os_pages_cold((void *)e.va, (size_t)pages << EXA_PAGE_SHIFT))
        exa_atomic_fetch_add_relaxed(&pool->xcold, (exa_u64)1);
    return (void *)e.va;
}

static exa_pool_desc_t *exa_desc_select(const exa_pool_request_t *r) {
    if (r->type & EXA_PT_PAGED) return &_exa_front_descs[EXA_DESC_PAGED];
    int exec = (r->type & EXA_PT_NX) == 0;
    if (r->node < 0) return &_exa_front_descs[exec ? EXA_DESC_EXECUTE : EXA_DESC_NX];
    return _exa_desc_for_node((uint32_t)r->node, exec);
}

/* The failure path: bug check 0x41 for must-succeed, else raise if asked; NULL. */
static exa_noinline void *exa_allocate_failed(const exa_pool_request_t *r, exa_status_t status) {
    if (r->type & EXA_PT_MUST_SUCCEED) {
        exa_pool_t *np = _exa_pool_of_kind(EXA_POOL_KIND_NON_PAGED);
        exa_u64 used = exa_atomic_load_relaxed(&np->xpages);
        exa_u64 limit = exa_atomic_load_relaxed(&np->xcapacity) + exa_atomic_load_relaxed(&np->xreserve);
        _exa_bugcheck(EXA_BUGCHECK_MUST_SUCCEED_POOL_EMPTY, r->size, used, exa_atomic_load_relaxed(&np->xbig),
                      limit > used ? limit - used : 0);
        return NULL;
    }
    if (r->options & EXA_REQ_RAISE) _exa_raise(status);
    return NULL;
}

/* One attempt: the block, or NULL with *status (EXA_STATUS_BUGCHECK: a check already
 * reported; nothing more to do). */
exa_inline void *exa_allocate_try(const exa_pool_request_t *r, exa_status_t *status) {
    int32_t type = r->type;
    if (exa_unlikely(_exa_irql_too_high_for_pool(type))) {
        *status = EXA_STATUS_BUGCHECK;
        return _exa_irql_pool_violation(EXA_BAD_POOL_CALLER_ALLOCATE_IRQL, type, r->size);
    }
    *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
    exa_pool_desc_t *d = exa_desc_select(r);
    if (exa_unlikely(d == NULL)) return NULL;
    exa_pool_t *pool = d->pool;
    if ((r->options & EXA_REQ_PRIORITY) && !_exa_pool_priority_allows(pool, r->priority)) return NULL;
    exa_pool_thread_t *t = exa_thread();
    int aligned = (type & EXA_PT_CACHE_ALIGNED) != 0;
    exa_u64 n = r->size;
    if (n > (aligned ? (exa_u64)EXA_SMALL_MAX_ALIGNED : (exa_u64)EXA_SMALL_MAX)) {
        /* Never wrap (docs/edge-cases.md#case-24): a request beyond the address space fails here. */
        if (n > ((exa_u64)1 << 47)) return NULL;
        exa_u64 pages = (n + EXA_PAGE_SIZE - 1) >> EXA_PAGE_SHIFT;
        void *p = pages == 1 && t != NULL && d->index < EXA_POOL_FRONT_DESCRIPTORS && t->npages[d->index] != 0 &&
                          !(r->options & EXA_REQ_COLD) && !(type & EXA_PT_MUST_SUCCEED)
                      ? exa_big_page_cached(t, d, r)
                      : NULL;
        if (p == NULL) p = exa_big_allocate(d, r, pages, status);
        if (p != NULL) exa_tag_count_t(t, r->tag, pool->kind, 0, pages << EXA_PAGE_SHIFT);
        return p;
    }
    uint32_t units = (uint32_t)((n + EXA_POOL_BLOCK_SIZE + (aligned ? EXA_CACHE_LINE - EXA_POOL_BLOCK_SIZE : 0) +
                                 EXA_POOL_BLOCK_SIZE - 1) >> EXA_POOL_BLOCK_SHIFT);
    exa_pool_header_t *h = exa_block_get(d, t, units, (type & EXA_PT_MUST_SUCCEED) != 0, status);
    if (exa_unlikely(h == NULL)) return NULL;
    exa_quota_account_t *account = NULL;
    if (r->options & EXA_REQ_QUOTA) {
        /* NT's order: the block first, then the charge; a refused charge releases it. */
        account = _exa_quota_current();
        if (_exa_quota_is_system(account)) {
            account = NULL;
        } else if (!_exa_quota_charge(account, pool->kind, (exa_u64)units * EXA_POOL_BLOCK_SIZE)) {
            exa_block_put(d, t, h, units);
            *status = EXA_STATUS_QUOTA_EXCEEDED;
            return NULL;
        }
    }
    h->pool_tag = r->tag;
    h->process_billed = (uintptr_t)account;
    exa_track_hand_out(h, units);
    char *p = exa_place(h, aligned, r->tag);
    exa_track_tail(h, units, p, n);
    exa_h_set_type(h, (uint32_t)((type & EXA_PT_HEADER_MASK) | (account != NULL ? EXA_PT_QUOTA : 0)) + 1);
    exa_tag_count_t(t, r->tag, d->kind, 0, (exa_u64)units * EXA_POOL_BLOCK_SIZE);
    if (r->options & EXA_REQ_ZERO) memset(p, 0, (size_t)n);
    return p;
}

static exa_noinline void *exa_allocate_retry(const exa_pool_request_t *r, exa_status_t status) {
    if (status == EXA_STATUS_BUGCHECK) return NULL;
    if (r->node >= 0 && !r->node_strict) {
        /* MM_ANY_NODE_OK: the preferred node could not serve; any node will do. */
        exa_pool_request_t any = *r;
        any.node = -1;
        void *p = exa_allocate_try(&any, &status);
        if (p != NULL || status == EXA_STATUS_BUGCHECK) return p;
    }
    return exa_allocate_failed(r, status);
}

/* The verifier's hooks (base/hooks.h): special pool, low-resources simulation, fill patterns. */
static exa_noinline void *exa_allocate_verified(const exa_pool_request_t *r) {
    void *p;
    if (_exa_hooks.verifier_allocate(r, &p)) return p;
    exa_status_t status;
    p = exa_allocate_try(r, &status);
    if (p == NULL) p = exa_allocate_retry(r, status);
    if (p != NULL) _exa_hooks.verifier_allocated(r, p);
    return p;
}

void *_exa_pool_allocate_request(const exa_pool_request_t *r) {
    exa_pool_ready();
    void *p;
    if (exa_unlikely((r->options & EXA_REQ_SPECIAL) | (_exa_verifier_state() & EXA_VBIT_VERIFIER))) {
        p = exa_allocate_verified(r); /* through the verifier's hooks */
    } else {
        exa_status_t status;
        p = exa_allocate_try(r, &status);
        if (exa_unlikely(p == NULL)) p = exa_allocate_retry(r, status);
    }
    if (exa_unlikely(exa_atomic_load_relaxed(&_exa_diag_sites) != 0)) _exa_hooks.note_alloc(p);
    return p;
}
