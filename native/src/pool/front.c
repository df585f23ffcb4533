/* exalloc - native core
 * pool/front.c: per-thread state: the front caches of small blocks, the page caches of one-page big
 * allocations, the tag memo, and their drains (trim, thread exit) (pool/core.h).
 */
#include "pool/core.h"

/* A thread without state of its own points at this one: all zero, never written (empty
 * caches; its segment memo never holds: seg_epoch 0, which the odd epoch never equals), so
 * the fast paths need no NULL test. */
exa_pool_thread_t _exa_thread_none;

exa_thread_local exa_pool_thread_t *_exa_tls_pool = &_exa_thread_none;

static exa_thread_local uint8_t exa_tls_pool_state;

/* Cache bound per block size: about 8 KiB of blocks, 4..64 of them. */
static uint32_t exa_front_limit(uint32_t units) {
    uint32_t n = (8192u / EXA_POOL_BLOCK_SIZE) / units;
    return n < 4 ? 4 : n > 64 ? 64 : n;
}

static void exa_thread_exit(void *value);

/* The calling thread's state, created on first use; NULL when it cannot have one (no
 * memory, or the thread is exiting): it then works without caches. */
exa_noinline exa_pool_thread_t *_exa_thread_create(void) {
    if (exa_tls_pool_state != EXA_TLS_NONE) return NULL;
    exa_tls_pool_state = EXA_TLS_GONE;
    exa_pool_thread_t *t = _exa_os_alloc_aligned(sizeof *t, EXA_CACHE_LINE);
    if (t == NULL) return NULL;
    memset(t, 0, sizeof *t);
    for (uint32_t d = 0; d < EXA_POOL_FRONT_DESCRIPTORS; d++)
        for (uint32_t u = 2; u < EXA_POOL_PAGE_UNITS; u++) t->front[d][u].limit = t->front[d][u].room = exa_front_limit(u);
    t->budget = EXA_FRONT_BUDGET;
    t->seg_key = UINTPTR_MAX; /* no address's key: an address below one segment has key 0 */
    for (uint32_t d = 0; d < EXA_POOL_FRONT_DESCRIPTORS; d++) t->memo_tag[d] = EXA_MEMO_NONE;
    if (_exa_os_at_thread_exit_slot(EXA_OS_THREAD_EXIT_POOL, exa_thread_exit, t) != 0) {
        _exa_os_free_aligned(t);
        return NULL;
    }
    _exa_tag_cache_attach(&t->tags);
    _exa_tls_pool = t;
    exa_tls_pool_state = EXA_TLS_LIVE;
    return t;
}

/* Give `count` blocks from the top of a front cache back to descriptor d. */
void _exa_front_drain(exa_pool_thread_t *t, exa_pool_desc_t *d, exa_front_t *c, uint32_t count) {
    exa_release_t rel = {NULL};
    _exa_lock(&d->lock);
    while (count-- > 0 && c->head != NULL) {
        exa_pool_header_t *h = c->head;
        c->head = *exa_cache_link(h);
        c->room++;
        t->budget += (int64_t)exa_h_size(h) * EXA_POOL_BLOCK_SIZE;
        (void)_exa_small_give(d, h, &rel);
    }
    _exa_unlock(&d->lock);
    _exa_release_run(&rel);
    _exa_pool_changed(d->pool);
}

/* Give t's cached single pages back to their descriptors (still reserved: the pool's
 * page count drops here, not when they were cached). */
static exa_u64 exa_thread_drain_pages(exa_pool_thread_t *t) {
    exa_u64 n = 0;
    for (uint32_t i = 0; i < EXA_POOL_FRONT_DESCRIPTORS; i++) {
        if (t->npages[i] == 0) continue;
        exa_pool_desc_t *d = &_exa_front_descs[i];
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        while (t->npages[i] != 0) {
            _exa_pages_give(d, t->pages[i][--t->npages[i]], 1, &rel);
            n++;
        }
        _exa_unlock(&d->lock);
        _exa_release_run(&rel);
        _exa_pool_changed(d->pool);
    }
    return n;
}

/* Drain every front cache of t; returns the number of blocks (and cached pages). */
exa_u64 _exa_thread_drain(exa_pool_thread_t *t) {
    exa_u64 n = exa_thread_drain_pages(t);
    for (uint32_t i = 0; i < EXA_POOL_FRONT_DESCRIPTORS; i++) {
        for (uint32_t u = 0; u < EXA_POOL_PAGE_UNITS; u++) {
            exa_front_t *c = &t->front[i][u];
            uint32_t count = exa_front_count(c);
            if (count == 0) continue;
            n += count;
            _exa_front_drain(t, &_exa_front_descs[i], c, count);
        }
    }
    return n;
}

static void exa_thread_exit(void *value) {
    exa_pool_thread_t *t = value;
    _exa_tls_pool = &_exa_thread_none;
    exa_tls_pool_state = EXA_TLS_GONE;
    (void)_exa_thread_drain(t);
    _exa_tag_cache_detach(&t->tags);
    _exa_os_free_aligned(t);
}

/* ==========================================================================================
 * Small blocks through the front cache
 * ======================================================================================== */

/* Refill: take up to limit/2 blocks under one lock acquisition, hand one out, cache the
 * rest. NULL with *status when not even one could be had. */
exa_noinline exa_pool_header_t *_exa_front_refill(exa_pool_thread_t *t, exa_pool_desc_t *d, exa_front_t *c,
                                                         uint32_t units, exa_status_t *status) {
    uint32_t want = c->limit / 2;
    exa_pool_header_t *first = NULL;
    _exa_lock(&d->lock);
    for (uint32_t i = 0; i < want; i++) {
        exa_pool_header_t *h = _exa_small_take(d, units, 0, status);
        if (h == NULL) break;
        h->process_billed = 0; /* the fast allocate relies on it (exa_block_put) */
        if (first == NULL) {
            first = h;
        } else {
            *exa_cache_link(h) = c->head;
            c->head = h;
            c->room--;
            t->budget -= (int64_t)units * EXA_POOL_BLOCK_SIZE;
        }
    }
    _exa_unlock(&d->lock);
    _exa_pool_changed(d->pool);
    return first;
}

/* ==========================================================================================
 * Tag counts through the thread's memo
 * ======================================================================================== */

/* The thread's tag slot for (tag, kind): one-entry memos (one per front descriptor) in front
 * of the direct-mapped table, so the common case (the same tag as last time) is one
 * compare. Every count a thread makes goes through them (exa_tag_count_t), so a memo never
 * outlives its slot's key. `memo` is the memo for key's pool (exa_memo_of_kind, or the
 * front descriptor's index). */
exa_noinline void _exa_tag_count_miss(exa_pool_thread_t *t, uint32_t memo, exa_u64 key, int is_free, exa_u64 bytes) {
    exa_tag_slot_t *s = &t->tags.slot[_exa_tag_slot_of(key)];
    if (exa_likely(s->key == key)) {
        /* The key's tag is the plain one (a protected tag then misses the memo: the fast paths
         * compare the tag as passed). */
        t->memo_tag[memo] = (uint32_t)key;
        t->memo_slot[memo] = s;
        _exa_tag_slot_add(s, is_free, bytes);
        return;
    }
    /* The slot changes keys (or is claimed): a memo may point at it, so forget them all. */
    for (uint32_t i = 0; i < EXA_POOL_FRONT_DESCRIPTORS; i++) t->memo_tag[i] = EXA_MEMO_NONE;
    _exa_tag_count_slow(&t->tags, key, is_free, bytes);
}
