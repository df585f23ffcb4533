/* exalloc - native core
 * verifier/verifier.h: checking levels and the Driver Verifier emulation (verifier.c,
 * special_pool.c). The pool reaches the allocation, free, query and walker functions below
 * only through the hook table (base/hooks.h), which verifier.c fills when the library loads;
 * each call there is guarded by one relaxed load of _exa_verifier_bits, so that the default
 * level costs one predictable branch at most.
 *
 *   verifier.c      levels, configuration, start-up environment, fill patterns, low-resources
 *                   simulation, lookaside registry
 *   special_pool.c  guard-page pool, quarantine, fault reports */
#ifndef EXA_INTERNAL_VERIFIER_H
#define EXA_INTERNAL_VERIFIER_H

#include "pool/pool.h"
#include "base/hooks.h"



/* Allocation hook (pool/allocate.c, top of _exa_pool_allocate_request): 1 when it handled the request
 * (*out is the block, or NULL after a raise / injected failure), 0 to go on normally. */
int _exa_verifier_allocate(const exa_pool_request_t *r, void **out);
/* After a normal allocation at the verifier level: fill uninitialised blocks. */
void _exa_verifier_allocated(const exa_pool_request_t *r, void *p);

/* Free hook (pool/free.c, top of the checked free): 1 when the block was a special pool block
 * (freed or reported), 0 to go on normally. */
int _exa_special_release(void *block, uint32_t tag, int check_tag);
/* Free hook after the checks passed, before the block changes hands (verifier level): the
 * lookaside check (0xC4/0xCC) and the free fill. `bytes` is what the caller may have used. */
int _exa_verifier_freeing(void *block, exa_u64 bytes);  /* 1: go on; 0: reported */
/* Freed special pages to keep no-access (the configuration's quarantine; verifier.c passes
 * every new value down). */
enum { EXA_QUARANTINE_DEFAULT = 64 };
void _exa_special_set_quarantine(uint32_t pages);
/* Query hook: 1 when block is in the special pool (out filled, or status INVALID). */
int _exa_special_describe(const void *block, exa_pool_block_info_t *out, exa_status_t *status);
/* Special pool internals for verifier.c. */
void *_exa_special_allocate(const exa_pool_request_t *r, uint32_t flags, uint32_t quarantine);
int _exa_special_owns(const void *p);
/* Diagnostics (pool/walk.c's walk and block lookup): live special blocks as exa_diag_block_t. */
struct exa_diag_block_s;
int _exa_special_walk(int (*fn)(const struct exa_diag_block_s *, void *), void *ctx, int fatal);
int _exa_special_block_of(uintptr_t address, struct exa_diag_block_s *out);
void _exa_special_counts(exa_u64 *allocations, exa_u64 *live, uint32_t *capacity, uint32_t *quarantined);

/* Lookaside registry (lookaside_nt.c hooks, verifier level): init of a live list 0xC4/0xCA,
 * delete of an unknown one 0xC4/0xCB. Return 1 when the call may go on. */
int _exa_verifier_lookaside_init(void *list, exa_u64 size);
int _exa_verifier_lookaside_delete(void *list);

exa_u64 _exa_verifier_struct_size(int32_t struct_id);

enum {
    EXA_BUGCHECK_SPECIAL_POOL_CORRUPTION = 0xC1,
    EXA_BUGCHECK_FREED_SPECIAL_POOL = 0xCC,
    EXA_BUGCHECK_BEYOND_END_OF_ALLOCATION = 0xCD,
    EXA_SPC_FREE_UNALLOCATED = 0x20,
    EXA_SPC_BAD_ADDRESS = 0x21,
    EXA_SPC_NEARBY_CORRUPTED = 0x23,
    EXA_SPC_AFTER_END_CORRUPTED = 0x24,
    EXA_VERIFIER_LOOKASIDE_REINIT = 0xCA,
    EXA_VERIFIER_LOOKASIDE_NOT_INIT = 0xCB,
    EXA_VERIFIER_LOOKASIDE_FREED = 0xCC
};

#endif /* EXA_INTERNAL_VERIFIER_H */
