/* exalloc - native core
 * internal/diag.h: diagnostics (spec 1.6, 1.13, 7): the walkers diag.c needs from the pool
 * and the lookaside lists, the verifier's allocation-site table, and the fatal-path dump.
 *
 *   diag.c     leak report, allocation dump and snapshot, PoolMon / !lookaside text, the
 *              bug-check dump, allocation sites (verifier mode)
 *   publish.c  the live view in shared memory (/dev/shm/exalloc.<pid>) for tools/exapoolmon
 *
 * Walkers are added at the end of pool.c, under a "Diagnostics walkers" banner. */
#ifndef EXA_INTERNAL_DIAG_H
#define EXA_INTERNAL_DIAG_H

#include "pool/pool.h"


/* lookaside.c. The handle and NT owner (NULL for modern lists) of the live list `id`; 0 when
 * there is none. */
int _exa_lookaside_handle_of(exa_u64 id, void **handle, void **owner);

/* diag.c. Allocation sites (verifier mode, EXALLOC_CHECKS=verifier until the check level
 * lands): 1 when sites are recorded. The hooks are called by the pool's entry points only
 * when _exa_diag_sites is non-zero. */
extern exa_atomic(uint32_t) _exa_diag_sites;
void _exa_diag_note_alloc(const void *block);
void _exa_diag_note_free(const void *block);

/* diag.c. The bug-check dump (default handler): culprit, tags, live blocks, to stderr or
 * EXALLOC_DUMP_PATH. No malloc; locks only tried. */
void _exa_diag_fatal_dump(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4);

/* diag.c: library load (constructor) reads EXALLOC_LEAK_REPORT, EXALLOC_CHECKS and, through
 * publish.c, EXALLOC_PUBLISH. */
void _exa_publish_from_env(void);

#endif /* EXA_INTERNAL_DIAG_H */
