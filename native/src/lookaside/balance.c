/* exalloc - native core
 * lookaside/balance.c: the balance-set thread (docs/lookaside.md#depth). NT's balance set manager wakes once a second
 * and calls ExAdjustLookasideDepth; here a library-owned thread calls exa_lookaside_tick()
 * every period. It is started by exa_balance_set_start or, at the first list creation, by
 * the environment variable EXALLOC_BALANCE_SET ("1" = the default period of 1000 ms, another
 * number = the period in ms, "0" or unset = off), and stopped by exa_balance_set_stop.
 *
 * The thread sleeps in slices of at most EXA_BALANCE_SLICE_MS so that a stop (or a new
 * period) takes effect within one slice. Start and stop are serialised by one lock, which
 * is held while stop joins the thread; the thread itself never takes it. */
#include "base/base.h"
#include "lookaside/lookaside.h"

#include <stdlib.h>

enum { EXA_BALANCE_DEFAULT_MS = 1000, EXA_BALANCE_SLICE_MS = 20 };

static exa_spinlock_t exa_balance_lock;           /* start/stop */
static uintptr_t exa_balance_thread;               /* handle while running (exa_balance_lock) */
static int exa_balance_started;                    /* the thread runs (exa_balance_lock) */
static exa_atomic(uint32_t) exa_balance_stop;     /* 1: the thread should return */
static exa_atomic(uint32_t) exa_balance_period;   /* ms */
static exa_atomic(uintptr_t) exa_balance_token;   /* the thread's _exa_os_thread_token */
static exa_atomic(uint32_t) exa_balance_env_done;

static void exa_balance_main(void *arg) {
    (void)arg;
    exa_atomic_store_release(&exa_balance_token, _exa_os_thread_token());
    uint64_t last = _exa_os_now_ns();
    while (!exa_atomic_load_acquire(&exa_balance_stop)) {
        uint64_t period_ns = (uint64_t)exa_atomic_load_relaxed(&exa_balance_period) * 1000000u;
        uint64_t now = _exa_os_now_ns();
        if (now - last >= period_ns) {
            exa_lookaside_tick();
            last = now;
            continue;
        }
        uint64_t left_ms = (period_ns - (now - last) + 999999u) / 1000000u;
        _exa_os_sleep_ms(left_ms < EXA_BALANCE_SLICE_MS ? (uint32_t)left_ms : EXA_BALANCE_SLICE_MS);
    }
}

exa_status_t exa_balance_set_start(uint32_t period_ms) {
    _exa_init();
    exa_atomic_store_relaxed(&exa_balance_period, period_ms == 0 ? (uint32_t)EXA_BALANCE_DEFAULT_MS : period_ms);
    exa_status_t status = EXA_STATUS_SUCCESS;
    _exa_lock(&exa_balance_lock);
    if (!exa_balance_started) {
        exa_atomic_store_relaxed(&exa_balance_stop, 0u);
        if (_exa_os_thread_start(exa_balance_main, NULL, &exa_balance_thread) != 0) status = EXA_STATUS_INSUFFICIENT_RESOURCES;
        else exa_balance_started = 1;
    }
    _exa_unlock(&exa_balance_lock);
    return status;
}

exa_status_t exa_balance_set_stop(void) {
    /* From the balance thread itself (a free callback during a trim) joining would never
     * return. */
    if (exa_atomic_load_acquire(&exa_balance_token) == _exa_os_thread_token()) return EXA_STATUS_UNSUCCESSFUL;
    _exa_lock(&exa_balance_lock);
    if (exa_balance_started) {
        exa_atomic_store_release(&exa_balance_stop, 1u);
        _exa_os_thread_join(exa_balance_thread);
        exa_balance_started = 0;
        exa_atomic_store_relaxed(&exa_balance_token, (uintptr_t)0);
    }
    _exa_unlock(&exa_balance_lock);
    return EXA_STATUS_SUCCESS;
}

int32_t exa_balance_set_running(void) {
    _exa_lock(&exa_balance_lock);
    int32_t running = exa_balance_started;
    _exa_unlock(&exa_balance_lock);
    return running;
}

/* EXALLOC_BALANCE_SET, read once (at the first list creation). */
static void exa_balance_autostart(void) {
    if (exa_likely(exa_atomic_load_acquire(&exa_balance_env_done))) return;
    uint32_t expected = 0;
    if (!exa_atomic_cas_strong_acq_rel(&exa_balance_env_done, &expected, 1u)) return;
    const char *v = _exa_os_getenv("EXALLOC_BALANCE_SET");
    if (v == NULL || *v == '\0') return;
    char *end = NULL;
    unsigned long ms = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || ms == 0) return;
    (void)exa_balance_set_start(ms == 1 ? 0u : (ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms));
}

/* The lists call exa_balance_autostart after each creation (lookaside/lookaside.h). */
EXA_ON_LOAD(exa_balance_load) { _exa_lookaside_created_hook = exa_balance_autostart; }

/* Fork (base/fork.c, docs/conventions.md#fork): the start/stop lock is held across fork
 * (a stop in progress finishes first). The balance-set thread does not exist in the child:
 * it is marked stopped there; the child may start its own. */
static void exa_balance_fork_prepare(void) { _exa_lock(&exa_balance_lock); }
static void exa_balance_fork_parent(void) { _exa_unlock(&exa_balance_lock); }
static void exa_balance_fork_child(void) {
    exa_balance_started = 0;
    exa_balance_thread = 0;
    exa_atomic_store_relaxed(&exa_balance_stop, 0u);
    exa_atomic_store_relaxed(&exa_balance_token, (uintptr_t)0);
    _exa_lock_reset(&exa_balance_lock);
}
static const exa_fork_handler_t exa_balance_fork = {EXA_FORK_RANK_BALANCE, exa_balance_fork_prepare,
                                                    exa_balance_fork_parent, exa_balance_fork_child};
EXA_ON_LOAD(exa_balance_fork_load) { _exa_fork_register(&exa_balance_fork); }
