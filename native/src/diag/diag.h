/* exalloc - native core
 * diag/diag.h: the diagnostics floor (docs/diagnostics.md). It reads the pool through the
 * walkers of pool/pool.h and the lists through lookaside/lookaside.h, and reaches the pool's
 * hot paths and the bug check only through the hooks it registers in base/hooks.h.
 *
 *   diag.c     leak report, allocation dump and snapshot, PoolMon / !lookaside text, the
 *              bug-check dump, allocation sites (verifier level)
 *   publish.c  the live view in shared memory (/dev/shm/exalloc.<pid>) for tools/exapoolmon
 *   poolmon.h  PoolMon's row order, shared with tools/exapoolmon.c
 *   diag_shm.h the live view's layout and reader, shared with tools/exapoolmon.c */
#ifndef EXA_INTERNAL_DIAG_H
#define EXA_INTERNAL_DIAG_H

#include "pool/pool.h"
#include "lookaside/lookaside.h"

/* Allocation sites (the verifier level, or EXALLOC_CHECKS=verifier at start-up): the hooks
 * the pool's entry points call while the guard _exa_diag_sites (base/hooks.h) is non-zero. */
void _exa_diag_note_alloc(const void *block);
void _exa_diag_note_free(const void *block);

/* The bug-check dump (the default handler's, through base/hooks.h): culprit, tags, live
 * blocks, to stderr or EXALLOC_DUMP_PATH. No malloc; locks only tried. */
void _exa_diag_fatal_dump(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4);

/* publish.c: at library load diag.c reads EXALLOC_LEAK_REPORT, EXALLOC_CHECKS and, through
 * this, EXALLOC_PUBLISH. */
void _exa_publish_from_env(void);

#endif /* EXA_INTERNAL_DIAG_H */
