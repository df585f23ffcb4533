/* exalloc - C tests: the debug tier's invariant validators (base/debug.h). They exist only
 * in an EXA_DEBUG build (scripts/sanitize.sh's ASan and TSan builds); elsewhere this file
 * registers no suite. Each workload ends with the validator's verdict, and each validator is
 * shown to report a structure broken on purpose. */
#define _GNU_SOURCE 1
#include "test.h"
#include "lookaside/lookaside.h"
#include "pool/pool.h"
#include "zone/zone.h"

#if EXA_DEBUG

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if TEST_ASAN
#  include <sanitizer/asan_interface.h>
#endif

/* CHECK that a validator holds, printing its reason when it does not. */
#define CHECK_VALID(call)                                   \
    do {                                                    \
        char why_[256];                                     \
        int ok_ = (call);                                   \
        (void)why_;                                         \
        if (!ok_) test_report(__FILE__, __LINE__, #call, why_); \
    } while (0)

static unsigned debug_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Mixed small, cache-aligned, node-bound and big blocks, half of them freed in random
 * order: the free lists and carved pages stay consistent, before and after a trim. */
static void pool_valid_after_workload(void) {
    enum { N = 600 };
    void *p[N];
    unsigned seed = 7;
    exa_pool_parameter_t node0 = {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0};
    for (int i = 0; i < N; i++) {
        exa_u64 n = 1 + debug_rand(&seed) % (i % 10 == 0 ? 9000 : 700);
        switch (i % 4) {
        case 0: p[i] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, n, test_tag("DbgA")); break;
        case 1: p[i] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_CACHE_ALIGNED, n, test_tag("DbgB")); break;
        case 2: p[i] = exa_pool_allocate_ex(EXA_POOL_FLAG_NON_PAGED, n, test_tag("DbgC"), &node0, 1); break;
        default: p[i] = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED_EXECUTE, n, test_tag("DbgD")); break;
        }
        CHECK(p[i] != NULL);
    }
    CHECK_VALID(_exa_debug_pool_validate(why_, sizeof why_));
    for (int i = 0; i < N; i++) {
        int j = (int)(debug_rand(&seed) % N);
        if (p[j] != NULL && (j & 1)) {
            exa_pool_free(p[j]);
            p[j] = NULL;
        }
    }
    CHECK_VALID(_exa_debug_pool_validate(why_, sizeof why_));
    exa_pool_trim();
    CHECK_VALID(_exa_debug_pool_validate(why_, sizeof why_));
    for (int i = 0; i < N; i++) exa_pool_free(p[i]);
    exa_pool_trim();
    CHECK_VALID(_exa_debug_pool_validate(why_, sizeof why_));
}

/* A free block on a descriptor's list whose header names another descriptor is reported;
 * put back, the pool validates again. Node-bound blocks bypass the thread caches, so the
 * middle one of three neighbours goes straight onto a free list. */
static void pool_validator_reports_a_bad_header(void) {
    exa_pool_parameter_t node0 = {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0};
    enum { N = 8, UNITS = 14, STEP = UNITS * 16 }; /* 200 bytes: 14 units of 16 */
    unsigned char *v[N];
    for (int i = 0; i < N; i++) v[i] = exa_pool_allocate_ex(EXA_POOL_FLAG_NON_PAGED, 200, test_tag("DbgH"), &node0, 1);
    unsigned char *mid = NULL;
    for (int i = 0; i < N && mid == NULL; i++) {
        int before = 0, after = 0;
        for (int j = 0; j < N; j++) {
            if (v[j] == v[i] - STEP) before = 1;
            if (v[j] == v[i] + STEP) after = 1;
        }
        if (before && after) mid = v[i];
    }
    CHECK(mid != NULL);
    if (mid == NULL) {
        for (int i = 0; i < N; i++) exa_pool_free(v[i]);
        return;
    }
    exa_pool_free(mid); /* listed, its neighbours live: no coalescing */
    CHECK_VALID(_exa_debug_pool_validate(why_, sizeof why_));
    unsigned char *index = mid - 16 + 1; /* the header's PoolIndex byte (docs/pool.md#header) */
    unsigned char saved = *index;
    *index = (unsigned char)(saved + 1);
    char why[256];
    CHECK(!_exa_debug_pool_validate(why, sizeof why));
    CHECK(strstr(why, "not a free 14-unit block") != NULL);
    *index = saved;
    CHECK_VALID(_exa_debug_pool_validate(why_, sizeof why_));
    for (int i = 0; i < N; i++)
        if (v[i] != mid) exa_pool_free(v[i]);
    CHECK_VALID(_exa_debug_pool_validate(why_, sizeof why_));
}

static exa_lookaside_t *debug_list;

static void *lookaside_worker(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *held[32];
    unsigned n = 0;
    for (unsigned i = 0; i < test_scale(20000); i++) {
        if (n < 32 && (n == 0 || debug_rand(&seed) % 3 != 0)) {
            held[n] = exa_lookaside_allocate(debug_list);
            if (held[n] != NULL) n++;
        } else {
            exa_lookaside_free(debug_list, held[--n]);
        }
    }
    while (n > 0) exa_lookaside_free(debug_list, held[--n]);
    exa_thread_cache_release();
    return NULL;
}

/* The depth bound and the counters hold after one thread and after four racing threads, and
 * after the depth law runs. */
static void lookaside_valid_after_workload(void) {
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 48;
    cfg.tag = test_tag("DbgL");
    cfg.pool_type = EXA_NON_PAGED_POOL;
    CHECK_EQ(exa_lookaside_create(&cfg, &debug_list), EXA_STATUS_SUCCESS);
    CHECK_VALID(_exa_debug_lookaside_validate(debug_list, why_, sizeof why_));
    (void)lookaside_worker((void *)(uintptr_t)1);
    CHECK_VALID(_exa_debug_lookaside_validate(debug_list, why_, sizeof why_));
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) CHECK_EQ(pthread_create(&t[i], NULL, lookaside_worker, (void *)(i + 2)), 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_VALID(_exa_debug_lookaside_validate(debug_list, why_, sizeof why_));
    void *b[40];
    for (int i = 0; i < 40; i++) b[i] = exa_lookaside_allocate(debug_list);
    for (int i = 0; i < 40; i++) exa_lookaside_free(debug_list, b[i]);
    CHECK_VALID(_exa_debug_lookaside_validate(debug_list, why_, sizeof why_));
    for (int i = 0; i < 3; i++) exa_lookaside_tick();
    CHECK_VALID(_exa_debug_lookaside_validate(debug_list, why_, sizeof why_));
    exa_lookaside_flush(debug_list);
    CHECK_VALID(_exa_debug_lookaside_validate(debug_list, why_, sizeof why_));
    CHECK_EQ(exa_lookaside_delete(debug_list), EXA_STATUS_SUCCESS);
    char why[256];
    CHECK(!_exa_debug_lookaside_validate(NULL, why, sizeof why));
}

/* A zone over two segments: after a mixed run of allocations and frees the free list holds
 * only block boundaries and ends. */
static void zone_valid_after_workload(void) {
    static _Alignas(16) unsigned char seg1[4096], seg2[2048];
    exa_zone_t z;
    CHECK_EQ(exa_zone_init(&z, 48, seg1, sizeof seg1), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_zone_extend(&z, seg2, sizeof seg2), EXA_STATUS_SUCCESS);
    CHECK_VALID(_exa_debug_zone_validate(&z, why_, sizeof why_));
    void *held[200];
    unsigned n = 0, seed = 3;
    for (int i = 0; i < 2000; i++) {
        if (n > 0 && (debug_rand(&seed) % 2 || n == 200)) {
            unsigned k = debug_rand(&seed) % n;
            exa_zone_free(&z, held[k]);
            held[k] = held[--n];
        } else {
            void *b = exa_zone_allocate(&z);
            if (b != NULL) held[n++] = b;
        }
    }
    CHECK_VALID(_exa_debug_zone_validate(&z, why_, sizeof why_));
    while (n > 0) exa_zone_free(&z, held[--n]);
    CHECK_VALID(_exa_debug_zone_validate(&z, why_, sizeof why_));
}

/* Broken on purpose: a free-list head off a block boundary, then a block linked to itself. */
static void zone_validator_reports_bad_entries(void) {
    static _Alignas(16) unsigned char seg[1024];
    exa_zone_t z;
    char why[256];
    CHECK_EQ(exa_zone_init(&z, 32, seg, sizeof seg), EXA_STATUS_SUCCESS);
    unsigned char *x = exa_zone_allocate(&z);
    CHECK(x != NULL);
    void *saved = z.free_list;
    z.free_list = x + 8;
    CHECK(!_exa_debug_zone_validate(&z, why, sizeof why));
    CHECK(strstr(why, "not a block") != NULL);
    *(void **)x = x; /* x is ours (allocated): link it to itself */
    z.free_list = x;
    CHECK(!_exa_debug_zone_validate(&z, why, sizeof why));
    CHECK(strstr(why, "cycle") != NULL);
#if TEST_ASAN
    __asan_unpoison_memory_region(x, 32); /* the validator reads a free block as pop does */
#endif
    z.free_list = saved;
    CHECK_VALID(_exa_debug_zone_validate(&z, why_, sizeof why_));
    exa_zone_free(&z, x);
    CHECK_VALID(_exa_debug_zone_validate(&z, why_, sizeof why_));
}

static const test_case_t debug_cases[] = {{"debug.pool_valid_after_workload", pool_valid_after_workload},
                                          {"debug.pool_validator_reports_a_bad_header", pool_validator_reports_a_bad_header},
                                          {"debug.lookaside_valid_after_workload", lookaside_valid_after_workload},
                                          {"debug.zone_valid_after_workload", zone_valid_after_workload},
                                          {"debug.zone_validator_reports_bad_entries", zone_validator_reports_bad_entries},
                                          {NULL, NULL}};
TEST_SUITE(debug);

#else
typedef int test_debug_unused; /* not an EXA_DEBUG build: no validators to test */
#endif
