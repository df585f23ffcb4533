/* exalloc - native core
 * pool/options.c: the pool's options word (exa_pool_set_options: strict mode), read with one
 * relaxed load by the doors and the free checks. */
#include "pool/pool.h"

exa_atomic(uint32_t) _exa_pool_option_bits;

void exa_pool_set_options(uint32_t options) {
    /* The verifier level's internal bit is the verifier's to set and clear: kept. */
    uint32_t keep = exa_atomic_load_relaxed(&_exa_pool_option_bits) & EXA_POOL_OPTION_VERIFIER_INTERNAL;
    exa_atomic_store_relaxed(&_exa_pool_option_bits, (options & (uint32_t)EXA_POOL_OPTION_STRICT) | keep);
}

uint32_t exa_pool_get_options(void) {
    return exa_atomic_load_relaxed(&_exa_pool_option_bits) & (uint32_t)EXA_POOL_OPTION_STRICT;
}
