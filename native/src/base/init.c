/* exalloc - native core
 * base/init.c: the library-wide one-time state (the process barrier probe) and the observer
 * hook table with its guard words (base/hooks.h). */
#include "base/base.h"
#include "base/hooks.h"

exa_hooks_t _exa_hooks;
exa_atomic(uint32_t) _exa_diag_sites;
exa_atomic(uint32_t) _exa_verifier_bits;

void _exa_verifier_bits_update(uint32_t set, uint32_t clear) {
    uint32_t old = exa_atomic_load_relaxed(&_exa_verifier_bits);
    while (!exa_atomic_cas_strong_acq_rel(&_exa_verifier_bits, &old, (old & ~clear) | set)) {
    }
}

int _exa_asymmetric_fences;
static exa_atomic(uint32_t) exa_init_state;  /* 0 = not yet, 1 = running, 2 = done */

void _exa_init(void) {
    uint32_t s = exa_atomic_load_acquire(&exa_init_state);
    if (exa_likely(s == 2)) return;
    uint32_t expected = 0;
    if (exa_atomic_cas_strong_acq_rel(&exa_init_state, &expected, 1u)) {
        _exa_asymmetric_fences = EXA_TSAN ? 0 : _exa_os_process_barrier_init();
        exa_atomic_store_release(&exa_init_state, 2u);
        return;
    }
    while (exa_atomic_load_acquire(&exa_init_state) != 2) _exa_os_yield();
}
