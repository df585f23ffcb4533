/* exalloc - native core
 * diag/poolmon.h: PoolMon's row order, shared by the library's PoolMon text (diag.c) and the
 * exapoolmon tool (tools/exapoolmon.c), so that both sort alike (docs/diagnostics.md#poolmon).
 * Header-only: the tool does not link the library. */
#ifndef EXA_DIAG_POOLMON_H
#define EXA_DIAG_POOLMON_H

#include "diag/diag_shm.h"

/* The order of two rows under `key` (an exa_poolmon_sort_e value): the key's counter,
 * largest first (none for EXA_POOLMON_SORT_TAG), then the tag's text, then the pool. A tag's
 * protected bit is ignored. Returns <0, 0 or >0 as qsort wants. */
static inline int exa_poolmon_row_order(const exa_pool_tag_row_t *a, const exa_pool_tag_row_t *b, int32_t key) {
    exa_u64 x = 0, y = 0;
    switch (key) {
    case EXA_POOLMON_SORT_ALLOCS: x = a->allocs, y = b->allocs; break;
    case EXA_POOLMON_SORT_FREES: x = a->frees, y = b->frees; break;
    case EXA_POOLMON_SORT_DIFF: x = a->diff, y = b->diff; break;
    case EXA_POOLMON_SORT_TAG: break;
    default: x = a->bytes, y = b->bytes; break;
    }
    if (x != y) return x > y ? -1 : 1;
    char ta[5], tb[5];
    exa_shm_tag_text(a->tag & 0x7FFFFFFFu, ta);
    exa_shm_tag_text(b->tag & 0x7FFFFFFFu, tb);
    int c = strcmp(ta, tb);
    if (c != 0) return c;
    return a->pool - b->pool;
}

#endif /* EXA_DIAG_POOLMON_H */
