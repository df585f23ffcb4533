/* exalloc - native core
 * pool/validate_pool.c: the pool's invariant validator, compiled only in the debug tier
 * (base/debug.h). See _exa_debug_pool_validate in pool/pool.h for what it checks. */
#include "pool/core.h"

#if EXA_DEBUG

/* 1 when [page, page + 4096) belongs to a one-segment big allocation or to the calling
 * thread's page cache: such a page holds no headers. */
static int exa_vp_page_is_big(uintptr_t page) {
    for (uint32_t i = 0; i < EXA_BIG_STRIPES; i++) {
        exa_big_stripe_t *st = &_exa_big_table[i];
        int hit = 0;
        _exa_lock(&st->lock);
        for (uint32_t j = 0; j < st->capacity && !hit; j++) {
            const exa_big_t *e = &st->slots[j];
            if (e->va != 0 && !e->direct && page >= e->va && page < e->va + e->pages * EXA_PAGE_SIZE) hit = 1;
        }
        _exa_unlock(&st->lock);
        if (hit) return 1;
    }
    exa_pool_thread_t *t = _exa_tls_pool; /* &_exa_thread_none: no pages */
    if (t != NULL)
        for (uint32_t di = 0; di < EXA_POOL_FRONT_DESCRIPTORS; di++)
            for (uint32_t k = 0; k < t->npages[di]; k++)
                if (t->pages[di][k] == page) return 1;
    return 0;
}

/* Descriptor lock held. 1 when the page is a chain of d's headers: non-zero sizes summing to
 * 256 units, the first PreviousSize 0 and each next one the BlockSize before it, known
 * types, and not a single free block of the whole page (a page left over from before it was
 * given back). *free_blocks: its free blocks of two units or more. */
static int exa_vp_page_chain(exa_pool_desc_t *d, uintptr_t page, uint32_t *free_blocks) {
    uint32_t at = 0, prev = 0, nfree = 0;
    while (at < EXA_POOL_PAGE_UNITS) {
        exa_pool_header_t *h = (exa_pool_header_t *)(page + (uintptr_t)at * EXA_POOL_BLOCK_SIZE);
        uint32_t size = exa_h_size(h), type = exa_h_type(h);
        if (size == 0 || at + size > EXA_POOL_PAGE_UNITS || exa_h_prev(h) != prev || exa_h_index(h) != d->index ||
            (type > EXA_HDR_TYPE_MAX && type != EXA_HDR_CACHED))
            return 0;
        if (type == EXA_HDR_FREE && size >= 2) nfree++;
        prev = size;
        at += size;
    }
    if (prev == EXA_POOL_PAGE_UNITS) return 0;
    *free_blocks = nfree;
    return 1;
}

/* Descriptor lock held. */
static int exa_vp_desc(exa_pool_desc_t *d, char *why, size_t cap) {
    exa_u64 listed = 0;
    exa_u64 limit = (exa_u64)d->segments * EXA_POOL_SEGMENT_PAGES * (EXA_POOL_PAGE_UNITS / 2) + 1;
    for (uint32_t u = 0; u < EXA_POOL_PAGE_UNITS; u++) {
        exa_pool_link_t *head = &d->heads[u];
        exa_pool_link_t *prev = head;
        exa_u64 count = 0;
        for (uintptr_t next = head->flink;; next = exa_dec(next)->flink) {
            if ((next & 1u) == 0)
                return _exa_debug_fail(why, cap, "descriptor %u list %u: link %#lx not encoded", d->index, u,
                                   (unsigned long)next);
            exa_pool_link_t *l = exa_dec(next);
            if (l->blink != exa_enc(prev))
                return _exa_debug_fail(why, cap, "descriptor %u list %u: entry %p's back link is not its predecessor",
                                   d->index, u, (void *)l);
            if (l == head) break;
            if (++count > limit)
                return _exa_debug_fail(why, cap, "descriptor %u list %u: more entries than the segments hold (a cycle)",
                                   d->index, u);
            exa_pool_header_t *h = exa_hdr_of_link(l);
            uintptr_t a = (uintptr_t)h, page = exa_page_of(h);
            exa_pool_segment_t *s = exa_segmap_find(a);
            if (u < 2 || s == NULL || s->desc != d)
                return _exa_debug_fail(why, cap, "descriptor %u list %u: entry %p is not in one of its segments", d->index,
                                   u, (void *)h);
            uint32_t pg = (uint32_t)((page - s->base) / EXA_PAGE_SIZE);
            if (s->free_mask & ((uint64_t)1 << pg))
                return _exa_debug_fail(why, cap, "descriptor %u list %u: entry %p is in a free page", d->index, u, (void *)h);
            if (exa_h_type(h) != EXA_HDR_FREE || exa_h_size(h) != u || exa_h_index(h) != d->index)
                return _exa_debug_fail(why, cap, "descriptor %u list %u: entry %p has header %#llx, not a free %u-unit block",
                                   d->index, u, (void *)h, (unsigned long long)exa_h_word(h), u);
            if ((a - page) / EXA_POOL_BLOCK_SIZE + u > EXA_POOL_PAGE_UNITS)
                return _exa_debug_fail(why, cap, "descriptor %u list %u: entry %p crosses its page", d->index, u, (void *)h);
            uint32_t ignored;
            if (!exa_vp_page_chain(d, page, &ignored))
                return _exa_debug_fail(why, cap, "descriptor %u: the page at %#lx of listed entry %p is no chain of headers",
                                   d->index, (unsigned long)page, (void *)h);
            prev = l;
        }
        int bit = (d->nonempty[u >> 6] >> (u & 63)) & 1;
        if (bit != (count != 0))
            return _exa_debug_fail(why, cap, "descriptor %u list %u: %llu entries but non-empty bit %d", d->index, u,
                               (unsigned long long)count, bit);
        listed += count;
    }
    /* Every carved page of the descriptor: free blocks of two units or more are the listed ones. */
    exa_u64 carved = 0, free_blocks = 0;
    const uintptr_t leaf_entries = (uintptr_t)1 << EXA_MAP_LEAF_BITS;
    for (uintptr_t top = 0; top < ((uintptr_t)1 << EXA_MAP_TOP_BITS); top++) {
        exa_atomic(uintptr_t) *leaf = (exa_atomic(uintptr_t) *)exa_atomic_load_acquire(&_exa_segmap[top]);
        if (leaf == NULL) continue;
        for (uintptr_t k = 0; k < leaf_entries; k++) {
            exa_pool_segment_t *s = (exa_pool_segment_t *)exa_atomic_load_acquire(&leaf[k]);
            if (s == NULL || s->desc != d) continue;
            for (uint32_t pg = 0; pg < EXA_POOL_SEGMENT_PAGES; pg++) {
                if (s->free_mask & ((uint64_t)1 << pg)) continue;
                uintptr_t page = s->base + (uintptr_t)pg * EXA_PAGE_SIZE;
                if (exa_track_poisoned((const void *)page, EXA_POOL_BLOCK_SIZE)) continue; /* a free page under ASan */
                uint32_t nfree;
                if (!exa_vp_page_chain(d, page, &nfree) || exa_vp_page_is_big(page)) continue;
                carved++;
                free_blocks += nfree;
            }
        }
    }
    if (free_blocks != listed)
        return _exa_debug_fail(why, cap, "descriptor %u: %llu free blocks in its pages but %llu on its lists", d->index,
                           (unsigned long long)free_blocks, (unsigned long long)listed);
    if (carved != d->small_pages)
        return _exa_debug_fail(why, cap, "descriptor %u: %llu carved pages found, %llu counted", d->index,
                           (unsigned long long)carved, (unsigned long long)d->small_pages);
    return 1;
}

int _exa_debug_pool_validate(char *why, size_t cap) {
    if (why != NULL && cap != 0) why[0] = 0;
    if (exa_atomic_load_acquire(&_exa_pool_state) != 2) return 1;  /* nothing allocated yet */
    for (uint32_t i = 0; i < EXA_DESC_MAX; i++) {
        exa_pool_desc_t *d = exa_desc_by_index(i);
        if (d == NULL) continue;
        _exa_lock(&d->lock);
        int ok = exa_vp_desc(d, why, cap);
        _exa_unlock(&d->lock);
        if (!ok) return 0;
    }
    return 1;
}

#else
typedef int exa_validate_pool_unused; /* ISO C wants a declaration in every file */
#endif
