/* exalloc - C tests: the per-thread IRQL (raise/lower rules, NT names) and the IRQL rules of
 * lookaside lists (paged above APC_LEVEL, any above DISPATCH_LEVEL), in-process and through
 * the default abort path. */
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <string.h>

static void raise_and_lower(void) {
    uint8_t old = 99;
    CHECK_EQ(exa_irql_get(), EXA_PASSIVE_LEVEL);
    CHECK_EQ(exa_irql_raise(EXA_APC_LEVEL, &old), EXA_STATUS_SUCCESS);
    CHECK_EQ(old, EXA_PASSIVE_LEVEL);
    CHECK_EQ(exa_irql_raise(EXA_APC_LEVEL, &old), EXA_STATUS_SUCCESS); /* to the same level: fine */
    CHECK_EQ(old, EXA_APC_LEVEL);
    CHECK_EQ(exa_irql_raise(EXA_HIGH_LEVEL, &old), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_irql_get(), EXA_HIGH_LEVEL);
    CHECK_EQ(exa_irql_lower(EXA_DISPATCH_LEVEL), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_irql_lower(EXA_PASSIVE_LEVEL), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_irql_get(), EXA_PASSIVE_LEVEL);
}

static void raise_below_current_is_0x09(void) {
    uint8_t old;
    KIRQL nt_old;
    exa_irql_raise(EXA_DISPATCH_LEVEL, &old);
    exa_u64 n = test_bugcheck_begin();
    CHECK_EQ(exa_irql_raise(EXA_APC_LEVEL, &old), EXA_STATUS_BUGCHECK);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x09, EXA_DISPATCH_LEVEL, EXA_APC_LEVEL);
    CHECK_EQ(exa_irql_get(), EXA_DISPATCH_LEVEL); /* unchanged */
    n = test_bugcheck_begin();
    KeRaiseIrql(HIGH_LEVEL + 1, &nt_old); /* above HIGH_LEVEL: the same code */
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x09, DISPATCH_LEVEL, HIGH_LEVEL + 1);
    CHECK_EQ(nt_old, DISPATCH_LEVEL);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    exa_irql_lower(EXA_PASSIVE_LEVEL);
}

static void lower_above_current_is_0x0a(void) {
    exa_u64 n = test_bugcheck_begin();
    CHECK_EQ(exa_irql_lower(EXA_DISPATCH_LEVEL), EXA_STATUS_BUGCHECK);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x0A, EXA_DISPATCH_LEVEL, EXA_PASSIVE_LEVEL);
    CHECK_EQ(exa_irql_get(), EXA_PASSIVE_LEVEL);
    n = test_bugcheck_begin();
    KeLowerIrql(APC_LEVEL);
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x0A, APC_LEVEL, PASSIVE_LEVEL);
}

static void nt_names(void) {
    KIRQL old = 99;
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KeRaiseIrql(APC_LEVEL, &old);
    CHECK_EQ(old, PASSIVE_LEVEL);
    CHECK_EQ(KeRaiseIrqlToDpcLevel(), APC_LEVEL);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    CHECK_EQ(exa_irql_raise(0, NULL), EXA_STATUS_SUCCESS); /* old_irql is optional */
}

static void *irql_of_new_thread(void *arg) {
    (void)arg;
    return (void *)(uintptr_t)exa_irql_get();
}

static void irql_is_per_thread(void) {
    uint8_t old;
    exa_irql_raise(EXA_DISPATCH_LEVEL, &old);
    pthread_t t;
    void *seen;
    pthread_create(&t, NULL, irql_of_new_thread, NULL);
    pthread_join(t, &seen);
    exa_irql_lower(old);
    CHECK_EQ((uintptr_t)seen, EXA_PASSIVE_LEVEL);
}

/* ------------------------------------------------------------------------------------------
 * Lookaside lists
 * ---------------------------------------------------------------------------------------- */

static exa_lookaside_t *make_list(int32_t pool_type) {
    exa_lookaside_config_t cfg = {.size = 48, .tag = 0x6C717249, .pool_type = pool_type};
    exa_lookaside_t *l = NULL;
    return exa_lookaside_create(&cfg, &l) == EXA_STATUS_SUCCESS ? l : NULL;
}

static void paged_lookaside_above_apc_is_0xc2(void) {
    exa_lookaside_t *l = make_list(EXA_PAGED_POOL);
    CHECK(l != NULL);
    uint8_t old;
    exa_irql_raise(EXA_APC_LEVEL, &old);
    void *block = exa_lookaside_allocate(l); /* APC_LEVEL: allowed for paged lists */
    CHECK(block != NULL);
    exa_lookaside_stats_t before, after;
    exa_lookaside_query(l, &before);

    exa_irql_raise(EXA_DISPATCH_LEVEL, &old);
    exa_u64 n = test_bugcheck_begin();
    CHECK(exa_lookaside_allocate(l) == NULL);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC2, 0x08, EXA_DISPATCH_LEVEL); /* allocate at invalid IRQL */
    CHECK_EQ(b.parameter3, EXA_PAGED_POOL);
    CHECK_EQ(b.parameter4, 48);

    n = test_bugcheck_begin();
    exa_lookaside_free(l, block);
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC2, 0x09, EXA_DISPATCH_LEVEL); /* free at invalid IRQL */
    CHECK_EQ(b.parameter3, EXA_PAGED_POOL);
    CHECK_EQ(b.parameter4, (uintptr_t)block);
    exa_lookaside_query(l, &after);
    CHECK_EQ(after.total_allocates, before.total_allocates); /* nothing happened */
    CHECK_EQ(after.total_frees, before.total_frees);
    CHECK_EQ(after.current_depth, before.current_depth);

    exa_irql_lower(EXA_PASSIVE_LEVEL);
    memset(block, 0x5A, 48); /* still the caller's */
    exa_lookaside_free(l, block);
    exa_lookaside_query(l, &after);
    CHECK_EQ(after.total_frees, before.total_frees + 1);
    CHECK_EQ(after.current_depth, 1);
    CHECK_EQ(exa_lookaside_delete(l), EXA_STATUS_SUCCESS);
}

static void nonpaged_lookaside_up_to_dispatch(void) {
    exa_lookaside_t *l = make_list(EXA_NON_PAGED_POOL_NX);
    CHECK(l != NULL);
    uint8_t old;
    exa_irql_raise(EXA_DISPATCH_LEVEL, &old);
    void *block = exa_lookaside_allocate(l);
    CHECK(block != NULL);
    exa_irql_raise(EXA_HIGH_LEVEL, &old);
    exa_u64 n = test_bugcheck_begin();
    CHECK(exa_lookaside_allocate(l) == NULL);
    exa_lookaside_free(l, block);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_EQ(b.sequence, 2);
    CHECK_EQ(b.code, 0xC2);
    CHECK_EQ(b.parameter1, 0x09);
    CHECK_EQ(b.parameter2, EXA_HIGH_LEVEL);
    exa_irql_lower(EXA_DISPATCH_LEVEL);
    exa_lookaside_free(l, block);
    exa_irql_lower(EXA_PASSIVE_LEVEL);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 1);
    CHECK_EQ(s.total_frees, 1);
    CHECK_EQ(exa_lookaside_delete(l), EXA_STATUS_SUCCESS);
}

/* The situation the model exists for: a paged allocation while holding a spin lock. */
static void paged_lookaside_under_spin_lock(void) {
    PAGED_LOOKASIDE_LIST list;
    ExInitializePagedLookasideList(&list, NULL, NULL, 0, 32, 0x6B636F4C, 0);
    KSPIN_LOCK lock;
    KIRQL old;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    exa_u64 n = test_bugcheck_begin();
    PVOID p = ExAllocateFromPagedLookasideList(&list);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    KeReleaseSpinLock(&lock, old);
    CHECK(p == NULL);
    CHECK_BUGCHECK(b, 0xC2, 0x08, DISPATCH_LEVEL);
    CHECK_EQ(list.L.TotalAllocates, 0);
    p = ExAllocateFromPagedLookasideList(&list); /* back at PASSIVE_LEVEL */
    CHECK(p != NULL);
    ExFreeToPagedLookasideList(&list, p);
    ExDeletePagedLookasideList(&list);
}

static void child_paged_at_dispatch(void) {
    exa_lookaside_t *l = make_list(EXA_PAGED_POOL);
    uint8_t old;
    exa_irql_raise(EXA_DISPATCH_LEVEL, &old);
    (void)exa_lookaside_allocate(l);
}

static void default_handler_aborts(void) {
    CHECK(test_child_stops(child_paged_at_dispatch, "*** STOP: 0x000000C2 (0x0000000000000008, 0x0000000000000002, "
                                                    "0x0000000000000001, 0x0000000000000030)"));
}

static const test_case_t irql_cases[] = {
    {"irql.raise_and_lower", raise_and_lower},
    {"irql.raise_below_current_is_0x09", raise_below_current_is_0x09},
    {"irql.lower_above_current_is_0x0a", lower_above_current_is_0x0a},
    {"irql.nt_names", nt_names},
    {"irql.irql_is_per_thread", irql_is_per_thread},
    {"irql.paged_lookaside_above_apc_is_0xc2", paged_lookaside_above_apc_is_0xc2},
    {"irql.nonpaged_lookaside_up_to_dispatch", nonpaged_lookaside_up_to_dispatch},
    {"irql.paged_lookaside_under_spin_lock", paged_lookaside_under_spin_lock},
    {"irql.default_handler_aborts", default_handler_aborts},
    {NULL, NULL}};
TEST_SUITE(irql);
