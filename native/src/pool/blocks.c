/* exalloc - native core
 * pool/blocks.c: small blocks: the descriptors' free lists (NT's encoded LIST_ENTRY), splitting,
 * coalescing and carving fresh pages (pool/core.h).
 */
#include "pool/core.h"

/* Smallest non-empty list index >= from, or -1. */
static int exa_first_nonempty(const uint64_t *bits, uint32_t from) {
    uint32_t w = from >> 6;
    uint64_t m = bits[w] & (EXA_SEG_ALL_FREE << (from & 63));
    while (m == 0) {
        if (++w == EXA_POOL_PAGE_UNITS / 64) return -1;
        m = bits[w];
    }
    return (int)(w * 64 + exa_ctz64(m));
}

static void exa_list_insert(exa_pool_desc_t *d, exa_pool_header_t *h, uint32_t units) {
    exa_pool_link_t *head = &d->heads[units], *e = exa_link_of(h);
    e->flink = head->flink;
    e->blink = exa_enc(head);
    exa_dec(head->flink)->blink = exa_enc(e);
    head->flink = exa_enc(e);
    exa_bit_set(d->nonempty, units);
}

/* Check a listed block's links and header (bug check 0x19/0x03 or 0x0D). 1 when sound. */
static int exa_list_check(exa_pool_header_t *h, uint32_t units) {
    exa_pool_link_t *e = exa_link_of(h);
    uintptr_t fb = exa_dec(e->flink)->blink, bf = exa_dec(e->blink)->flink;
    if (exa_unlikely(fb != exa_enc(e) || bf != exa_enc(e))) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_LIST_CORRUPT, (uintptr_t)e, fb, bf);
        return 0;
    }
    if (exa_unlikely(exa_h_type(h) != EXA_HDR_FREE || exa_h_size(h) != units)) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_FREE_MODIFIED, (uintptr_t)h, exa_h_word(h), units);
        return 0;
    }
    return 1;
}

static void exa_list_remove(exa_pool_desc_t *d, exa_pool_header_t *h, uint32_t units) {
    exa_pool_link_t *e = exa_link_of(h);
    exa_dec(e->blink)->flink = e->flink;
    exa_dec(e->flink)->blink = e->blink;
    if (d->heads[units].flink == exa_enc(&d->heads[units])) exa_bit_clear(d->nonempty, units);
}

/* Split a `have`-unit block at h: keep `units` units, list the remainder. */
static void exa_split(exa_pool_desc_t *d, exa_pool_header_t *h, uint32_t have, uint32_t units) {
    uint32_t rest = have - units;
    exa_pool_header_t *r = exa_hdr_at(h, (int32_t)units);
    exa_track_free_block(r, rest);
    exa_h_init(r, units, d->index, rest, EXA_HDR_FREE);
    exa_pool_header_t *after = exa_hdr_at(h, (int32_t)have);
    if ((uintptr_t)after != exa_page_of(h) + EXA_PAGE_SIZE) exa_h_set_prev(after, rest);
    if (rest >= 2) exa_list_insert(d, r, rest);
    exa_h_set_size(h, units);
}

/* A block of exactly `units` units, marked EXA_HDR_CACHED (owned, not coalescable). NULL
 * with *status when the pool is at its limit, the host has no memory, or a list check
 * failed (EXA_STATUS_BUGCHECK). */
exa_pool_header_t *_exa_small_take(exa_pool_desc_t *d, uint32_t units, int must_succeed, exa_status_t *status) {
    int i = exa_first_nonempty(d->nonempty, units);
    exa_pool_header_t *h;
    if (i >= 0) {
        h = exa_hdr_of_link(exa_dec(d->heads[i].flink));
        if (!exa_list_check(h, (uint32_t)i)) {
            *status = EXA_STATUS_BUGCHECK;
            return NULL;
        }
        exa_list_remove(d, h, (uint32_t)i);
        if ((uint32_t)i > units) exa_split(d, h, (uint32_t)i, units);
    } else {
        uintptr_t page = _exa_pages_take(d, 1, must_succeed, status);
        if (page == 0) return NULL;
        d->small_pages++;
        h = (exa_pool_header_t *)page;
        exa_track_unpoison(h, EXA_POOL_BLOCK_SIZE);
        exa_h_init(h, 0, d->index, 0, EXA_HDR_CACHED);
        exa_split(d, h, EXA_POOL_PAGE_UNITS, units);
    }
    exa_h_set_type(h, EXA_HDR_CACHED);
    exa_track_free_block(h, units);
    return h;
}

/* Return an owned block (allocated or cached) to the free lists, coalescing with free
 * neighbours; a page left wholly free goes back to its segment. 0 after a failed check
 * (the block is then left out of the pool). */
int _exa_small_give(exa_pool_desc_t *d, exa_pool_header_t *h, exa_release_t *rel) {
    uintptr_t page = exa_page_of(h), end = page + EXA_PAGE_SIZE;
    uint32_t size = exa_h_size(h), prev = exa_h_prev(h);
    exa_pool_header_t *next = exa_hdr_at(h, (int32_t)size), *start = h;
    exa_pool_header_t *before = prev != 0 ? exa_hdr_at(h, -(int32_t)prev) : NULL;
    /* Check both neighbours before changing anything. */
    if (exa_unlikely((uintptr_t)before != 0 && (uintptr_t)before < page)) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_PREVIOUS_TOO_LARGE, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    if (exa_unlikely(before != NULL && exa_h_size(before) != prev)) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_NEIGHBOURS_DISAGREE, (uintptr_t)before, 0, (uintptr_t)h);
        return 0;
    }
    int next_free = (uintptr_t)next < end && exa_h_type(next) == EXA_HDR_FREE;
    int before_free = before != NULL && exa_h_type(before) == EXA_HDR_FREE;
    if (next_free && exa_h_size(next) >= 2 && !exa_list_check(next, exa_h_size(next))) return 0;
    if (before_free && prev >= 2 && !exa_list_check(before, prev)) return 0;
    /* Mark it free first (NT does): if it merges into the block before it, its stale header
     * still says "free", so a second free of it is caught as one (0xC2/0x07). */
    exa_h_set_type(h, EXA_HDR_FREE);
    if (next_free) {
        uint32_t n = exa_h_size(next);
        if (n >= 2) exa_list_remove(d, next, n);
        size += n;
    }
    if (before_free) {
        if (prev >= 2) exa_list_remove(d, before, prev);
        start = before;
        size += prev;
    }
    if (size == EXA_POOL_PAGE_UNITS) {
        d->small_pages--;
        _exa_pages_give(d, page, 1, rel);
        return 1;
    }
    exa_h_set_type(start, EXA_HDR_FREE);
    exa_h_set_size(start, size);
    exa_track_free_block(start, size);
    exa_pool_header_t *after = exa_hdr_at(start, (int32_t)size);
    if ((uintptr_t)after != end) exa_h_set_prev(after, size);
    if (size >= 2) exa_list_insert(d, start, size);
    return 1;
}
