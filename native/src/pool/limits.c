/* exalloc - native core
 * pool/limits.c: the two pools (non-paged, paged) as NT's memory manager sees them:
 * capacity, priorities as watermarks, must-succeed reserve (docs/pool.md#failure), the Low/High pool
 * condition events (docs/pool.md#conditions) and the locked-memory record (the statistics
 * are in walk.c, beside the descriptors they sum).
 *
 * Capacity is counted in pages held by blocks: a page carved into small blocks, or a page
 * of a big allocation, from the moment the allocator takes it until it gives it back
 * (xpages). A page is taken with a compare-and-swap against the limit, so the pool never
 * holds more than `capacity` pages (capacity + reserve for must-succeed requests), whatever
 * the number of threads. Free capacity = capacity - xpages.
 *
 * Conditions, with hysteresis (low_watermark <= low_clear <= high_clear <= high_watermark):
 *
 *     Low:  set when free <  low_watermark,   cleared when free >= low_clear
 *     High: set when free >= high_watermark,  cleared when free <  high_clear
 *
 * Every page-level change calls _exa_pool_changed (docs/pool.md#conditions: conditions are
 * evaluated when the pool grows or shrinks by pages, not on every small allocation), which recomputes the bits from
 * xpages and installs them with a CAS on xcondition (bits | change count << 2). Evaluations
 * race with page changes, so each one re-reads xpages after its CAS and starts over if it
 * moved: the last evaluation to finish has seen the final count, so the bits always settle
 * on the truth. Delivery is separate: whoever finds the delivered bits stale and wins the
 * xdelivering flag runs the callbacks, one change at a time, outside every lock, until the
 * delivered bits match the current ones; others just leave (the winner picks their change
 * up). Callbacks therefore see every settled state in order and never two at once.
 *
 * Locks: the callback-table lock only (never held while a callback runs). */
#include "pool/pool.h"

#include <errno.h>
#include <string.h>

static exa_pool_t exa_pools[2];
static exa_atomic(uint32_t) exa_pools_state;  /* 0 not yet, 1 running, 2 ready */

exa_inline exa_u64 exa_pages_down(exa_u64 bytes) { return bytes >> EXA_PAGE_SHIFT; }
exa_inline exa_u64 exa_pages_up(exa_u64 bytes) {
    return (bytes >> EXA_PAGE_SHIFT) + ((bytes & (EXA_PAGE_SIZE - 1)) != 0);
}

static void exa_pool_defaults(exa_pool_t *p, int32_t kind) {
    /* NT x64 sizes non-paged pool at up to 75% of RAM; paged pool is bounded by commit,
     * here by RAM. Watermarks: Low below 10% free (cleared at 15%), High from 50% free
     * (cleared below 45%); Normal-priority requests fail below 2% free; must-succeed
     * requests may use 16 KiB beyond the capacity (the historical reserve). */
    exa_u64 ram = _exa_os_physical_memory();
    if (ram == 0) ram = (exa_u64)1 << 40;
    exa_u64 cap = exa_pages_down(kind == EXA_POOL_KIND_NON_PAGED ? ram / 4 * 3 : ram);
    p->kind = kind;
    exa_atomic_store_relaxed(&p->xcapacity, cap);
    exa_atomic_store_relaxed(&p->xlow, cap / 10);
    exa_atomic_store_relaxed(&p->xlow_clear, cap / 100 * 15);
    exa_atomic_store_relaxed(&p->xhigh_clear, cap / 100 * 45);
    exa_atomic_store_relaxed(&p->xhigh, cap / 2);
    exa_atomic_store_relaxed(&p->xcritical, cap / 50);
    exa_atomic_store_relaxed(&p->xreserve, (exa_u64)4);
    exa_atomic_store_relaxed(&p->xlock_policy, (uint32_t)EXA_POOL_LOCK_BEST_EFFORT);
    exa_atomic_store_relaxed(&p->xcached_segments, 2u);
    /* Empty pool: all free, so High holds from the start (no callback for the initial state). */
    exa_atomic_store_relaxed(&p->xcondition, (uint32_t)EXA_POOL_CONDITION_HIGH);
    exa_atomic_store_relaxed(&p->xdelivered, (uint32_t)EXA_POOL_CONDITION_HIGH);
}

exa_pool_t *_exa_pool_of_kind(int32_t kind) {
    if (exa_unlikely(exa_atomic_load_acquire(&exa_pools_state) != 2)) {
        uint32_t expected = 0;
        if (exa_atomic_cas_strong_acq_rel(&exa_pools_state, &expected, 1u)) {
            exa_pool_defaults(&exa_pools[0], EXA_POOL_KIND_NON_PAGED);
            exa_pool_defaults(&exa_pools[1], EXA_POOL_KIND_PAGED);
            exa_atomic_store_release(&exa_pools_state, 2u);
        } else {
            while (exa_atomic_load_acquire(&exa_pools_state) != 2) _exa_os_yield();
        }
    }
    return &exa_pools[kind & 1];
}

/* ==========================================================================================
 * Capacity and priorities
 * ======================================================================================== */

int _exa_pool_reserve(exa_pool_t *p, exa_u64 pages, int must_succeed) {
    exa_u64 limit = exa_atomic_load_relaxed(&p->xcapacity);
    if (must_succeed) limit += exa_atomic_load_relaxed(&p->xreserve);
    exa_u64 cur = exa_atomic_load_relaxed(&p->xpages);
    do {
        if (pages > limit || cur > limit - pages) return 0;
    } while (!exa_atomic_cas_strong_acq_rel(&p->xpages, &cur, cur + pages));
    exa_u64 now = cur + pages, peak = exa_atomic_load_relaxed(&p->xpeak);
    while (now > peak && !exa_atomic_cas_strong_acq_rel(&p->xpeak, &peak, now)) {
    }
    return 1;
}

void _exa_pool_unreserve(exa_pool_t *p, exa_u64 pages) { exa_atomic_fetch_add_acq_rel(&p->xpages, (exa_u64)0 - pages); }


int _exa_pool_priority_allows(exa_pool_t *p, int32_t priority) {
    if (priority >= EXA_POOL_PRIORITY_HIGH) return 1;
    exa_u64 floor = priority >= EXA_POOL_PRIORITY_NORMAL ? exa_atomic_load_relaxed(&p->xcritical)
                                                          : exa_atomic_load_relaxed(&p->xlow);
    return _exa_pool_free_pages(p, exa_atomic_load_relaxed(&p->xpages)) >= floor;
}

int _exa_pool_bind_node(exa_pool_t *p, void *a, size_t bytes, uint32_t node) {
    int err = _exa_os_pages_bind_node(a, bytes, node);
    if (err == 0) return 1;
    /* The host cannot bind at all: no NUMA policy in the kernel (ENOSYS: kernels built
     * without it, emulators, hosts whose platform layer has no binding) or not allowed to
     * (EPERM: seccomp profiles of containers). The node exists, so its request is served
     * from wherever the host places the pages, as NT serves a preferred node from another
     * node when it cannot use the preferred one, and the refusal is counted
     * (exa_pool_stats_t.node_refusals). Any other error is about the node itself (EINVAL:
     * outside the process's allowed nodes): the strict request fails. */
    if (err == ENOSYS || err == EPERM) {
        exa_atomic_fetch_add_relaxed(&p->xnode_refusals, (exa_u64)1);
        return 1;
    }
    return 0;
}

void _exa_pool_note_lock(exa_pool_t *p, exa_u64 bytes, int error) {
    if (error == 0) {
        exa_atomic_fetch_add_relaxed(&p->xlocked, bytes);
        return;
    }
    /* mlock's refusals (ENOMEM over RLIMIT_MEMLOCK, EPERM, EAGAIN) are what NT reports for
     * VirtualLock beyond the working set: STATUS_WORKING_SET_QUOTA. */
    exa_atomic_fetch_add_relaxed(&p->xlock_failures, (exa_u64)1);
    exa_atomic_store_relaxed(&p->xlock_status,
                             (uint32_t)(error == EINVAL ? EXA_STATUS_UNSUCCESSFUL : EXA_STATUS_WORKING_SET_QUOTA));
}

/* ==========================================================================================
 * Conditions
 * ======================================================================================== */

enum { EXA_CALLBACKS = 16 };

typedef struct exa_callback_s {
    exa_pool_condition_fn fn;
    void *context;
    uint32_t cookie;  /* 0 = empty slot */
} exa_callback_t;

static exa_spinlock_t exa_callback_lock;
static exa_callback_t exa_callbacks[EXA_CALLBACKS];
static uint32_t exa_next_cookie = 1;
static exa_atomic(uint32_t) exa_delivering_total;   /* deliverers running, both pools */
static exa_thread_local uint32_t exa_tls_delivering; /* 1 inside a callback on this thread */

static uint32_t exa_condition_target(exa_pool_t *p, uint32_t bits, exa_u64 used) {
    exa_u64 free = _exa_pool_free_pages(p, used);
    if (free < exa_atomic_load_relaxed(&p->xlow)) bits |= EXA_POOL_CONDITION_LOW;
    else if (free >= exa_atomic_load_relaxed(&p->xlow_clear)) bits &= ~(uint32_t)EXA_POOL_CONDITION_LOW;
    if (free >= exa_atomic_load_relaxed(&p->xhigh)) bits |= EXA_POOL_CONDITION_HIGH;
    else if (free < exa_atomic_load_relaxed(&p->xhigh_clear)) bits &= ~(uint32_t)EXA_POOL_CONDITION_HIGH;
    return bits;
}

static void exa_deliver(exa_pool_t *p) {
    for (;;) {
        uint32_t expected = 0;
        if (!exa_atomic_cas_strong_acq_rel(&p->xdelivering, &expected, 1u)) return;
        exa_atomic_fetch_add_acq_rel(&exa_delivering_total, 1u);
        for (;;) {
            uint32_t bits = exa_atomic_load_acquire(&p->xcondition) & EXA_CONDITION_BITS;
            if (bits == exa_atomic_load_relaxed(&p->xdelivered)) break;
            exa_atomic_store_relaxed(&p->xdelivered, bits);
            exa_callback_t table[EXA_CALLBACKS];
            _exa_lock(&exa_callback_lock);
            memcpy(table, exa_callbacks, sizeof table);
            _exa_unlock(&exa_callback_lock);
            exa_tls_delivering = 1;
            for (uint32_t i = 0; i < EXA_CALLBACKS; i++)
                if (table[i].cookie != 0) table[i].fn(p->kind, bits, table[i].context);
            exa_tls_delivering = 0;
        }
        exa_atomic_fetch_add_acq_rel(&exa_delivering_total, (uint32_t)-1);
        exa_atomic_store_seq_cst(&p->xdelivering, 0u);
        /* A change that landed after our last look, while we still held the flag, found the
         * flag taken and left: look once more. */
        if ((exa_atomic_load_seq_cst(&p->xcondition) & EXA_CONDITION_BITS) == exa_atomic_load_relaxed(&p->xdelivered))
            return;
    }
}

void _exa_pool_changed(exa_pool_t *p) {
    for (;;) {
        exa_u64 used = exa_atomic_load_seq_cst(&p->xpages);
        uint32_t s = exa_atomic_load_acquire(&p->xcondition);
        uint32_t bits = exa_condition_target(p, s & EXA_CONDITION_BITS, used);
        if (bits != (s & EXA_CONDITION_BITS) &&
            !exa_atomic_cas_strong_acq_rel(&p->xcondition, &s, ((s & ~(uint32_t)EXA_CONDITION_BITS) + 4u) | bits))
            continue;
        if (exa_atomic_load_seq_cst(&p->xpages) == used) break;
    }
    if ((exa_atomic_load_acquire(&p->xcondition) & EXA_CONDITION_BITS) != exa_atomic_load_relaxed(&p->xdelivered))
        exa_deliver(p);
}

uint32_t exa_pool_condition(int32_t pool) {
    if (pool != EXA_POOL_KIND_NON_PAGED && pool != EXA_POOL_KIND_PAGED) return 0;
    return exa_atomic_load_acquire(&_exa_pool_of_kind(pool)->xcondition) & EXA_CONDITION_BITS;
}

exa_status_t exa_pool_register_condition(exa_pool_condition_fn fn, void *context, uint32_t *cookie) {
    if (fn == NULL || cookie == NULL) return EXA_STATUS_INVALID_PARAMETER;
    exa_status_t st = EXA_STATUS_INSUFFICIENT_RESOURCES;
    _exa_lock(&exa_callback_lock);
    for (uint32_t i = 0; i < EXA_CALLBACKS; i++) {
        if (exa_callbacks[i].cookie != 0) continue;
        uint32_t c = exa_next_cookie++;
        if (exa_next_cookie == 0) exa_next_cookie = 1;
        exa_callbacks[i].fn = fn;
        exa_callbacks[i].context = context;
        exa_callbacks[i].cookie = c;
        *cookie = c;
        st = EXA_STATUS_SUCCESS;
        break;
    }
    _exa_unlock(&exa_callback_lock);
    return st;
}

exa_status_t exa_pool_unregister_condition(uint32_t cookie) {
    exa_status_t st = EXA_STATUS_INVALID_PARAMETER;
    if (cookie == 0) return st;
    _exa_lock(&exa_callback_lock);
    for (uint32_t i = 0; i < EXA_CALLBACKS; i++) {
        if (exa_callbacks[i].cookie == cookie) {
            memset(&exa_callbacks[i], 0, sizeof exa_callbacks[i]);
            st = EXA_STATUS_SUCCESS;
        }
    }
    _exa_unlock(&exa_callback_lock);
    /* A delivery that copied the table before the removal may still call it: wait for it,
     * unless this thread is that delivery (a callback unregistering itself). */
    if (st == EXA_STATUS_SUCCESS && !exa_tls_delivering)
        while (exa_atomic_load_seq_cst(&exa_delivering_total) != 0) _exa_os_yield();
    return st;
}

/* ==========================================================================================
 * Limits and statistics
 * ======================================================================================== */

exa_status_t exa_pool_get_limits(int32_t pool, exa_pool_limits_t *out) {
    if (!_exa_pool_kind_valid(pool)) return EXA_STATUS_INVALID_PARAMETER_1;
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER_2;
    exa_pool_t *p = _exa_pool_of_kind(pool);
    memset(out, 0, sizeof *out);
    out->capacity = exa_atomic_load_relaxed(&p->xcapacity) << EXA_PAGE_SHIFT;
    out->low_watermark = exa_atomic_load_relaxed(&p->xlow) << EXA_PAGE_SHIFT;
    out->low_clear = exa_atomic_load_relaxed(&p->xlow_clear) << EXA_PAGE_SHIFT;
    out->high_clear = exa_atomic_load_relaxed(&p->xhigh_clear) << EXA_PAGE_SHIFT;
    out->high_watermark = exa_atomic_load_relaxed(&p->xhigh) << EXA_PAGE_SHIFT;
    out->critical_watermark = exa_atomic_load_relaxed(&p->xcritical) << EXA_PAGE_SHIFT;
    out->must_succeed_reserve = exa_atomic_load_relaxed(&p->xreserve) << EXA_PAGE_SHIFT;
    out->lock_policy = exa_atomic_load_relaxed(&p->xlock_policy);
    out->cached_segments = exa_atomic_load_relaxed(&p->xcached_segments);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_pool_set_limits(int32_t pool, const exa_pool_limits_t *in) {
    if (!_exa_pool_kind_valid(pool)) return EXA_STATUS_INVALID_PARAMETER_1;
    if (in == NULL) return EXA_STATUS_INVALID_PARAMETER_2;
    exa_u64 cap = exa_pages_down(in->capacity), low = exa_pages_up(in->low_watermark);
    exa_u64 low_clear = exa_pages_up(in->low_clear), high_clear = exa_pages_up(in->high_clear);
    exa_u64 high = exa_pages_up(in->high_watermark), critical = exa_pages_up(in->critical_watermark);
    if (in->capacity > ((exa_u64)1 << 56) || in->must_succeed_reserve > ((exa_u64)1 << 40) ||
        !(critical <= low && low <= low_clear && low_clear <= high_clear && high_clear <= high && high <= cap) ||
        in->lock_policy > EXA_POOL_LOCK_NONE || in->cached_segments > 64)
        return EXA_STATUS_INVALID_PARAMETER_2;
    exa_pool_t *p = _exa_pool_of_kind(pool);
    exa_atomic_store_relaxed(&p->xcapacity, cap);
    exa_atomic_store_relaxed(&p->xlow, low);
    exa_atomic_store_relaxed(&p->xlow_clear, low_clear);
    exa_atomic_store_relaxed(&p->xhigh_clear, high_clear);
    exa_atomic_store_relaxed(&p->xhigh, high);
    exa_atomic_store_relaxed(&p->xcritical, critical);
    exa_atomic_store_relaxed(&p->xreserve, exa_pages_up(in->must_succeed_reserve));
    exa_atomic_store_relaxed(&p->xlock_policy, in->lock_policy);
    exa_atomic_store_relaxed(&p->xcached_segments, in->cached_segments);
    _exa_pool_changed(p);
    return EXA_STATUS_SUCCESS;
}

/* Fork (base/fork.c): the callback table's lock is held across fork. */
static void exa_limits_fork_prepare(void) { _exa_lock(&exa_callback_lock); }
static void exa_limits_fork_parent(void) { _exa_unlock(&exa_callback_lock); }
static void exa_limits_fork_child(void) { _exa_lock_reset(&exa_callback_lock); }
static const exa_fork_handler_t exa_limits_fork = {EXA_FORK_RANK_LIMITS, exa_limits_fork_prepare,
                                                   exa_limits_fork_parent, exa_limits_fork_child};
EXA_ON_LOAD(exa_limits_fork_load) { _exa_fork_register(&exa_limits_fork); }
