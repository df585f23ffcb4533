/* exalloc - native core
 * internal.h: declarations shared between the core's files. Three naming tiers (after
 * mimalloc): exported `exa_*` (declared in exalloc.h / exalloc_nt.h, visible), cross-file
 * internal `_exa_*` (declared here, hidden by -fvisibility=hidden), file-local `static`.
 *
 * Layers (a lower one never includes a higher one):
 *   arch.h, atomic.h  ->  platform.h  ->  internal.h (bugcheck, spinlock, backing)
 *   ->  lookaside.c  ->  lookaside_nt.c (NT names over the modern API)               */
#ifndef EXA_INTERNAL_H
#define EXA_INTERNAL_H

#define EXA_BUILDING_LIBRARY 1
#include "exalloc.h"
#include "internal/arch.h"
#include "internal/atomic.h"
#include "internal/platform.h"

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------
 * Bug-check codes used by the core (NT's numbers).
 * ------------------------------------------------------------------------------------- */
enum {
    EXA_BUGCHECK_SPIN_LOCK_ALREADY_OWNED = 0x0F,
    EXA_BUGCHECK_SPIN_LOCK_NOT_OWNED = 0x10,
    EXA_BUGCHECK_BAD_POOL_CALLER = 0xC2,
    EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION = 0xC4
};

/* Record the bug check for this thread and call the handler. Returns only if the handler
 * returned; the caller then abandons the operation with nothing changed and reports
 * EXA_STATUS_BUGCHECK. */
void _exa_bugcheck(uint32_t code, uint64_t p1, uint64_t p2, uint64_t p3, uint64_t p4);

/* Emulated raise: record `status` for this thread and call the raise handler if any. */
void _exa_raise(exa_status_t status);

/* ---------------------------------------------------------------------------------------
 * Spin lock core, shared by the public exa_spinlock_* routines and the library's own locks.
 * The word is 0 when free and (owner token | 1) when held.
 * ------------------------------------------------------------------------------------- */
void _exa_spin_wait(exa_atomic(uintptr_t) *word, uintptr_t mine);

exa_inline void _exa_lock(exa_spinlock_t *lock) {
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    uintptr_t mine = _exa_os_thread_token() | 1u;
    uintptr_t expected = 0;
    if (exa_likely(exa_atomic_cas_strong_acquire(word, &expected, mine))) return;
    _exa_spin_wait(word, mine);
}

exa_inline void _exa_unlock(exa_spinlock_t *lock) {
    exa_atomic_store_release(exa_atomic_word(lock), (uintptr_t)0);
}

/* ---------------------------------------------------------------------------------------
 * Backing allocator: where lookaside misses go when the list has no allocate callback.
 * One internal function pair that the pool (issue: pools) replaces; until then an aligned
 * allocator: 16-byte alignment (pool blocks' alignment on 64-bit), cache-line alignment for
 * the cache-aligned pool types. Honours EXA_POOL_RAISE_IF_ALLOCATION_FAILURE and
 * EXA_POOL_ZERO_ALLOCATION.
 * ------------------------------------------------------------------------------------- */
void *_exa_pool_allocate(int32_t pool_type, uint64_t size, uint32_t tag);
void  _exa_pool_free(void *block);

/* Pool type helpers. */
exa_inline int32_t _exa_pool_base_type(int32_t pool_type) {
    return pool_type & ~(int32_t)(EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE | EXA_POOL_RAISE_IF_ALLOCATION_FAILURE |
                                  EXA_POOL_COLD_ALLOCATION | EXA_POOL_ZERO_ALLOCATION);
}
int _exa_pool_type_is_valid_for_lookaside(int32_t base_type);

/* ---------------------------------------------------------------------------------------
 * Library-wide one-time state.
 * ------------------------------------------------------------------------------------- */
/* 1 when the process barrier (membarrier) is usable: thread caches then run with compiler
 * barriers only; else with seq_cst fences (always under TSan, which cannot see membarrier). */
extern int _exa_asymmetric_fences;
void _exa_init(void);

#endif /* EXA_INTERNAL_H */
