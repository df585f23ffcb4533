/* exalloc - native core
 * pool/walk.c: trim, the descriptors' totals for the statistics, and the walkers over live blocks
 * that the diagnostics use (pool/core.h).
 */
#include "pool/core.h"

/* ==========================================================================================
 * Trim and statistics
 * ======================================================================================== */

exa_u64 _exa_pool_trim(void) {
    exa_pool_ready();
    exa_u64 n = 0;
    if (_exa_tls_pool != &_exa_thread_none) n = _exa_thread_drain(_exa_tls_pool);
    for (uint32_t i = 0; i < EXA_DESC_MAX; i++) {
        exa_pool_desc_t *d = exa_desc_by_index(i);
        if (d == NULL) continue;
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        while (d->empty != NULL) {
            exa_pool_segment_t *s = d->empty;
            _exa_seg_unlink(&d->empty, s);
            d->empty_count--;
            d->segments--;
            s->next = rel.segments;
            rel.segments = s;
        }
        _exa_unlock(&d->lock);
        _exa_release_run(&rel);
    }
    return n;
}

void _exa_pool_desc_totals(int32_t kind, exa_u64 *small_pages, exa_u64 *cached_bytes) {
    exa_pool_ready();
    *small_pages = *cached_bytes = 0;
    for (uint32_t i = 0; i < EXA_DESC_MAX; i++) {
        exa_pool_desc_t *d = exa_desc_by_index(i);
        if (d == NULL || d->pool->kind != kind) continue;
        _exa_lock(&d->lock);
        *small_pages += d->small_pages;
        *cached_bytes += (exa_u64)d->empty_count * EXA_POOL_SEGMENT_SIZE;
        _exa_unlock(&d->lock);
    }
}

uint32_t _exa_pool_executable_ok(void) { return exa_atomic_load_relaxed(&_exa_executable_refused) == 0; }

/* exa_pool_query: the pool's counters (limits.c) with the descriptors' totals. */
exa_status_t exa_pool_query(int32_t pool, exa_pool_stats_t *out) {
    if (!_exa_pool_kind_valid(pool)) return EXA_STATUS_INVALID_PARAMETER_1;
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER_2;
    exa_pool_t *p = _exa_pool_of_kind(pool);
    exa_u64 small_pages, cached;
    _exa_pool_desc_totals(pool, &small_pages, &cached);
    memset(out, 0, sizeof *out);
    exa_u64 used = exa_atomic_load_acquire(&p->xpages);
    uint32_t s = exa_atomic_load_acquire(&p->xcondition);
    out->pool = pool;
    out->condition = s & EXA_CONDITION_BITS;
    out->condition_changes = s >> 2;
    out->capacity = exa_atomic_load_relaxed(&p->xcapacity) << EXA_PAGE_SHIFT;
    out->in_use = used << EXA_PAGE_SHIFT;
    out->peak = exa_atomic_load_relaxed(&p->xpeak) << EXA_PAGE_SHIFT;
    out->available = _exa_pool_free_pages(p, used) << EXA_PAGE_SHIFT;
    out->small_pages = small_pages;
    out->big_pages = used > small_pages ? used - small_pages : 0;
    out->big_allocations = exa_atomic_load_relaxed(&p->xbig);
    out->mapped = exa_atomic_load_relaxed(&p->xmapped);
    out->cached = cached;
    out->locked = exa_atomic_load_relaxed(&p->xlocked);
    out->lock_failures = exa_atomic_load_relaxed(&p->xlock_failures);
    out->cold_hints = exa_atomic_load_relaxed(&p->xcold);
    out->lock_status = (exa_status_t)exa_atomic_load_relaxed(&p->xlock_status);
    out->executable = pool == EXA_POOL_KIND_NON_PAGED ? _exa_pool_executable_ok() : 0;
    out->numa_nodes = _exa_os_numa_node_count();
    out->node_refusals = exa_atomic_load_relaxed(&p->xnode_refusals);
    return EXA_STATUS_SUCCESS;
}

/* ==========================================================================================
 * Diagnostics walkers (diag.c: allocation dumps, snapshots, the bug-check dump)
 *
 * Every live block: big allocations from the big table, then small blocks page by page over
 * the segment map. A page counts as small-block pages only when its headers chain exactly to
 * its end (pages of a big run inside a segment do not). fatal != 0: locks are only tried, and
 * what is locked is skipped (the fatal path may already hold one). The callback runs under a
 * descriptor or stripe lock and must not call the pool.
 * ======================================================================================== */


static int exa_walk_page(exa_pool_desc_t *d, uintptr_t page, _exa_diag_block_fn fn, void *ctx) {
    /* A free page is poisoned whole under ASan (headers never are): nothing to read there. */
    if (exa_track_poisoned((const void *)page, EXA_POOL_BLOCK_SIZE)) return 1;
    /* First check that the page is a chain of headers, then report its live blocks. */
    uint32_t at = 0, prev = 0;
    while (at < EXA_POOL_PAGE_UNITS) {
        exa_pool_header_t *h = (exa_pool_header_t *)(page + (uintptr_t)at * EXA_POOL_BLOCK_SIZE);
        uint32_t size = exa_h_size(h), type = exa_h_type(h);
        if (size == 0 || at + size > EXA_POOL_PAGE_UNITS || exa_h_prev(h) != prev || exa_h_index(h) != d->index ||
            (type > EXA_HDR_TYPE_MAX && type != EXA_HDR_CACHED))
            return 1;
        prev = size;
        at += size;
    }
    for (at = 0; at < EXA_POOL_PAGE_UNITS;) {
        exa_pool_header_t *h = (exa_pool_header_t *)(page + (uintptr_t)at * EXA_POOL_BLOCK_SIZE);
        uint32_t size = exa_h_size(h), type = exa_h_type(h);
        if (type != EXA_HDR_FREE && type != EXA_HDR_CACHED) {
            uint32_t pt = (type - 1) & ~(uint32_t)EXA_PT_QUOTA;
            uintptr_t user = (uintptr_t)(h + 1);
            if (pt & EXA_PT_CACHE_ALIGNED) user = (user + EXA_CACHE_LINE - 1) & ~(uintptr_t)(EXA_CACHE_LINE - 1);
            exa_diag_block_t b;
            b.address = user;
            b.size = (exa_u64)((uintptr_t)exa_hdr_at(h, (int32_t)size) - user);
            b.charged = (exa_u64)size * EXA_POOL_BLOCK_SIZE;
            b.tag = h->pool_tag;
            b.pool_type = (int32_t)pt | d->type_bits;
            b.pool = d->kind;
            b.big = 0;
            if (!fn(&b, ctx)) return 0;
        }
        at += size;
    }
    return 1;
}

int _exa_pool_walk(_exa_diag_block_fn fn, void *ctx, int fatal) {
    if (exa_atomic_load_acquire(&_exa_pool_state) != 2) return 1;  /* nothing allocated yet */
    int complete = 1;
    for (uint32_t i = 0; i < EXA_BIG_STRIPES; i++) {
        exa_big_stripe_t *st = &_exa_big_table[i];
        if (!_exa_lock_or_try(&st->lock, fatal)) {
            complete = 0;
            continue;
        }
        for (uint32_t j = 0; j < st->capacity; j++) {
            const exa_big_t *e = &st->slots[j];
            if (e->va == 0) continue;
            exa_pool_desc_t *d = exa_desc_by_index(e->desc);
            exa_diag_block_t b = {e->va, e->pages * EXA_PAGE_SIZE, e->pages * EXA_PAGE_SIZE, e->tag,
                                  e->type & ~(int32_t)EXA_PT_QUOTA, d != NULL ? d->kind : 0, 1};
            if (!fn(&b, ctx)) {
                _exa_unlock(&st->lock);
                return 0;
            }
        }
        _exa_unlock(&st->lock);
    }
    const uintptr_t leaf_entries = (uintptr_t)1 << EXA_MAP_LEAF_BITS;
    for (uintptr_t top = 0; top < ((uintptr_t)1 << EXA_MAP_TOP_BITS); top++) {
        exa_atomic(uintptr_t) *leaf = (exa_atomic(uintptr_t) *)exa_atomic_load_acquire(&_exa_segmap[top]);
        if (leaf == NULL) continue;
        for (uintptr_t k = 0; k < leaf_entries; k++) {
            exa_pool_segment_t *s = (exa_pool_segment_t *)exa_atomic_load_acquire(&leaf[k]);
            if (s == NULL) continue;
            exa_pool_desc_t *d = s->desc;
            if (!_exa_lock_or_try(&d->lock, fatal)) {
                complete = 0;
                continue;
            }
            if ((exa_pool_segment_t *)exa_atomic_load_acquire(&leaf[k]) == s) {
                for (uint32_t pg = 0; pg < EXA_POOL_SEGMENT_PAGES; pg++) {
                    if (s->free_mask & ((uint64_t)1 << pg)) continue;
                    if (!exa_walk_page(d, s->base + (uintptr_t)pg * EXA_PAGE_SIZE, fn, ctx)) {
                        _exa_unlock(&d->lock);
                        return 0;
                    }
                }
            }
            _exa_unlock(&d->lock);
        }
    }
    if (_exa_hooks.special_walk != NULL && !_exa_hooks.special_walk(fn, ctx, fatal)) complete = 0; /* special pool blocks */
    return complete;
}

/* The tag and size of the block that contains `address` (a live small block's header, a
 * big allocation's record), without locks beyond a tried stripe lock. 0 when unknown. */
int _exa_pool_block_of(uintptr_t address, exa_diag_block_t *out) {
    if (_exa_hooks.special_block_of != NULL && _exa_hooks.special_block_of(address, out)) return 1;
    if (exa_atomic_load_acquire(&_exa_pool_state) != 2) return 0;
    exa_pool_segment_t *s = exa_segmap_find(address);
    if (s != NULL && (address & (EXA_PAGE_SIZE - 1)) != 0) {
        exa_pool_desc_t *d = s->desc;
        uintptr_t page = exa_page_of((const void *)address);
        for (uint32_t at = 0; at < EXA_POOL_PAGE_UNITS;) {
            exa_pool_header_t *h = (exa_pool_header_t *)(page + (uintptr_t)at * EXA_POOL_BLOCK_SIZE);
            uint32_t size = exa_h_size(h);
            if (size == 0 || at + size > EXA_POOL_PAGE_UNITS) return 0;
            uintptr_t end = (uintptr_t)exa_hdr_at(h, (int32_t)size);
            if (address < end) {
                uint32_t type = exa_h_type(h);
                out->address = (uintptr_t)(h + 1);
                out->size = (exa_u64)(end - out->address);
                out->charged = (exa_u64)size * EXA_POOL_BLOCK_SIZE;
                out->tag = h->pool_tag;
                out->pool_type = (type >= 1 && type <= EXA_HDR_TYPE_MAX)
                                     ? ((int32_t)((type - 1) & ~(uint32_t)EXA_PT_QUOTA) | d->type_bits)
                                     : -1;
                out->pool = d->kind;
                out->big = 0;
                return 1;
            }
            at += size;
        }
        return 0;
    }
    uintptr_t va = address & ~(uintptr_t)(EXA_PAGE_SIZE - 1);
    exa_big_stripe_t *st = exa_big_stripe(va);
    if (!_exa_lock_or_try(&st->lock, 1)) return 0;
    exa_big_t *e = _exa_big_find(st, va);
    int found = e != NULL;
    if (found) {
        exa_pool_desc_t *d = exa_desc_by_index(e->desc);
        exa_diag_block_t b = {e->va, e->pages * EXA_PAGE_SIZE, e->pages * EXA_PAGE_SIZE, e->tag,
                              e->type & ~(int32_t)EXA_PT_QUOTA, d != NULL ? d->kind : 0, 1};
        *out = b;
    }
    _exa_unlock(&st->lock);
    return found;
}
