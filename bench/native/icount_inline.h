/* exalloc - instruction-count driver: the inline part's entry (icount_inline.c). */
#ifndef ICOUNT_INLINE_H
#define ICOUNT_INLINE_H
#include <stddef.h>
#include <stdint.h>
/* n pairs of ExAllocateFromNPagedLookasideList / ExFreeToNPagedLookasideList, compiled with
 * EXA_NT_INLINE_LOOKASIDE, on a list like the driver's nt-lookaside one; each block escapes
 * through *sink. */
void icount_nt_inline_pairs(size_t size, uint32_t tag, long n, void *volatile *sink);
#endif
