/* exalloc - native core
 * pool/quota.c: pool quota accounts, the user-space stand-in for NT processes
 * (docs/pool.md#quota).
 *
 * An account has, per pool (non-paged, paged), a usage, its peak and a limit (0 = none).
 * A charge is a compare-and-swap on the usage that refuses to pass the limit, so usage
 * never exceeds the limit however many threads charge at once; the peak follows with a
 * CAS-max. Each thread has a current account (thread-local; the process account unless
 * exa_quota_attach switched it).
 *
 * Lifetime. References are counted in xrefs: one for the creator until exa_quota_close,
 * one per charged block until its free (NT references the process object for the block's
 * life, and the block's header keeps the account's address in ProcessBilled), and one per
 * thread that has it current. The account is freed when the count reaches zero. The
 * process and system accounts are static and never freed.
 *
 * Validation. The ProcessBilled check on free (bug check 0xC2/0x0D) must not dereference a
 * damaged pointer, so live accounts are kept in a registry (a hash set of addresses, 16
 * stripes with a lock each) that the check consults; only charged frees pay for it.
 *
 * The system account is never charged (NT: the System process); the pool checks
 * _exa_quota_is_system before charging. */
#include "pool/pool.h"

#include <string.h>

enum { EXA_QUOTA_MAGIC = 0x746F7551u, /* 'touQ' */ EXA_QUOTA_DEAD = 0x64616544u };

struct exa_quota_account_s {
    uint32_t magic;
    int32_t kind;                         /* exa_quota_kind_e */
    exa_u64 id;
    exa_atomic(exa_u64) xusage[2];        /* by exa_pool_kind_e */
    exa_atomic(exa_u64) xpeak[2];
    exa_atomic(exa_u64) xlimit[2];        /* 0 = unlimited */
    exa_atomic(exa_u64) xblocks;          /* blocks holding a charge */
    exa_atomic(exa_u64) xrefs;
    exa_atomic(uint32_t) xclosed;
};

static exa_quota_account_t exa_process_account = {EXA_QUOTA_MAGIC, EXA_QUOTA_KIND_PROCESS, 1, {0, 0}, {0, 0},
                                                  {0, 0}, 0, 1, 0};
static exa_quota_account_t exa_system_account = {EXA_QUOTA_MAGIC, EXA_QUOTA_KIND_SYSTEM, 2, {0, 0}, {0, 0},
                                                 {0, 0}, 0, 1, 0};
static exa_atomic(exa_u64) exa_next_account_id = 3;

static exa_thread_local exa_quota_account_t *exa_tls_account;  /* NULL: the process account */

/* ------------------------------------------------------------------------------------------
 * Registry of live accounts: per stripe an open-addressing set of addresses (linear
 * probing, backward-shift deletion), grown by doubling.
 * ---------------------------------------------------------------------------------------- */
enum { EXA_QUOTA_STRIPES = 16 };

typedef struct exa_quota_stripe_s {
    exa_cache_aligned exa_spinlock_t lock;
    uintptr_t *slots;
    uint32_t capacity, count;
} exa_quota_stripe_t;

static exa_quota_stripe_t exa_quota_registry[EXA_QUOTA_STRIPES];

exa_inline uint64_t exa_quota_hash(uintptr_t a) { return (uint64_t)(a >> 6) * 0x9E3779B97F4A7C15ull; }
exa_inline exa_quota_stripe_t *exa_quota_stripe(uintptr_t a) {
    return &exa_quota_registry[exa_quota_hash(a) >> 60];
}
exa_inline uint32_t exa_quota_home(uintptr_t a, uint32_t capacity) {
    return (uint32_t)(exa_quota_hash(a) >> 20) & (capacity - 1);
}

/* Stripe lock held: the slot holding a, or the empty slot that ends its probe chain. */
static uint32_t exa_quota_probe(const exa_quota_stripe_t *st, uintptr_t a) {
    uint32_t i = exa_quota_home(a, st->capacity);
    while (st->slots[i] != 0 && st->slots[i] != a) i = (i + 1) & (st->capacity - 1);
    return i;
}

static int exa_quota_register(exa_quota_account_t *acct) {
    uintptr_t a = (uintptr_t)acct;
    exa_quota_stripe_t *st = exa_quota_stripe(a);
    _exa_lock(&st->lock);
    if ((st->count + 1) * 2 > st->capacity) {
        uint32_t cap = st->capacity ? st->capacity * 2 : 16;
        uintptr_t *grown = _exa_os_alloc_aligned(sizeof(uintptr_t) * cap, sizeof(uintptr_t));
        if (grown == NULL) {
            _exa_unlock(&st->lock);
            return 0;
        }
        memset(grown, 0, sizeof(uintptr_t) * cap);
        uintptr_t *old = st->slots;
        uint32_t old_cap = st->capacity;
        st->slots = grown;
        st->capacity = cap;
        for (uint32_t i = 0; i < old_cap; i++)
            if (old[i] != 0) st->slots[exa_quota_probe(st, old[i])] = old[i];
        _exa_os_free_aligned(old);
    }
    st->slots[exa_quota_probe(st, a)] = a;
    st->count++;
    _exa_unlock(&st->lock);
    return 1;
}

static void exa_quota_unregister(exa_quota_account_t *acct) {
    uintptr_t a = (uintptr_t)acct;
    exa_quota_stripe_t *st = exa_quota_stripe(a);
    _exa_lock(&st->lock);
    uint32_t mask = st->capacity - 1, hole = exa_quota_probe(st, a);
    for (uint32_t i = (hole + 1) & mask; st->slots[i] != 0; i = (i + 1) & mask) {
        uint32_t home = exa_quota_home(st->slots[i], st->capacity);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            st->slots[hole] = st->slots[i];
            hole = i;
        }
    }
    st->slots[hole] = 0;
    st->count--;
    _exa_unlock(&st->lock);
}

static int exa_quota_registered(const exa_quota_account_t *acct) {
    uintptr_t a = (uintptr_t)acct;
    exa_quota_stripe_t *st = exa_quota_stripe(a);
    _exa_lock(&st->lock);
    int found = st->capacity != 0 && st->slots[exa_quota_probe(st, a)] == a;
    _exa_unlock(&st->lock);
    return found;
}

exa_inline int exa_is_static(const exa_quota_account_t *a) {
    return a == &exa_process_account || a == &exa_system_account;
}

static void exa_ref(exa_quota_account_t *a) {
    if (!exa_is_static(a)) exa_atomic_fetch_add_relaxed(&a->xrefs, (exa_u64)1);
}

static void exa_unref(exa_quota_account_t *a) {
    if (exa_is_static(a)) return;
    if (exa_atomic_fetch_add_acq_rel(&a->xrefs, (exa_u64)0 - 1) == 1) {
        exa_quota_unregister(a);
        a->magic = EXA_QUOTA_DEAD;
        _exa_os_free_aligned(a);
    }
}

exa_quota_account_t *_exa_quota_current(void) {
    exa_quota_account_t *a = exa_tls_account;
    return a != NULL ? a : &exa_process_account;
}

int _exa_quota_is_system(const exa_quota_account_t *a) { return a == &exa_system_account; }

int _exa_quota_valid(const exa_quota_account_t *a) {
    if (a == NULL) return 0;
    return exa_is_static(a) || (exa_quota_registered(a) && a->magic == EXA_QUOTA_MAGIC);
}

int _exa_quota_charge(exa_quota_account_t *a, int32_t kind, exa_u64 bytes) {
    exa_atomic(exa_u64) *usage = &a->xusage[kind & 1];
    exa_u64 limit = exa_atomic_load_relaxed(&a->xlimit[kind & 1]);
    exa_u64 cur = exa_atomic_load_relaxed(usage);
    do {
        if (limit != 0 && (bytes > limit || cur > limit - bytes)) return 0;
    } while (!exa_atomic_cas_strong_acq_rel(usage, &cur, cur + bytes));
    exa_u64 now = cur + bytes, peak = exa_atomic_load_relaxed(&a->xpeak[kind & 1]);
    while (now > peak && !exa_atomic_cas_strong_acq_rel(&a->xpeak[kind & 1], &peak, now)) {
    }
    exa_atomic_fetch_add_relaxed(&a->xblocks, (exa_u64)1);
    exa_ref(a);
    return 1;
}

void _exa_quota_return(exa_quota_account_t *a, int32_t kind, exa_u64 bytes) {
    exa_atomic_fetch_add_acq_rel(&a->xusage[kind & 1], (exa_u64)0 - bytes);
    exa_atomic_fetch_add_relaxed(&a->xblocks, (exa_u64)0 - 1);
    exa_unref(a);
}

/* ==========================================================================================
 * Public API
 * ======================================================================================== */

exa_status_t exa_quota_create(exa_u64 non_paged_limit, exa_u64 paged_limit, exa_quota_account_t **out) {
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    *out = NULL;
    exa_quota_account_t *a = _exa_os_alloc_aligned(sizeof *a, EXA_CACHE_LINE);
    if (a == NULL) return EXA_STATUS_INSUFFICIENT_RESOURCES;
    memset(a, 0, sizeof *a);
    a->magic = EXA_QUOTA_MAGIC;
    a->kind = EXA_QUOTA_KIND_ACCOUNT;
    a->id = exa_atomic_fetch_add_relaxed(&exa_next_account_id, (exa_u64)1);
    exa_atomic_store_relaxed(&a->xlimit[EXA_POOL_KIND_NON_PAGED], non_paged_limit);
    exa_atomic_store_relaxed(&a->xlimit[EXA_POOL_KIND_PAGED], paged_limit);
    exa_atomic_store_relaxed(&a->xrefs, (exa_u64)1);
    if (!exa_quota_register(a)) {
        _exa_os_free_aligned(a);
        return EXA_STATUS_INSUFFICIENT_RESOURCES;
    }
    *out = a;
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_quota_close(exa_quota_account_t *a) {
    if (!_exa_quota_valid(a) || exa_is_static(a)) return EXA_STATUS_INVALID_PARAMETER;
    uint32_t expected = 0;
    if (!exa_atomic_cas_strong_acq_rel(&a->xclosed, &expected, 1u)) return EXA_STATUS_INVALID_PARAMETER;
    exa_unref(a);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_quota_set_limits(exa_quota_account_t *a, exa_u64 non_paged_limit, exa_u64 paged_limit) {
    if (!_exa_quota_valid(a) || a == &exa_system_account) return EXA_STATUS_INVALID_PARAMETER;
    exa_atomic_store_relaxed(&a->xlimit[EXA_POOL_KIND_NON_PAGED], non_paged_limit);
    exa_atomic_store_relaxed(&a->xlimit[EXA_POOL_KIND_PAGED], paged_limit);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_quota_query(const exa_quota_account_t *a, exa_quota_stats_t *out) {
    if (!_exa_quota_valid(a)) return EXA_STATUS_INVALID_PARAMETER_1;
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER_2;
    exa_quota_account_t *m = (exa_quota_account_t *)(uintptr_t)a;
    memset(out, 0, sizeof *out);
    out->id = a->id;
    out->non_paged_usage = exa_atomic_load_relaxed(&m->xusage[EXA_POOL_KIND_NON_PAGED]);
    out->non_paged_peak = exa_atomic_load_relaxed(&m->xpeak[EXA_POOL_KIND_NON_PAGED]);
    out->non_paged_limit = exa_atomic_load_relaxed(&m->xlimit[EXA_POOL_KIND_NON_PAGED]);
    out->paged_usage = exa_atomic_load_relaxed(&m->xusage[EXA_POOL_KIND_PAGED]);
    out->paged_peak = exa_atomic_load_relaxed(&m->xpeak[EXA_POOL_KIND_PAGED]);
    out->paged_limit = exa_atomic_load_relaxed(&m->xlimit[EXA_POOL_KIND_PAGED]);
    out->charged_blocks = exa_atomic_load_relaxed(&m->xblocks);
    out->kind = a->kind;
    out->closed = exa_atomic_load_relaxed(&m->xclosed);
    return EXA_STATUS_SUCCESS;
}

/* Thread exit: drop the thread's reference on its current account. */
static void exa_quota_thread_exit(void *value) {
    exa_tls_account = NULL;
    exa_unref((exa_quota_account_t *)value);
}

exa_quota_account_t *exa_quota_attach(exa_quota_account_t *a) {
    exa_quota_account_t *previous = _exa_quota_current();
    if (a == NULL) a = &exa_process_account;
    if (a == previous) return previous;
    exa_ref(a);
    /* The exit hook holds the account a thread must release when it ends (NULL: none). */
    (void)_exa_os_at_thread_exit_slot(EXA_OS_THREAD_EXIT_QUOTA, exa_quota_thread_exit, exa_is_static(a) ? NULL : a);
    exa_tls_account = a == &exa_process_account ? NULL : a;
    exa_unref(previous);
    return previous;
}

exa_quota_account_t *exa_quota_current(void) { return _exa_quota_current(); }
exa_quota_account_t *exa_quota_process(void) { return &exa_process_account; }
exa_quota_account_t *exa_quota_system(void) { return &exa_system_account; }

/* Fork (base/fork.c): the registry's stripes are held across fork; the child frees them. */
static void exa_quota_fork_prepare(void) {
    for (uint32_t i = 0; i < EXA_QUOTA_STRIPES; i++) _exa_lock(&exa_quota_registry[i].lock);
}
static void exa_quota_fork_parent(void) {
    for (uint32_t i = EXA_QUOTA_STRIPES; i-- > 0;) _exa_unlock(&exa_quota_registry[i].lock);
}
static void exa_quota_fork_child(void) {
    for (uint32_t i = 0; i < EXA_QUOTA_STRIPES; i++) _exa_lock_reset(&exa_quota_registry[i].lock);
}
static const exa_fork_handler_t exa_quota_fork = {EXA_FORK_RANK_QUOTA, exa_quota_fork_prepare, exa_quota_fork_parent,
                                                  exa_quota_fork_child};
EXA_ON_LOAD(exa_quota_fork_load) { _exa_fork_register(&exa_quota_fork); }
