/* exalloc - C tests: spin locks (mutual exclusion, owner checks) and the bug-check path. */
#define _GNU_SOURCE 1
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>
#if TEST_POSIX
#  include <sys/mman.h>
#  include <sys/resource.h>
#endif

static exa_spinlock_t shared_lock;
static uint64_t shared_counter; /* protected by shared_lock only */
static unsigned shared_iterations;

static void *lock_worker(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < shared_iterations; i++) {
        exa_spinlock_acquire(&shared_lock);
        uint64_t v = shared_counter;
        shared_counter = v + 1;
        exa_spinlock_release(&shared_lock);
    }
    return NULL;
}

static void mutual_exclusion_four_threads(void) {
    exa_spinlock_init(&shared_lock);
    shared_counter = 0;
    shared_iterations = test_scale(200000);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, lock_worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_EQ(shared_counter, 4ull * shared_iterations);
    CHECK_EQ(shared_lock, 0);
}

static void *try_from_other_thread(void *arg) {
    return (void *)(intptr_t)exa_spinlock_try_acquire((exa_spinlock_t *)arg);
}

static void word_shape_try_and_test(void) {
    exa_spinlock_t lock = 12345;
    exa_spinlock_init(&lock);
    CHECK_EQ(lock, 0);
    CHECK_EQ(exa_spinlock_test(&lock), 1);
    CHECK_EQ(exa_spinlock_acquire(&lock), EXA_STATUS_SUCCESS);
    CHECK((lock & 1) == 1); /* owner token | 1 */
    CHECK_EQ(exa_spinlock_test(&lock), 0);
    pthread_t t;
    void *r;
    pthread_create(&t, NULL, try_from_other_thread, &lock);
    pthread_join(t, &r);
    CHECK_EQ((intptr_t)r, 0);
    CHECK_EQ(exa_spinlock_try_acquire(&lock), 0);
    CHECK_EQ(exa_spinlock_release(&lock), EXA_STATUS_SUCCESS);
    CHECK_EQ(lock, 0);
    CHECK_EQ(exa_spinlock_try_acquire(&lock), 1);
    CHECK_EQ(exa_spinlock_release(&lock), EXA_STATUS_SUCCESS);
}

static void recursion_is_bugcheck_0x0f(void) {
    exa_set_bugcheck_handler(exa_bugcheck_record, NULL);
    exa_spinlock_t lock;
    exa_spinlock_init(&lock);
    exa_bugcheck_info_t before, after;
    exa_last_bugcheck(&before);
    CHECK_EQ(exa_spinlock_acquire(&lock), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_spinlock_acquire(&lock), EXA_STATUS_BUGCHECK);
    exa_last_bugcheck(&after);
    exa_set_bugcheck_handler(NULL, NULL);
    CHECK_EQ(after.sequence, before.sequence + 1);
    CHECK_EQ(after.code, 0x0F);
    CHECK_EQ(after.parameter1, (uintptr_t)&lock);
    CHECK_EQ(exa_spinlock_release(&lock), EXA_STATUS_SUCCESS); /* still held once, by us */
}

static exa_spinlock_t foreign_lock;
static void *hold_foreign(void *arg) {
    (void)arg;
    exa_spinlock_acquire(&foreign_lock);
    return NULL;
}

static void foreign_release_is_bugcheck_0x10(void) {
    exa_set_bugcheck_handler(exa_bugcheck_record, NULL);
    exa_spinlock_init(&foreign_lock);
    exa_spinlock_t free_lock;
    exa_spinlock_init(&free_lock);
    exa_bugcheck_info_t info;
    CHECK_EQ(exa_spinlock_release(&free_lock), EXA_STATUS_BUGCHECK);
    exa_last_bugcheck(&info);
    CHECK_EQ(info.code, 0x10);
    CHECK_EQ(info.parameter1, (uintptr_t)&free_lock);
    CHECK_EQ(info.parameter2, 0);
    pthread_t t;
    pthread_create(&t, NULL, hold_foreign, NULL);
    pthread_join(t, NULL);
    uintptr_t word = foreign_lock;
    CHECK_EQ(exa_spinlock_release(&foreign_lock), EXA_STATUS_BUGCHECK);
    exa_last_bugcheck(&info);
    exa_set_bugcheck_handler(NULL, NULL);
    CHECK_EQ(info.code, 0x10);
    CHECK_EQ(info.parameter2, word);
    CHECK_EQ(foreign_lock, word); /* nothing changed */
}

static void child_recursive_acquire(void) {
    exa_spinlock_t lock;
    exa_spinlock_init(&lock);
    exa_spinlock_acquire(&lock);
    exa_spinlock_acquire(&lock);
}

static void default_handler_prints_stop_and_aborts(void) {
    CHECK(test_child_stops(child_recursive_acquire, "*** STOP: 0x0000000F (0x"));
}

static void child_kebugcheckex(void) {
    exa_set_bugcheck_handler(exa_bugcheck_record, NULL); /* returns: KeBugCheckEx aborts anyway */
    KeBugCheckEx(0xC2, 0x9B, 2, 3, 4);
}

static void kebugcheckex_never_returns(void) {
    CHECK(test_child_stops(child_kebugcheckex, "*** STOP: 0x000000C2 (0x000000000000009B, 0x0000000000000002, "
                                               "0x0000000000000003, 0x0000000000000004)"));
}

static uint32_t custom_seen;
static void custom_handler(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4, void *ctx) {
    (void)p1, (void)p2, (void)p3, (void)p4;
    custom_seen = code + (uint32_t)(uintptr_t)ctx;
}

static void custom_handler_gets_code_and_context(void) {
    exa_set_bugcheck_handler(custom_handler, (void *)(uintptr_t)0x1000);
    exa_spinlock_t lock = 0;
    exa_spinlock_release(&lock);
    exa_set_bugcheck_handler(NULL, NULL);
    CHECK_EQ(custom_seen, 0x1010);
}

static int raised_status;
static void raise_handler(exa_status_t st, void *ctx) {
    (void)ctx;
    raised_status = st;
}

/* Caps this (child) process's memory far below what child_raise's request needs: 0 on
 * success, else child_raise's exit code for the failing step. POSIX: RLIMIT_AS (19: the limit
 * is not enforced, checked with a 3 GiB reservation); Windows: a job object's commit limit. */
static int cap_memory(void) {
#if TEST_POSIX
    struct rlimit rl;
    getrlimit(RLIMIT_AS, &rl);
    rl.rlim_cur = (rlim_t)1 << 31;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long vm_pages = 0;
    if (f) {
        if (fscanf(f, "%llu", &vm_pages) != 1) vm_pages = 0;
        fclose(f);
    }
    unsigned long long host_page = (unsigned long long)sysconf(_SC_PAGESIZE); /* statm counts host pages */
    if (vm_pages * host_page + (256ull << 20) > rl.rlim_cur) rl.rlim_cur = (rlim_t)(vm_pages * host_page + (256ull << 20));
    if (setrlimit(RLIMIT_AS, &rl) != 0) return 12;
    void *probe = mmap(NULL, (size_t)3 << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return probe != MAP_FAILED ? 19 : 0;
#else
    return test_limit_commit((uint64_t)1 << 31) != 0 ? 12 : 0;
#endif
}

/* In a child whose memory is capped, a lookaside miss of ~3.9 GB through the default
 * allocator fails: with EXA_POOL_RAISE_IF_ALLOCATION_FAILURE it "raises", without it returns
 * NULL quietly. Exit code 0 means every expectation held; otherwise the failing step. */
static void child_raise(void) {
    exa_lookaside_config_t cfg = {0};
    cfg.size = 0xF0000000ull;
    cfg.tag = 0x65736152;
    cfg.pool_type = EXA_NON_PAGED_POOL | EXA_POOL_RAISE_IF_ALLOCATION_FAILURE;
    exa_lookaside_t *raising, *quiet;
    if (exa_lookaside_create(&cfg, &raising) != EXA_STATUS_SUCCESS) _exit(10);
    cfg.pool_type = EXA_NON_PAGED_POOL;
    if (exa_lookaside_create(&cfg, &quiet) != EXA_STATUS_SUCCESS) _exit(11);
    exa_set_raise_handler(raise_handler, NULL);
    exa_clear_last_status();
    int capped = cap_memory();
    if (capped != 0) _exit(capped);
    if (exa_lookaside_allocate(quiet) != NULL) _exit(13);
    if (raised_status != 0 || exa_last_status() != EXA_STATUS_SUCCESS) _exit(14);
    if (exa_lookaside_allocate(raising) != NULL) _exit(15);
    if (raised_status != EXA_STATUS_INSUFFICIENT_RESOURCES) _exit(16);
    if (exa_last_status() != EXA_STATUS_INSUFFICIENT_RESOURCES) _exit(17);
    exa_lookaside_stats_t s;
    exa_lookaside_query(raising, &s);
    if (s.allocate_misses != 1 || s.total_allocates != 1) _exit(18);
    _exit(0);
}

static void raise_handler_and_last_status(void) {
    if (test_under_wine()) TEST_SKIP("Wine accepts a job object's process memory limit but does not enforce it");
    char err[512];
    int status = test_in_child(child_raise, err, sizeof err);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) == 19 && test_emulator() != NULL)
        TEST_SKIP("the emulator does not enforce RLIMIT_AS (qemu-user keeps the limit from its own process)");
    CHECK_EQ(WEXITSTATUS(status), 0);
}

static void internal_symbols_are_hidden(void) {
    CHECK(test_library_symbol("exa_lookaside_allocate") != NULL);
    CHECK(test_library_symbol("ExAllocateFromNPagedLookasideList") != NULL);
    CHECK(test_library_symbol("_exa_bugcheck") == NULL);
    CHECK(test_library_symbol("_exa_lookaside_create") == NULL);
    CHECK(test_library_symbol("_exa_os_thread_token") == NULL);
}

/* The modern API never faults on a NULL lock (docs/spinlock.md#null); the IRQL is unchanged. */
static void null_lock_is_invalid_parameter(void) {
    uint8_t old = 0xEE;
    CHECK_EQ(exa_spinlock_acquire(NULL), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_spinlock_release(NULL), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_spinlock_acquire_raise(NULL, &old), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_irql_get(), EXA_PASSIVE_LEVEL);
    CHECK_EQ(exa_spinlock_release_lower(NULL, EXA_PASSIVE_LEVEL), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
    CHECK_EQ(exa_spinlock_try_acquire(NULL), 0);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
    CHECK_EQ(exa_spinlock_test(NULL), 0);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
    exa_spinlock_init(NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
}

static const test_case_t spinlock_cases[] = {
    {"spinlock.null_lock_is_invalid_parameter", null_lock_is_invalid_parameter},
    {"spinlock.mutual_exclusion_four_threads", mutual_exclusion_four_threads},
    {"spinlock.word_shape_try_and_test", word_shape_try_and_test},
    {"spinlock.recursion_is_bugcheck_0x0f", recursion_is_bugcheck_0x0f},
    {"spinlock.foreign_release_is_bugcheck_0x10", foreign_release_is_bugcheck_0x10},
    {NULL, NULL}};
TEST_SUITE(spinlock);

static const test_case_t bugcheck_cases[] = {
    {"bugcheck.default_handler_prints_stop_and_aborts", default_handler_prints_stop_and_aborts},
    {"bugcheck.kebugcheckex_never_returns", kebugcheckex_never_returns},
    {"bugcheck.custom_handler_gets_code_and_context", custom_handler_gets_code_and_context},
    {"bugcheck.raise_handler_and_last_status", raise_handler_and_last_status},
    {"bugcheck.internal_symbols_are_hidden", internal_symbols_are_hidden},
    {NULL, NULL}};
TEST_SUITE(bugcheck);
