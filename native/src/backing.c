/* exalloc - native core
 * backing.c: the allocator behind lookaside misses until the pool lands (see internal.h).
 * Blocks are 16-byte aligned (NT pool blocks on 64-bit), or cache-line aligned for the
 * cache-aligned pool types. */
#include "internal/internal.h"

#include <string.h>

enum { EXA_POOL_CACHE_ALIGNED_BIT = 0x4, EXA_POOL_SESSION_BIT = 0x20 };

int _exa_pool_type_is_valid_for_lookaside(int32_t base_type) {
    switch (base_type) {
    case EXA_NON_PAGED_POOL: case EXA_PAGED_POOL:
    case EXA_NON_PAGED_POOL_CACHE_ALIGNED: case EXA_PAGED_POOL_CACHE_ALIGNED:
    case EXA_NON_PAGED_POOL_SESSION: case EXA_PAGED_POOL_SESSION:
    case EXA_NON_PAGED_POOL_CACHE_ALIGNED_SESSION: case EXA_PAGED_POOL_CACHE_ALIGNED_SESSION:
    case EXA_NON_PAGED_POOL_NX: case EXA_NON_PAGED_POOL_NX_CACHE_ALIGNED: case EXA_NON_PAGED_POOL_SESSION_NX:
        return 1;
    default:
        return 0;
    }
}

void *_exa_pool_allocate(int32_t pool_type, uint64_t size, uint32_t tag) {
    (void)tag;
    size_t align = (pool_type & EXA_POOL_CACHE_ALIGNED_BIT) ? EXA_CACHE_LINE : 16u;
    void *p = NULL;
    if (size != 0 && size <= (uint64_t)SIZE_MAX - EXA_CACHE_LINE) p = _exa_os_alloc_aligned((size_t)size, align);
    if (exa_unlikely(p == NULL)) {
        if (pool_type & EXA_POOL_RAISE_IF_ALLOCATION_FAILURE) _exa_raise(EXA_STATUS_INSUFFICIENT_RESOURCES);
        return NULL;
    }
    if (pool_type & EXA_POOL_ZERO_ALLOCATION) memset(p, 0, (size_t)size);
    return p;
}

void _exa_pool_free(void *block) { _exa_os_free_aligned(block); }

void exa_pool_free(void *block) {
    if (block != NULL) _exa_pool_free(block);
}
