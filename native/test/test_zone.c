/* exalloc - C tests: zones (docs/zone.md, docs/edge-cases.md#case-40 to #case-47) through both headers: layouts,
 * the worked example, validation, carving and extension order, ExFreeToZone's return value,
 * the first-segment quirk against exa_zone_contains, IRQL rules, interlocked use under
 * contention. */
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* ntddk.h x64 layouts. */
_Static_assert(offsetof(ZONE_HEADER, FreeList) == 0 && offsetof(ZONE_HEADER, SegmentList) == 8 &&
                   offsetof(ZONE_HEADER, BlockSize) == 16 && offsetof(ZONE_HEADER, TotalSegmentSize) == 20,
               "ZONE_HEADER");
_Static_assert(sizeof(ZONE_HEADER) == 24 && sizeof(exa_zone_t) == 24, "ZONE_HEADER size");
_Static_assert(offsetof(ZONE_SEGMENT_HEADER, SegmentList) == 0 && offsetof(ZONE_SEGMENT_HEADER, Reserved) == 8,
               "ZONE_SEGMENT_HEADER");
_Static_assert(sizeof(ZONE_SEGMENT_HEADER) == 16 && sizeof(exa_zone_segment_header_t) == 16, "segment header size");

enum { H = sizeof(ZONE_SEGMENT_HEADER) };

static _Alignas(64) unsigned char arena[16384];

static unsigned char *at(size_t offset) { return arena + offset; }

static void worked_example(void) {
    ZONE_HEADER zone;
    unsigned char *seg = at(0);
    CHECK_EQ(ExInitializeZone(&zone, 64, seg, 4096), STATUS_SUCCESS);
    CHECK_EQ(zone.BlockSize, 64);
    CHECK_EQ(zone.TotalSegmentSize, 4048); /* 16 + 63 * 64: the used extent, not 4096 */
    CHECK(zone.SegmentList.Next == (PSINGLE_LIST_ENTRY)seg);
    CHECK(((PZONE_SEGMENT_HEADER)seg)->SegmentList.Next == NULL);
    CHECK(((PZONE_SEGMENT_HEADER)seg)->Reserved == NULL);
    CHECK(zone.FreeList.Next == (PSINGLE_LIST_ENTRY)(seg + 3984));
    CHECK_EQ(ExIsFullZone(&zone), FALSE);
    for (int k = 62; k >= 0; k--) { /* descending addresses: 3984, 3920, ..., 16 */
        PVOID b = ExAllocateFromZone(&zone);
        CHECK_EQ((unsigned char *)b - seg, H + 64 * k);
    }
    CHECK_EQ(ExIsFullZone(&zone), TRUE);
    ZONE_HEADER copy = zone;
    CHECK(ExAllocateFromZone(&zone) == NULL); /* empty: NULL, zone unchanged */
    CHECK(memcmp(&copy, &zone, sizeof zone) == 0);
}

static void free_returns_previous_head(void) {
    exa_zone_t zone;
    unsigned char *seg = at(0);
    CHECK_EQ(exa_zone_init(&zone, 32, seg, 16 + 2 * 32), EXA_STATUS_SUCCESS);
    void *b1 = exa_zone_allocate(&zone), *b0 = exa_zone_allocate(&zone);
    CHECK(b1 == seg + 48 && b0 == seg + 16);
    CHECK_EQ(exa_zone_is_full(&zone), 1);
    CHECK(exa_zone_free(&zone, b0) == NULL); /* NULL: the zone had been full */
    CHECK(ExFreeToZone((PZONE_HEADER)&zone, b1) == b0);
    CHECK(exa_zone_free(&zone, NULL) == b1); /* NULL block: ignored */
    CHECK(exa_zone_allocate(&zone) == b1);   /* LIFO */
    CHECK(exa_zone_allocate(&zone) == b0);
    CHECK(exa_zone_allocate(&zone) == NULL);
}

/* Every rejected call returns STATUS_UNSUCCESSFUL and leaves the header as it was. */
static void validation(void) {
    ZONE_HEADER zone, before;
    memset(&zone, 0xA5, sizeof zone);
    before = zone;
    static const struct { ULONG block; size_t offset; ULONG size; } bad[] = {
        {64, 4, 4096},    /* segment not 8-aligned */
        {64, 0, 4092},    /* size not a multiple of 8 */
        {60, 0, 4096},    /* block size not a multiple of 8 (no rounding) */
        {0, 0, 4096},     /* block size 0 (ReactOS loops forever) */
        {4096, 0, 4096},  /* block size == segment size */
        {8192, 0, 4096},  /* block size > segment size */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(ExInitializeZone(&zone, bad[i].block, at(bad[i].offset), bad[i].size), STATUS_UNSUCCESSFUL);
        CHECK(memcmp(&zone, &before, sizeof zone) == 0);
    }
    CHECK_EQ(ExInitializeZone(&zone, 64, NULL, 4096), STATUS_UNSUCCESSFUL);
    CHECK_EQ(exa_zone_init(NULL, 64, at(0), 4096), EXA_STATUS_INVALID_PARAMETER);

    CHECK_EQ(ExInitializeZone(&zone, 64, at(0), 4096), STATUS_SUCCESS);
    before = zone;
    CHECK_EQ(ExExtendZone(&zone, at(4096 + 4), 4096), STATUS_UNSUCCESSFUL);
    CHECK_EQ(ExExtendZone(&zone, at(4096), 1028), STATUS_UNSUCCESSFUL);
    CHECK_EQ(ExExtendZone(&zone, at(4096), 64), STATUS_UNSUCCESSFUL); /* block size >= segment size */
    CHECK_EQ(ExExtendZone(&zone, NULL, 4096), STATUS_UNSUCCESSFUL);
    CHECK(memcmp(&zone, &before, sizeof zone) == 0);
    memset(&zone, 0, sizeof zone); /* never initialised */
    CHECK_EQ(ExExtendZone(&zone, at(4096), 4096), STATUS_UNSUCCESSFUL);
}

static void segment_too_small_for_a_block(void) {
    ZONE_HEADER zone;
    CHECK_EQ(ExInitializeZone(&zone, 8, at(0), 16), STATUS_SUCCESS); /* the header only */
    CHECK_EQ(ExIsFullZone(&zone), TRUE);
    CHECK_EQ(zone.TotalSegmentSize, 16);
    CHECK_EQ(ExInitializeZone(&zone, 16, at(0), 24), STATUS_SUCCESS); /* 16 + 16 > 24 */
    CHECK_EQ(ExIsFullZone(&zone), TRUE);
    CHECK_EQ(ExInitializeZone(&zone, 8, at(0), 24), STATUS_SUCCESS);  /* exactly one block */
    CHECK(ExAllocateFromZone(&zone) == at(16));
    CHECK_EQ(zone.TotalSegmentSize, 24);
    CHECK_EQ(ExIsFullZone(&zone), TRUE);
}

/* A: 4096 bytes at 0 (63 blocks of 64); B: 1024 bytes at 8192 (15 blocks, extent 976). */
static void extension_order(void) {
    ZONE_HEADER zone;
    unsigned char *a = at(0), *b = at(8192);
    CHECK_EQ(ExInitializeZone(&zone, 64, a, 4096), STATUS_SUCCESS);
    CHECK(ExAllocateFromZone(&zone) == a + 3984);
    CHECK(ExAllocateFromZone(&zone) == a + 3920);
    CHECK_EQ(ExExtendZone(&zone, b, 1024), STATUS_SUCCESS);
    CHECK(zone.SegmentList.Next == (PSINGLE_LIST_ENTRY)b); /* newest first */
    CHECK(((PZONE_SEGMENT_HEADER)b)->SegmentList.Next == (PSINGLE_LIST_ENTRY)a);
    CHECK_EQ(zone.TotalSegmentSize, 4048 + 976);
    CHECK_EQ((uintptr_t)((PZONE_SEGMENT_HEADER)b)->Reserved, 976); /* exalloc: the extension's extent */
    CHECK(((PZONE_SEGMENT_HEADER)a)->Reserved == NULL);
    for (int k = 14; k >= 0; k--) CHECK(ExAllocateFromZone(&zone) == b + H + 64 * k); /* new blocks first */
    CHECK(ExAllocateFromZone(&zone) == a + 3856); /* then the older free ones */
    exa_zone_info_t info;
    CHECK_EQ(exa_zone_query((exa_zone_t *)&zone, &info, NULL), EXA_STATUS_SUCCESS);
    CHECK_EQ(info.block_size, 64);
    CHECK_EQ(info.total_segment_size, 5024);
    CHECK_EQ(info.segment_count, 2);
    CHECK_EQ(info.block_count, 78);
    CHECK_EQ(exa_zone_query((exa_zone_t *)&zone, NULL, NULL), EXA_STATUS_INVALID_PARAMETER);
}

/* ExIsObjectInFirstZoneSegment is NT's macro taken literally: after the extension it tests
 * [B, B + TotalSegmentSize): the first segment A is "not in it", and a byte past the end of
 * B, in no segment at all, is. exa_zone_contains answers correctly. */
static void first_segment_quirk_and_contains(void) {
    ZONE_HEADER zone;
    exa_zone_t *z = (exa_zone_t *)&zone;
    unsigned char *a = at(0), *b = at(8192);
    CHECK_EQ(ExInitializeZone(&zone, 64, a, 4096), STATUS_SUCCESS);
    CHECK_EQ(ExIsObjectInFirstZoneSegment(&zone, a + 3984), TRUE);
    CHECK_EQ(ExIsObjectInFirstZoneSegment(&zone, a + 4048), FALSE);
    CHECK_EQ(ExIsObjectInFirstZoneSegment(&zone, b + 16), FALSE);
    CHECK_EQ(ExExtendZone(&zone, b, 1024), STATUS_SUCCESS);
    CHECK_EQ(ExIsObjectInFirstZoneSegment(&zone, a + 3984), FALSE); /* in the first segment */
    CHECK_EQ(ExIsObjectInFirstZoneSegment(&zone, b + 16), TRUE);
    CHECK_EQ(ExIsObjectInFirstZoneSegment(&zone, b + 4500), TRUE); /* in no segment */
    CHECK_EQ(exa_zone_in_first_segment(z, b + 4500), 1);

    CHECK_EQ(exa_zone_contains(z, a + 16, NULL), 1);
    CHECK_EQ(exa_zone_contains(z, a + 3984 + 63, NULL), 1);
    CHECK_EQ(exa_zone_contains(z, a + 4048, NULL), 0); /* past A's used extent */
    CHECK_EQ(exa_zone_contains(z, a + 8, NULL), 0);    /* A's header */
    CHECK_EQ(exa_zone_contains(z, b + 16, NULL), 1);
    CHECK_EQ(exa_zone_contains(z, b + 975, NULL), 1);
    CHECK_EQ(exa_zone_contains(z, b + 976, NULL), 0);
    CHECK_EQ(exa_zone_contains(z, b + 4500, NULL), 0);
    CHECK_EQ(exa_zone_contains(NULL, b + 16, NULL), 0);
    exa_spinlock_t lock = 0;
    CHECK_EQ(exa_zone_contains(z, b + 16, &lock), 1);
    CHECK_EQ(lock, 0);
}

static void irql_rules(void) {
    ZONE_HEADER zone, before;
    KSPIN_LOCK lock = 0;
    KIRQL old;
    CHECK_EQ(ExInitializeZone(&zone, 64, at(0), 4096), STATUS_SUCCESS);
    before = zone;

    KeRaiseIrql(APC_LEVEL, &old);
    exa_u64 n = test_bugcheck_begin();
    CHECK_EQ(ExInitializeZone(&zone, 64, at(0), 4096), EXA_STATUS_BUGCHECK); /* PASSIVE_LEVEL only */
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x0A, (uintptr_t)&zone, APC_LEVEL);
    KeLowerIrql(old);

    KeRaiseIrql(HIGH_LEVEL, &old);
    n = test_bugcheck_begin();
    CHECK_EQ(ExExtendZone(&zone, at(8192), 1024), EXA_STATUS_BUGCHECK);
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x0A, (uintptr_t)&zone, HIGH_LEVEL);
    n = test_bugcheck_begin();
    CHECK_EQ(ExInterlockedExtendZone(&zone, at(8192), 1024, &lock), EXA_STATUS_BUGCHECK);
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x42, HIGH_LEVEL); /* its KeAcquireSpinLock refuses */
    CHECK(memcmp(&zone, &before, sizeof zone) == 0);
    PVOID block = ExInterlockedAllocateFromZone(&zone, &lock); /* any IRQL */
    CHECK(block == at(3984));
    CHECK(ExInterlockedFreeToZone(&zone, block, &lock) == at(3920));
    CHECK_EQ(KeGetCurrentIrql(), HIGH_LEVEL);
    KeLowerIrql(old);

    CHECK_EQ(ExInterlockedExtendZone(&zone, at(8192), 1024, &lock), STATUS_SUCCESS);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    CHECK_EQ(lock, 0);
    CHECK(ExInterlockedAllocateFromZone(&zone, &lock) == at(8192 + 912));
    CHECK_EQ(exa_zone_extend_interlocked((exa_zone_t *)&zone, at(12288), 1024, NULL), EXA_STATUS_INVALID_PARAMETER);
}

/* The caller's lock is checked like any spin lock: taking it again while holding it is 0x0F
 * and the zone is left alone (NT would deadlock). */
static void interlocked_under_held_lock(void) {
    exa_zone_t zone;
    exa_spinlock_t lock = 0;
    uint8_t old;
    CHECK_EQ(exa_zone_init(&zone, 64, at(0), 4096), EXA_STATUS_SUCCESS);
    exa_spinlock_acquire_raise(&lock, &old);
    exa_u64 n = test_bugcheck_begin();
    CHECK(exa_zone_allocate_interlocked(&zone, &lock) == NULL);
    CHECK(exa_zone_free_interlocked(&zone, at(16), &lock) == NULL);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_EQ(b.sequence, 2);
    CHECK_EQ(b.code, 0x0F);
    CHECK_EQ(exa_irql_get(), EXA_DISPATCH_LEVEL);
    exa_spinlock_release_lower(&lock, old);
    CHECK(zone.free_list == at(3984));
    exa_zone_info_t info;
    CHECK_EQ(exa_zone_query(&zone, &info, &lock), EXA_STATUS_SUCCESS);
    CHECK_EQ(info.block_count, 63);
}

/* ------------------------------------------------------------------------------------------
 * Contention: 4 threads allocate and free through the interlocked routines (two through NT's
 * names), stamp each block they hold and check the stamp before freeing it; thread 0 extends
 * the zone half-way. At the end every carved block is free again, each exactly once.
 * ---------------------------------------------------------------------------------------- */

enum { Z_THREADS = 4, Z_BLOCK = 64 };
static exa_zone_t z_zone;
static exa_spinlock_t z_lock;
static unsigned z_iterations;
static atomic_int z_errors;

static void *zone_worker(void *arg) {
    uintptr_t me = (uintptr_t)arg;
    for (unsigned i = 0; i < z_iterations; i++) {
        if (me == 0 && i == z_iterations / 2 &&
            exa_zone_extend_interlocked(&z_zone, at(8192), 4096, &z_lock) != EXA_STATUS_SUCCESS)
            atomic_fetch_add(&z_errors, 1);
        uintptr_t *b = me & 1 ? ExInterlockedAllocateFromZone((PZONE_HEADER)&z_zone, &z_lock)
                              : exa_zone_allocate_interlocked(&z_zone, &z_lock);
        if (b == NULL) continue; /* all blocks out at the moment */
        if (!exa_zone_contains(&z_zone, b, &z_lock)) atomic_fetch_add(&z_errors, 1);
        b[1] = me;
        b[2] = i;
        if (b[1] != me || b[2] != i) atomic_fetch_add(&z_errors, 1);
        if (me & 1) ExInterlockedFreeToZone((PZONE_HEADER)&z_zone, b, &z_lock);
        else exa_zone_free_interlocked(&z_zone, b, &z_lock);
    }
    return NULL;
}

static void interlocked_contention(void) {
    z_iterations = test_scale(100000);
    atomic_store(&z_errors, 0);
    exa_spinlock_init(&z_lock);
    /* few blocks, so that threads often find the zone empty */
    CHECK_EQ(exa_zone_init(&z_zone, Z_BLOCK, at(0), H + 6 * Z_BLOCK), EXA_STATUS_SUCCESS);
    pthread_t t[Z_THREADS];
    for (uintptr_t i = 0; i < Z_THREADS; i++) pthread_create(&t[i], NULL, zone_worker, (void *)i);
    for (int i = 0; i < Z_THREADS; i++) pthread_join(t[i], NULL);
    CHECK_EQ(atomic_load(&z_errors), 0);
    exa_zone_info_t info;
    CHECK_EQ(exa_zone_query(&z_zone, &info, NULL), EXA_STATUS_SUCCESS);
    CHECK_EQ(info.segment_count, 2);
    CHECK_EQ(info.block_count, 6 + 63);
    unsigned char seen[16384 / Z_BLOCK] = {0};
    unsigned free_blocks = 0;
    for (unsigned char *b; (b = exa_zone_allocate(&z_zone)) != NULL; free_blocks++) {
        size_t slot = (size_t)(b - arena) / Z_BLOCK;
        CHECK_EQ(seen[slot], 0);
        seen[slot] = 1;
    }
    CHECK_EQ(free_blocks, info.block_count);
    CHECK_EQ(z_lock, 0);
}

/* The modern API never faults on a NULL zone or lock (docs/zone.md#null). */
static void null_zone_or_lock_is_invalid_parameter(void) {
    static _Alignas(16) unsigned char seg[256];
    exa_zone_t z;
    exa_spinlock_t lock;
    exa_spinlock_init(&lock);
    CHECK_EQ(exa_zone_init(&z, 32, seg, sizeof seg), EXA_STATUS_SUCCESS);
    exa_clear_last_status();
    CHECK(exa_zone_allocate_interlocked(&z, NULL) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
    CHECK(exa_zone_allocate_interlocked(NULL, &lock) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
    CHECK(exa_zone_allocate(NULL) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    void *b = exa_zone_allocate(&z);
    CHECK(b != NULL);
    exa_clear_last_status();
    CHECK(exa_zone_free(NULL, b) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
    CHECK(exa_zone_free_interlocked(&z, b, NULL) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    CHECK(exa_zone_is_full(NULL) == 1);
    CHECK(exa_zone_in_first_segment(NULL, b) == 0);
    CHECK_EQ(exa_spinlock_test(&lock), 1); /* the lock was never taken by a refused call */
    exa_zone_free(&z, b);
    exa_clear_last_status();
}

static const test_case_t zone_cases[] = {
    {"zone.null_zone_or_lock_is_invalid_parameter", null_zone_or_lock_is_invalid_parameter},
    {"zone.worked_example", worked_example},
    {"zone.free_returns_previous_head", free_returns_previous_head},
    {"zone.validation", validation},
    {"zone.segment_too_small_for_a_block", segment_too_small_for_a_block},
    {"zone.extension_order", extension_order},
    {"zone.first_segment_quirk_and_contains", first_segment_quirk_and_contains},
    {"zone.irql_rules", irql_rules},
    {"zone.interlocked_under_held_lock", interlocked_under_held_lock},
    {"zone.interlocked_contention", interlocked_contention},
    {NULL, NULL}};
TEST_SUITE(zone);
