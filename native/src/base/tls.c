/* exalloc - native core
 * base/tls.c: the library's block of hot thread-locals (base/base.h): the IRQL, the
 * lookaside memo, the bug-check count. One initial-exec block, so a fast path reaches all of
 * them through one address. */
#include "base/base.h"

exa_thread_local exa_tls_block_t _exa_tls;
