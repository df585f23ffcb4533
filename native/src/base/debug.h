/* exalloc - native core
 * base/debug.h: the debug tier. A build with -DEXA_DEBUG=1 (scripts/sanitize.sh turns it on
 * for its ASan and TSan builds; the Maven build leaves it off) compiles the internal
 * invariant validators of the pool (pool/validate_pool.c), the lookaside lists
 * (lookaside/validate_lookaside.c) and zones (zone/validate_zone.c), and exports them under
 * internal `_exa_debug_*` names so that the C tests, which link the shared library, can call
 * them after a workload. Without EXA_DEBUG they do not exist and nothing is exported.
 *
 * Each validator returns 1 when every invariant holds, else 0 with a one-line description of
 * the first violation in why[0..cap). It takes the locks it needs but expects the structure
 * to be quiet (no other thread using it); it changes nothing. */
#ifndef EXA_BASE_DEBUG_H
#define EXA_BASE_DEBUG_H

#ifndef EXA_DEBUG
#  define EXA_DEBUG 0
#endif

#if EXA_DEBUG
#  define EXA_DEBUG_API __attribute__((visibility("default")))

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* A validator's failure: the description into why[0..cap) (when there is room), then 0 for
 * the validator to return. Shared by the three validators. */
static inline int _exa_debug_fail(char *why, size_t cap, const char *fmt, ...) {
    if (why != NULL && cap != 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return 0;
}
#endif

#endif /* EXA_BASE_DEBUG_H */
