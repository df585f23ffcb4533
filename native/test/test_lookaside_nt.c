/* exalloc - C tests: the NT-named lookaside routines (exalloc_nt.h): layouts, field values,
 * callback shapes, Ex validation codes. */
#include "exalloc_nt.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* wdm.h x64 layout */
_Static_assert(offsetof(GENERAL_LOOKASIDE, ListHead) == 0x00, "ListHead");
_Static_assert(offsetof(GENERAL_LOOKASIDE, Depth) == 0x10, "Depth");
_Static_assert(offsetof(GENERAL_LOOKASIDE, MaximumDepth) == 0x12, "MaximumDepth");
_Static_assert(offsetof(GENERAL_LOOKASIDE, TotalAllocates) == 0x14, "TotalAllocates");
_Static_assert(offsetof(GENERAL_LOOKASIDE, AllocateMisses) == 0x18, "AllocateMisses");
_Static_assert(offsetof(GENERAL_LOOKASIDE, TotalFrees) == 0x1C, "TotalFrees");
_Static_assert(offsetof(GENERAL_LOOKASIDE, FreeMisses) == 0x20, "FreeMisses");
_Static_assert(offsetof(GENERAL_LOOKASIDE, Type) == 0x24, "Type");
_Static_assert(offsetof(GENERAL_LOOKASIDE, Tag) == 0x28, "Tag");
_Static_assert(offsetof(GENERAL_LOOKASIDE, Size) == 0x2C, "Size");
_Static_assert(offsetof(GENERAL_LOOKASIDE, Allocate) == 0x30, "Allocate");
_Static_assert(offsetof(GENERAL_LOOKASIDE, Free) == 0x38, "Free");
_Static_assert(offsetof(GENERAL_LOOKASIDE, ListEntry) == 0x40, "ListEntry");
_Static_assert(offsetof(GENERAL_LOOKASIDE, LastTotalAllocates) == 0x50, "LastTotalAllocates");
_Static_assert(offsetof(GENERAL_LOOKASIDE, LastAllocateMisses) == 0x54, "LastAllocateMisses");
_Static_assert(offsetof(GENERAL_LOOKASIDE, Future) == 0x58, "Future");
_Static_assert(sizeof(GENERAL_LOOKASIDE_POOL) == 0x60, "GENERAL_LOOKASIDE_POOL size");
_Static_assert(sizeof(LOOKASIDE_LIST_EX) == 0x60, "LOOKASIDE_LIST_EX size");
_Static_assert(sizeof(NPAGED_LOOKASIDE_LIST) == 0x80 && _Alignof(NPAGED_LOOKASIDE_LIST) == 64, "NPAGED size");
_Static_assert(sizeof(PAGED_LOOKASIDE_LIST) == 0x80, "PAGED size");
_Static_assert(LOOKASIDE_MINIMUM_BLOCK_SIZE == 8, "minimum block size");
_Static_assert(sizeof(KSPIN_LOCK) == sizeof(void *), "KSPIN_LOCK is pointer-sized");

static int nt_allocs, nt_frees;
static POOL_TYPE nt_last_type;
static SIZE_T nt_last_size;
static ULONG nt_last_tag;
static PLOOKASIDE_LIST_EX nt_last_list;

static PVOID nt_alloc(POOL_TYPE type, SIZE_T size, ULONG tag) {
    nt_allocs++;
    nt_last_type = type;
    nt_last_size = size;
    nt_last_tag = tag;
    return malloc(size);
}
static VOID nt_free(PVOID p) {
    nt_frees++;
    free(p);
}
static PVOID nt_alloc_ex(POOL_TYPE type, SIZE_T size, ULONG tag, PLOOKASIDE_LIST_EX list) {
    nt_last_list = list;
    return nt_alloc(type, size, tag);
}
static VOID nt_free_ex(PVOID p, PLOOKASIDE_LIST_EX list) {
    nt_last_list = list;
    nt_free(p);
}
static void nt_reset(void) {
    nt_allocs = nt_frees = 0;
    nt_last_list = NULL;
}

static void npaged_fields_and_counters(void) {
    NPAGED_LOOKASIDE_LIST list;
    memset(&list, 0xEE, sizeof list);
    ExInitializeNPagedLookasideList(&list, NULL, NULL, POOL_NX_ALLOCATION, 100, 0x6B6F6F4C /* 'kooL' */, 77);
    CHECK_EQ(list.L.Depth, 4); /* the Depth argument is ignored */
    CHECK_EQ(list.L.MaximumDepth, 256);
    CHECK_EQ(list.L.Type, NonPagedPool | POOL_NX_ALLOCATION);
    CHECK_EQ(list.L.Tag, 0x6B6F6F4C);
    CHECK_EQ(list.L.Size, 100);
    CHECK(list.L.Allocate != NULL && list.L.Free != NULL); /* the pool defaults */
    CHECK_EQ(list.L.TotalAllocates + list.L.AllocateMisses + list.L.TotalFrees + list.L.FreeMisses, 0);
    CHECK_EQ(list.L.ListEntry.Flink, &list.L.ListEntry);
    void *b[10];
    for (int i = 0; i < 10; i++) {
        b[i] = ExAllocateFromNPagedLookasideList(&list);
        CHECK(b[i] != NULL);
        CHECK_EQ((uintptr_t)b[i] % 16, 0);
    }
    CHECK_EQ(list.L.TotalAllocates, 10);
    CHECK_EQ(list.L.AllocateMisses, 10);
    for (int i = 0; i < 10; i++) ExFreeToNPagedLookasideList(&list, b[i]);
    CHECK_EQ(list.L.TotalFrees, 10);
    CHECK_EQ(list.L.FreeMisses, 6);
    CHECK_EQ(ExQueryDepthSList(&list.L.ListHead), 4);
    CHECK(ExAllocateFromNPagedLookasideList(&list) == b[3]);
    ExFreeToNPagedLookasideList(&list, b[3]);
    ExDeleteNPagedLookasideList(&list);
    CHECK_EQ(list.L.ListHead.Region, 0);
}

static void paged_custom_callbacks(void) {
    nt_reset();
    PAGED_LOOKASIDE_LIST list;
    ExInitializePagedLookasideList(&list, nt_alloc, nt_free, POOL_RAISE_IF_ALLOCATION_FAILURE, 40, 0x61676150, 0);
    CHECK_EQ(list.L.Type, PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE);
    CHECK(list.L.Allocate == nt_alloc);
    void *p = ExAllocateFromPagedLookasideList(&list);
    CHECK(p != NULL);
    CHECK_EQ(nt_allocs, 1);
    CHECK_EQ(nt_last_type, PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE);
    CHECK_EQ(nt_last_size, 40);
    CHECK_EQ(nt_last_tag, 0x61676150);
    ExFreeToPagedLookasideList(&list, p);
    CHECK_EQ(nt_frees, 0);
    ExDeletePagedLookasideList(&list);
    CHECK_EQ(nt_frees, 1); /* delete hands the cached entry to Free */
}

static void classic_size_below_minimum_is_raised(void) {
    nt_reset();
    NPAGED_LOOKASIDE_LIST list;
    ExInitializeNPagedLookasideList(&list, nt_alloc, nt_free, 0, 2, 0x6C616D53, 0);
    CHECK_EQ(list.L.Size, LOOKASIDE_MINIMUM_BLOCK_SIZE);
    void *p = ExAllocateFromNPagedLookasideList(&list);
    CHECK_EQ(nt_last_size, LOOKASIDE_MINIMUM_BLOCK_SIZE);
    ExFreeToNPagedLookasideList(&list, p);
    ExDeleteNPagedLookasideList(&list);
    CHECK_EQ(nt_frees, 1);
}

static void ex_validation_codes(void) {
    LOOKASIDE_LIST_EX list;
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, NonPagedPoolMustSucceed, 0, 64, 0x78457845, 0),
             STATUS_INVALID_PARAMETER_4);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, DontUseThisType, 0, 64, 0x78457845, 0),
             STATUS_INVALID_PARAMETER_4);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, MaxPoolType, 0, 64, 0x78457845, 0),
             STATUS_INVALID_PARAMETER_4);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, (POOL_TYPE)(PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE), 0, 64,
                                         0x78457845, 0),
             STATUS_INVALID_PARAMETER_4);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, PagedPool, 3, 64, 0x78457845, 0), STATUS_INVALID_PARAMETER_5);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, PagedPool, 4, 64, 0x78457845, 0), STATUS_INVALID_PARAMETER_5);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, PagedPool, 0, 64, 0x78457845, 100), STATUS_INVALID_PARAMETER_8);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, PagedPool, 0, 64, 0x78457845, 1025), STATUS_INVALID_PARAMETER_8);
    CHECK_EQ(ExInitializeLookasideListEx(&list, NULL, NULL, NonPagedPoolNx, 0, 64, 0x78457845, 512), STATUS_SUCCESS);
    CHECK_EQ(list.L.MaximumDepth, 512);
    CHECK_EQ(list.L.Depth, 4);
    CHECK_EQ(list.L.Type, NonPagedPoolNx);
    ExDeleteLookasideListEx(&list);
}

static void ex_callbacks_flags_flush(void) {
    nt_reset();
    LOOKASIDE_LIST_EX list;
    CHECK_EQ(ExInitializeLookasideListEx(&list, nt_alloc_ex, nt_free_ex, PagedPool, EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL,
                                         72, 0x74784578, 0),
             STATUS_SUCCESS);
    CHECK_EQ(list.L.Type, PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE);
    void *b[3];
    for (int i = 0; i < 3; i++) b[i] = ExAllocateFromLookasideListEx(&list);
    CHECK_EQ(nt_allocs, 3);
    CHECK(nt_last_list == &list);
    CHECK_EQ(nt_last_type, PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE);
    for (int i = 0; i < 3; i++) ExFreeToLookasideListEx(&list, b[i]);
    CHECK_EQ(nt_frees, 0);
    ExFlushLookasideListEx(&list);
    CHECK_EQ(nt_frees, 3);
    CHECK_EQ(ExQueryDepthSList(&list.L.ListHead), 0);
    void *p = ExAllocateFromLookasideListEx(&list); /* still usable after a flush */
    CHECK(p != NULL);
    CHECK_EQ(nt_allocs, 4);
    ExFreeToLookasideListEx(&list, p);
    ExDeleteLookasideListEx(&list);
    CHECK_EQ(nt_frees, 4);

    nt_reset();
    CHECK_EQ(ExInitializeLookasideListEx(&list, nt_alloc_ex, nt_free_ex, NonPagedPoolNx,
                                         EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE, 72, 0x74784578, 0),
             STATUS_SUCCESS);
    p = ExAllocateFromLookasideListEx(&list);
    CHECK_EQ(nt_last_type, NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE);
    ExFreeToLookasideListEx(&list, p);
    ExDeleteLookasideListEx(&list);
    CHECK_EQ(nt_frees, 1);
}

static void nt_lists_are_in_the_registry(void) {
    uint32_t before = exa_lookaside_enumerate(NULL, 0);
    NPAGED_LOOKASIDE_LIST a;
    LOOKASIDE_LIST_EX b;
    ExInitializeNPagedLookasideList(&a, NULL, NULL, 0, 64, 0x31676552, 0);
    CHECK_EQ(ExInitializeLookasideListEx(&b, NULL, NULL, PagedPool, 0, 128, 0x32676552, 0), STATUS_SUCCESS);
    exa_lookaside_stats_t s[256];
    uint32_t n = exa_lookaside_enumerate(s, 256);
    CHECK_EQ(n, before + 2);
    CHECK_EQ(s[n - 2].tag, 0x31676552);
    CHECK_EQ(s[n - 1].tag, 0x32676552);
    CHECK_EQ(s[n - 1].pool_type, PagedPool);
    ExDeleteNPagedLookasideList(&a);
    ExDeleteLookasideListEx(&b);
    CHECK_EQ(exa_lookaside_enumerate(NULL, 0), before);
}

/* A Size that does not fit NT's 32-bit field (docs/lookaside.md#init): never a block smaller
 * than asked. The classic (VOID) initialisers leave a list whose every allocate fails (Size,
 * Depth, MaximumDepth 0; exa_last_status STATUS_INVALID_PARAMETER) without calling Allocate;
 * the verifier level reports 0xC4/0x1010; ExInitializeLookasideListEx returns
 * STATUS_INVALID_PARAMETER, as the modern creator does. */
static void oversize_sizes_never_truncate(void) {
    const SIZE_T sizes[] = {((SIZE_T)1 << 32) + 16, (SIZE_T)-1, (SIZE_T)1 << 32};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        nt_reset();
        NPAGED_LOOKASIDE_LIST np;
        exa_clear_last_status();
        ExInitializeNPagedLookasideList(&np, nt_alloc, nt_free, 0, sizes[i], 0x7A69534F, 0);
        CHECK_EQ(exa_last_status(), STATUS_INVALID_PARAMETER);
        CHECK_EQ(np.L.Size, 0);
        CHECK_EQ(np.L.Depth, 0);
        CHECK_EQ(np.L.MaximumDepth, 0);
        exa_clear_last_status();
        CHECK(ExAllocateFromNPagedLookasideList(&np) == NULL);
        CHECK_EQ(exa_last_status(), STATUS_INVALID_PARAMETER);
        CHECK_EQ(nt_allocs, 0);
        ExDeleteNPagedLookasideList(&np);

        PAGED_LOOKASIDE_LIST pg;
        ExInitializePagedLookasideList(&pg, NULL, NULL, 0, sizes[i], 0x7A69534F, 0);
        CHECK(ExAllocateFromPagedLookasideList(&pg) == NULL);
        ExDeletePagedLookasideList(&pg);

        LOOKASIDE_LIST_EX ex;
        CHECK_EQ(ExInitializeLookasideListEx(&ex, nt_alloc_ex, nt_free_ex, NonPagedPoolNx, 0, sizes[i], 0x7A69534F, 0),
                 STATUS_INVALID_PARAMETER);
        CHECK(ExAllocateFromLookasideListEx(&ex) == NULL); /* used anyway: still no short block */
        CHECK_EQ(nt_allocs, 0);

        exa_lookaside_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.size = sizes[i];
        cfg.pool_type = EXA_NON_PAGED_POOL;
        exa_lookaside_t *l = NULL;
        CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER);
    }
    /* The largest size that fits is kept exactly. */
    NPAGED_LOOKASIDE_LIST big;
    ExInitializeNPagedLookasideList(&big, nt_alloc, nt_free, 0, 0xFFFFFFFFu, 0x7A69534F, 0);
    CHECK_EQ(big.L.Size, 0xFFFFFFFFu);
    ExDeleteNPagedLookasideList(&big);
    /* The verifier level reports the classic form. */
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    NPAGED_LOOKASIDE_LIST v;
    exa_u64 c = test_bugcheck_begin();
    ExInitializeNPagedLookasideList(&v, NULL, NULL, 0, ((SIZE_T)1 << 32) + 16, 0x7A69534F, 0);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1010, (uintptr_t)&v);
    CHECK_EQ(bc.parameter3, ((exa_u64)1 << 32) + 16);
    CHECK(ExAllocateFromNPagedLookasideList(&v) == NULL);
    ExDeleteNPagedLookasideList(&v);
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    exa_clear_last_status();
}

static const test_case_t lookaside_nt_cases[] = {
    {"lookaside_nt.oversize_sizes_never_truncate", oversize_sizes_never_truncate},
    {"nt.npaged_fields_and_counters", npaged_fields_and_counters},
    {"nt.paged_custom_callbacks", paged_custom_callbacks},
    {"nt.classic_size_below_minimum_is_raised", classic_size_below_minimum_is_raised},
    {"nt.ex_validation_codes", ex_validation_codes},
    {"nt.ex_callbacks_flags_flush", ex_callbacks_flags_flush},
    {"nt.lists_are_in_the_registry", nt_lists_are_in_the_registry},
    {NULL, NULL}};
TEST_SUITE(lookaside_nt);
