/* exalloc - C tests: checking levels and the Driver Verifier emulation (special pool, guard
 * pages, fill patterns, low-resources simulation, lookaside misuse). Fatal faults run in a
 * child process; the parent checks the STOP line and the report naming tag, size and block. */
#define _GNU_SOURCE 1
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wmultichar"

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/asan_interface.h>
#  define TEST_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#  define TEST_UNPOISON(p, n) ((void)(p), (void)(n))
#endif


static size_t host_page(void) { return test_page_size(); }

/* The verifier level with the special pool selecting `tag` (0: none) and `flags`. */
static void verifier_on(const char *tag, uint32_t flags) {
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    c.special_tag = tag ? test_tag(tag) : 0;
    c.flags = flags;
    exa_verifier_configure(&c);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
}

static void verifier_off(void) {
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    exa_verifier_configure(&c);
    exa_set_check_level(EXA_CHECKS_DEFAULT);
}

static void levels_api(void) {
    CHECK_EQ(exa_get_check_level(), EXA_CHECKS_DEFAULT);
    CHECK_EQ(exa_set_check_level(3), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_set_check_level(-1), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_set_check_level(EXA_CHECKS_VERIFIER), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_get_check_level(), EXA_CHECKS_VERIFIER);
    CHECK_EQ(exa_pool_get_options(), EXA_POOL_OPTION_STRICT); /* the verifier level is strict */
    exa_pool_set_options(EXA_POOL_OPTION_STRICT);             /* keeps the level's own bit */
    CHECK_EQ(exa_get_check_level(), EXA_CHECKS_VERIFIER);
    CHECK_EQ(exa_set_check_level(EXA_CHECKS_OFF), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_get_check_level(), EXA_CHECKS_OFF);
    CHECK_EQ(exa_pool_get_options(), 0);
    CHECK_EQ(exa_set_check_level(EXA_CHECKS_DEFAULT), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_get_check_level(), EXA_CHECKS_DEFAULT);
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    c.flags = 0x80;
    CHECK_EQ(exa_verifier_configure(&c), EXA_STATUS_INVALID_PARAMETER);
    c.flags = 0;
    c.special_size_min = 10;
    c.special_size_max = 5;
    CHECK_EQ(exa_verifier_configure(&c), EXA_STATUS_INVALID_PARAMETER);
    c.special_size_max = 0;
    c.low_resources = 10001;
    CHECK_EQ(exa_verifier_configure(&c), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_verifier_configure(NULL), EXA_STATUS_INVALID_PARAMETER);
    ULONG vf = 123;
    CHECK_EQ(MmIsVerifierEnabled(&vf), STATUS_NOT_SUPPORTED);
    CHECK_EQ(vf, 0);
    c.low_resources = 5;
    c.special_tag = test_tag("Ab?d");
    CHECK_EQ(exa_verifier_configure(&c), EXA_STATUS_SUCCESS);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    NTSTATUS vs = MmIsVerifierEnabled(&vf);
    verifier_off();
    CHECK_EQ(vs, STATUS_SUCCESS);
    CHECK_EQ(vf, DRIVER_VERIFIER_SPECIAL_POOLING | DRIVER_VERIFIER_FORCE_IRQL_CHECKING |
                     DRIVER_VERIFIER_INJECT_ALLOCATION_FAILURES);
    CHECK_EQ(exa_struct_size(EXA_STRUCT_VERIFIER_CONFIG), sizeof(exa_verifier_config_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_VERIFIER_STATS), sizeof(exa_verifier_stats_t));
}

/* An overrun into the next header: reported at default (0x19/0x05), not at off. */
static void level_off_skips_the_neighbour_check(void) {
    unsigned char *w[8], *r = NULL, *s = NULL;
    for (int i = 0; i < 8; i++) w[i] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 32, test_tag("Lvl0"));
    for (int i = 0; i < 8 && r == NULL; i++)
        for (int j = 0; j < 8; j++)
            if (w[j] == w[i] + 48) {
                r = w[i];
                s = w[j];
            }
    CHECK(r != NULL);
    unsigned char saved = s[-16];
    s[-16] ^= 0x7F;
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(r);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0x19, 0x05, (uintptr_t)(r - 16));
    exa_set_check_level(EXA_CHECKS_OFF);
    c = test_bugcheck_begin();
    exa_pool_free(r); /* freed without a report */
    bc = test_bugcheck_end(c);
    s[-16] = saved;
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    CHECK_EQ(bc.sequence, 0);
    /* Checks that protect the allocator stay on at off: a double free is still 0xC2/0x07. */
    exa_set_check_level(EXA_CHECKS_OFF);
    c = test_bugcheck_begin();
    exa_pool_free(r);
    bc = test_bugcheck_end(c);
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    CHECK_BUGCHECK(bc, 0xC2, 0x07, 0);
    for (int i = 0; i < 8; i++)
        if (w[i] != r) exa_pool_free(w[i]);
}

static void verifier_fills_patterns(void) {
    verifier_on(NULL, 0);
    unsigned char *p = exa_pool_allocate_typed(EXA_PAGED_POOL, 200, test_tag("Fill"), EXA_POOL_PRIORITY_NORMAL);
    unsigned char *z = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 200, test_tag("Fill"));
    verifier_off();
    CHECK(p != NULL && z != NULL);
    for (int i = 0; i < 200; i++) CHECK(p[i] == 0x5A && z[i] == 0);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    exa_pool_free(p);
    exa_set_check_level(EXA_CHECKS_DEFAULT);
#if !TEST_ASAN
    /* Freed memory is filled beyond the free-list link (first 16 bytes). */
    for (int i = 16; i < 200; i++) CHECK(p[i] == 0x6B);
#endif
    exa_pool_free(z);
    /* Default level: no fill (a dirty block stays dirty). */
    unsigned char *d = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 200, test_tag("Fil2"));
    CHECK(d != NULL);
    memset(d, 0x11, 200);
    exa_pool_free(d);
    unsigned char *e = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 200, test_tag("Fil2"));
    CHECK(e == d);
    CHECK(e[100] == 0x11);
    exa_pool_free(e);
}

static void special_pool_end_placement(void) {
    verifier_on("Sp?l", 0);
    exa_verifier_stats_t before, mid, after;
    CHECK_EQ(exa_verifier_query(&before), EXA_STATUS_SUCCESS);
    unsigned char *p = ExAllocatePoolWithTag(NonPagedPoolNx, 100, 'lxpS'); /* "Spxl" */
    unsigned char *n = ExAllocatePoolWithTag(NonPagedPoolNx, 100, 'xxpS'); /* not selected */
    exa_verifier_query(&mid);
    verifier_off();
    CHECK(p != NULL && n != NULL);
    CHECK_EQ(exa_is_special_pool_address(p), 1);
    CHECK_EQ(exa_is_special_pool_address(n), 0);
    size_t page = host_page();
    uintptr_t a = (uintptr_t)p;
    CHECK_EQ(a % 16, 0);
    CHECK(((a + 100 + 15) & ~(uintptr_t)15) == ((a | (page - 1)) + 1)); /* last 16-aligned spot */
    for (int i = 0; i < 100; i++) CHECK(p[i] == 0x5A);
    memset(p, 0x33, 100);
    exa_pool_block_info_t bi;
    CHECK_EQ(exa_pool_query_block(p, &bi), EXA_STATUS_SUCCESS);
    CHECK_EQ(bi.tag, test_tag("Spxl"));
    CHECK_EQ(bi.size, 112);
    CHECK_EQ(bi.pool_type, NonPagedPoolNx);
    CHECK_EQ(mid.special_allocations, before.special_allocations + 1);
    CHECK_EQ(mid.special_live, before.special_live + 1);
    exa_u64 c = test_bugcheck_begin();
    ExFreePoolWithTag(p, 'lxpS'); /* freed at the default level: still recognised */
    ExFreePool(n);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_EQ(bc.sequence, 0);
    exa_verifier_query(&after);
    CHECK_EQ(after.special_live, before.special_live);
    CHECK(after.quarantined >= 1);
    CHECK_EQ(exa_pool_query_block(p, &bi), EXA_STATUS_INVALID_PARAMETER);
}

static void special_pool_start_placement_and_flag(void) {
    /* POOL_FLAG_SPECIAL_POOL works at every level; Verify Start puts the block at the page start. */
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    c.flags = EXA_VERIFIER_VERIFY_START;
    exa_verifier_configure(&c);
    unsigned char *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED | ((exa_u64)1 << EXA_POOL_FLAG_SPECIAL_POOL_BIT), 64, test_tag("Strt"));
    unsigned char *big = exa_pool_allocate(EXA_POOL_FLAG_PAGED | ((exa_u64)1 << EXA_POOL_FLAG_SPECIAL_POOL_BIT), 5000, test_tag("Strt"));
    verifier_off();
    CHECK(p != NULL && big != NULL);
    CHECK_EQ((uintptr_t)p % host_page(), 0);
    CHECK_EQ(exa_is_special_pool_address(p), 1);
    CHECK_EQ(exa_is_special_pool_address(big), 0); /* a page or more: normal pool */
    for (int i = 0; i < 64; i++) CHECK(p[i] == 0); /* zeroed (no UNINITIALIZED) */
    exa_pool_free(p);
    exa_pool_free(big);
}

/* Size selection; ExAllocatePoolWithTagPriority's +8 variant selects it too. */
static void special_pool_by_size_and_priority(void) {
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    c.special_size_min = 300;
    c.special_size_max = 310;
    exa_verifier_configure(&c);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    void *in = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 305, test_tag("Size"));
    void *out = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 311, test_tag("Size"));
    void *pr = ExAllocatePoolWithTagPriority(PagedPool, 40, 'irPS', NormalPoolPrioritySpecialPoolUnderrun);
    verifier_off();
    CHECK(in && out && pr);
    CHECK_EQ(exa_is_special_pool_address(in), 1);
    CHECK_EQ(exa_is_special_pool_address(out), 0);
    CHECK_EQ(exa_is_special_pool_address(pr), 1);
    CHECK_EQ((uintptr_t)pr % host_page(), 0); /* underrun variant: Verify Start */
    exa_pool_free(in);
    exa_pool_free(out);
    ExFreePool(pr);
}

static void special_pool_underrun_and_tail_checked_at_free(void) {
    verifier_on("Undr", 0);
    unsigned char *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 100, test_tag("Undr"));
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    CHECK(p != NULL && exa_is_special_pool_address(p));
    p[-1] = 0;
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(p);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC1, (uintptr_t)p, 100);
    CHECK_EQ(bc.parameter3, (uintptr_t)(p - 1));
    CHECK_EQ(bc.parameter4, 0x23);
    p[-1] = 0xA5;
    p[100] = 1; /* the slack after the block, before the page end */
    c = test_bugcheck_begin();
    exa_pool_free(p);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC1, (uintptr_t)p, 100);
    CHECK_EQ(bc.parameter3, (uintptr_t)(p + 100));
    CHECK_EQ(bc.parameter4, 0x24);
    p[100] = 0xA5;
    exa_pool_free(p); /* repaired: quiet */
    /* Twice: 0xC1/0x20; a pointer inside the page that is not the block: 0xC1/0x21. */
    c = test_bugcheck_begin();
    exa_pool_free(p);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC1, (uintptr_t)p, 100);
    CHECK_EQ(bc.parameter4, 0x20);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    unsigned char *q = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 100, test_tag("Undr"));
    verifier_off();
    c = test_bugcheck_begin();
    exa_pool_free(q + 16);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC1, (uintptr_t)(q + 16), 100);
    CHECK_EQ(bc.parameter4, 0x21);
    /* A protected tag must be passed exactly. */
    c = test_bugcheck_begin();
    exa_pool_free_with_tag(q, test_tag("Undx"));
    bc = test_bugcheck_end(c);
    CHECK_EQ(bc.sequence, 0); /* unprotected, default level: ignored */
    CHECK_EQ(exa_is_special_pool_address(q), 1);
    verifier_on("Prot", 0);
    unsigned char *r = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 30, test_tag("Prot") | 0x80000000u);
    verifier_off();
    CHECK(exa_is_special_pool_address(r));
    c = test_bugcheck_begin();
    exa_pool_free(r);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x0A, (uintptr_t)r);
    exa_pool_free_with_tag(r, test_tag("Prot") | 0x80000000u);
}

/* Children: each ends in a fault the special pool turns into a STOP. */
static volatile unsigned char sink;
static void child_overrun(void) {
    verifier_on("Ovr1", 0);
    unsigned char *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100, test_tag("Ovr1"));
    for (int i = 0; i < 200; i++) p[i] = 7; /* the 113th byte is on the guard page */
}
static void child_underrun_start(void) {
    verifier_on("Ovr2", EXA_VERIFIER_VERIFY_START);
    unsigned char *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100, test_tag("Ovr2"));
    sink = p[-1];
}
static void child_use_after_free(void) {
    verifier_on("UaFr", 0);
    unsigned char *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 48, test_tag("UaFr"));
    exa_pool_free(p);
    sink = p[0];
}
static void child_handler_returns(void) {
    /* A recording handler returns (the Java binding's does): the fault cannot be resumed, so
     * the report is made as KeBugCheckEx makes it, STOP line and dump, and the process aborts. */
    exa_set_bugcheck_handler(exa_bugcheck_record, NULL);
    child_overrun();
}

static int fault_case(void (*fn)(void), const char *stop, const char *words) {
    char err[2048];
    int status = test_in_child(fn, err, sizeof err);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(err, stop) && strstr(err, words)) return 1;
    printf("    child status 0x%x, stderr: %s\n", (unsigned)status, err);
    return 0;
}

/* The report says which way the faulting access went, from the CPU's fault record (the
 * platform layer decodes it): the overrun writes, the underrun reads. */
static void guard_page_fault_direction(void) {
    char err[2048];
    int status = test_in_child(child_overrun, err, sizeof err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(err, "*** STOP: 0x000000CD (") != NULL);
    if (strstr(err, "exalloc verifier: an access at") != NULL && test_emulator() != NULL)
        TEST_SKIP("qemu-user's signal frames carry no fault record (no ESR on aarch64): the direction is unknown there");
    CHECK(fault_case(child_overrun, "*** STOP: 0x000000CD (", "write access at"));
    CHECK(fault_case(child_underrun_start, "*** STOP: 0x000000CD (", "read access at"));
}

static void guard_page_faults_are_reports(void) {
    CHECK(fault_case(child_overrun, "*** STOP: 0x000000CD (", " access at"));
    CHECK(fault_case(child_overrun, "*** STOP: 0x000000CD (", "beyond the end of special pool block"));
    CHECK(fault_case(child_overrun, "*** STOP: 0x000000CD (", "(size 100, tag 'Ovr1')"));
    CHECK(fault_case(child_underrun_start, "*** STOP: 0x000000CD (", "before the start of special pool block"));
    CHECK(fault_case(child_use_after_free, "*** STOP: 0x000000CC (", "in freed special pool block"));
    CHECK(fault_case(child_use_after_free, "*** STOP: 0x000000CC (", "tag 'UaFr'"));
    char err[2048];
    int status = test_in_child(child_handler_returns, err, sizeof err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(err, "*** STOP: 0x000000CD (") != NULL);
    CHECK(strstr(err, "exalloc bug-check dump") != NULL);
    CHECK(strstr(err, "tag 'Ovr1'") != NULL);
}

/* The fault handler chains: a fault elsewhere goes to the handler installed before ours
 * (ASan's report under ASan), else to the default action (death by SIGSEGV). */
static volatile uintptr_t wild_address = 16; /* volatile: the compiler cannot see it is bad */
static void child_wild_fault(void) {
    verifier_on("Wild", 0);
    void *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 10, test_tag("Wild"));
    (void)p;
    sink = *(volatile unsigned char *)wild_address;
}
static void foreign_faults_chain(void) {
    char err[4096];
    int status = test_in_child(child_wild_fault, err, sizeof err);
    CHECK(strstr(err, "exalloc verifier") == NULL);
#if TEST_ASAN || defined(__SANITIZE_THREAD__)
    /* The sanitizer's own SEGV handler was there first: its report, a failing exit. */
    CHECK(strstr(err, "Sanitizer: SEGV") != NULL);
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
#else
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
#endif
}

static void verifier_zero_size_and_must_succeed(void) {
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    exa_u64 c = test_bugcheck_begin();
    void *z = ExAllocatePoolWithTag(NonPagedPoolNx, 0, 'oreZ');
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK(z == NULL);
    CHECK_BUGCHECK(bc, 0xC4, 0x00, EXA_PASSIVE_LEVEL);
    c = test_bugcheck_begin();
    void *m = ExAllocatePoolWithTag(NonPagedPoolMustSucceed, 16, 'tsuM');
    bc = test_bugcheck_end(c);
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    CHECK(m == NULL);
    CHECK_BUGCHECK(bc, 0xC2, 0x9A, NonPagedPoolMustSucceed);
    void *d = ExAllocatePoolWithTag(NonPagedPoolNx, 0, 'oreZ'); /* default: a minimal block */
    CHECK(d != NULL);
    ExFreePool(d);
}

static void low_resources_simulation(void) {
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    c.low_resources = 10000; /* every eligible request once the delay is over */
    c.low_resources_tag = test_tag("Lo?R");
    c.low_resources_after = 2;
    exa_verifier_configure(&c);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    exa_verifier_stats_t s0, s1;
    exa_verifier_query(&s0);
    void *a = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 32, test_tag("LowR"));
    void *b = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 32, test_tag("LowR"));
    void *f = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 32, test_tag("LowR"));
    void *o = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 32, test_tag("Othr"));
    exa_verifier_query(&s1);
    c.low_resources_ms = 60000; /* a delay not over yet */
    exa_verifier_configure(&c);
    void *g = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 32, test_tag("LowR"));
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    void *h = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 32, test_tag("LowR")); /* default level: never */
    verifier_off();
    CHECK(a && b && o && g && h);
    CHECK(f == NULL);
    CHECK_EQ(s1.injected_failures, s0.injected_failures + 1);
    exa_pool_free(a);
    exa_pool_free(b);
    exa_pool_free(o);
    exa_pool_free(g);
    exa_pool_free(h);
}

static void lookaside_misuse(void) {
    static NPAGED_LOOKASIDE_LIST la;
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, 64, 'sikL', 0);
    exa_u64 c = test_bugcheck_begin();
    ExInitializeNPagedLookasideList(&la, NULL, NULL, 0, 64, 'sikL', 0);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0xCA, (uintptr_t)&la);
    void *e = ExAllocateFromNPagedLookasideList(&la);
    CHECK(e != NULL);
    ExFreeToNPagedLookasideList(&la, e);
    ExDeleteNPagedLookasideList(&la);
    c = test_bugcheck_begin();
    ExDeleteNPagedLookasideList(&la); /* deleted twice = not initialised */
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0xCB, (uintptr_t)&la);
    /* A list living in a pool block that is freed. */
    unsigned char *blk = ExAllocatePoolWithTag(NonPagedPoolNx, 512, 'tsiL');
    PNPAGED_LOOKASIDE_LIST inside = (PNPAGED_LOOKASIDE_LIST)(blk + 128);
    ExInitializeNPagedLookasideList(inside, NULL, NULL, 0, 32, 'sikL', 0);
    c = test_bugcheck_begin();
    ExFreePool(blk);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0xCC, (uintptr_t)inside);
    CHECK_EQ(bc.parameter3, (uintptr_t)blk);
    ExDeleteNPagedLookasideList(inside);
    c = test_bugcheck_begin();
    ExFreePool(blk);
    bc = test_bugcheck_end(c);
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    CHECK_EQ(bc.sequence, 0);
}

/* Correct use under the verifier with every small request in the special pool: quiet. */
static void verifier_quiet_on_correct_use(void) {
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    c.special_size_min = 1;
    c.special_size_max = 4064;
    c.quarantine = 8;
    exa_verifier_configure(&c);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    exa_u64 seq = test_bugcheck_begin();
    uint64_t rs = 99;
    void *live[64] = {0};
    for (int i = 0; i < 2000; i++) {
        unsigned k = (unsigned)(test_rand(&rs) % 64);
        if (live[k] != NULL) {
            exa_pool_free_with_tag(live[k], test_tag("Qiet"));
            live[k] = NULL;
        } else {
            exa_u64 n = 1 + test_rand(&rs) % 6000;
            live[k] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_UNINITIALIZED, n, test_tag("Qiet"));
            if (live[k] != NULL) memset(live[k], 0xC3, (size_t)n);
        }
    }
    for (int k = 0; k < 64; k++) exa_pool_free(live[k]);
    exa_bugcheck_info_t bc = test_bugcheck_end(seq);
    exa_verifier_stats_t s;
    exa_verifier_query(&s);
    verifier_off();
    CHECK_EQ(bc.sequence, 0);
    CHECK(s.special_allocations > 500);
    CHECK(s.quarantined <= 8);
}

/* Start-up configuration: the test binary runs itself with the variables set. */
static void env_probe(void) {
    if (getenv("EXA_TEST_VERIFIER_ENV") == NULL) return; /* only in the re-executed child */
    CHECK_EQ(exa_get_check_level(), EXA_CHECKS_VERIFIER);
    exa_verifier_config_t c;
    exa_verifier_get_config(&c);
    CHECK_EQ(c.special_tag, test_tag("En?v"));
    CHECK_EQ(c.flags, EXA_VERIFIER_VERIFY_START);
    CHECK_EQ(c.quarantine, 5);
    CHECK_EQ(c.low_resources, 600);
    CHECK_EQ(c.low_resources_tag, test_tag("LoRs"));
    CHECK_EQ(c.low_resources_after, 7);
    void *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 20, test_tag("Enxv"));
    CHECK(exa_is_special_pool_address(p));
    CHECK_EQ((uintptr_t)p % host_page(), 0);
    exa_pool_free(p);
}
static void startup_environment(void) {
    static const char *const env[] = {"EXA_TEST_VERIFIER_ENV=1", "EXALLOC_CHECKS=verifier", "EXALLOC_SPECIAL_POOL=tag:En?v",
                                      "EXALLOC_VERIFIER_FLAGS=start,quarantine=5",
                                      "EXALLOC_LOW_RESOURCES=600,tag=LoRs,after=7", NULL};
    char out[1024];
    int status = test_run_self("verifier_env_probe", env, out, sizeof out);
    if (strstr(out, "native: 1 passed, 0 failed") == NULL) printf("    child output: %s\n", out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strstr(out, "ok   verifier_env_probe") != NULL);
}


/* ---------------------------------------------------------------------------------------
 * Integrity checks of the normal pool (docs/pool.md#integrity) not covered by test_pool.c: the block's
 * own header (0xC2/0x01, 0x19/0x08, 0x19/0x09) and the free lists (0x19/0x03, 0x19/0x0D).
 * ------------------------------------------------------------------------------------- */

static void own_header_checks(void) {
    unsigned char *p = NULL;
    void *keep[16];
    int kept = 0;
    /* A block not at the start of its page (so that a size of 255 units overruns it). */
    while (kept < 16) {
        p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 40, test_tag("Hdr0"));
        if (((uintptr_t)(p - 16) & 4095) >= 64) break;
        keep[kept++] = p;
    }
    CHECK(kept < 16);
    unsigned char *h = p - 16, saved[4];
    memcpy(saved, h, 4);
    h[3] = 0x50; /* PoolType beyond every type */
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(p);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    memcpy(h, saved, 4);
    CHECK_BUGCHECK(bc, 0xC2, 0x01, (uintptr_t)h);
    h[2] = 0; /* BlockSize 0 */
    c = test_bugcheck_begin();
    exa_pool_free(p);
    bc = test_bugcheck_end(c);
    memcpy(h, saved, 4);
    CHECK_BUGCHECK(bc, 0x19, 0x08, (uintptr_t)h);
    h[2] = 255; /* runs past the page */
    c = test_bugcheck_begin();
    exa_pool_free(p);
    bc = test_bugcheck_end(c);
    memcpy(h, saved, 4);
    CHECK_BUGCHECK(bc, 0x19, 0x09, (uintptr_t)h);
    c = test_bugcheck_begin();
    exa_pool_free(p); /* repaired: quiet */
    bc = test_bugcheck_end(c);
    CHECK_EQ(bc.sequence, 0);
    for (int i = 0; i < kept; i++) exa_pool_free(keep[i]);
}

/* Three adjacent blocks of a node-bound descriptor (no thread cache: frees reach the lists). */
static int adjacent_three(unsigned char **a, unsigned char **b, unsigned char **cc, unsigned char **v, int n) {
    exa_pool_parameter_t node0 = {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0};
    for (int i = 0; i < n; i++) v[i] = exa_pool_allocate_ex(EXA_POOL_FLAG_NON_PAGED, 184, test_tag("Lnk0"), &node0, 1);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++)
                if (v[j] == v[i] + 208 && v[k] == v[j] + 208) {
                    *a = v[i], *b = v[j], *cc = v[k];
                    return 1;
                }
    return 0;
}

static void free_list_link_damage(void) {
    unsigned char *v[6], *a, *b, *c3;
    CHECK(adjacent_three(&a, &b, &c3, v, 6));
    exa_pool_free(b); /* b is listed, between two live blocks */
    TEST_UNPOISON(b - 16, 32);
    uintptr_t fake[4] = {0, 0, 0, 0};
    uintptr_t saved;
    memcpy(&saved, b, sizeof saved);
    uintptr_t bad = (uintptr_t)&fake[0] | 1u; /* an encoded link to memory that does not point back */
    memcpy(b, &bad, sizeof bad);
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(a); /* coalescing checks b's links first */
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    memcpy(b, &saved, sizeof saved);
    CHECK_BUGCHECK(bc, 0x19, 0x03, (uintptr_t)b);
    /* a stays out of the pool (NT's state after a report); the others go back. */
    for (int i = 0; i < 6; i++)
        if (v[i] != a && v[i] != b) exa_pool_free(v[i]);
}

static void free_header_modified_after_free(void) {
    unsigned char *v[6], *a, *b, *c3;
    CHECK(adjacent_three(&a, &b, &c3, v, 6));
    exa_pool_free(b); /* listed first in its list */
    TEST_UNPOISON(b - 16, 32);
    unsigned char saved = b[-16 + 2];
    b[-16 + 2] = (unsigned char)(saved + 1); /* BlockSize of a free block changed */
    exa_pool_parameter_t node0 = {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0};
    exa_u64 c = test_bugcheck_begin();
    void *again = exa_pool_allocate_ex(EXA_POOL_FLAG_NON_PAGED, 184, test_tag("Lnk0"), &node0, 1);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    b[-16 + 2] = saved;
    CHECK(again == NULL);
    CHECK_BUGCHECK(bc, 0x19, 0x0D, (uintptr_t)(b - 16));
    CHECK_EQ(bc.parameter4, 13); /* the list (block units) it was taken from */
    void *ok = exa_pool_allocate_ex(EXA_POOL_FLAG_NON_PAGED, 184, test_tag("Lnk0"), &node0, 1);
    CHECK(ok == b); /* repaired: handed out */
    for (int i = 0; i < 6; i++) exa_pool_free(v[i]);
}

/* The default handler prints NT's STOP line with the code and parameters, then aborts. */
static void child_header_damage(void) {
    unsigned char *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 40, test_tag("Kid1"));
    p[-16 + 3] = 0x50;
    exa_pool_free(p);
}
static void child_wrong_protected_tag(void) {
    void *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 40, test_tag("Kid2") | 0x80000000u);
    exa_pool_free_with_tag(p, test_tag("Kid2"));
}
static void child_special_underrun(void) {
    verifier_on("Kid3", 0);
    unsigned char *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 40, test_tag("Kid3"));
    p[-3] = 0;
    exa_pool_free(p);
}
static void child_lookaside_reinit(void) {
    static PAGED_LOOKASIDE_LIST l;
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    ExInitializePagedLookasideList(&l, NULL, NULL, 0, 64, 'diK4', 0);
    ExInitializePagedLookasideList(&l, NULL, NULL, 0, 64, 'diK4', 0);
}
static void default_handler_stop_lines(void) {
    CHECK(test_child_stops(child_header_damage, "*** STOP: 0x000000C2 (0x0000000000000001, 0x"));
    CHECK(test_child_stops(child_wrong_protected_tag, "*** STOP: 0x000000C2 (0x000000000000000A, 0x"));
    CHECK(test_child_stops(child_special_underrun, "*** STOP: 0x000000C1 ("));
    CHECK(test_child_stops(child_lookaside_reinit, "*** STOP: 0x000000C4 (0x00000000000000CA, 0x"));
}


/* Four threads allocate and free through the special pool and the verifier's normal path at
 * once: no report, every special block back, the per-tag counts balanced. */
static void *special_worker(void *arg) {
    uint64_t rs = (uint64_t)(uintptr_t)arg * 7919u + 1u;
    void *live[16] = {0};
    unsigned rounds = test_scale(3000);
    for (unsigned i = 0; i < rounds; i++) {
        unsigned k = (unsigned)(test_rand(&rs) % 16);
        if (live[k] != NULL) {
            unsigned char *b = live[k];
            if (b[0] != (unsigned char)k) return (void *)1; /* someone else's block */
            exa_pool_free(b);
            live[k] = NULL;
        } else {
            exa_u64 n = 1 + test_rand(&rs) % 3000;
            unsigned char *b = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, n, test_tag("Thr?") + 0);
            if (b == NULL) return (void *)2;
            memset(b, (int)k, (size_t)n);
            live[k] = b;
        }
    }
    for (int k = 0; k < 16; k++) exa_pool_free(live[k]);
    return NULL;
}
static void special_pool_threads(void) {
    exa_verifier_config_t c;
    memset(&c, 0, sizeof c);
    c.special_size_min = 1;
    c.special_size_max = 1500; /* about half the requests */
    c.quarantine = 32;
    exa_verifier_configure(&c);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    exa_verifier_stats_t s0, s1;
    exa_verifier_query(&s0);
    exa_u64 seq = test_bugcheck_begin();
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, special_worker, (void *)i) == 0);
    void *rv[4];
    for (int i = 0; i < 4; i++) pthread_join(t[i], &rv[i]);
    exa_bugcheck_info_t bc = test_bugcheck_end(seq);
    exa_verifier_query(&s1);
    verifier_off();
    for (int i = 0; i < 4; i++) CHECK(rv[i] == NULL);
    CHECK_EQ(bc.sequence, 0);
    CHECK_EQ(s1.special_live, s0.special_live);
    CHECK(s1.special_allocations > s0.special_allocations + 100);
    CHECK(s1.quarantined <= 32);
    static exa_pool_tag_row_t rows[4096]; /* other tests leave hundreds of tags behind */
    uint32_t n = exa_pool_tag_snapshot(rows, 4096);
    CHECK(n <= 4096);
    int seen = 0;
    for (uint32_t i = 0; i < n && i < 4096; i++)
        if (rows[i].tag == test_tag("Thr?")) {
            seen = 1;
            CHECK_EQ(rows[i].diff, 0);
            CHECK_EQ(rows[i].bytes, 0);
        }
    CHECK(seen);
}

/* Lookaside bad frees at the verifier level (docs/lookaside.md#errors): a second free of a
 * cached block (0xC4/0x1011, p2 the list caching it, p3 block, p4 the list freed to); a pool
 * block smaller than the list's Size freed into a pool-backed list (0x1012, p2 list, p3
 * block, p4 its size); a pool free of a block a list still caches (0x1013, p2 list, p3
 * block). Each refused call changes nothing: no block ever has two owners. */
static exa_lookaside_t *pool_list(exa_u64 size) {
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.tag = test_tag("LkVf");
    cfg.pool_type = EXA_NON_PAGED_POOL_NX;
    exa_lookaside_t *l = NULL;
    return exa_lookaside_create(&cfg, &l) == EXA_STATUS_SUCCESS ? l : NULL;
}

static void lookaside_bad_frees(void) {
    /* Created at the default level: the level change reaches lists that exist. */
    exa_lookaside_t *l = pool_list(256);
    exa_lookaside_t *other = pool_list(256);
    CHECK(l != NULL && other != NULL);
    exa_set_check_level(EXA_CHECKS_VERIFIER);
    void *a = exa_lookaside_allocate(l);
    void *b = exa_lookaside_allocate(l);
    CHECK(a != NULL && b != NULL);
    CHECK_EQ(exa_lookaside_free(l, a), EXA_STATUS_SUCCESS);
    exa_lookaside_stats_t st;
    CHECK_EQ(exa_lookaside_query(l, &st), EXA_STATUS_SUCCESS);
    exa_u64 frees = st.total_frees;

    exa_u64 c = test_bugcheck_begin();
    CHECK_EQ(exa_lookaside_free(l, a), EXA_STATUS_BUGCHECK); /* double free */
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1011, (uintptr_t)l);
    CHECK_EQ(bc.parameter3, (uintptr_t)a);
    CHECK_EQ(bc.parameter4, (uintptr_t)l);
    c = test_bugcheck_begin();
    CHECK_EQ(exa_lookaside_free(other, a), EXA_STATUS_BUGCHECK); /* cached by l, freed to other */
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1011, (uintptr_t)l);
    CHECK_EQ(bc.parameter4, (uintptr_t)other);
    CHECK_EQ(exa_lookaside_query(l, &st), EXA_STATUS_SUCCESS);
    CHECK_EQ(st.total_frees, frees);
    CHECK_EQ(st.current_depth, 1);
    void *a2 = exa_lookaside_allocate(l);
    void *a3 = exa_lookaside_allocate(l);
    CHECK(a2 == a);  /* the cached block, once */
    CHECK(a3 != a);  /* never a second owner */

    /* A 16-byte pool block freed into a 256-byte list. */
    void *small = ExAllocatePoolWithTag(NonPagedPoolNx, 16, 'llmS');
    CHECK(small != NULL);
    c = test_bugcheck_begin();
    CHECK_EQ(exa_lookaside_free(l, small), EXA_STATUS_BUGCHECK);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1012, (uintptr_t)l);
    CHECK_EQ(bc.parameter3, (uintptr_t)small);
    CHECK(bc.parameter4 >= 16 && bc.parameter4 < 256);
    /* A pointer that is no pool block at all. */
    static _Alignas(16) unsigned char foreign[256];
    c = test_bugcheck_begin();
    CHECK_EQ(exa_lookaside_free(l, foreign), EXA_STATUS_BUGCHECK);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1012, (uintptr_t)l);
    CHECK_EQ(bc.parameter4, 0);
    ExFreePool(small); /* it stayed with the caller */

    /* A cached block freed to the pool. */
    CHECK_EQ(exa_lookaside_free(l, b), EXA_STATUS_SUCCESS);
    c = test_bugcheck_begin();
    ExFreePool(b);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1013, (uintptr_t)l);
    CHECK_EQ(bc.parameter3, (uintptr_t)b);
    CHECK(exa_lookaside_allocate(l) == b); /* still the list's, still usable */
    exa_pool_block_info_t info;
    CHECK_EQ(exa_pool_query_block(b, &info), EXA_STATUS_SUCCESS);

    /* An NT list with the pool's callbacks: the same checks. */
    static NPAGED_LOOKASIDE_LIST nt;
    ExInitializeNPagedLookasideList(&nt, NULL, NULL, POOL_NX_ALLOCATION, 128, 'tNkL', 0);
    void *e = ExAllocateFromNPagedLookasideList(&nt);
    ExFreeToNPagedLookasideList(&nt, e);
    c = test_bugcheck_begin();
    ExFreeToNPagedLookasideList(&nt, e);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1011, (uintptr_t)nt.L.ListHead.Region);
    void *tiny = ExAllocatePoolWithTag(NonPagedPoolNx, 24, 'ynyT');
    c = test_bugcheck_begin();
    ExFreeToNPagedLookasideList(&nt, tiny);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC4, 0x1012, (uintptr_t)nt.L.ListHead.Region);
    ExFreePool(tiny);
    ExDeleteNPagedLookasideList(&nt);

    /* Correct use stays quiet; leaving the level restores the fast paths. */
    c = test_bugcheck_begin();
    CHECK_EQ(exa_lookaside_free(l, a2), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_free(l, a3), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_free(l, b), EXA_STATUS_SUCCESS);
    bc = test_bugcheck_end(c);
    CHECK_EQ(bc.sequence, 0);
    exa_set_check_level(EXA_CHECKS_DEFAULT);
    void *f = exa_lookaside_allocate(l);
    CHECK(f == b);
    CHECK_EQ(exa_lookaside_free(l, f), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_delete(l), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_delete(other), EXA_STATUS_SUCCESS);
}

static const test_case_t verifier_cases[] = {
    {"verifier_lookaside_bad_frees", lookaside_bad_frees},
    {"verifier_levels_api", levels_api},
    {"verifier_level_off_skips_the_neighbour_check", level_off_skips_the_neighbour_check},
    {"verifier_fills_patterns", verifier_fills_patterns},
    {"verifier_special_pool_end_placement", special_pool_end_placement},
    {"verifier_special_pool_start_placement_and_flag", special_pool_start_placement_and_flag},
    {"verifier_special_pool_by_size_and_priority", special_pool_by_size_and_priority},
    {"verifier_special_pool_underrun_and_tail_checked_at_free", special_pool_underrun_and_tail_checked_at_free},
    {"verifier_guard_page_faults_are_reports", guard_page_faults_are_reports},
    {"verifier_guard_page_fault_direction", guard_page_fault_direction},
    {"verifier_foreign_faults_chain", foreign_faults_chain},
    {"verifier_zero_size_and_must_succeed", verifier_zero_size_and_must_succeed},
    {"verifier_low_resources_simulation", low_resources_simulation},
    {"verifier_lookaside_misuse", lookaside_misuse},
    {"verifier_quiet_on_correct_use", verifier_quiet_on_correct_use},
    {"verifier_startup_environment", startup_environment},
    {"verifier_integrity_own_header", own_header_checks},
    {"verifier_integrity_free_list_links", free_list_link_damage},
    {"verifier_integrity_free_header_modified", free_header_modified_after_free},
    {"verifier_integrity_default_handler_stop_lines", default_handler_stop_lines},
    {"verifier_special_pool_threads", special_pool_threads},
    {"verifier_env_probe", env_probe},
    {NULL, NULL}};
TEST_SUITE(verifier);
