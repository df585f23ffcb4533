/* exalloc - C tests: lookaside lists through the modern API (exalloc.h), one thread. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#  include <sys/syscall.h>
#  include <unistd.h>
#endif

/* Counting callbacks: every block they hand out is malloc'ed and remembered. */
typedef struct {
    int allocs, frees;
    int fail_next;
    int32_t last_type;
    exa_u64 last_size;
    uint32_t last_tag;
} counting_t;

static void *counting_alloc(int32_t type, exa_u64 size, uint32_t tag, void *ctx) {
    counting_t *c = ctx;
    c->last_type = type;
    c->last_size = size;
    c->last_tag = tag;
    if (c->fail_next) {
        c->fail_next = 0;
        return NULL;
    }
    c->allocs++;
    return test_alloc16((size_t)size);
}

static void counting_free(void *block, void *ctx) {
    ((counting_t *)ctx)->frees++;
    test_free16(block);
}

static exa_lookaside_t *make(counting_t *c, exa_u64 size) {
    exa_lookaside_config_t cfg = {0};
    cfg.size = size;
    cfg.tag = 0x74736554; /* 'tseT' shows as "Test" */
    cfg.pool_type = EXA_NON_PAGED_POOL;
    if (c) {
        cfg.allocate = counting_alloc;
        cfg.free = counting_free;
        cfg.context = c;
    }
    exa_lookaside_t *l = NULL;
    if (exa_lookaside_create(&cfg, &l) != EXA_STATUS_SUCCESS) return NULL;
    return l;
}

static void create_validates_parameters(void) {
    exa_lookaside_config_t cfg = {0};
    exa_lookaside_t *l = (exa_lookaside_t *)1;
    CHECK_EQ(exa_lookaside_create(NULL, &l), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_lookaside_create(&cfg, NULL), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER); /* size 0 */
    CHECK(l == NULL);
    cfg.size = 0x100000000ULL;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER);
    cfg.size = 64;
    const int32_t bad_types[] = {EXA_NON_PAGED_POOL_MUST_SUCCEED, 3, 6, 7, 34, 513, 999, -1};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        cfg.pool_type = bad_types[i];
        CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER_4);
    }
    cfg.pool_type = EXA_PAGED_POOL;
    cfg.maximum_depth = 255;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER_8);
    cfg.maximum_depth = 1025;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER_8);
    cfg.maximum_depth = 256;
    cfg.initial_depth = 257;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER_8);
    cfg.initial_depth = UINT32_MAX;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_INVALID_PARAMETER_8);
    cfg.maximum_depth = 1024;
    cfg.initial_depth = 1024;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);
    exa_lookaside_stats_t s;
    CHECK_EQ(exa_lookaside_query(l, &s), EXA_STATUS_SUCCESS);
    CHECK_EQ(s.depth, 1024);
    CHECK_EQ(s.maximum_depth, 1024);
    CHECK_EQ(exa_lookaside_delete(l), EXA_STATUS_SUCCESS);
}

static void create_sets_nt_defaults(void) {
    exa_lookaside_t *l = make(NULL, 3); /* below the minimum block size */
    CHECK(l != NULL);
    exa_lookaside_stats_t s;
    CHECK_EQ(exa_lookaside_query(l, &s), EXA_STATUS_SUCCESS);
    CHECK_EQ(s.depth, 4);
    CHECK_EQ(s.maximum_depth, 256);
    CHECK_EQ(s.size, EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE);
    CHECK_EQ(s.tag, 0x74736554);
    CHECK_EQ(s.pool_type, EXA_NON_PAGED_POOL);
    CHECK_EQ(s.total_allocates + s.allocate_misses + s.total_frees + s.free_misses, 0);
    CHECK_EQ(s.current_depth, 0);
    CHECK(s.id != 0);
    exa_lookaside_delete(l);
}

/* NT's single-thread behaviour, exactly: Depth 4 bounds the cache, misses call the
 * callbacks, blocks come back LIFO. */
static void depth_bound_and_lifo(void) {
    counting_t c = {0};
    exa_lookaside_t *l = make(&c, 64);
    CHECK(l != NULL);
    void *b[10];
    for (int i = 0; i < 10; i++) {
        b[i] = exa_lookaside_allocate(l);
        CHECK(b[i] != NULL);
    }
    CHECK_EQ(c.allocs, 10);
    CHECK_EQ(c.last_size, 64);
    CHECK_EQ(c.last_tag, 0x74736554);
    for (int i = 0; i < 10; i++) exa_lookaside_free(l, b[i]);
    CHECK_EQ(c.frees, 6); /* blocks 4..9 did not fit under Depth 4 */
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 10);
    CHECK_EQ(s.allocate_misses, 10);
    CHECK_EQ(s.total_frees, 10);
    CHECK_EQ(s.free_misses, 6);
    CHECK_EQ(s.current_depth, 4);
    CHECK_EQ(s.thread_caches, 1);
    /* LIFO: b[3], b[2], b[1], b[0] */
    for (int i = 3; i >= 0; i--) CHECK(exa_lookaside_allocate(l) == b[i]);
    CHECK_EQ(c.allocs, 10);
    void *fresh = exa_lookaside_allocate(l);
    CHECK(fresh != NULL);
    CHECK_EQ(c.allocs, 11);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 15);
    CHECK_EQ(s.allocate_misses, 11);
    CHECK_EQ(s.current_depth, 0);
    for (int i = 0; i < 4; i++) exa_lookaside_free(l, b[i]);
    exa_lookaside_free(l, fresh);
    CHECK_EQ(c.frees, 7);
    exa_lookaside_delete(l);
    CHECK_EQ(c.frees, 11);
    CHECK_EQ(c.allocs, 11);
}

static void first_word_overwritten_rest_kept(void) {
    counting_t c = {0};
    exa_lookaside_t *l = make(&c, 48);
    unsigned char *p = exa_lookaside_allocate(l);
    CHECK(p != NULL);
    memset(p, 0xA5, 48);
    exa_lookaside_free(l, p);
    unsigned char *q = exa_lookaside_allocate(l);
    CHECK(q == p);
    unsigned char word[sizeof(void *)];
    memset(word, 0xA5, sizeof word);
    CHECK(memcmp(q, word, sizeof word) != 0);
    for (size_t i = sizeof(void *); i < 48; i++) CHECK_EQ(q[i], 0xA5);
    exa_lookaside_free(l, q);
    exa_lookaside_delete(l);
    CHECK_EQ(c.frees, c.allocs);
}

static void default_allocator_alignment(void) {
    const int32_t types[] = {EXA_NON_PAGED_POOL, EXA_PAGED_POOL, EXA_NON_PAGED_POOL_CACHE_ALIGNED,
                             EXA_PAGED_POOL_CACHE_ALIGNED, EXA_NON_PAGED_POOL_NX};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        exa_lookaside_config_t cfg = {0};
        cfg.size = 24;
        cfg.tag = 0x6E67696C;
        cfg.pool_type = types[t];
        exa_lookaside_t *l;
        CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);
        uintptr_t align = (types[t] & 4) ? exa_cache_line_size() : 16;
        void *v[8];
        for (int i = 0; i < 8; i++) {
            v[i] = exa_lookaside_allocate(l);
            CHECK(v[i] != NULL);
            CHECK_EQ((uintptr_t)v[i] % align, 0);
            memset(v[i], i, 24);
        }
        for (int i = 0; i < 8; i++) exa_lookaside_free(l, v[i]);
        exa_lookaside_delete(l);
    }
}

static void zero_modifier_zeroes_fresh_blocks(void) {
    exa_lookaside_config_t cfg = {0};
    cfg.size = 256;
    cfg.tag = 0x6F72655A;
    cfg.pool_type = EXA_PAGED_POOL | EXA_POOL_ZERO_ALLOCATION;
    exa_lookaside_t *l;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);
    unsigned char *p = exa_lookaside_allocate(l);
    for (int i = 0; i < 256; i++) CHECK_EQ(p[i], 0);
    exa_lookaside_free(l, p);
    exa_lookaside_delete(l);
}

static void flush_returns_everything_and_list_stays_usable(void) {
    counting_t c = {0};
    exa_lookaside_t *l = make(&c, 32);
    void *b[4];
    for (int i = 0; i < 4; i++) b[i] = exa_lookaside_allocate(l);
    for (int i = 0; i < 4; i++) exa_lookaside_free(l, b[i]);
    CHECK_EQ(c.frees, 0);
    CHECK_EQ(exa_lookaside_flush(l), 4);
    CHECK_EQ(c.frees, 4);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.current_depth, 0);
    CHECK_EQ(s.free_misses, 0); /* flush is not a free miss */
    CHECK_EQ(exa_lookaside_flush(l), 0);
    void *p = exa_lookaside_allocate(l);
    CHECK(p != NULL);
    CHECK_EQ(c.allocs, 5);
    exa_lookaside_free(l, p);
    p = exa_lookaside_allocate(l);
    CHECK_EQ(c.allocs, 5); /* cached again after the flush */
    exa_lookaside_free(l, p);
    exa_lookaside_delete(l);
    CHECK_EQ(c.frees, 5);
}

static void callback_null_counts_a_miss(void) {
    counting_t c = {0};
    exa_lookaside_t *l = make(&c, 32);
    c.fail_next = 1;
    CHECK(exa_lookaside_allocate(l) == NULL);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates, 1);
    CHECK_EQ(s.allocate_misses, 1);
    exa_lookaside_free(l, NULL); /* ignored */
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_frees, 0);
    exa_lookaside_delete(l);
}

static void set_depth_and_reset_counters(void) {
    counting_t c = {0};
    exa_lookaside_t *l = make(&c, 32);
    CHECK_EQ(exa_lookaside_set_depth(l, 0), EXA_STATUS_INVALID_PARAMETER_2);
    CHECK_EQ(exa_lookaside_set_depth(l, 257), EXA_STATUS_INVALID_PARAMETER_2);
    CHECK_EQ(exa_lookaside_set_depth(l, 100), EXA_STATUS_SUCCESS);
    /* Depth 100 exceeds one thread's private stack (64): the overflow goes to the shared
     * stack and the list still caches exactly 100, handed back in LIFO order. */
    void *b[101];
    for (int i = 0; i < 101; i++) b[i] = exa_lookaside_allocate(l);
    for (int i = 0; i < 101; i++) exa_lookaside_free(l, b[i]);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.depth, 100);
    CHECK_EQ(s.current_depth, 100);
    CHECK_EQ(s.free_misses, 1);
    CHECK_EQ(c.frees, 1);
    for (int i = 99; i >= 0; i--) CHECK(exa_lookaside_allocate(l) == b[i]);
    CHECK_EQ(c.allocs, 101);
    for (int i = 0; i < 100; i++) exa_lookaside_free(l, b[i]);
    /* Lowering Depth grants no new slot: frees miss until the cache drains below it. */
    CHECK_EQ(exa_lookaside_set_depth(l, 2), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_reset_counters(l), EXA_STATUS_SUCCESS);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.total_allocates + s.allocate_misses + s.total_frees + s.free_misses, 0);
    CHECK_EQ(s.depth, 2);
    void *x = exa_lookaside_allocate(l);
    CHECK(x == b[99]);
    void *y = malloc(32);
    exa_lookaside_free(l, y);
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.free_misses, 1);
    exa_lookaside_free(l, x); /* its slot was taken back: a miss too */
    exa_lookaside_query(l, &s);
    CHECK_EQ(s.free_misses, 2);
    CHECK_EQ(s.current_depth, 99);
    exa_lookaside_delete(l);
    CHECK_EQ(c.frees, 102);
}

static void enumerate_lists_in_creation_order(void) {
    uint32_t before = exa_lookaside_enumerate(NULL, 0);
    counting_t c = {0};
    exa_lookaside_t *a = make(&c, 16), *b = make(&c, 32), *d = make(&c, 48);
    CHECK_EQ(exa_lookaside_enumerate(NULL, 0), before + 3);
    exa_lookaside_stats_t all[64];
    uint32_t n = exa_lookaside_enumerate(all, 64);
    CHECK_EQ(n, before + 3);
    CHECK(n <= 64);
    CHECK_EQ(all[n - 3].size, 16);
    CHECK_EQ(all[n - 2].size, 32);
    CHECK_EQ(all[n - 1].size, 48);
    CHECK(all[n - 3].id < all[n - 2].id && all[n - 2].id < all[n - 1].id);
    exa_lookaside_delete(b);
    n = exa_lookaside_enumerate(all, 64);
    CHECK_EQ(n, before + 2);
    CHECK_EQ(all[n - 2].size, 16);
    CHECK_EQ(all[n - 1].size, 48);
    exa_lookaside_delete(a);
    exa_lookaside_delete(d);
    CHECK_EQ(exa_lookaside_enumerate(NULL, 0), before);
}

static void slot_reuse_does_not_confuse_thread_caches(void) {
    counting_t c1 = {0}, c2 = {0};
    exa_lookaside_t *l1 = make(&c1, 64);
    void *p = exa_lookaside_allocate(l1);
    exa_lookaside_free(l1, p);
    exa_lookaside_delete(l1);
    CHECK_EQ(c1.frees, 1);
    exa_lookaside_t *l2 = make(&c2, 64); /* likely the same slot, surely a new id */
    void *q = exa_lookaside_allocate(l2);
    CHECK_EQ(c2.allocs, 1); /* a miss: nothing of l1 leaks into l2 */
    exa_lookaside_free(l2, q);
    exa_lookaside_stats_t s;
    exa_lookaside_query(l2, &s);
    CHECK_EQ(s.total_allocates, 1);
    CHECK_EQ(s.current_depth, 1);
    exa_lookaside_delete(l2);
    CHECK_EQ(c2.frees, 1);
}

/* Blocks still held when their list is deleted go back to the pool directly (NT: ExFreePool). */
static void outstanding_blocks_outlive_delete(void) {
    exa_lookaside_t *l = make(NULL, 200);
    unsigned char *kept = exa_lookaside_allocate(l);
    void *cached = exa_lookaside_allocate(l);
    exa_lookaside_free(l, cached);
    exa_lookaside_delete(l);
    memset(kept, 0x5A, 200); /* still ours: ASan would flag it were it freed */
    exa_pool_free(kept);
    exa_pool_free(NULL);
    CHECK(1);
}

/* The fast paths use the asymmetric handshake wherever the host offers membarrier (a guard
 * that was once always false made every operation pay an xchg). TSan builds use fences. */
static void fence_mode_matches_the_host(void) {
    int32_t mode = exa_lookaside_fence_mode();
#if defined(__SANITIZE_THREAD__)
    CHECK_EQ(mode, EXA_FENCES_SYMMETRIC);
#elif defined(__linux__)
    long cmds = syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0);
    int available = cmds > 0 && (cmds & 8 /* PRIVATE_EXPEDITED */) && (cmds & 16 /* REGISTER_... */);
    CHECK_EQ(mode, available ? EXA_FENCES_ASYMMETRIC : EXA_FENCES_SYMMETRIC);
#elif defined(_WIN32)
    /* FlushProcessWriteBuffers; Wine 8's does nothing, so under Wine the library uses fences. */
    CHECK_EQ(mode, test_under_wine() ? EXA_FENCES_SYMMETRIC : EXA_FENCES_ASYMMETRIC);
#else
    CHECK(mode == EXA_FENCES_SYMMETRIC || mode == EXA_FENCES_ASYMMETRIC);
#endif
}

static void abi_self_description(void) {
    CHECK_EQ(exa_abi_version(), EXA_ABI_VERSION);
    CHECK_EQ(exa_struct_size(EXA_STRUCT_LOOKASIDE_CONFIG), sizeof(exa_lookaside_config_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_LOOKASIDE_STATS), sizeof(exa_lookaside_stats_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_BUGCHECK_INFO), sizeof(exa_bugcheck_info_t));
    CHECK_EQ(exa_struct_size(99), 0);
    CHECK(exa_cache_line_size() == 64 || exa_cache_line_size() == 128);
    CHECK(strcmp(exa_version_string(), "0.1.0") == 0);
}

/* The modern API never faults on a NULL handle: NULL / EXA_STATUS_INVALID_PARAMETER, with
 * exa_last_status telling why where the routine returns no status (docs/lookaside.md#null). */
static void null_handle_is_invalid_parameter(void) {
    exa_clear_last_status();
    CHECK(exa_lookaside_allocate(NULL) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    unsigned char block[64];
    block[0] = 0x5A;
    CHECK_EQ(exa_lookaside_free(NULL, block), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(block[0], 0x5A); /* the block stays with the caller, untouched */
    void *out[2];
    exa_clear_last_status();
    CHECK_EQ(exa_lookaside_allocate_cached(NULL, out, 2), 0);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    void *in[1] = {block};
    exa_clear_last_status();
    CHECK_EQ(exa_lookaside_free_cached(NULL, in, 1), 0);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_lookaside_flush(NULL), 0);
    CHECK_EQ(exa_lookaside_delete(NULL), EXA_STATUS_INVALID_PARAMETER);
    exa_clear_last_status();
}

/* A deleted list's handle used again (docs/lookaside.md#errors): bug check 0xC4/0x1014 (p2
 * the handle) at every level, never a hang or a walk through freed memory; with a handler
 * that returns, nothing happens (NULL, the block stays with the caller). */
static void stale_handle_is_bugcheck_0xc4_0x1014(void) {
    counting_t c = {0};
    exa_lookaside_t *l = make(&c, 64);
    CHECK(l != NULL);
    void *b = exa_lookaside_allocate(l);
    CHECK(b != NULL);
    CHECK_EQ(exa_lookaside_delete(l), EXA_STATUS_SUCCESS);
    exa_u64 k = test_bugcheck_begin();
    CHECK(exa_lookaside_allocate(l) == NULL);
    exa_bugcheck_info_t bc = test_bugcheck_end(k);
    CHECK_BUGCHECK(bc, 0xC4, 0x1014, (uintptr_t)l);
    k = test_bugcheck_begin();
    CHECK_EQ(exa_lookaside_free(l, b), EXA_STATUS_BUGCHECK);
    bc = test_bugcheck_end(k);
    CHECK_BUGCHECK(bc, 0xC4, 0x1014, (uintptr_t)l);
    CHECK_EQ(c.frees, 0); /* the refused free kept the block with the caller */
    exa_lookaside_stats_t st;
    void *out[1];
    void *in[1] = {b};
    k = test_bugcheck_begin();
    CHECK_EQ(exa_lookaside_query(l, &st), EXA_STATUS_BUGCHECK);
    CHECK_EQ(exa_lookaside_flush(l), 0);
    CHECK_EQ(exa_lookaside_allocate_cached(l, out, 1), 0);
    CHECK_EQ(exa_lookaside_free_cached(l, in, 1), 0);
    CHECK_EQ(exa_lookaside_set_depth(l, 8), EXA_STATUS_BUGCHECK);
    CHECK_EQ(exa_lookaside_delete(l), EXA_STATUS_BUGCHECK); /* deleted twice */
    bc = test_bugcheck_end(k);
    CHECK_EQ(bc.sequence, 6); /* one report per call */
    CHECK_EQ(bc.code, 0xC4);
    CHECK_EQ(bc.parameter1, 0x1014);
    counting_free(b, &c);
    /* The deleted list's memory is not handed to the next lists: its handle stays detectable. */
    exa_lookaside_t *fresh[8];
    for (int i = 0; i < 8; i++) {
        fresh[i] = make(NULL, 64);
        CHECK(fresh[i] != NULL && fresh[i] != l);
    }
    for (int i = 0; i < 8; i++) CHECK_EQ(exa_lookaside_delete(fresh[i]), EXA_STATUS_SUCCESS);
}

static void child_stale_allocate(void) {
    exa_lookaside_t *l = make(NULL, 32);
    void *b = exa_lookaside_allocate(l);
    exa_lookaside_free(l, b);
    exa_lookaside_delete(l);
    (void)exa_lookaside_allocate(l); /* used to spin for ever on the freed list's lock */
}

static void child_stale_free(void) {
    exa_lookaside_t *l = make(NULL, 32);
    void *b = exa_lookaside_allocate(l);
    exa_lookaside_delete(l);
    (void)exa_lookaside_free(l, b);
}

/* The default handler stops the process: the STOP line, promptly. */
static void stale_handle_stops_the_process(void) {
    CHECK(test_child_stops(child_stale_allocate, "*** STOP: 0x000000C4 (0x0000000000001014, "));
    CHECK(test_child_stops(child_stale_free, "*** STOP: 0x000000C4 (0x0000000000001014, "));
}

static const test_case_t lookaside_cases[] = {
    {"lookaside.stale_handle_is_bugcheck_0xc4_0x1014", stale_handle_is_bugcheck_0xc4_0x1014},
    {"lookaside.stale_handle_stops_the_process", stale_handle_stops_the_process},
    {"lookaside.null_handle_is_invalid_parameter", null_handle_is_invalid_parameter},
    {"lookaside.create_validates_parameters", create_validates_parameters},
    {"lookaside.create_sets_nt_defaults", create_sets_nt_defaults},
    {"lookaside.depth_bound_and_lifo", depth_bound_and_lifo},
    {"lookaside.first_word_overwritten_rest_kept", first_word_overwritten_rest_kept},
    {"lookaside.default_allocator_alignment", default_allocator_alignment},
    {"lookaside.zero_modifier_zeroes_fresh_blocks", zero_modifier_zeroes_fresh_blocks},
    {"lookaside.flush_returns_everything_and_list_stays_usable", flush_returns_everything_and_list_stays_usable},
    {"lookaside.callback_null_counts_a_miss", callback_null_counts_a_miss},
    {"lookaside.set_depth_and_reset_counters", set_depth_and_reset_counters},
    {"lookaside.enumerate_lists_in_creation_order", enumerate_lists_in_creation_order},
    {"lookaside.slot_reuse_does_not_confuse_thread_caches", slot_reuse_does_not_confuse_thread_caches},
    {"lookaside.outstanding_blocks_outlive_delete", outstanding_blocks_outlive_delete},
    {"lookaside.fence_mode_matches_the_host", fence_mode_matches_the_host},
    {"lookaside.abi_self_description", abi_self_description},
    {NULL, NULL}};
TEST_SUITE(lookaside);
