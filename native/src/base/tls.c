/* exalloc - native core
 * base/tls.c: the library's block of hot thread-locals (base/base.h): the IRQL, the
 * lookaside memo, the bug-check count. One initial-exec block, so a fast path reaches all of
 * them through one address. */
#include "base/base.h"

exa_thread_local exa_tls_block_t _exa_tls;

/* The same block under its public name, for the inline lookaside path of exalloc_nt.h
 * (EXA_NT_INLINE_LOOKASIDE): code built with it reads the IRQL and the memo directly. Its
 * layout is asserted in nt/lookaside_nt.c. */
extern exa_thread_local exa_tls_block_t exa_nt_inline_tls __attribute__((alias("_exa_tls"), visibility("default")));
