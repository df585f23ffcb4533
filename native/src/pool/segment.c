/* exalloc - native core
 * pool/segment.c: descriptors (NT's POOL_DESCRIPTOR), segments of 64 pages, the segment map and
 * runs of free pages (pool/core.h).
 */
#include "pool/core.h"

exa_pool_desc_t _exa_front_descs[EXA_POOL_FRONT_DESCRIPTORS];

exa_atomic(uintptr_t) _exa_descs[EXA_DESC_MAX];  /* index -> exa_pool_desc_t * */

static exa_spinlock_t exa_node_lock;                    /* creation of node descriptors */

exa_atomic(uint32_t) _exa_executable_refused;     /* the host refused PROT_EXEC once */

exa_atomic(uint32_t) _exa_pool_state;             /* 0 not yet, 1 running, 2 ready */

static void exa_desc_init(exa_pool_desc_t *d, uint32_t index, int32_t kind, int executable, int32_t node) {
    memset(d, 0, sizeof *d);
    exa_spinlock_init(&d->lock);
    for (uint32_t i = 0; i < EXA_POOL_PAGE_UNITS; i++) d->heads[i].flink = d->heads[i].blink = exa_enc(&d->heads[i]);
    d->pool = _exa_pool_of_kind(kind);
    d->kind = kind;
    d->type_bits = (kind == EXA_POOL_KIND_NON_PAGED && !executable) ? EXA_PT_NX : 0;
    d->node = node;
    d->index = index;
    d->executable = executable ? 1u : 0u;
}

exa_noinline void _exa_pool_init_slow(void) {
    uint32_t expected = 0;
    if (exa_atomic_cas_strong_acq_rel(&_exa_pool_state, &expected, 1u)) {
        _exa_init();
        exa_desc_init(&_exa_front_descs[EXA_DESC_NX], EXA_DESC_NX, EXA_POOL_KIND_NON_PAGED, 0, -1);
        exa_desc_init(&_exa_front_descs[EXA_DESC_EXECUTE], EXA_DESC_EXECUTE, EXA_POOL_KIND_NON_PAGED, 1, -1);
        exa_desc_init(&_exa_front_descs[EXA_DESC_PAGED], EXA_DESC_PAGED, EXA_POOL_KIND_PAGED, 0, -1);
        for (uint32_t i = 0; i < EXA_POOL_FRONT_DESCRIPTORS; i++)
            exa_atomic_store_release(&_exa_descs[i], (uintptr_t)&_exa_front_descs[i]);
        exa_atomic_store_release(&_exa_pool_state, 2u);
        return;
    }
    while (exa_atomic_load_acquire(&_exa_pool_state) != 2) _exa_os_yield();
}

/* The descriptor for a node-bound non-paged request, created on first use (NULL: no memory). */
exa_noinline exa_pool_desc_t *_exa_desc_for_node(uint32_t node, int executable) {
    uint32_t index = 3 + 2 * node + (executable ? 1u : 0u);
    exa_pool_desc_t *d = exa_desc_by_index(index);
    if (d != NULL) return d;
    _exa_lock(&exa_node_lock);
    d = exa_desc_by_index(index);
    if (d == NULL) {
        d = _exa_os_alloc_aligned(sizeof *d, EXA_CACHE_LINE);
        if (d != NULL) {
            exa_desc_init(d, index, EXA_POOL_KIND_NON_PAGED, executable, (int32_t)node);
            exa_atomic_store_release(&_exa_descs[index], (uintptr_t)d);
        }
    }
    _exa_unlock(&exa_node_lock);
    return d;
}

exa_atomic(uintptr_t) _exa_segmap[(size_t)1 << EXA_MAP_TOP_BITS];
exa_atomic(uint32_t) _exa_segment_epoch = 1; /* odd, never 0: _exa_thread_none's seg_epoch 0 never matches */

/* 1 on success, 0 when the address is out of range or no leaf could be made. */
static int exa_segmap_set(uintptr_t a, exa_pool_segment_t *s) {
    uintptr_t key = a >> EXA_POOL_SEGMENT_SHIFT;
    if (key >> EXA_MAP_KEY_BITS) return 0;
    exa_atomic(uintptr_t) *slot = &_exa_segmap[key >> EXA_MAP_LEAF_BITS];
    uintptr_t leaf = exa_atomic_load_acquire(slot);
    if (leaf == 0) {
        size_t bytes = sizeof(uintptr_t) << EXA_MAP_LEAF_BITS;
        void *fresh = _exa_os_pages_map(bytes, _exa_os_page_size(), 0, NULL);
        if (fresh == NULL) return 0;
        uintptr_t expected = 0;
        if (exa_atomic_cas_strong_acq_rel(slot, &expected, (uintptr_t)fresh)) {
            leaf = (uintptr_t)fresh;
        } else {
            _exa_os_pages_unmap(fresh, bytes);
            leaf = expected;
        }
    }
    exa_atomic(uintptr_t) *entries = (exa_atomic(uintptr_t) *)leaf;
    exa_atomic_store_release(&entries[key & (((uintptr_t)1 << EXA_MAP_LEAF_BITS) - 1)], (uintptr_t)s);
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * Segments: mapping, releasing, list moves (descriptor lock for the lists).
 * ---------------------------------------------------------------------------------------- */

void _exa_seg_unlink(exa_pool_segment_t **head, exa_pool_segment_t *s) {
    if (s->prev != NULL) s->prev->next = s->next;
    else *head = s->next;
    if (s->next != NULL) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void exa_seg_push(exa_pool_segment_t **head, exa_pool_segment_t *s) {
    s->prev = NULL;
    s->next = *head;
    if (*head != NULL) (*head)->prev = s;
    *head = s;
}

/* exalloc's own choice (docs/pool.md#placement): executable pages are a hardening question,
 * not a functional one. When the host refuses them as a policy, executable requests fall
 * back to NX memory from then on, said once on stderr (stats.executable tells programs). A
 * mapping that failed for want of memory is no refusal: that request fails, the next tries
 * executable memory again. */
void _exa_pool_exec_refused(void) {
    if (exa_atomic_exchange_acq_rel(&_exa_executable_refused, 1u) == 0) {
        static const char warning[] = "exalloc: the host refused executable memory; executable pool types get NX memory\n";
        _exa_os_write_stderr(warning, sizeof warning - 1);
    }
}

/* Map, bind, lock and register a new segment for d (no lock held). NULL with *status. */
static exa_pool_segment_t *exa_segment_create(exa_pool_desc_t *d, exa_status_t *status) {
    *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
    exa_pool_t *pool = d->pool;
    exa_pool_segment_t *s = _exa_os_alloc_aligned(sizeof *s, sizeof(void *));
    if (s == NULL) return NULL;
    int exec = d->executable && exa_atomic_load_relaxed(&_exa_executable_refused) == 0, why = 0;
    void *base = _exa_os_pages_map(EXA_POOL_SEGMENT_SIZE, EXA_POOL_SEGMENT_SIZE, exec, &why);
    if (base == NULL && exec && why == EXA_OS_MAP_EXEC_REFUSED) {
        _exa_pool_exec_refused();
        base = _exa_os_pages_map(EXA_POOL_SEGMENT_SIZE, EXA_POOL_SEGMENT_SIZE, 0, NULL);
    }
    if (base == NULL) {
        _exa_os_free_aligned(s);
        return NULL;
    }
    if (d->node >= 0 && !_exa_pool_bind_node(pool, base, EXA_POOL_SEGMENT_SIZE, (uint32_t)d->node)) goto fail;
    s->locked = 0;
    if (pool->kind == EXA_POOL_KIND_NON_PAGED) {
        uint32_t policy = exa_atomic_load_relaxed(&pool->xlock_policy);
        if (policy != EXA_POOL_LOCK_NONE) {
            int err = _exa_os_pages_lock(base, EXA_POOL_SEGMENT_SIZE);
            _exa_pool_note_lock(pool, EXA_POOL_SEGMENT_SIZE, err);
            if (err == 0) s->locked = 1;
            else if (policy == EXA_POOL_LOCK_REQUIRED) {
                *status = EXA_STATUS_WORKING_SET_QUOTA;
                goto fail;
            }
        }
    }
    s->base = (uintptr_t)base;
    s->free_mask = EXA_SEG_ALL_FREE;
    s->desc = d;
    s->front_key = d->index < EXA_POOL_FRONT_DESCRIPTORS ? d->index : 0x100u | d->index;
    s->next = s->prev = NULL;
    s->where = EXA_SEG_PARTIAL;
    if (!exa_segmap_set(s->base, s)) goto fail_locked;
    exa_track_poison(base, EXA_POOL_SEGMENT_SIZE);
    exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)EXA_POOL_SEGMENT_SIZE);
    return s;
fail_locked:
    if (s->locked) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - EXA_POOL_SEGMENT_SIZE);
fail:
    _exa_os_pages_unmap(base, EXA_POOL_SEGMENT_SIZE);
    _exa_os_free_aligned(s);
    return NULL;
}

/* Unregister and unmap a segment that is wholly free and on no list (no lock held). */
static void exa_segment_release(exa_pool_segment_t *s) {
    exa_pool_t *pool = s->desc->pool;
    (void)exa_segmap_set(s->base, NULL);
    /* Every thread's segment memo (pool/core.h) is stale from here on. */
    exa_atomic_fetch_add_relaxed(&_exa_segment_epoch, 2u);
    exa_track_unpoison((void *)s->base, EXA_POOL_SEGMENT_SIZE);
    _exa_os_pages_unmap((void *)s->base, EXA_POOL_SEGMENT_SIZE);
    exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)0 - EXA_POOL_SEGMENT_SIZE);
    if (s->locked) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - EXA_POOL_SEGMENT_SIZE);
    _exa_os_free_aligned(s);
}

void _exa_release_run(exa_release_t *r) {
    while (r->segments != NULL) {
        exa_pool_segment_t *s = r->segments;
        r->segments = s->next;
        exa_segment_release(s);
    }
}

/* ------------------------------------------------------------------------------------------
 * Pages (descriptor lock held)
 * ---------------------------------------------------------------------------------------- */

/* Start of a run of k (1..64) set bits in mask, or -1. */
static int exa_run_find(uint64_t mask, uint32_t k) {
    uint64_t r = mask;
    for (uint32_t len = 1; len < k && r != 0;) {
        uint32_t step = len < k - len ? len : k - len;
        r &= r >> step;
        len += step;
    }
    return r != 0 ? (int)exa_ctz64(r) : -1;
}

/* k free pages from a segment already mapped, or 0. Prefers partly used segments. */
static uintptr_t exa_pages_find(exa_pool_desc_t *d, uint32_t k) {
    exa_pool_segment_t *s;
    int at = -1;
    for (s = d->partial; s != NULL; s = s->next)
        if ((at = exa_run_find(s->free_mask, k)) >= 0) break;
    if (s == NULL) {
        s = d->empty;
        if (s == NULL) return 0;
        _exa_seg_unlink(&d->empty, s);
        d->empty_count--;
        s->where = EXA_SEG_PARTIAL;
        exa_seg_push(&d->partial, s);
        at = 0;
    }
    s->free_mask &= ~exa_run_mask(k, (uint32_t)at);
    if (s->free_mask == 0) {
        _exa_seg_unlink(&d->partial, s);
        s->where = EXA_SEG_FULL;
    }
    return s->base + ((uintptr_t)at << EXA_PAGE_SHIFT);
}

/* k pages for d, within the pool's capacity (plus the must-succeed reserve). The lock is
 * held on entry and on return, and dropped while a new segment is mapped. 0 with *status
 * on failure. */
uintptr_t _exa_pages_take(exa_pool_desc_t *d, uint32_t k, int must_succeed, exa_status_t *status) {
    if (!_exa_pool_reserve(d->pool, k, must_succeed)) {
        *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
        return 0;
    }
    for (;;) {
        uintptr_t a = exa_pages_find(d, k);
        if (a != 0) return a;
        _exa_unlock(&d->lock);
        exa_pool_segment_t *s = exa_segment_create(d, status);
        _exa_lock(&d->lock);
        if (s == NULL) {
            _exa_pool_unreserve(d->pool, k);
            return 0;
        }
        d->segments++;
        exa_seg_push(&d->partial, s);
    }
}

/* Give k pages back to their segment; a segment left wholly free is kept or queued on
 * `rel` for release after the unlock. */
void _exa_pages_give(exa_pool_desc_t *d, uintptr_t a, uint32_t k, exa_release_t *rel) {
    exa_pool_segment_t *s = exa_segmap_find(a);
    uint32_t at = (uint32_t)((a - s->base) >> EXA_PAGE_SHIFT);
    exa_track_poison((void *)a, (size_t)k << EXA_PAGE_SHIFT);
    if (s->where == EXA_SEG_FULL) {
        s->where = EXA_SEG_PARTIAL;
        exa_seg_push(&d->partial, s);
    }
    s->free_mask |= exa_run_mask(k, at);
    _exa_pool_unreserve(d->pool, k);
    if (s->free_mask != EXA_SEG_ALL_FREE) return;
    _exa_seg_unlink(&d->partial, s);
    if (d->empty_count < exa_atomic_load_relaxed(&d->pool->xcached_segments)) {
        s->where = EXA_SEG_EMPTY;
        exa_seg_push(&d->empty, s);
        d->empty_count++;
    } else {
        d->segments--;
        s->next = rel->segments;
        rel->segments = s;
    }
}

/* ------------------------------------------------------------------------------------------
 * Fork (base/fork.c, docs/conventions.md#fork): the node lock, then every descriptor's lock,
 * are held across fork. In the child the blocks and pages other threads held in their front
 * and page caches stay where they are, marked cached: nobody hands them out again (they are
 * abandoned, never given to two owners), and their pages stay counted as in use.
 * ---------------------------------------------------------------------------------------- */
static void exa_segment_fork_prepare(void) {
    /* A thread may be initialising the pool right now: descriptors exist only after. */
    uint32_t state;
    while ((state = exa_atomic_load_acquire(&_exa_pool_state)) == 1) _exa_os_yield();
    _exa_lock(&exa_node_lock);
    if (state != 2) return;
    for (uint32_t i = 0; i < EXA_DESC_MAX; i++) {
        exa_pool_desc_t *d = exa_desc_by_index(i);
        if (d != NULL) _exa_lock(&d->lock);
    }
}
static void exa_segment_fork_parent(void) {
    if (exa_atomic_load_acquire(&_exa_pool_state) == 2) {
        for (uint32_t i = EXA_DESC_MAX; i-- > 0;) {
            exa_pool_desc_t *d = exa_desc_by_index(i);
            if (d != NULL) _exa_unlock(&d->lock);
        }
    }
    _exa_unlock(&exa_node_lock);
}
static void exa_segment_fork_child(void) {
    /* An initialisation that a vanished thread had begun after prepare looked: start over. */
    if (exa_atomic_load_acquire(&_exa_pool_state) == 1) exa_atomic_store_release(&_exa_pool_state, 0u);
    if (exa_atomic_load_acquire(&_exa_pool_state) == 2) {
        for (uint32_t i = 0; i < EXA_DESC_MAX; i++) {
            exa_pool_desc_t *d = exa_desc_by_index(i);
            if (d != NULL) _exa_lock_reset(&d->lock);
        }
    }
    _exa_lock_reset(&exa_node_lock);
}
static const exa_fork_handler_t exa_segment_fork = {EXA_FORK_RANK_SEGMENTS, exa_segment_fork_prepare,
                                                    exa_segment_fork_parent, exa_segment_fork_child};
EXA_ON_LOAD(exa_segment_fork_load) { _exa_fork_register(&exa_segment_fork); }
