/* exalloc - native core
 * verifier_nt.c: the Driver Verifier's NT name (exalloc_nt.h). */
#include "verifier/verifier.h"
#include "exalloc_nt.h"

NTSTATUS MmIsVerifierEnabled(PULONG VerifierFlags) {
    ULONG flags = 0;
    NTSTATUS st = STATUS_NOT_SUPPORTED;
    if (exa_get_check_level() == EXA_CHECKS_VERIFIER) {
        exa_verifier_config_t c;
        exa_verifier_get_config(&c);
        flags = DRIVER_VERIFIER_FORCE_IRQL_CHECKING;
        if (c.special_tag != 0 || c.special_size_max != 0) flags |= DRIVER_VERIFIER_SPECIAL_POOLING;
        if (c.low_resources != 0) flags |= DRIVER_VERIFIER_INJECT_ALLOCATION_FAILURES;
        st = STATUS_SUCCESS;
    }
    if (VerifierFlags != NULL) *VerifierFlags = flags;
    return st;
}
