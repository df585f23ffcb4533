/* exalloc - instruction-count driver, inline part: the NT lookaside names compiled with
 * EXA_NT_INLINE_LOOKASIDE (exalloc_nt.h's header-inline fast path, as wdm.h's FORCEINLINE
 * routines), in a translation unit of their own so that the rest of the driver keeps calling
 * the exported routines. icount_driver.c's "nt-lookaside-inline" runs this. */
#define EXA_NT_INLINE_LOOKASIDE 1
#include "exalloc_nt.h"

#include <stdio.h>
#include <stdlib.h>

#include "icount_inline.h"

void icount_nt_inline_pairs(size_t size, uint32_t tag, long n, void *volatile *sink) {
    static NPAGED_LOOKASIDE_LIST list;
    ExInitializeNPagedLookasideList(&list, NULL, NULL, 0, size, tag, 0);
    for (long i = 0; i < n; i++) {
        void *p = ExAllocateFromNPagedLookasideList(&list);
        if (__builtin_expect(p == NULL, 0)) {
            fprintf(stderr, "icount_driver: out of memory\n");
            exit(1);
        }
        *sink = p;
        ExFreeToNPagedLookasideList(&list, p);
    }
    ExDeleteNPagedLookasideList(&list);
}
