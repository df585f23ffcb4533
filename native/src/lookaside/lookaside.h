/* exalloc - native core
 * lookaside/lookaside.h: what the lookaside floor offers the floors above: the NT adapters
 * (nt/lookaside_nt.c), the after-creation hook (balance.c), the debug-tier validator. */
#ifndef EXA_INTERNAL_LOOKASIDE_H
#define EXA_INTERNAL_LOOKASIDE_H

#include "base/base.h"

/* Adapters for lists created through exalloc_nt.h: NT's callback shapes differ from the
 * modern ones, and the caller's NT struct mirrors the list's public fields. `owner` is the
 * caller's NPAGED_LOOKASIDE_LIST / PAGED_LOOKASIDE_LIST / LOOKASIDE_LIST_EX. */
typedef struct exa_lookaside_hooks_s {
    void *(*allocate)(void *owner, int32_t pool_type, exa_u64 size, uint32_t tag);
    void (*free)(void *owner, void *block);
    /* Called with the list lock held after counters change on a slow path, on query, flush,
     * reset and delete, and when the gate changes: write the NT struct's fields (and the copy
     * of the gate byte that the inline fast path reads, docs/lookaside.md#inline). */
    void (*publish)(void *owner, const exa_lookaside_stats_t *stats, uint8_t gate);
    /* 1 when the owner's allocate callback is the pool's (the verifier checks a freed block's
     * pool size against the list's Size only then). */
    int (*from_pool)(void *owner);
} exa_lookaside_hooks_t;

exa_status_t _exa_lookaside_create(const exa_lookaside_config_t *cfg, const exa_lookaside_hooks_t *hooks, void *owner,
                                   exa_lookaside_t **out);

/* Called after every list creation, once set: balance.c sets it when the library loads, to
 * start the balance-set thread if EXALLOC_BALANCE_SET asks for it (so the lists need not
 * know the thread that runs above them). */
extern void (*_exa_lookaside_created_hook)(void);

/* For the diagnostics: the handle and NT owner (NULL for modern lists) of the live list
 * `id`; 0 when there is none. */
int _exa_lookaside_handle_of(exa_u64 id, void **handle, void **owner);

/* The verifier level (verifier/verifier.c calls these; docs/lookaside.md#errors):
 * _exa_lookaside_verify(1) sends every call on every list (and on lists created later) through
 * the gated path, which checks each free (0xC4/0x1011, 0x1012); 0 restores the fast paths.
 * _exa_lookaside_caching(block): the live list that caches `block`, or NULL. Both take the
 * registry lock, then each list's lock. */
void _exa_lookaside_verify(int on);
void *_exa_lookaside_caching(const void *block);

#if EXA_DEBUG
/* Debug tier (base/debug.h, lookaside/validate_lookaside.c): the list's depth bound and
 * counters: the shared stack holds `count` blocks, the claimed slots are the sum of the
 * thread caches' quotas, shared entries + claimed slots <= Depth <= MaximumDepth, each thread
 * cache holds n <= quota <= EXA_LOOKASIDE_THREAD_CACHE blocks, misses never exceed totals. */
EXA_DEBUG_API int _exa_debug_lookaside_validate(exa_lookaside_t *list, char *why, size_t cap);
#endif

#endif /* EXA_INTERNAL_LOOKASIDE_H */
