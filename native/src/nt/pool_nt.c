/* exalloc - native core
 * pool_nt.c: NT's pool and Mm routines (exalloc_nt.h) over the pool's two front doors
 * (pool/doors.c): the POOL_TYPE routines through _exa_pool_legacy, ExAllocatePool2/3 through
 * _exa_pool_flags. ExAllocatePool3 converts NT's POOL_EXTENDED_PARAMETER (bit-fields) into
 * exa_pool_parameter_t. Unlike the modern frees, ExFreePool(NULL) is a bug check (0xC2/0x46,
 * docs/edge-cases.md#case-16), and ExQueryPoolBlockSize answers 0 / FALSE for a pointer that is not a live
 * block instead of crashing. */
#include "pool/pool.h"
#include "exalloc_nt.h"

_Static_assert(sizeof(POOL_EXTENDED_PARAMETER) == 16, "POOL_EXTENDED_PARAMETER is 16 bytes");
_Static_assert((int)LowPoolPriority == (int)EXA_POOL_PRIORITY_LOW && (int)HighPoolPriority == (int)EXA_POOL_PRIORITY_HIGH,
               "EX_POOL_PRIORITY values");
_Static_assert(POOL_FLAG_PAGED == EXA_POOL_FLAG_PAGED && POOL_FLAG_RAISE_ON_FAILURE == EXA_POOL_FLAG_RAISE_ON_FAILURE,
               "POOL_FLAGS values");
_Static_assert((int)MmLargeSystem == (int)EXA_MM_LARGE_SYSTEM, "MM_SYSTEMSIZE values");
_Static_assert((int)PoolExtendedParameterNumaNode == (int)EXA_POOL_PARAMETER_NUMA_NODE, "extended parameter types");

PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes) {
    return _exa_pool_legacy((int32_t)PoolType, NumberOfBytes, 0, 0, 0);
}

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return _exa_pool_legacy_entry((int32_t)PoolType, NumberOfBytes, Tag); /* the fast door, one jump */
}

PVOID ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes) {
    return _exa_pool_legacy((int32_t)PoolType, NumberOfBytes, 0, EXA_LEGACY_QUOTA, 0);
}

PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return _exa_pool_legacy((int32_t)PoolType, NumberOfBytes, Tag, EXA_LEGACY_TAGGED | EXA_LEGACY_QUOTA, 0);
}

PVOID ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, EX_POOL_PRIORITY Priority) {
    return _exa_pool_legacy((int32_t)PoolType, NumberOfBytes, Tag, EXA_LEGACY_TAGGED | EXA_LEGACY_PRIORITY,
                            (int32_t)Priority);
}

PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag) {
    return _exa_pool_flags_entry(Flags, NumberOfBytes, Tag); /* the fast door, one jump */
}

PVOID ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag, PCPOOL_EXTENDED_PARAMETER ExtendedParameters,
                      ULONG ExtendedParametersCount) {
    enum { EXA_INLINE_PARAMETERS = 8 };
    exa_pool_parameter_t params[EXA_INLINE_PARAMETERS];
    if (ExtendedParametersCount > EXA_INLINE_PARAMETERS || (ExtendedParametersCount != 0 && ExtendedParameters == NULL)) {
        /* More parameters than there are types is never a valid request. */
        if (Flags & POOL_FLAG_RAISE_ON_FAILURE) _exa_raise(EXA_STATUS_INVALID_PARAMETER);
        return NULL;
    }
    for (ULONG i = 0; i < ExtendedParametersCount; i++) {
        const POOL_EXTENDED_PARAMETER *p = &ExtendedParameters[i];
        params[i].type = (uint32_t)p->Type;
        params[i].optional = (uint32_t)p->Optional;
        params[i].value = p->Type == PoolExtendedParameterPriority ? (exa_u64)(uint32_t)p->Priority
                          : p->Type == PoolExtendedParameterNumaNode ? (exa_u64)p->PreferredNode
                                                                      : p->Reserved2;
    }
    return _exa_pool_flags(Flags, NumberOfBytes, Tag, params, ExtendedParametersCount);
}

PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return ExAllocatePoolWithTag((POOL_TYPE)(PoolType | POOL_ZERO_ALLOCATION), NumberOfBytes, Tag);
}

PVOID ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}

PVOID ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return ExAllocatePoolWithQuotaTag((POOL_TYPE)(PoolType | POOL_ZERO_ALLOCATION), NumberOfBytes, Tag);
}

PVOID ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    return ExAllocatePoolWithQuotaTag(PoolType, NumberOfBytes, Tag);
}

PVOID ExAllocatePoolPriorityZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, EX_POOL_PRIORITY Priority) {
    return ExAllocatePoolWithTagPriority((POOL_TYPE)(PoolType | POOL_ZERO_ALLOCATION), NumberOfBytes, Tag, Priority);
}

PVOID ExAllocatePoolPriorityUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                         EX_POOL_PRIORITY Priority) {
    return ExAllocatePoolWithTagPriority(PoolType, NumberOfBytes, Tag, Priority);
}

VOID ExFreePool(PVOID P) { _exa_pool_release_untagged(P); }

VOID ExFreePoolWithTag(PVOID P, ULONG Tag) { _exa_pool_release_tagged(P, Tag); }

SIZE_T ExQueryPoolBlockSize(PVOID PoolBlock, PBOOLEAN QuotaCharged) {
    exa_pool_block_info_t info;
    int ok = _exa_pool_describe(PoolBlock, &info) == EXA_STATUS_SUCCESS;
    if (QuotaCharged != NULL) *QuotaCharged = ok && info.quota_charged ? TRUE : FALSE;
    return ok ? (SIZE_T)info.size : 0;
}

MM_SYSTEMSIZE MmQuerySystemSize(VOID) { return (MM_SYSTEMSIZE)exa_mm_query_system_size(); }

BOOLEAN MmIsThisAnNtAsSystem(VOID) { return exa_mm_is_nt_as_system() ? TRUE : FALSE; }
