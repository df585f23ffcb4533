/* exalloc - native core
 * verifier.c: checking levels (off / default / verifier), the verifier's configuration and
 * start-up environment, fill patterns, the low-resources simulation and the registry of live
 * NT lookaside lists (docs/diagnostics.md#check-levels, docs/pool.md#placement to #zeroing
 * and #integrity, docs/lookaside.md#errors). The special pool itself is in
 * special_pool.c. See exalloc.h, "Checking levels and the Driver Verifier emulation". */
#include "verifier/verifier.h"
#include "lookaside/lookaside.h" /* the verifier level gates the lists */
#include "base/track.h"

#include <stdlib.h>
#include <string.h>


enum {
    EXA_FILL_UNINIT = 0x5A,
    EXA_FILL_FREED = 0x6B,
    EXA_QUARANTINE_MAX = 2048,
    EXA_LOOKASIDE_REGISTRY = 1024
};

static exa_spinlock_t exa_v_lock;                 /* configuration, bits, registry */
static exa_verifier_config_t exa_v_cfg;
static uint64_t exa_v_cfg_time;                   /* when the configuration was set (ns) */
static uint32_t exa_v_set_strict;                 /* the level turned EXA_POOL_OPTION_STRICT on */
static exa_atomic(uint64_t) exa_v_requests;       /* requests the low-resources filter saw */
static exa_atomic(uint64_t) exa_v_injected;
static exa_atomic(uint64_t) exa_v_fallbacks;
static exa_thread_local uint64_t exa_v_rand;

static uintptr_t exa_la_lists[EXA_LOOKASIDE_REGISTRY];
static uint32_t exa_la_count, exa_la_overflow;

/* ---------------------------------------------------------------------------------------
 * Levels
 * ------------------------------------------------------------------------------------- */

static int exa_v_started_sites; /* exa_set_check_level turned site recording on */

exa_status_t exa_set_check_level(int32_t level) {
    if (level < EXA_CHECKS_OFF || level > EXA_CHECKS_VERIFIER) return EXA_STATUS_INVALID_PARAMETER;
    _exa_lock(&exa_v_lock);
    uint32_t bits = 0;  /* the level's bits; the special pool's bit is left as it is */
    uint32_t options = exa_atomic_load_relaxed(&_exa_pool_option_bits);
    if (level == EXA_CHECKS_VERIFIER) {
        bits |= EXA_VBIT_VERIFIER;
        if (!(options & EXA_POOL_OPTION_STRICT)) exa_v_set_strict = 1;
        options |= EXA_POOL_OPTION_STRICT | EXA_POOL_OPTION_VERIFIER_INTERNAL;
    } else {
        if (level == EXA_CHECKS_OFF) bits |= EXA_VBIT_OFF;
        if (exa_v_set_strict) options &= ~(uint32_t)EXA_POOL_OPTION_STRICT;
        exa_v_set_strict = 0;
        options &= ~EXA_POOL_OPTION_VERIFIER_INTERNAL;
    }
    int was_verifier = (exa_atomic_load_relaxed(&_exa_verifier_bits) & EXA_VBIT_VERIFIER) != 0;
    _exa_pool_options_replace(EXA_POOL_OPTION_STRICT | EXA_POOL_OPTION_VERIFIER_INTERNAL, options);
    _exa_verifier_bits_update(bits, EXA_VBIT_OFF | EXA_VBIT_VERIFIER);
    /* The verifier level records allocation sites (diag.c) for leak reports and dumps, as
     * EXALLOC_CHECKS=verifier does at start-up; leaving it stops what entering it started. */
    if (level == EXA_CHECKS_VERIFIER && !was_verifier) exa_v_started_sites = exa_diag_record_sites(1) == 0;
    else if (level != EXA_CHECKS_VERIFIER && was_verifier && exa_v_started_sites) {
        (void)exa_diag_record_sites(0);
        exa_v_started_sites = 0;
    }
    _exa_unlock(&exa_v_lock);
    /* The lists' checks follow the level (the current one, should another change race). */
    if (was_verifier != (level == EXA_CHECKS_VERIFIER))
        _exa_lookaside_verify((_exa_verifier_state() & EXA_VBIT_VERIFIER) != 0);
    return EXA_STATUS_SUCCESS;
}

int32_t exa_get_check_level(void) {
    uint32_t bits = _exa_verifier_state();
    return (bits & EXA_VBIT_VERIFIER) ? EXA_CHECKS_VERIFIER : (bits & EXA_VBIT_OFF) ? EXA_CHECKS_OFF : EXA_CHECKS_DEFAULT;
}

/* ---------------------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------------------- */

exa_status_t exa_verifier_configure(const exa_verifier_config_t *cfg) {
    if (cfg == NULL || (cfg->flags & ~(uint32_t)(EXA_VERIFIER_VERIFY_START | EXA_VERIFIER_NO_FILL)) != 0 ||
        (cfg->special_size_max != 0 && cfg->special_size_min > cfg->special_size_max) ||
        cfg->low_resources > 10000 || cfg->quarantine > EXA_QUARANTINE_MAX)
        return EXA_STATUS_INVALID_PARAMETER;
    _exa_lock(&exa_v_lock);
    exa_v_cfg = *cfg;
    exa_v_cfg.reserved = 0;
    if (exa_v_cfg.quarantine == 0) exa_v_cfg.quarantine = EXA_QUARANTINE_DEFAULT;
    _exa_special_set_quarantine(exa_v_cfg.quarantine);
    exa_v_cfg_time = _exa_os_now_ns();
    exa_atomic_store_relaxed(&exa_v_requests, (uint64_t)0);
    _exa_unlock(&exa_v_lock);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_verifier_get_config(exa_verifier_config_t *out) {
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    _exa_lock(&exa_v_lock);
    *out = exa_v_cfg;
    _exa_unlock(&exa_v_lock);
    if (out->quarantine == 0) out->quarantine = EXA_QUARANTINE_DEFAULT;
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_verifier_query(exa_verifier_stats_t *out) {
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    memset(out, 0, sizeof *out);
    _exa_special_counts(&out->special_allocations, &out->special_live, &out->special_capacity, &out->quarantined);
    out->special_fallbacks = exa_atomic_load_relaxed(&exa_v_fallbacks);
    out->injected_failures = exa_atomic_load_relaxed(&exa_v_injected);
    return EXA_STATUS_SUCCESS;
}

exa_u64 _exa_verifier_struct_size(int32_t struct_id) {
    switch (struct_id) {
    case EXA_STRUCT_VERIFIER_CONFIG: return sizeof(exa_verifier_config_t);
    case EXA_STRUCT_VERIFIER_STATS: return sizeof(exa_verifier_stats_t);
    default: return 0;
    }
}

/* '?' bytes of the pattern match any byte; the protection bit never counts. */
static int exa_tag_matches(uint32_t pattern, uint32_t tag) {
    for (int k = 0; k < 4; k++) {
        uint32_t p = (pattern >> (8 * k)) & 0xFFu, t = (tag >> (8 * k)) & 0xFFu;
        if (k == 3) p &= 0x7Fu, t &= 0x7Fu;
        if (p != '?' && p != t) return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Allocation and free hooks
 * ------------------------------------------------------------------------------------- */

static uint32_t exa_v_random(void) {
    uint64_t x = exa_v_rand;
    if (x == 0) x = (uint64_t)_exa_os_thread_token() * 0x9E3779B97F4A7C15ull ^ _exa_os_now_ns() ^ 1u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    exa_v_rand = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 33);
}

int _exa_verifier_allocate(const exa_pool_request_t *r, void **out) {
    int verifier = (_exa_verifier_state() & EXA_VBIT_VERIFIER) != 0;
    /* A request the IRQL forbids is reported by the normal path. */
    if (_exa_irql_too_high_for_pool(r->type)) return 0;
    _exa_lock(&exa_v_lock);
    exa_verifier_config_t c = exa_v_cfg;
    uint64_t since = exa_v_cfg_time;
    _exa_unlock(&exa_v_lock);
    if (verifier && c.low_resources != 0 && !(r->type & EXA_PT_MUST_SUCCEED) &&
        (c.low_resources_tag == 0 || exa_tag_matches(c.low_resources_tag, r->tag))) {
        uint64_t n = exa_atomic_fetch_add_relaxed(&exa_v_requests, (uint64_t)1);
        if (n >= c.low_resources_after && _exa_os_now_ns() - since >= c.low_resources_ms * 1000000u &&
            exa_v_random() % 10000u < c.low_resources) {
            exa_atomic_fetch_add_relaxed(&exa_v_injected, (uint64_t)1);
            if (r->options & EXA_REQ_RAISE) _exa_raise(EXA_STATUS_INSUFFICIENT_RESOURCES);
            *out = NULL;
            return 1;
        }
    }
    uint32_t flags = c.flags;
    int special = (r->options & EXA_REQ_SPECIAL) != 0;
    if (verifier && !special) {
        special = (c.special_tag != 0 && exa_tag_matches(c.special_tag, r->tag)) ||
                  (c.special_size_max != 0 && r->size >= c.special_size_min && r->size <= c.special_size_max);
        /* ExAllocatePoolWithTagPriority's special-pool variants (+8 overrun, +9 underrun). */
        if ((r->options & EXA_REQ_PRIORITY) && (r->priority & 8)) {
            special = 1;
            flags = (flags & ~(uint32_t)EXA_VERIFIER_VERIFY_START) | ((r->priority & 1) ? EXA_VERIFIER_VERIFY_START : 0);
        }
    }
    if (!special) return 0;
    void *p = _exa_special_allocate(r, flags, c.quarantine);
    if (p == NULL) {
        exa_atomic_fetch_add_relaxed(&exa_v_fallbacks, (uint64_t)1);
        return 0; /* NT: special pool exhausted or not eligible -> the normal pool */
    }
    *out = p;
    return 1;
}

void _exa_verifier_allocated(const exa_pool_request_t *r, void *p) {
    if (!(_exa_verifier_state() & EXA_VBIT_VERIFIER) || (r->options & EXA_REQ_ZERO)) return;
    _exa_lock(&exa_v_lock);
    uint32_t flags = exa_v_cfg.flags;
    _exa_unlock(&exa_v_lock);
    if (!(flags & EXA_VERIFIER_NO_FILL)) memset(p, EXA_FILL_UNINIT, (size_t)r->size);
}

int _exa_verifier_freeing(void *block, exa_u64 bytes) {
    if (!(_exa_verifier_state() & EXA_VBIT_VERIFIER)) return 1;
    uintptr_t a = (uintptr_t)block, list = 0;
    _exa_lock(&exa_v_lock);
    for (uint32_t i = 0; i < exa_la_count && list == 0; i++)
        if (exa_la_lists[i] - a < bytes) list = exa_la_lists[i];
    uint32_t flags = exa_v_cfg.flags;
    _exa_unlock(&exa_v_lock);
    if (list != 0) {
        _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_FREED, list, a, bytes);
        return 0;
    }
    void *caching = _exa_lookaside_caching(block); /* a list still holds it: it would have two owners */
    if (caching != NULL) {
        _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_CACHED_FREED,
                      (uintptr_t)caching, a, 0);
        return 0;
    }
    if (!(flags & EXA_VERIFIER_NO_FILL) && !_exa_special_owns(block)) {
        exa_track_unpoison(block, (size_t)bytes); /* ASan: the slack after the request; the free re-poisons */
        memset(block, EXA_FILL_FREED, (size_t)bytes);
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Lookaside registry: every NT list initialised and not deleted, at every level (init and
 * delete are rare); reports at the verifier level only.
 * ------------------------------------------------------------------------------------- */

int _exa_verifier_lookaside_init(void *list, exa_u64 size) {
    (void)size;
    uintptr_t a = (uintptr_t)list;
    int report = 0;
    _exa_lock(&exa_v_lock);
    uint32_t i = 0;
    while (i < exa_la_count && exa_la_lists[i] != a) i++;
    if (i < exa_la_count) {
        report = (_exa_verifier_state() & EXA_VBIT_VERIFIER) != 0;
    } else if (exa_la_count < EXA_LOOKASIDE_REGISTRY) {
        exa_la_lists[exa_la_count++] = a;
    } else {
        exa_la_overflow = 1;
    }
    _exa_unlock(&exa_v_lock);
    if (report) {
        _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_REINIT, a, 0, 0);
        return 0;
    }
    return 1;
}

int _exa_verifier_lookaside_delete(void *list) {
    uintptr_t a = (uintptr_t)list;
    int report = 0;
    _exa_lock(&exa_v_lock);
    uint32_t i = 0;
    while (i < exa_la_count && exa_la_lists[i] != a) i++;
    if (i < exa_la_count) exa_la_lists[i] = exa_la_lists[--exa_la_count];
    else report = !exa_la_overflow && (_exa_verifier_state() & EXA_VBIT_VERIFIER) != 0;
    _exa_unlock(&exa_v_lock);
    if (report) {
        _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_NOT_INIT, a, 0, 0);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Start-up environment
 * ------------------------------------------------------------------------------------- */

static uint32_t exa_env_tag(const char *s) {
    uint32_t t = 0;
    for (int k = 0; k < 4 && s[k] != 0 && s[k] != ','; k++) t |= (uint32_t)(unsigned char)s[k] << (8 * k);
    for (int k = 0; k < 4; k++)
        if (((t >> (8 * k)) & 0xFFu) == 0) t |= (uint32_t)' ' << (8 * k);
    return t;
}

static const char *exa_env_option(const char *s, const char *name) {
    size_t n = strlen(name);
    for (const char *p = s; p != NULL && *p != 0; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, name, n) == 0) return p + n;
    return NULL;
}

static void exa_verifier_environment(void) {
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    int any = 0;
    const char *v = _exa_os_getenv("EXALLOC_SPECIAL_POOL");
    if (v != NULL) {
        if (strncmp(v, "tag:", 4) == 0) {
            c.special_tag = exa_env_tag(v + 4);
        } else if (strncmp(v, "size:", 5) == 0) {
            char *end;
            c.special_size_min = strtoull(v + 5, &end, 0);
            c.special_size_max = *end == '-' ? strtoull(end + 1, NULL, 0) : c.special_size_min;
        } else if (strcmp(v, "all") == 0) {
            c.special_size_min = 0;
            c.special_size_max = ~(exa_u64)0;
        }
        any = 1;
    }
    v = _exa_os_getenv("EXALLOC_VERIFIER_FLAGS");
    if (v != NULL) {
        if (exa_env_option(v, "start")) c.flags |= EXA_VERIFIER_VERIFY_START;
        if (exa_env_option(v, "nofill")) c.flags |= EXA_VERIFIER_NO_FILL;
        const char *q = exa_env_option(v, "quarantine=");
        if (q != NULL) c.quarantine = (uint32_t)strtoul(q, NULL, 0);
        any = 1;
    }
    v = _exa_os_getenv("EXALLOC_LOW_RESOURCES");
    if (v != NULL) {
        c.low_resources = (uint32_t)strtoul(v, NULL, 0);
        const char *o;
        if ((o = exa_env_option(v, "tag=")) != NULL) c.low_resources_tag = exa_env_tag(o);
        if ((o = exa_env_option(v, "after=")) != NULL) c.low_resources_after = strtoull(o, NULL, 0);
        if ((o = exa_env_option(v, "ms=")) != NULL) c.low_resources_ms = strtoull(o, NULL, 0);
        any = 1;
    }
    if (any && exa_verifier_configure(&c) != EXA_STATUS_SUCCESS) {
        static const char msg[] = "exalloc: EXALLOC_SPECIAL_POOL / _VERIFIER_FLAGS / _LOW_RESOURCES ignored (invalid)\n";
        _exa_os_write_stderr(msg, sizeof msg - 1);
    }
    v = _exa_os_getenv("EXALLOC_CHECKS");
    if (v != NULL) {
        if (strcmp(v, "off") == 0) (void)exa_set_check_level(EXA_CHECKS_OFF);
        else if (strcmp(v, "default") == 0) (void)exa_set_check_level(EXA_CHECKS_DEFAULT);
        else if (strcmp(v, "verifier") == 0) (void)exa_set_check_level(EXA_CHECKS_VERIFIER);
        else {
            static const char msg[] = "exalloc: EXALLOC_CHECKS must be off, default or verifier; ignored\n";
            _exa_os_write_stderr(msg, sizeof msg - 1);
        }
    }
}

/* Runs when the library is loaded, before any caller can allocate: registers the verifier
 * floor's hooks (base/hooks.h), then applies the environment, which may set the guard. */
EXA_ON_LOAD(exa_verifier_load) {
    _exa_hooks.verifier_allocate = _exa_verifier_allocate;
    _exa_hooks.verifier_allocated = _exa_verifier_allocated;
    _exa_hooks.verifier_freeing = _exa_verifier_freeing;
    _exa_hooks.special_release = _exa_special_release;
    _exa_hooks.special_describe = _exa_special_describe;
    _exa_hooks.special_walk = _exa_special_walk;
    _exa_hooks.special_block_of = _exa_special_block_of;
    exa_verifier_environment();
}

/* Fork (base/fork.c): the configuration lock is held across fork. */
static void exa_verifier_fork_prepare(void) { _exa_lock(&exa_v_lock); }
static void exa_verifier_fork_parent(void) { _exa_unlock(&exa_v_lock); }
static void exa_verifier_fork_child(void) { _exa_lock_reset(&exa_v_lock); }
static const exa_fork_handler_t exa_verifier_fork = {EXA_FORK_RANK_VERIFIER, exa_verifier_fork_prepare,
                                                     exa_verifier_fork_parent, exa_verifier_fork_child};
EXA_ON_LOAD(exa_verifier_fork_load) { _exa_fork_register(&exa_verifier_fork); }
