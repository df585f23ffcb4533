/* exalloc - native core
 * pool/options.c: the pool's options word (exa_pool_set_options: strict mode, and the internal
 * bits of the verifier level and of site recording), read with one relaxed load by the doors
 * and the free checks: any bit set sends every request to the full path. */
#include "pool/pool.h"

exa_atomic(uint32_t) _exa_pool_option_bits;

void _exa_pool_options_replace(uint32_t mask, uint32_t value) {
    uint32_t old = exa_atomic_load_relaxed(&_exa_pool_option_bits);
    while (!exa_atomic_cas_strong_acq_rel(&_exa_pool_option_bits, &old, (old & ~mask) | (value & mask))) {
    }
}

void exa_pool_set_options(uint32_t options) {
    /* The internal bits are their owners' to set and clear: kept. */
    _exa_pool_options_replace((uint32_t)EXA_POOL_OPTION_STRICT, options);
}

uint32_t exa_pool_get_options(void) {
    return exa_atomic_load_relaxed(&_exa_pool_option_bits) & (uint32_t)EXA_POOL_OPTION_STRICT;
}
