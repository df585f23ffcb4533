/* exalloc - native core
 * zone/zone.c: zones (docs/zone.md), NT's fixed-size block buffers over caller segments.
 *
 * Theory of operation
 * -------------------
 * A zone (exa_zone_t, which is ZONE_HEADER) is two singly linked lists and two numbers, all
 * in caller memory:
 *   free_list           free blocks, LIFO, linked through each block's first word;
 *   segment_list        segments, newest first, linked through their headers;
 *   block_size          B, fixed at init;
 *   total_segment_size  the sum over segments of their used extent e = h + n*B,
 * where h = sizeof(exa_zone_segment_header_t) (16 on 64-bit) and n is the largest count with
 * h + n*B <= the segment's size. A segment's blocks sit at h, h + B, ..., h + (n-1)*B and are
 * pushed in that order, so the highest block is on top: the first allocation from a new
 * segment returns its last block, and a new segment's blocks come out before older free
 * ones. The bytes past h + n*B are wasted. A zone never counts its free blocks (NT's inline
 * allocate/free touch only free_list and ZONE_HEADER has no spare field), so exa_zone_query
 * reports capacity, not use.
 *
 * Extents. NT keeps only their sum, which is all ExIsObjectInFirstZoneSegment needs (and
 * why it misfires after an extension: it tests [newest segment, + sum)). To bound every
 * segment for exa_zone_contains, an extension segment's header keeps its extent in its
 * `reserved` field (NT leaves that field to the executive; ReactOS happens to leave it
 * untouched). The first segment keeps NT's NULL there: its extent is the total minus the
 * extensions' (ULONG arithmetic modulo 2^32, like NT's sum), and it is the segment whose
 * `next` is NULL. (exalloc's own choice, in place of a side table the zone has nowhere to
 * keep.)
 *
 * Concurrency. The plain routines assume the caller serialises them (NT's rule). The
 * interlocked ones run under the caller's spin lock: allocate/free through
 * _exa_list_locked (any IRQL; the thread's IRQL is raised to HIGH_LEVEL meanwhile, the
 * stand-in for NT's disabled interrupts), extend through the KeAcquireSpinLock path (IRQL at
 * most DISPATCH_LEVEL). The two list heads are read and written with relaxed atomics, so
 * exa_zone_is_full may look at an interlocked zone at any time without a data race (its
 * answer may be stale, as NT's macro's is); contains and query take the lock when given it.
 *
 * IRQL checks apply to the exported routines NT documents a level for: init at
 * PASSIVE_LEVEL, extend at most DISPATCH_LEVEL (else 0x0A). The non-interlocked allocate,
 * free and is_full are header macros in NT, which check nothing; neither do these. */
#include "zone/zone.h"
#include "base/track.h"

typedef exa_zone_segment_header_t exa_segment_t;

enum { EXA_ZONE_SEGMENT_HEADER = sizeof(exa_segment_t), EXA_ZONE_ALIGNMENT = 8 };

exa_inline exa_atomic(uintptr_t) *exa_free_head(const exa_zone_t *z) {
    return exa_atomic_word((uintptr_t)&z->free_list);
}

exa_inline exa_atomic(uintptr_t) *exa_segment_head(const exa_zone_t *z) {
    return exa_atomic_word((uintptr_t)&z->segment_list);
}

/* ==========================================================================================
 * Singly linked lists (the caller serialises)
 * ======================================================================================== */

/* `tracked`: the entries are zone blocks of that many bytes, poisoned for AddressSanitizer
 * while free (track.h; nothing without ASan); 0 for plain SINGLE_LIST_ENTRY lists. A zone's
 * free block is poisoned whole, link included: pop unpoisons it before reading the link and
 * hands it out unpoisoned; push writes the link and poisons it. */
static void *exa_list_pop(exa_atomic(uintptr_t) *head, size_t tracked) {
    void *entry = (void *)exa_atomic_load_relaxed(head);
    if (entry != NULL) {
        exa_track_unpoison(entry, tracked);
        exa_atomic_store_relaxed(head, (uintptr_t)*(void **)entry);
    }
    return entry;
}

/* Returns the previous first entry; a NULL entry is ignored. */
static void *exa_list_push(exa_atomic(uintptr_t) *head, void *entry, size_t tracked) {
    void *first = (void *)exa_atomic_load_relaxed(head);
    if (entry == NULL) return first;
    *(void **)entry = first;
    exa_track_poison(entry, tracked);
    exa_atomic_store_relaxed(head, (uintptr_t)entry);
    return first;
}

static void *exa_list_locked(void *head, void *entry, int push, exa_spinlock_t *lock, size_t tracked) {
    uint8_t irql = _exa_irql();
    void *result = NULL;
    _exa_irql_set(EXA_HIGH_LEVEL);
    if (exa_likely(_exa_spin_acquire(lock) == EXA_STATUS_SUCCESS)) {
        exa_atomic(uintptr_t) *word = exa_atomic_word(head);
        result = push ? exa_list_push(word, entry, tracked) : exa_list_pop(word, tracked);
        (void)_exa_spin_release(lock);
    }
    _exa_irql_set(irql);
    return result;
}

void *_exa_list_locked(void *head, void *entry, int push, exa_spinlock_t *lock) {
    return exa_list_locked(head, entry, push, lock, 0);
}

/* ==========================================================================================
 * Init and extend
 * ======================================================================================== */

/* NT's documented rule (docs/zone.md#init), plus exalloc's own checks: no block size that cannot hold the free-list link, no silent
 * rounding. */
static int exa_block_size_is_valid(uint32_t block_size) {
    return block_size >= sizeof(void *) && block_size % EXA_ZONE_ALIGNMENT == 0;
}

static int exa_segment_is_valid(uint32_t block_size, const void *segment, uint32_t size) {
    return segment != NULL && (uintptr_t)segment % EXA_ZONE_ALIGNMENT == 0 && size % EXA_ZONE_ALIGNMENT == 0 &&
           block_size < size;
}

/* Carve `segment` (see the theory block), link it in front of the others and return its
 * extent. `first`: the initial segment, whose reserved field NT sets to NULL. */
static uint32_t exa_zone_add(exa_zone_t *z, void *segment, uint32_t size, int first) {
    const uint64_t h = EXA_ZONE_SEGMENT_HEADER, b = z->block_size;
    uint64_t n = size >= h + b ? (size - h) / b : 0;
    uint32_t extent = (uint32_t)(h + n * b);
    exa_segment_t *s = segment;
    s->next = (void *)exa_atomic_load_relaxed(exa_segment_head(z));
    s->reserved = first ? NULL : (void *)(uintptr_t)extent;
    exa_atomic(uintptr_t) *free_head = exa_free_head(z);
    void *top = (void *)exa_atomic_load_relaxed(free_head);
    unsigned char *block = (unsigned char *)segment + h;
    exa_track_unpoison(block, (size_t)(n * b)); /* the caller's memory, maybe a zone's before */
    for (uint64_t k = 0; k < n; k++, block += b) {
        *(void **)block = top;
        exa_track_poison(block, (size_t)b);
        top = block;
    }
    exa_atomic_store_relaxed(free_head, (uintptr_t)top);
    exa_atomic_store_release(exa_segment_head(z), (uintptr_t)s);
    return extent;
}

exa_status_t exa_zone_init(exa_zone_t *zone, uint32_t block_size, void *segment, uint32_t segment_size) {
    if (zone == NULL) return EXA_STATUS_INVALID_PARAMETER;
    if (exa_unlikely(_exa_irql() != EXA_PASSIVE_LEVEL)) return _exa_irql_too_high((uintptr_t)zone);
    if (!exa_block_size_is_valid(block_size) || !exa_segment_is_valid(block_size, segment, segment_size))
        return EXA_STATUS_UNSUCCESSFUL;
    zone->block_size = block_size;
    exa_atomic_store_relaxed(exa_free_head(zone), (uintptr_t)0);
    exa_atomic_store_relaxed(exa_segment_head(zone), (uintptr_t)0);
    zone->total_segment_size = exa_zone_add(zone, segment, segment_size, 1);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_zone_extend(exa_zone_t *zone, void *segment, uint32_t segment_size) {
    if (zone == NULL) return EXA_STATUS_INVALID_PARAMETER;
    if (exa_unlikely(_exa_irql() > EXA_DISPATCH_LEVEL)) return _exa_irql_too_high((uintptr_t)zone);
    /* The block size is re-checked: a header that was never initialised must not carve. */
    if (!exa_block_size_is_valid(zone->block_size) || !exa_segment_is_valid(zone->block_size, segment, segment_size))
        return EXA_STATUS_UNSUCCESSFUL;
    zone->total_segment_size += exa_zone_add(zone, segment, segment_size, 0);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_zone_extend_interlocked(exa_zone_t *zone, void *segment, uint32_t segment_size,
                                         exa_spinlock_t *lock) {
    if (zone == NULL || lock == NULL) return EXA_STATUS_INVALID_PARAMETER;
    uint8_t irql;
    exa_status_t st = exa_spinlock_acquire_raise(lock, &irql);
    if (st != EXA_STATUS_SUCCESS) return st;
    st = exa_zone_extend(zone, segment, segment_size);
    (void)exa_spinlock_release_lower(lock, irql);
    return st;
}

/* ==========================================================================================
 * Allocate and free
 * ======================================================================================== */

/* A NULL zone or lock: NULL, with exa_last_status EXA_STATUS_INVALID_PARAMETER
 * (docs/zone.md#null); a free leaves the block with the caller. */
static exa_cold void *exa_zone_null(void) {
    _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
    return NULL;
}

void *exa_zone_allocate(exa_zone_t *zone) {
    if (exa_unlikely(zone == NULL)) return exa_zone_null();
    return exa_list_pop(exa_free_head(zone), zone->block_size);
}

void *exa_zone_free(exa_zone_t *zone, void *block) {
    if (exa_unlikely(zone == NULL)) return exa_zone_null();
    return exa_list_push(exa_free_head(zone), block, zone->block_size);
}

void *exa_zone_allocate_interlocked(exa_zone_t *zone, exa_spinlock_t *lock) {
    if (exa_unlikely(zone == NULL || lock == NULL)) return exa_zone_null();
    return exa_list_locked(&zone->free_list, NULL, 0, lock, zone->block_size);
}

void *exa_zone_free_interlocked(exa_zone_t *zone, void *block, exa_spinlock_t *lock) {
    if (exa_unlikely(zone == NULL || lock == NULL)) return exa_zone_null();
    return exa_list_locked(&zone->free_list, block, 1, lock, zone->block_size);
}

/* A NULL zone is "full": nothing can be allocated from it. */
int32_t exa_zone_is_full(const exa_zone_t *zone) {
    return zone == NULL || exa_atomic_load_relaxed(exa_free_head(zone)) == 0;
}

/* ==========================================================================================
 * Membership and statistics
 * ======================================================================================== */

/* The extent of `s` during a newest-first walk; *rest starts as the total and ends as the
 * first segment's extent when the walk reaches it (see the theory block). */
static uint32_t exa_segment_extent(const exa_segment_t *s, uint32_t *rest) {
    uint32_t extent = s->next == NULL ? *rest : (uint32_t)(uintptr_t)s->reserved;
    *rest -= extent;
    return extent;
}

/* Walk every segment: fill *info and return 1 when p lies in a segment's blocks. */
static int32_t exa_zone_scan(const exa_zone_t *z, const void *p, exa_zone_info_t *info) {
    uint32_t rest = z->total_segment_size, segments = 0, blocks = 0;
    int32_t found = 0;
    uintptr_t at = (uintptr_t)p;
    const exa_segment_t *s = (const exa_segment_t *)exa_atomic_load_acquire(exa_segment_head(z));
    for (; s != NULL; s = s->next) {
        uint32_t extent = exa_segment_extent(s, &rest);
        uintptr_t base = (uintptr_t)s;
        if (at >= base + EXA_ZONE_SEGMENT_HEADER && at < base + extent) found = 1;
        segments++;
        if (z->block_size != 0) blocks += (extent - EXA_ZONE_SEGMENT_HEADER) / z->block_size;
    }
    info->block_size = z->block_size;
    info->total_segment_size = z->total_segment_size;
    info->segment_count = segments;
    info->block_count = blocks;
    return found;
}

/* exa_zone_scan under the zone's lock when one is given (IRQL unchanged: a short walk). */
static exa_status_t exa_zone_scan_locked(const exa_zone_t *z, const void *p, exa_zone_info_t *info,
                                         exa_spinlock_t *lock, int32_t *found) {
    if (lock != NULL && _exa_spin_acquire(lock) != EXA_STATUS_SUCCESS) return EXA_STATUS_BUGCHECK;
    *found = exa_zone_scan(z, p, info);
    if (lock != NULL) (void)_exa_spin_release(lock);
    return EXA_STATUS_SUCCESS;
}

int32_t exa_zone_contains(const exa_zone_t *zone, const void *p, exa_spinlock_t *lock) {
    exa_zone_info_t info;
    int32_t found = 0;
    if (zone != NULL) (void)exa_zone_scan_locked(zone, p, &info, lock, &found);
    return found;
}

int32_t exa_zone_in_first_segment(const exa_zone_t *zone, const void *p) {
    if (zone == NULL) return 0;
    uintptr_t first = exa_atomic_load_relaxed(exa_segment_head(zone)), at = (uintptr_t)p;
    return at >= first && at < first + zone->total_segment_size;
}

exa_status_t exa_zone_query(const exa_zone_t *zone, exa_zone_info_t *out, exa_spinlock_t *lock) {
    int32_t found;
    if (zone == NULL || out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    return exa_zone_scan_locked(zone, NULL, out, lock, &found);
}
