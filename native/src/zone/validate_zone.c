/* exalloc - native core
 * zone/validate_zone.c: a zone's invariant validator, compiled only in the debug tier
 * (base/debug.h). See _exa_debug_zone_validate in zone/zone.h. */
#include "zone/zone.h"
#include "base/track.h"

#if EXA_DEBUG

enum { EXA_VZ_HEADER = sizeof(exa_zone_segment_header_t) };

/* The segment holding block `p` on a block boundary, 1; else 0 (*why says how). The
 * extents as zone.c keeps them: an extension's in its header's reserved field, the first
 * segment's the total minus the others. */
static int exa_vz_placed(const exa_zone_t *z, uintptr_t p, uint32_t *blocks) {
    uint32_t rest = z->total_segment_size, total = 0;
    int found = 0;
    for (const exa_zone_segment_header_t *s = z->segment_list; s != NULL; s = s->next) {
        uint32_t extent = s->next == NULL ? rest : (uint32_t)(uintptr_t)s->reserved;
        rest -= extent;
        uintptr_t first = (uintptr_t)s + EXA_VZ_HEADER, end = (uintptr_t)s + extent;
        if (p >= first && p < end && (p - first) % z->block_size == 0) found = 1;
        total += (extent - EXA_VZ_HEADER) / z->block_size;
    }
    *blocks = total;
    return found;
}

int _exa_debug_zone_validate(const exa_zone_t *z, char *why, size_t cap) {
    if (why != NULL && cap != 0) why[0] = 0;
    if (z == NULL || z->block_size == 0) return _exa_debug_fail(why, cap, "no zone (block size 0)");
    uint32_t seen = 0, blocks = 0;
    for (void *e = z->free_list; e != NULL;) {
        if (!exa_vz_placed(z, (uintptr_t)e, &blocks))
            return _exa_debug_fail(why, cap, "free entry %p is not a block of any segment", e);
        if (++seen > blocks)
            return _exa_debug_fail(why, cap, "more free entries than the segments' %u blocks (a cycle)", blocks);
        /* A free block is poisoned whole under ASan (zone.c): read its link as pop does. */
        exa_track_unpoison(e, z->block_size);
        void *next = *(void **)e;
        exa_track_poison(e, z->block_size);
        e = next;
    }
    return 1;
}

#else
typedef int exa_validate_zone_unused; /* ISO C wants a declaration in every file */
#endif
