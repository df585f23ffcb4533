/* exalloc - native core
 * exalloc.c: versioning and ABI self-description, read by bindings at load time. */
#include "base/base.h"
#include "pool/pool.h"
#include "verifier/verifier.h"

uint32_t exa_abi_version(void) { return EXA_ABI_VERSION; }

const char *exa_version_string(void) { return "0.1.0"; }

exa_u64 exa_struct_size(int32_t struct_id) {
    switch (struct_id) {
    case EXA_STRUCT_LOOKASIDE_CONFIG: return sizeof(exa_lookaside_config_t);
    case EXA_STRUCT_LOOKASIDE_STATS: return sizeof(exa_lookaside_stats_t);
    case EXA_STRUCT_BUGCHECK_INFO: return sizeof(exa_bugcheck_info_t);
    case EXA_STRUCT_QUEUED_LOCK_HANDLE: return sizeof(exa_queued_lock_handle_t);
    case EXA_STRUCT_ZONE: return sizeof(exa_zone_t);
    case EXA_STRUCT_ZONE_SEGMENT_HEADER: return sizeof(exa_zone_segment_header_t);
    case EXA_STRUCT_ZONE_INFO: return sizeof(exa_zone_info_t);
    case EXA_STRUCT_VERIFIER_CONFIG: case EXA_STRUCT_VERIFIER_STATS: return _exa_verifier_struct_size(struct_id);
    default: return _exa_pool_struct_size(struct_id);
    }
}

uint32_t exa_cache_line_size(void) { return EXA_CACHE_LINE; }
