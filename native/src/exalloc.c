/* exalloc - native core
 * exalloc.c: versioning and ABI self-description, read by bindings at load time. */
#include "internal/internal.h"

uint32_t exa_abi_version(void) { return EXA_ABI_VERSION; }

const char *exa_version_string(void) { return "0.1.0"; }

exa_u64 exa_struct_size(int32_t struct_id) {
    switch (struct_id) {
    case EXA_STRUCT_LOOKASIDE_CONFIG: return sizeof(exa_lookaside_config_t);
    case EXA_STRUCT_LOOKASIDE_STATS: return sizeof(exa_lookaside_stats_t);
    case EXA_STRUCT_BUGCHECK_INFO: return sizeof(exa_bugcheck_info_t);
    default: return 0;
    }
}

uint32_t exa_cache_line_size(void) { return EXA_CACHE_LINE; }
