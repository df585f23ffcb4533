/* exalloc - native core
 * zone_nt.c: NT's zone routines and interlocked singly linked lists (exalloc_nt.h) over the
 * modern ones. ZONE_HEADER is exa_zone_t and ZONE_SEGMENT_HEADER exa_zone_segment_header_t,
 * field for field (asserted below), so the NT routines pass the caller's header through; the
 * header macros of NT (ExAllocateFromZone, ExFreeToZone, ...) are inlines in exalloc_nt.h. */
#include "zone/zone.h"
#include "exalloc_nt.h"

_Static_assert(sizeof(ZONE_HEADER) == sizeof(exa_zone_t), "ZONE_HEADER");
_Static_assert(offsetof(ZONE_HEADER, FreeList) == offsetof(exa_zone_t, free_list), "FreeList");
_Static_assert(offsetof(ZONE_HEADER, SegmentList) == offsetof(exa_zone_t, segment_list), "SegmentList");
_Static_assert(offsetof(ZONE_HEADER, BlockSize) == offsetof(exa_zone_t, block_size), "BlockSize");
_Static_assert(offsetof(ZONE_HEADER, TotalSegmentSize) == offsetof(exa_zone_t, total_segment_size), "TotalSegmentSize");
_Static_assert(sizeof(ZONE_SEGMENT_HEADER) == sizeof(exa_zone_segment_header_t), "ZONE_SEGMENT_HEADER");
_Static_assert(offsetof(ZONE_SEGMENT_HEADER, Reserved) == offsetof(exa_zone_segment_header_t, reserved), "Reserved");

NTSTATUS ExInitializeZone(PZONE_HEADER Zone, ULONG BlockSize, PVOID InitialSegment, ULONG InitialSegmentSize) {
    return exa_zone_init(exa_nt_zone(Zone), BlockSize, InitialSegment, InitialSegmentSize);
}

NTSTATUS ExExtendZone(PZONE_HEADER Zone, PVOID Segment, ULONG SegmentSize) {
    return exa_zone_extend(exa_nt_zone(Zone), Segment, SegmentSize);
}

NTSTATUS ExInterlockedExtendZone(PZONE_HEADER Zone, PVOID Segment, ULONG SegmentSize, PKSPIN_LOCK Lock) {
    return exa_zone_extend_interlocked(exa_nt_zone(Zone), Segment, SegmentSize, Lock);
}

PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock) {
    return _exa_list_locked(ListHead, NULL, 0, Lock);
}

PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY ListEntry,
                                              PKSPIN_LOCK Lock) {
    return _exa_list_locked(ListHead, ListEntry, 1, Lock);
}
