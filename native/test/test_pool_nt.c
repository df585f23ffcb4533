/* exalloc - C tests: the pool and Mm routines under their NT names (exalloc_nt.h), written
 * as a driver would write them (multi-character tag literals, wdm.h constants). */
#define _GNU_SOURCE 1
#include "exalloc_nt.h"
#include "test.h"

#include <stddef.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wmultichar"

_Static_assert(sizeof(POOL_EXTENDED_PARAMETER) == 16, "x64 POOL_EXTENDED_PARAMETER");
_Static_assert(offsetof(POOL_EXTENDED_PARAMETER, Priority) == 8, "the union follows the bit-fields");
_Static_assert(sizeof(POOL_FLAGS) == 8, "POOL_FLAGS is 64-bit");
_Static_assert(POOL_FLAG_SPECIAL_POOL == 0x100000000ULL, "first optional flag");
_Static_assert(NonPagedPoolNx == 512 && NonPagedPoolSessionNx == 544, "POOL_TYPE values");

static int raised;
static NTSTATUS raised_status;
static void on_raise(exa_status_t st, void *ctx) {
    (void)ctx;
    raised++;
    raised_status = st;
}

/* Tag literals as drivers write them: 'looP' shows as "Pool". */
static void legacy_routines_and_tags(void) {
    PVOID a = ExAllocatePool(NonPagedPoolNx, 40);
    PVOID b = ExAllocatePoolWithTag(PagedPool, 40, 'looP');
    PVOID c = ExAllocatePoolWithTagPriority(NonPagedPool, 40, 'irPT', HighPoolPriority);
    PVOID d = ExAllocatePoolUninitialized(PagedPoolCacheAligned, 40, 'inUT');
    CHECK(a && b && c && d);
    CHECK(memcmp((char *)a - 12, "None", 4) == 0); /* the untagged routines' tag */
    CHECK(memcmp((char *)b - 12, "Pool", 4) == 0);
    exa_pool_block_info_t bi;
    CHECK_EQ(exa_pool_query_block(c, &bi), EXA_STATUS_SUCCESS);
    CHECK_EQ(bi.pool_type, NonPagedPool);
    CHECK_EQ(exa_pool_query_block(d, &bi), EXA_STATUS_SUCCESS);
    CHECK_EQ(bi.pool_type, PagedPoolCacheAligned);
    ExFreePool(a);
    ExFreePoolWithTag(b, 'looP');
    ExFreePoolWithTag(c, 'irPT');
    ExFreePool(d);
}

static void zero_wrappers_zero(void) {
    static const POOL_TYPE types[] = {NonPagedPoolNx, PagedPool, NonPagedPoolCacheAligned};
    for (size_t t = 0; t < 3; t++) {
        /* Dirty blocks first, so that a reused block would show. */
        PVOID dirty[8];
        for (int i = 0; i < 8; i++) {
            dirty[i] = ExAllocatePoolWithTag(types[t], 300, 'oreZ');
            memset(dirty[i], 0xEE, 300);
        }
        for (int i = 0; i < 8; i++) ExFreePool(dirty[i]);
        unsigned char *z = ExAllocatePoolZero(types[t], 300, 'oreZ');
        unsigned char *q = ExAllocatePoolQuotaZero(types[t], 300, 'oreZ');
        unsigned char *p = ExAllocatePoolPriorityZero(types[t], 300, 'oreZ', NormalPoolPriority);
        CHECK(z && q && p);
        for (int i = 0; i < 300; i++) CHECK(z[i] == 0 && q[i] == 0 && p[i] == 0);
        BOOLEAN charged = FALSE;
        CHECK(ExQueryPoolBlockSize(q, &charged) >= 300);
        CHECK_EQ(charged, TRUE);
        ExFreePool(z);
        ExFreePool(q);
        ExFreePool(p);
    }
    PVOID u = ExAllocatePoolQuotaUninitialized(PagedPool, 10, 'inUQ');
    PVOID v = ExAllocatePoolPriorityUninitialized(PagedPool, 10, 'inUP', LowPoolPriority);
    CHECK(u && v);
    ExFreePool(u);
    ExFreePool(v);
}

/* ExQueryPoolBlockSize: small = block size - header; big = whole pages; QuotaCharged. */
static void query_pool_block_size(void) {
    static const struct {
        SIZE_T n, size;
    } cases[] = {{1, 16}, {100, 112}, {4064, 4064}, {4065, 4096}, {4096, 4096}, {4097, 8192}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        PVOID p = ExAllocatePoolWithQuotaTag(PagedPool, cases[i].n, 'ztQB');
        CHECK(p != NULL);
        BOOLEAN charged = 2;
        CHECK_EQ(ExQueryPoolBlockSize(p, &charged), cases[i].size);
        CHECK_EQ(charged, cases[i].n <= 4064 ? TRUE : FALSE); /* big blocks are never charged */
        ExFreePool(p);
    }
    int x;
    BOOLEAN charged = TRUE;
    CHECK_EQ(ExQueryPoolBlockSize(&x, &charged), 0);
    CHECK_EQ(charged, FALSE);
}

/* docs/pool.md#quota, docs/edge-cases.md#case-10: the quota routines raise by default; POOL_QUOTA_FAIL_INSTEAD_OF_RAISE
 * returns NULL. */
static void quota_routines_raise_unless_told(void) {
    exa_quota_account_t *acct;
    CHECK_EQ(exa_quota_create(64, 0, &acct), EXA_STATUS_SUCCESS);
    exa_quota_account_t *saved = exa_quota_attach(acct);
    exa_set_raise_handler(on_raise, NULL);
    raised = 0;
    PVOID ok = ExAllocatePoolWithQuota(NonPagedPoolNx, 40); /* a 64-byte block: exactly the limit */
    PVOID no = ExAllocatePoolWithQuotaTag(NonPagedPoolNx, 1, 'touQ');
    int raised_once = raised;
    NTSTATUS status = raised_status;
    PVOID quiet = ExAllocatePoolWithQuotaTag((POOL_TYPE)(NonPagedPoolNx | POOL_QUOTA_FAIL_INSTEAD_OF_RAISE), 1, 'touQ');
    int raised_after = raised;
    exa_set_raise_handler(NULL, NULL);
    exa_clear_last_status();
    exa_quota_attach(saved);
    CHECK(ok != NULL);
    CHECK(no == NULL && quiet == NULL);
    CHECK_EQ(raised_once, 1);
    CHECK_EQ(status, STATUS_QUOTA_EXCEEDED);
    CHECK_EQ(raised_after, 1);
    CHECK(memcmp((char *)ok - 12, "None", 4) == 0);
    ExFreePool(ok);
    CHECK_EQ(exa_quota_close(acct), EXA_STATUS_SUCCESS);
}

static void pool2_and_pool3(void) {
    PVOID p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, 'loP2');
    CHECK(p != NULL);
    ExFreePoolWithTag(p, 'loP2');
    CHECK(ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, 0) == NULL);
    CHECK(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 64, 'loP2') == NULL);
    p = ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_SPECIAL_POOL, 64, 'loP2'); /* optional: ignored */
    CHECK(p != NULL);
    ExFreePool(p);

    POOL_EXTENDED_PARAMETER params[2];
    memset(params, 0, sizeof params);
    params[0].Type = PoolExtendedParameterPriority;
    params[0].Priority = LowPoolPriority;
    params[1].Type = PoolExtendedParameterNumaNode;
    params[1].PreferredNode = 0;
    PVOID q = ExAllocatePool3(POOL_FLAG_NON_PAGED, 128, 'loP3', params, 2);
    CHECK(q != NULL);
    ExFreePool(q);
    params[1].PreferredNode = 4000; /* no such node, strict */
    CHECK(ExAllocatePool3(POOL_FLAG_NON_PAGED, 128, 'loP3', params, 2) == NULL);
    params[1].PreferredNode = 4000 | MM_ANY_NODE_OK;
    q = ExAllocatePool3(POOL_FLAG_NON_PAGED, 128, 'loP3', params, 2);
    CHECK(q != NULL);
    ExFreePool(q);
    params[0].Type = PoolExtendedParameterSecurePool; /* VBS secure pool: not here */
    CHECK(ExAllocatePool3(POOL_FLAG_NON_PAGED, 128, 'loP3', params, 1) == NULL);
    params[0].Optional = 1;
    q = ExAllocatePool3(POOL_FLAG_NON_PAGED, 128, 'loP3', params, 1);
    CHECK(q != NULL);
    ExFreePool(q);
    CHECK(ExAllocatePool3(POOL_FLAG_NON_PAGED, 128, 'loP3', NULL, 1) == NULL);
    exa_set_raise_handler(on_raise, NULL);
    raised = 0;
    CHECK(ExAllocatePool3(POOL_FLAG_NON_PAGED | POOL_FLAG_RAISE_ON_FAILURE, 128, 0, NULL, 0) == NULL);
    exa_set_raise_handler(NULL, NULL);
    exa_clear_last_status();
    CHECK_EQ(raised, 1);
    CHECK_EQ(raised_status, STATUS_INVALID_PARAMETER);
}

static void free_null_and_protected_tags(void) {
    exa_u64 c = test_bugcheck_begin();
    ExFreePool(NULL);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x46, 0);
    PVOID p = ExAllocatePoolWithTag(PagedPool, 16, 'torP' | PROTECTED_POOL);
    c = test_bugcheck_begin();
    ExFreePool(p);
    ExFreePoolWithTag(p, 'torP');
    bc = test_bugcheck_end(c);
    CHECK_EQ(bc.sequence, 2);
    CHECK_EQ(bc.code, 0xC2);
    CHECK_EQ(bc.parameter1, 0x0A);
    CHECK_EQ(bc.parameter4, 'torP');
    ExFreePoolWithTag(p, 'torP' | PROTECTED_POOL);
}

static void mm_routines(void) {
    exa_mm_configure(16ull << 20, "WinNt");
    CHECK_EQ(MmQuerySystemSize(), MmSmallSystem);
    CHECK_EQ(MmIsThisAnNtAsSystem(), FALSE);
    exa_mm_configure(48ull << 20, "ServerNt");
    CHECK_EQ(MmQuerySystemSize(), MmMediumSystem);
    CHECK_EQ(MmIsThisAnNtAsSystem(), TRUE);
    exa_mm_configure(0, NULL);
    CHECK_EQ(MmQuerySystemSize(), MmLargeSystem);
    CHECK_EQ(MmIsThisAnNtAsSystem(), FALSE);
}

static const test_case_t pool_nt_cases[] = {
    {"pool_nt.legacy_routines_and_tags", legacy_routines_and_tags},
    {"pool_nt.zero_wrappers_zero", zero_wrappers_zero},
    {"pool_nt.query_pool_block_size", query_pool_block_size},
    {"pool_nt.quota_routines_raise_unless_told", quota_routines_raise_unless_told},
    {"pool_nt.pool2_and_pool3", pool2_and_pool3},
    {"pool_nt.free_null_and_protected_tags", free_null_and_protected_tags},
    {"pool_nt.mm_routines", mm_routines},
    {NULL, NULL}};
TEST_SUITE(pool_nt);
