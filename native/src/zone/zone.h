/* exalloc - native core
 * zone/zone.h: what the zone floor offers the files above it: the locked list helper of
 * ExInterlockedPopEntryList / ExInterlockedPushEntryList and, in the debug tier, the zone
 * validator. */
#ifndef EXA_ZONE_ZONE_H
#define EXA_ZONE_ZONE_H

#include "base/base.h"

/* ExInterlockedPopEntryList / ExInterlockedPushEntryList (zone/zone.c): pop (push == 0) or push
 * `entry` (push != 0, NULL ignored) on the singly linked list whose head word is at `head`,
 * under the caller's lock (checked acquire), at HIGH_LEVEL for the duration. Returns the
 * entry popped / the previous first entry; NULL when the acquire was refused. */
void *_exa_list_locked(void *head, void *entry, int push, exa_spinlock_t *lock);

#if EXA_DEBUG
/* Debug tier (base/debug.h, zone/validate_zone.c): every free entry lies in a segment's
 * blocks (between its header and its used extent), on a block boundary (a multiple of the
 * block size from the segment's first block), and the free list has no cycle (at most as
 * many entries as the segments hold blocks). */
EXA_DEBUG_API int _exa_debug_zone_validate(const exa_zone_t *zone, char *why, size_t cap);
#endif

#endif /* EXA_ZONE_ZONE_H */
