/* exalloc - native core
 * base/hooks.h: the observer hook table, the one way a lower floor reaches a higher one
 * (native/LAYERS.md). The ground floor owns the table and the guard words; the diagnostics
 * and verifier floors fill their entries from load-time functions (EXA_ON_LOAD, arch.h),
 * before any caller can allocate, and never change them afterwards.
 *
 * A hot path reads a guard word with one relaxed load and calls through the table only when
 * the guard says the observer is on, so the default checking level still costs at most one
 * predictable branch. An entry is NULL when its floor is not linked in; a guard is then
 * never set, except for the walkers (special_walk, special_block_of) and the fatal dump,
 * which test the pointer itself. */
#ifndef EXA_BASE_HOOKS_H
#define EXA_BASE_HOOKS_H

#include "base/base.h"

struct exa_pool_request_s;
struct exa_diag_block_s;

typedef struct exa_hooks_s {
    /* diag floor: allocation sites, called while _exa_diag_sites is non-zero */
    void (*note_alloc)(const void *block);
    void (*note_free)(const void *block);
    /* diag floor: the bug-check dump, called by the default bug-check handler */
    void (*fatal_dump)(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4);
    /* verifier floor, called at the verifier level (EXA_VBIT_VERIFIER): 1 when the hook
     * handled the request (*out is the block, or NULL after a raise or an injected failure) */
    int (*verifier_allocate)(const struct exa_pool_request_s *r, void **out);
    /* after a normal allocation: fill uninitialised blocks */
    void (*verifier_allocated)(const struct exa_pool_request_s *r, void *p);
    /* after the free checks passed: 1 go on, 0 reported (`bytes` the caller may have used) */
    int (*verifier_freeing)(void *block, exa_u64 bytes);
    /* verifier floor, special pool (EXA_VBIT_SPECIAL): 1 when `block` is a special block
     * (freed or reported / described, *status set when it is not a live one) */
    int (*special_release)(void *block, uint32_t tag, int check_tag);
    int (*special_describe)(const void *block, exa_pool_block_info_t *out, exa_status_t *status);
    /* the pool's walkers: every live special block; the one holding `address` */
    int (*special_walk)(int (*fn)(const struct exa_diag_block_s *, void *), void *ctx, int fatal);
    int (*special_block_of)(uintptr_t address, struct exa_diag_block_s *out);
} exa_hooks_t;

extern exa_hooks_t _exa_hooks;

/* Guard: allocation sites are recorded (diag floor sets it). */
extern exa_atomic(uint32_t) _exa_diag_sites;

/* Guard: the checking level and the special pool (verifier floor sets it). */
enum {
    EXA_VBIT_OFF = 0x1,        /* level off */
    EXA_VBIT_VERIFIER = 0x2,   /* level verifier */
    EXA_VBIT_SPECIAL = 0x4     /* the special pool has (or had) blocks: frees must look */
};
extern exa_atomic(uint32_t) _exa_verifier_bits;
exa_inline uint32_t _exa_verifier_state(void) { return exa_atomic_load_relaxed(&_exa_verifier_bits); }
exa_inline int _exa_checks_off(void) { return (_exa_verifier_state() & EXA_VBIT_OFF) != 0; }
/* Clear then set bits of _exa_verifier_bits, atomically with respect to every other update. */
void _exa_verifier_bits_update(uint32_t set, uint32_t clear);

#endif /* EXA_BASE_HOOKS_H */
