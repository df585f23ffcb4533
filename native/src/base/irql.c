/* exalloc - native core
 * base/irql.c: the per-thread IRQL (docs/conventions.md#irql) and the reports of IRQL violations.
 *
 * NT keeps the IRQL per processor and enforces it in hardware; exalloc keeps it per thread
 * and only checks it. The value lives in one initial-exec TLS byte (_exa_tls_irql) so that
 * a check on a hot path (lookaside allocate/free) is a byte load and a compare, with the
 * report out of line. Only the routines here and the spin-lock routines change it; a thread
 * starts at PASSIVE_LEVEL.
 *
 * Codes, and why these:
 *   raise below the current level, or above HIGH_LEVEL   0x09 IRQL_NOT_GREATER_OR_EQUAL
 *       (p1 current, p2 requested: the HAL's checked KfRaiseIrql / KeAcquireQueuedSpinLock)
 *   lower above the current level                        0x0A IRQL_NOT_LESS_OR_EQUAL
 *       (p1 requested, p2 current: the checked KfLowerIrql; 0x0A's p2 is "the IRQL")
 *   a routine called above its documented level           0x0A (p1 the object, p2 IRQL):
 *       what NT gets when code or data that may be paged out is touched at raised IRQL
 *   a pool block touched above the level its pool allows  0xC2 BAD_POOL_CALLER, p1 0x08
 *       (allocate) or 0x09 (free), the documented "allocate/free at invalid IRQL" codes
 *   spin-lock IRQL rules                                  0xC4 with Driver Verifier's
 *       codes 0x32, 0x36, 0x40, 0x41, 0x42 (see spinlock.c)
 * Checks apply at every checking level: a deterministic report is the point of the model. */
#include "base/base.h"


uint8_t exa_irql_get(void) { return _exa_irql(); }

exa_status_t exa_irql_raise(uint8_t new_irql, uint8_t *old_irql) {
    uint8_t current = _exa_irql();
    if (old_irql != NULL) *old_irql = current;
    if (exa_unlikely(new_irql < current || new_irql > EXA_HIGH_LEVEL)) {
        _exa_bugcheck(EXA_BUGCHECK_IRQL_NOT_GREATER_OR_EQUAL, current, new_irql, 0, 0);
        return EXA_STATUS_BUGCHECK;
    }
    _exa_irql_set(new_irql);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_irql_lower(uint8_t new_irql) { return _exa_irql_lower(new_irql); }

exa_cold exa_status_t _exa_irql_bad_lower(uint8_t new_irql) {
    _exa_bugcheck(EXA_BUGCHECK_IRQL_NOT_LESS_OR_EQUAL, new_irql, _exa_irql(), 0, 0);
    return EXA_STATUS_BUGCHECK;
}

exa_cold void *_exa_irql_pool_violation(uint32_t which, int32_t pool_type, uint64_t p4) {
    _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, which, _exa_irql(), (uint64_t)(uint32_t)pool_type, p4);
    return NULL;
}

exa_cold exa_status_t _exa_irql_verifier(uint32_t code, uintptr_t object, uint64_t p4) {
    _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, code, _exa_irql(), object, p4);
    return EXA_STATUS_BUGCHECK;
}

exa_cold exa_status_t _exa_irql_too_high(uintptr_t object) {
    _exa_bugcheck(EXA_BUGCHECK_IRQL_NOT_LESS_OR_EQUAL, object, _exa_irql(), 0, 0);
    return EXA_STATUS_BUGCHECK;
}
