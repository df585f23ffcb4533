/* exalloc - C tests: the pool through the modern API (exalloc.h), one thread.
 *
 * Every test uses its own tags, so that the per-tag counts it checks are its own although
 * the pools are shared by the whole process; tests that change limits or options restore
 * them. */
#define _GNU_SOURCE 1
#include "exalloc.h"
#include "test.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#  include <errno.h>
#  include <sys/mman.h>
#  include <sys/syscall.h>
#endif
#if TEST_POSIX
#  include <sys/resource.h>
#endif

enum { PAGE = 4096, MAX_SMALL = 4064 };

static const int32_t all_types[] = {
    EXA_NON_PAGED_POOL, EXA_PAGED_POOL, EXA_NON_PAGED_POOL_CACHE_ALIGNED, EXA_PAGED_POOL_CACHE_ALIGNED,
    EXA_NON_PAGED_POOL_SESSION, EXA_PAGED_POOL_SESSION, EXA_NON_PAGED_POOL_CACHE_ALIGNED_SESSION,
    EXA_PAGED_POOL_CACHE_ALIGNED_SESSION, EXA_NON_PAGED_POOL_NX, EXA_NON_PAGED_POOL_NX_CACHE_ALIGNED,
    EXA_NON_PAGED_POOL_SESSION_NX};

/* docs/pool.md#alignment for every size 1..3 pages in every pool type: small blocks 16-byte aligned (a
 * cache line for cache-aligned types) and inside one page; larger requests page-aligned with
 * whole pages; the query reports tag, type, pool and a usable size >= the request. */
static void alignment_and_page_rules_every_size(void) {
    uint32_t tag = test_tag("Alig");
    for (size_t t = 0; t < sizeof all_types / sizeof all_types[0]; t++) {
        int32_t type = all_types[t];
        int aligned = (type & 4) != 0;
        uintptr_t line = exa_cache_line_size();
        exa_u64 small_max = aligned ? 255u * 16 - line : MAX_SMALL;
        for (exa_u64 n = 1; n <= 3 * PAGE; n++) {
            unsigned char *p = exa_pool_allocate_typed(type, n, tag, EXA_POOL_PRIORITY_HIGH);
            CHECK(p != NULL);
            uintptr_t a = (uintptr_t)p;
            exa_pool_block_info_t bi = test_block_info(p);
            CHECK_EQ(bi.tag, tag);
            CHECK_EQ(bi.pool_type, type);
            CHECK_EQ(bi.pool, type & 1);
            CHECK(bi.size >= n);
            if (n <= small_max) {
                CHECK_EQ(a % (aligned ? line : 16), 0);
                CHECK(a % PAGE != 0);
                CHECK_EQ(a / PAGE, (a + n - 1) / PAGE); /* never crosses a page */
                CHECK_EQ(bi.big, 0);
                CHECK(bi.size < n + (aligned ? line : 16) + 16);
                CHECK_EQ(bi.charged % 16, 0);
            } else {
                CHECK_EQ(a % PAGE, 0);
                CHECK_EQ(bi.big, 1);
                CHECK_EQ(bi.size, (n + PAGE - 1) / PAGE * PAGE);
            }
            p[0] = 1;
            p[n - 1] = 2;
            exa_pool_free_with_tag(p, tag);
        }
    }
    exa_pool_tag_row_t r = test_tag_row(tag, EXA_POOL_KIND_PAGED);
    CHECK_EQ(r.allocs, 4u * 3 * PAGE);
    CHECK_EQ(r.diff, 0);
    CHECK_EQ(r.bytes, 0);
}

/* docs/pool.md#alignment, docs/edge-cases.md#case-23: the small/big cut-over at 4064 and ExQueryPoolBlockSize's values. */
static void small_big_boundary(void) {
    static const struct {
        exa_u64 n, size;
        uint32_t big;
    } cases[] = {{1, 16, 0},        {16, 16, 0},       {17, 32, 0},       {4048, 4048, 0}, {4049, 4064, 0}, {4064, 4064, 0},
                 {4065, 4096, 1},   {4095, 4096, 1},   {4096, 4096, 1},   {4097, 8192, 1}, {65536, 65536, 1},
                 {64 * PAGE + 1, 65 * PAGE, 1},        {300000, 74 * PAGE, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, cases[i].n, test_tag("Bndy"));
        CHECK(p != NULL);
        exa_pool_block_info_t bi = test_block_info(p);
        CHECK_EQ(bi.size, cases[i].size);
        CHECK_EQ(bi.big, cases[i].big);
        CHECK_EQ(bi.charged, cases[i].big ? cases[i].size : cases[i].size + 16);
        CHECK_EQ((uintptr_t)p % PAGE == 0, cases[i].big);
        exa_pool_free(p);
    }
}

/* docs/pool.md#header: the x64 POOL_HEADER in front of a small block, byte for byte. */
static void header_layout_and_tag_read_back(void) {
    static const struct {
        int32_t type;
        exa_u64 n;
    } cases[] = {{EXA_NON_PAGED_POOL_NX, 100}, {EXA_PAGED_POOL, 1}, {EXA_NON_PAGED_POOL, 4064},
                 {EXA_PAGED_POOL_SESSION, 48}, {EXA_NON_PAGED_POOL_SESSION_NX, 200}};
    const char *tags[] = {"Hdr1", "Hdr2", "Hdr3", "Hdr4", "Hdr5"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t tag = test_tag(tags[i]);
        unsigned char *p = exa_pool_allocate_typed(cases[i].type, cases[i].n, tag, EXA_POOL_PRIORITY_HIGH);
        CHECK(p != NULL);
        const unsigned char *h = p - 16;
        uint32_t units = (uint32_t)((cases[i].n + 31) / 16);
        CHECK_EQ(h[2], units);                              /* BlockSize */
        CHECK_EQ(h[3], (cases[i].type & 0x2F) + 1);          /* PoolType + 1 */
        CHECK(memcmp(h + 4, tags[i], 4) == 0);               /* PoolTag, in memory order */
        uint64_t billed;
        memcpy(&billed, h + 8, 8);
        CHECK_EQ(billed, 0);                                 /* ProcessBilled: not charged */
        CHECK(h[0] < 255);                                   /* PreviousSize: 0 = first in page */
        CHECK_EQ(((uintptr_t)h % PAGE == 0), h[0] == 0);
        exa_pool_block_info_t bi = test_block_info(p);
        CHECK_EQ(bi.tag, tag);
        CHECK_EQ(bi.size, units * 16 - 16);
        exa_pool_free(p);
    }
}

/* Blocks of one page are carved front to back; PreviousSize chains them; freeing them all
 * coalesces the page and returns it (the pool's small pages go back to the baseline). */
static void split_coalesce_and_page_return(void) {
    exa_pool_trim();
    exa_pool_stats_t before, during, after;
    exa_pool_query(EXA_POOL_KIND_PAGED, &before);
    enum { N = 300 };
    void *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = exa_pool_allocate_typed(EXA_PAGED_POOL, 40 + (i % 7) * 24, test_tag("Coal"), EXA_POOL_PRIORITY_HIGH);
        CHECK(v[i] != NULL);
    }
    /* Every block's successor in its page agrees: next PreviousSize == this BlockSize. */
    int chained = 0;
    for (int i = 0; i < N; i++) {
        unsigned char *h = (unsigned char *)v[i] - 16, *n = h + 16u * h[2];
        if ((uintptr_t)n % PAGE == 0) continue; /* last block of its page */
        CHECK_EQ(n[0], h[2]);
        chained++;
    }
    CHECK(chained > N / 2);
    exa_pool_query(EXA_POOL_KIND_PAGED, &during);
    CHECK(during.small_pages > before.small_pages);
    for (int i = 0; i < N; i += 2) exa_pool_free(v[i]); /* every other one first: no merges yet */
    for (int i = 1; i < N; i += 2) exa_pool_free(v[i]);
    exa_pool_trim();
    exa_pool_query(EXA_POOL_KIND_PAGED, &after);
    CHECK_EQ(after.small_pages, before.small_pages);
    CHECK_EQ(after.in_use, before.in_use);
}

/* Big allocations: a run of a segment (<= 64 pages) or a mapping of their own; counted in
 * in_use / big_pages / big_allocations, returned on free. */
static void big_allocations_are_tracked(void) {
    exa_pool_trim();
    exa_pool_stats_t s0, s1, s2;
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s0);
    void *a = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 10 * PAGE, test_tag("BigA"));
    void *b = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 100 * PAGE + 5, test_tag("BigB"));
    CHECK(a != NULL && b != NULL);
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s1);
    CHECK_EQ(s1.big_allocations, s0.big_allocations + 2);
    CHECK_EQ(s1.in_use, s0.in_use + (10 + 101) * PAGE);
    CHECK_EQ(s1.big_pages, s0.big_pages + 111);
    CHECK(s1.mapped >= s0.mapped + 101 * PAGE);
    for (size_t i = 0; i < 10 * PAGE; i++) CHECK_EQ(((unsigned char *)a)[i], 0); /* Pool2 zeroes */
    exa_pool_tag_row_t r = test_tag_row(test_tag("BigB"), EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(r.bytes, 101 * PAGE);
    CHECK_EQ(r.per_alloc, 101 * PAGE);
    exa_pool_free(a);
    exa_pool_free(b);
    exa_pool_trim();
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s2);
    CHECK_EQ(s2.big_allocations, s0.big_allocations);
    CHECK_EQ(s2.in_use, s0.in_use);
}

/* PoolMon's columns per tag and pool; the protection bit is not part of the row's tag. */
static void tag_rows_have_poolmon_columns(void) {
    uint32_t tag = test_tag("Pmon");
    void *np[3], *pg[2];
    for (int i = 0; i < 3; i++) np[i] = exa_pool_allocate_typed(EXA_NON_PAGED_POOL_NX, 100, tag, EXA_POOL_PRIORITY_HIGH);
    for (int i = 0; i < 2; i++) pg[i] = exa_pool_allocate_typed(EXA_PAGED_POOL, 300, tag | 0x80000000u, 32);
    exa_pool_free(np[0]);
    exa_pool_tag_row_t n = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED), p = test_tag_row(tag, EXA_POOL_KIND_PAGED);
    CHECK_EQ(n.allocs, 3);
    CHECK_EQ(n.frees, 1);
    CHECK_EQ(n.diff, 2);
    CHECK_EQ(n.bytes, 2 * 128); /* (100 + 16) rounded up to 16 */
    CHECK_EQ(n.per_alloc, 128);
    CHECK_EQ(p.allocs, 2);
    CHECK_EQ(p.bytes, 2 * 320);
    exa_pool_free(np[1]);
    exa_pool_free(np[2]);
    for (int i = 0; i < 2; i++) exa_pool_free_with_tag(pg[i], tag | 0x80000000u);
    n = test_tag_row(tag, EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(n.diff, 0);
    CHECK_EQ(n.per_alloc, 0);
    /* Sorted by tag bytes, then pool. */
    uint32_t count = exa_pool_tag_snapshot(NULL, 0);
    exa_pool_tag_row_t *rows = calloc(count + 8, sizeof *rows);
    count = exa_pool_tag_snapshot(rows, count + 8);
    for (uint32_t i = 1; i < count; i++) {
        uint32_t a = __builtin_bswap32(rows[i - 1].tag), b = __builtin_bswap32(rows[i].tag);
        CHECK(a < b || (a == b && rows[i - 1].pool < rows[i].pool));
    }
    free(rows);
}

/* docs/pool.md#tags: a protected tag must be passed exactly on free; unprotected mismatches are
 * ignored, except in strict mode. */
static void protected_tags_and_tag_checks(void) {
    uint32_t tag = test_tag("Prot") | 0x80000000u;
    void *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 64, tag);
    CHECK(p != NULL);
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(p); /* ExFreePool: no tag */
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x0A, (uintptr_t)p);
    CHECK_EQ(bc.parameter3, tag);
    CHECK_EQ(bc.parameter4, 0);
    CHECK_EQ(test_block_info(p).tag, tag); /* still live */
    c = test_bugcheck_begin();
    exa_pool_free_with_tag(p, tag & 0x7FFFFFFFu); /* the protection bit is part of the tag */
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x0A, (uintptr_t)p);
    c = test_bugcheck_begin();
    exa_pool_free_with_tag(p, tag);
    bc = test_bugcheck_end(c);
    CHECK_EQ(bc.sequence, 0);
    CHECK_EQ(test_tag_row(tag, EXA_POOL_KIND_PAGED).diff, 0); /* gone */

    void *q = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 64, test_tag("Unpr"));
    exa_pool_free_with_tag(q, test_tag("Else")); /* compat: ignored */
    q = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 64, test_tag("Unpr"));
    exa_pool_set_options(EXA_POOL_OPTION_STRICT);
    c = test_bugcheck_begin();
    exa_pool_free_with_tag(q, test_tag("Else"));
    bc = test_bugcheck_end(c);
    exa_pool_free_with_tag(q, test_tag("Unpr"));
    exa_pool_set_options(0);
    CHECK_BUGCHECK(bc, 0xC2, 0x0A, (uintptr_t)q);
    CHECK_EQ(bc.parameter4, test_tag("Else"));
}

/* docs/pool.md#integrity, docs/edge-cases.md#case-16 to #case-18: bad frees are bug checks with NT's parameters, nothing changed. */
static void free_checked_reports_the_outcome(void) {
    void *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 72, test_tag("FrCk"));
    CHECK(p != NULL);
    CHECK_EQ(exa_pool_free_checked(p, test_tag("FrCk")), EXA_STATUS_SUCCESS);
    exa_u64 c = test_bugcheck_begin();
    CHECK_EQ(exa_pool_free_checked(p, 0), EXA_STATUS_BUGCHECK); /* double free, refused */
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x07, 0);
    void *q = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 72, test_tag("FrCk") | EXA_POOL_TAG_PROTECTED);
    c = test_bugcheck_begin();
    CHECK_EQ(exa_pool_free_checked(q, 0), EXA_STATUS_BUGCHECK); /* a protected tag needs its tag */
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x0A, (uintptr_t)q);
    CHECK_EQ(exa_pool_free_checked(q, test_tag("FrCk") | EXA_POOL_TAG_PROTECTED), EXA_STATUS_SUCCESS);
}

static void bad_frees_are_bug_checks(void) {
    void *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 80, test_tag("Dbl "));
    CHECK(p != NULL);
    exa_pool_free(p);
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(p); /* double free: header says free */
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x07, 0);
    CHECK_EQ(bc.parameter4, (uintptr_t)p);

    /* Never in any pool: 16 bytes into a static array, so never page-aligned (a stack local
     * can be, under ASan's fake stacks, and a page-aligned pointer is a big-block free). */
    static _Alignas(16) unsigned char not_pool[64];
    c = test_bugcheck_begin();
    exa_pool_free(not_pool + 16);
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x42, (uintptr_t)(not_pool + 16));

    void *big = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 3 * PAGE, test_tag("Dbl "));
    exa_pool_free(big);
    c = test_bugcheck_begin();
    exa_pool_free(big); /* page-aligned, no big-table entry */
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0x19, 0x22, (uintptr_t)big);

    unsigned char *q = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 200, test_tag("Dbl "));
    c = test_bugcheck_begin();
    exa_pool_free(q + 8); /* inside a block, not 16-aligned */
    bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x99, (uintptr_t)(q + 8));

    /* An overrun into the next block's header is caught at the free (0x19/0x05). */
    unsigned char *w[8], *r = NULL, *s = NULL;
    for (int i = 0; i < 8; i++) w[i] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 32, test_tag("Ovrn"));
    for (int i = 0; i < 8 && r == NULL; i++)
        for (int j = 0; j < 8; j++)
            if (w[j] == w[i] + 48) { /* w[j]'s header follows w[i]'s 48-byte block */
                r = w[i];
                s = w[j];
            }
    CHECK(r != NULL);
    unsigned char saved = s[-16];
    s[-16] ^= 0x7F; /* the next header's PreviousSize */
    c = test_bugcheck_begin();
    exa_pool_free(r);
    bc = test_bugcheck_end(c);
    s[-16] = saved;
    CHECK_BUGCHECK(bc, 0x19, 0x05, (uintptr_t)(r - 16));
    for (int i = 0; i < 8; i++) exa_pool_free(w[i]);
    exa_pool_free(q);
    exa_pool_free(NULL); /* the modern API ignores NULL, as free() does */
}

/* A block that merged into its free predecessor still says "free": a second free of it is
 * 0xC2/0x07 (blocks of a node-bound descriptor bypass the thread caches, so the first free
 * coalesces at once). */
static void double_free_after_merge(void) {
    exa_pool_parameter_t node0 = {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0};
    unsigned char *v[3];
    for (int i = 0; i < 3; i++) v[i] = exa_pool_allocate_ex(EXA_POOL_FLAG_NON_PAGED, 200, test_tag("Mrge"), &node0, 1);
    CHECK(v[0] && v[1] && v[2]);
    /* Find b right after a (same 224-byte block size). */
    unsigned char *a = NULL, *b = NULL;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (v[j] == v[i] + 224) {
                a = v[i];
                b = v[j];
            }
    CHECK(a != NULL);
    exa_pool_free(a);
    exa_pool_free(b); /* merges into a */
#if defined(__SANITIZE_ADDRESS__)
    /* b's header now lies inside a free block, which the pool poisons: ASan reports the
     * second free itself (with stacks), before the pool's check can. */
    exa_pool_free(v[0] != a && v[0] != b ? v[0] : v[1] != a && v[1] != b ? v[1] : v[2]);
    return;
#endif
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(b);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK_BUGCHECK(bc, 0xC2, 0x07, 0);
    for (int i = 0; i < 3; i++)
        if (v[i] != a && v[i] != b) exa_pool_free(v[i]);
}

static void child_double_free(void) {
    void *p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 10, test_tag("Kid "));
    exa_pool_free(p);
    exa_pool_free(p);
}

/* The default handler: the NT STOP line, then abort. */
static void default_handler_stops_on_double_free(void) { CHECK(test_child_stops(child_double_free, "*** STOP: 0x000000C2")); }

/* Cache-aligned blocks: the pointer on a line boundary, a shadow header before it when the
 * real header is not just before the line; free and query find the real block. */
static void cache_aligned_blocks_and_shadow_headers(void) {
    uintptr_t line = exa_cache_line_size();
    int shadows = 0;
    void *v[64];
    for (int i = 0; i < 64; i++) {
        v[i] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_CACHE_ALIGNED, 24 + i * 8, test_tag("CaAl"));
        CHECK(v[i] != NULL);
        CHECK_EQ((uintptr_t)v[i] % line, 0);
        unsigned char *h = (unsigned char *)v[i] - 16;
        if (h[3] == 0xFF) {
            shadows++;
            CHECK(h[0] >= 1 && h[0] < line / 16);
            CHECK(memcmp(h + 4, "CaAl", 4) == 0);
        }
        exa_pool_block_info_t bi = test_block_info(v[i]);
        CHECK_EQ(bi.pool_type, EXA_PAGED_POOL_CACHE_ALIGNED);
        CHECK(bi.size >= (exa_u64)(24 + i * 8));
    }
    CHECK(shadows > 0);
    for (int i = 0; i < 64; i++) exa_pool_free(v[i]);
    exa_pool_tag_row_t r = test_tag_row(test_tag("CaAl"), EXA_POOL_KIND_PAGED);
    CHECK_EQ(r.allocs, 64);
    CHECK_EQ(r.diff, 0);
}

/* ==========================================================================================
 * ExAllocatePool2/3 validation (docs/pool.md#pool-flags, #zero-size; docs/edge-cases.md#case-2,
 * #case-6 to #case-8)
 * ======================================================================================== */

static void pool_flags_map_to_types(void) {
    static const struct {
        exa_u64 flags;
        int32_t type;
    } cases[] = {{EXA_POOL_FLAG_NON_PAGED, 512},
                 {EXA_POOL_FLAG_NON_PAGED_EXECUTE, 0},
                 {EXA_POOL_FLAG_PAGED, 1},
                 {EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_CACHE_ALIGNED, 516},
                 {EXA_POOL_FLAG_NON_PAGED_EXECUTE | EXA_POOL_FLAG_CACHE_ALIGNED, 4},
                 {EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_CACHE_ALIGNED, 5},
                 {EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_SESSION, 544},
                 {EXA_POOL_FLAG_NON_PAGED_EXECUTE | EXA_POOL_FLAG_SESSION, 32},
                 {EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_SESSION, 33},
                 {EXA_POOL_FLAG_NON_PAGED_EXECUTE | EXA_POOL_FLAG_SESSION | EXA_POOL_FLAG_CACHE_ALIGNED, 36},
                 {EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_SESSION | EXA_POOL_FLAG_CACHE_ALIGNED, 37},
                 {EXA_POOL_FLAG_PAGED | ((exa_u64)1 << EXA_POOL_FLAG_SPECIAL_POOL_BIT), 1},
                 {EXA_POOL_FLAG_PAGED | ((exa_u64)1 << 47), 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *p = exa_pool_allocate(cases[i].flags, 333, test_tag("Flag"));
        CHECK(p != NULL);
        CHECK_EQ(test_block_info(p).pool_type, cases[i].type);
        for (int k = 0; k < 333; k++) CHECK_EQ(p[k], 0); /* zeroed unless UNINITIALIZED */
        memset(p, 0xCD, 333);
        exa_pool_free(p);
    }
}

static int raised_count;
static exa_status_t raised_last;
static void count_raise(exa_status_t st, void *ctx) {
    (void)ctx;
    raised_count++;
    raised_last = st;
}

static void pool_flags_validation(void) {
    static const exa_u64 bad[] = {
        0,                                                               /* no pool */
        EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_NON_PAGED,                   /* two pools */
        EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_NON_PAGED_EXECUTE,
        EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_RESERVED1,                   /* reserved */
        EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_RESERVED2,
        EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_RESERVED3,
        EXA_POOL_FLAG_PAGED | 0x800,                                     /* unknown required */
        EXA_POOL_FLAG_PAGED | 0x80000000u,
        EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_SESSION | EXA_POOL_FLAG_CACHE_ALIGNED}; /* no such type */
    exa_set_raise_handler(count_raise, NULL);
    raised_count = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(exa_pool_allocate(bad[i], 64, test_tag("Vald")) == NULL);
        CHECK(exa_pool_allocate(bad[i] | EXA_POOL_FLAG_RAISE_ON_FAILURE, 64, test_tag("Vald")) == NULL);
    }
    CHECK(exa_pool_allocate(EXA_POOL_FLAG_PAGED, 64, 0) == NULL); /* tag must be non-zero */
    CHECK_EQ(raised_count, sizeof bad / sizeof bad[0]);
    CHECK_EQ(raised_last, EXA_STATUS_INVALID_PARAMETER);
    exa_set_raise_handler(NULL, NULL);
    exa_clear_last_status();

    /* Zero bytes: a minimal block (16 usable bytes); NULL in strict mode. */
    void *z = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 0, test_tag("Zero"));
    CHECK(z != NULL);
    CHECK_EQ(test_block_info(z).size, 16);
    exa_pool_free(z);
    exa_pool_set_options(EXA_POOL_OPTION_STRICT);
    z = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 0, test_tag("Zero"));
    exa_pool_set_options(0);
    CHECK(z == NULL);
}

/* Zero bytes take the full path's rule (a 16-byte block; NULL in strict mode) even when the
 * thread's page cache holds a page: the one-page doors serve 4065..4096 bytes, never 0. */
static void zero_bytes_never_take_a_cached_page(void) {
    for (int strict = 0; strict < 2; strict++) {
        void *page = exa_pool_allocate(EXA_POOL_FLAG_PAGED, MAX_SMALL + 1, test_tag("Zpg1"));
        CHECK(page != NULL);
        exa_pool_free(page); /* the page goes to this thread's page cache */
        exa_pool_set_options(strict ? EXA_POOL_OPTION_STRICT : 0);
        void *z = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 0, test_tag("Zpg2"));
        exa_pool_set_options(0);
        if (strict) {
            CHECK(z == NULL);
        } else {
            CHECK(z != NULL);
            CHECK_EQ(test_block_info(z).size, 16);
            exa_pool_free(z);
        }
        page = exa_pool_allocate_typed(EXA_PAGED_POOL, MAX_SMALL + 1, test_tag("Zpg1"), EXA_POOL_PRIORITY_HIGH);
        CHECK(page != NULL);
        exa_pool_free(page);
        void *l = exa_pool_allocate_typed(EXA_PAGED_POOL, 0, test_tag("Zpg3"), EXA_POOL_PRIORITY_HIGH);
        CHECK(l != NULL);
        CHECK_EQ(test_block_info(l).size, 16);
        exa_pool_free(l);
    }
}

/* 1 when this host refuses to bind memory to node 0 at all (mbind: ENOSYS without a NUMA
 * policy in the kernel or under an emulator, EPERM under a seccomp profile). */
static int host_refuses_node_binding(void) {
#if defined(__linux__) && defined(SYS_mbind)
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {1ul};
    long r = syscall(SYS_mbind, p, page, 2 /* MPOL_BIND */, mask, 1025ul, 0ul);
    int err = r == 0 ? 0 : errno;
    munmap(p, page);
    return err == ENOSYS || err == EPERM;
#elif defined(_WIN32)
    return test_host_refuses_node_binding();
#else
    return 1;
#endif
}

/* A request bound to node 0 (which exists everywhere) is served even where the host cannot
 * bind memory to a node; each mapping whose binding was refused is counted in the
 * non-paged pool's statistics, and only then. */
static void node_binding_refusal_is_counted(void) {
    exa_pool_stats_t before, after;
    CHECK_EQ(exa_pool_query(EXA_POOL_KIND_NON_PAGED, &before), EXA_STATUS_SUCCESS);
    exa_pool_parameter_t node0 = {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0};
    /* beyond a segment's 64 pages: a mapping of its own, bound on its own */
    void *big = exa_pool_allocate_ex(EXA_POOL_FLAG_NON_PAGED, 80 * PAGE, test_tag("NuRf"), &node0, 1);
    CHECK(big != NULL);
    CHECK_EQ(exa_pool_query(EXA_POOL_KIND_NON_PAGED, &after), EXA_STATUS_SUCCESS);
    exa_pool_free(big);
    CHECK_EQ(after.node_refusals - before.node_refusals, host_refuses_node_binding() ? 1 : 0);
    exa_pool_stats_t paged;
    CHECK_EQ(exa_pool_query(EXA_POOL_KIND_PAGED, &paged), EXA_STATUS_SUCCESS);
    CHECK_EQ(paged.node_refusals, 0); /* paged requests take no node */
}

static void pool3_extended_parameters(void) {
    uint32_t nodes = exa_numa_node_count();
    CHECK(nodes >= 1);
    exa_u64 np = EXA_POOL_FLAG_NON_PAGED;
    static const struct {
        exa_u64 flags;
        exa_pool_parameter_t p;
        int ok;
    } cases[] = {
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_PRIORITY, 0, EXA_POOL_PRIORITY_NORMAL}, 1},
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_PRIORITY, 0, EXA_POOL_PRIORITY_HIGH_SPECIAL_POOL_UNDERRUN}, 1},
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_PRIORITY, 0, 5}, 0},          /* not a priority */
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_PRIORITY, 1, 5}, 1},          /* optional: ignored */
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_INVALID, 0, 0}, 0},
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_INVALID, 1, 0}, 1},
        {EXA_POOL_FLAG_NON_PAGED, {9, 0, 0}, 0},                                    /* unknown type */
        {EXA_POOL_FLAG_NON_PAGED, {9, 1, 0}, 1},
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_SECURE_POOL, 0, 0}, 0},       /* unsupported */
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0}, 1},         /* node 0 exists */
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_NUMA_NODE, 0, 1000}, 0},      /* no such node */
        {EXA_POOL_FLAG_NON_PAGED, {EXA_POOL_PARAMETER_NUMA_NODE, 0, 1000 | 0x80000000u}, 1}, /* any node */
        {EXA_POOL_FLAG_PAGED, {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0}, 0},             /* paged: no node */
        {EXA_POOL_FLAG_PAGED, {EXA_POOL_PARAMETER_NUMA_NODE, 1, 0}, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *p = exa_pool_allocate_ex(cases[i].flags, 128, test_tag("Ext3"), &cases[i].p, 1);
        CHECK_EQ(p != NULL, cases[i].ok);
        if (p != NULL) {
            exa_pool_block_info_t bi = test_block_info(p);
            CHECK_EQ(bi.pool_type, (cases[i].flags & EXA_POOL_FLAG_PAGED) ? 1 : 512);
            exa_pool_free(p);
        }
    }
    CHECK(exa_pool_allocate_ex(np, 128, test_tag("Ext3"), NULL, 1) == NULL);
    /* A node-bound block: its own descriptor, same type; big ones too. */
    exa_pool_parameter_t node0 = {EXA_POOL_PARAMETER_NUMA_NODE, 0, 0};
    void *small = exa_pool_allocate_ex(np, 100, test_tag("Numa"), &node0, 1);
    void *big = exa_pool_allocate_ex(np, 5 * PAGE, test_tag("Numa"), &node0, 1);
    CHECK(small != NULL && big != NULL);
    CHECK(((unsigned char *)small)[-15] >= 3); /* PoolIndex: a node descriptor */
    CHECK_EQ(test_block_info(big).pool_type, 512);
    exa_pool_free(small);
    exa_pool_free(big);
}

/* ==========================================================================================
 * Legacy routines: zero length, modifiers, tags
 * ======================================================================================== */

static void legacy_zero_length_and_tags(void) {
    void *p = exa_pool_allocate_typed(EXA_PAGED_POOL, 0, test_tag("Len0"), EXA_POOL_PRIORITY_HIGH);
    CHECK(p != NULL);
    CHECK_EQ(test_block_info(p).size, 16);
    exa_pool_free(p);
    p = exa_pool_allocate_typed(EXA_PAGED_POOL, 10, 0, EXA_POOL_PRIORITY_HIGH); /* tag 0: "None" */
    CHECK_EQ(test_block_info(p).tag, (uint32_t)EXA_POOL_TAG_NONE);
    exa_pool_free(p);
    /* Zero modifier zeroes; NX modifier on paged pool means nothing. */
    unsigned char *z = exa_pool_allocate_typed(EXA_PAGED_POOL | EXA_POOL_ZERO_ALLOCATION | EXA_POOL_NX_ALLOCATION, 500,
                                               test_tag("Zmod"), EXA_POOL_PRIORITY_HIGH);
    CHECK(z != NULL);
    for (int i = 0; i < 500; i++) CHECK_EQ(z[i], 0);
    CHECK_EQ(test_block_info(z).pool_type, 1);
    exa_pool_free(z);
    /* Invalid types fail (DontUseThisType, MaxPoolType, unknown bits). */
    CHECK(exa_pool_allocate_typed(3, 10, test_tag("Bad "), 32) == NULL);
    CHECK(exa_pool_allocate_typed(7, 10, test_tag("Bad "), 32) == NULL);
    CHECK(exa_pool_allocate_typed(0x1000, 10, test_tag("Bad "), 32) == NULL);

    /* Strict mode: zero bytes 0xC4/0x00, tag 0 0x9B, "BIG " 0x9C, no letter or digit 0x9D. */
    exa_pool_set_options(EXA_POOL_OPTION_STRICT);
    static const struct {
        exa_u64 n;
        uint32_t tag, code, p1;
    } strict[] = {{0, 0x74736554, 0xC4, 0x00}, {8, 0, 0xC2, 0x9B}, {8, 0x20474942, 0xC2, 0x9C},
                  {8, 0x2D2D2D2D, 0xC2, 0x9D}, {8, 0x74730154, 0xC2, 0x9D}};
    for (size_t i = 0; i < sizeof strict / sizeof strict[0]; i++) {
        exa_u64 c = test_bugcheck_begin();
        p = exa_pool_allocate_typed(EXA_PAGED_POOL, strict[i].n, strict[i].tag, 32);
        exa_bugcheck_info_t bc = test_bugcheck_end(c);
        CHECK(p == NULL);
        CHECK_EQ(bc.sequence, 1);
        CHECK_EQ(bc.code, strict[i].code);
        CHECK_EQ(bc.parameter1, strict[i].p1);
    }
    exa_pool_set_options(0);
}

/* ==========================================================================================
 * Quota (docs/pool.md#quota)
 * ======================================================================================== */

static void quota_charge_and_back_out(void) {
    exa_quota_account_t *a;
    CHECK_EQ(exa_quota_create(1000, 0, &a), EXA_STATUS_SUCCESS);
    exa_quota_account_t *saved = exa_quota_attach(a);
    CHECK(saved == exa_quota_process());
    CHECK(exa_quota_current() == a);
    void *v[8];
    /* 100 bytes -> a 128-byte block, header included, is what is charged. */
    for (int i = 0; i < 7; i++) {
        v[i] = exa_pool_allocate_quota(EXA_NON_PAGED_POOL_NX | EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, 100, test_tag("Quot"));
        CHECK(v[i] != NULL);
    }
    exa_quota_stats_t s;
    exa_quota_query(a, &s);
    CHECK_EQ(s.non_paged_usage, 7 * 128);
    CHECK_EQ(s.non_paged_peak, 7 * 128);
    CHECK_EQ(s.charged_blocks, 7);
    exa_pool_block_info_t bi = test_block_info(v[0]);
    CHECK_EQ(bi.quota_charged, 1);
    CHECK(bi.account == a);
    CHECK_EQ(((unsigned char *)v[0])[-13], ((EXA_NON_PAGED_POOL_NX & 0x2F) | 0x8) + 1); /* QUOTA bit in PoolType */
    /* The 8th would reach 1024 > 1000: NULL with FAIL_INSTEAD_OF_RAISE, nothing charged, and
     * the block it took is back in the pool (the tag's counts do not see it). */
    exa_pool_tag_row_t before = test_tag_row(test_tag("Quot"), EXA_POOL_KIND_NON_PAGED);
    exa_clear_last_status();
    CHECK(exa_pool_allocate_quota(EXA_NON_PAGED_POOL_NX | EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, 100, test_tag("Quot")) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_SUCCESS);
    /* Without the flag the quota routine raises STATUS_QUOTA_EXCEEDED. */
    CHECK(exa_pool_allocate_quota(EXA_NON_PAGED_POOL_NX, 100, test_tag("Quot")) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_QUOTA_EXCEEDED);
    exa_clear_last_status();
    exa_pool_tag_row_t after = test_tag_row(test_tag("Quot"), EXA_POOL_KIND_NON_PAGED);
    CHECK_EQ(after.allocs, before.allocs);
    exa_quota_query(a, &s);
    CHECK_EQ(s.non_paged_usage, 7 * 128);
    /* Paged pool has no limit here; big blocks and the system account are never charged. */
    void *pg = exa_pool_allocate_quota(EXA_PAGED_POOL, 2000, test_tag("Quot"));
    void *big = exa_pool_allocate_quota(EXA_NON_PAGED_POOL_NX, 5000, test_tag("Quot"));
    CHECK(pg != NULL && big != NULL);
    CHECK_EQ(test_block_info(big).quota_charged, 0);
    exa_quota_query(a, &s);
    CHECK_EQ(s.paged_usage, 2016); /* 2000 + 16, a multiple of 16 */
    CHECK_EQ(s.non_paged_usage, 7 * 128);
    exa_quota_attach(exa_quota_system());
    void *sys = exa_pool_allocate_quota(EXA_NON_PAGED_POOL_NX, 100, test_tag("Quot"));
    CHECK_EQ(test_block_info(sys).quota_charged, 0);
    exa_quota_attach(a);
    /* Pool2 with USE_QUOTA: NULL on quota failure unless RAISE_ON_FAILURE. */
    CHECK(exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_USE_QUOTA, 200, test_tag("Quot")) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_SUCCESS);
    CHECK(exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_USE_QUOTA | EXA_POOL_FLAG_RAISE_ON_FAILURE, 200,
                            test_tag("Quot")) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_QUOTA_EXCEEDED);
    exa_clear_last_status();
    /* Frees return the charge; the peak stays. Closing with charges outstanding keeps the
     * account until the last charged block is freed. */
    exa_pool_free(v[0]);
    exa_quota_query(a, &s);
    CHECK_EQ(s.non_paged_usage, 6 * 128);
    CHECK_EQ(s.non_paged_peak, 7 * 128);
    CHECK(exa_quota_attach(saved) == a);
    CHECK_EQ(exa_quota_close(a), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_quota_close(a), EXA_STATUS_INVALID_PARAMETER);
    exa_quota_query(a, &s);
    CHECK_EQ(s.closed, 1);
    for (int i = 1; i < 7; i++) exa_pool_free(v[i]);
    exa_pool_free(pg); /* the last charge: the account goes away */
    exa_pool_free(big);
    exa_pool_free(sys);
    CHECK_EQ(exa_quota_close(exa_quota_process()), EXA_STATUS_INVALID_PARAMETER);
    /* The process account is charged by default (ExQueryPoolBlockSize reports it). */
    void *pr = exa_pool_allocate_quota(EXA_PAGED_POOL, 10, test_tag("Quot"));
    CHECK_EQ(test_block_info(pr).quota_charged, 1);
    CHECK(test_block_info(pr).account == exa_quota_process());
    exa_pool_free(pr);
}

/* A corrupted ProcessBilled word is bug check 0xC2/0x0D at the free. */
static void quota_owner_is_checked(void) {
    unsigned char *p = exa_pool_allocate_quota(EXA_PAGED_POOL, 40, test_tag("Qown"));
    CHECK(p != NULL);
    uint64_t owner, bad = 0x1000;
    memcpy(&owner, p - 8, 8);
    memcpy(p - 8, &bad, 8);
    exa_u64 c = test_bugcheck_begin();
    exa_pool_free(p);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    memcpy(p - 8, &owner, 8);
    exa_pool_free(p);
    CHECK_BUGCHECK(bc, 0xC2, 0x0D, (uintptr_t)p);
    CHECK_EQ(bc.parameter4, 0x1000);
}

/* ==========================================================================================
 * Limits, priorities, conditions, must-succeed (docs/pool.md#failure, #conditions)
 * ======================================================================================== */

typedef struct {
    int calls;
    int32_t pool[32];
    uint32_t bits[32];
} seen_t;

static void record_condition(int32_t pool, uint32_t condition, void *ctx) {
    seen_t *s = ctx;
    if (s->calls < 32) {
        s->pool[s->calls] = pool;
        s->bits[s->calls] = condition;
    }
    s->calls++;
}

/* Paged pool with `capacity` bytes free from now on; watermarks in bytes of free capacity. */
static exa_u64 limit_paged(exa_pool_limits_t *saved, exa_u64 free_bytes) {
    exa_pool_trim();
    exa_pool_get_limits(EXA_POOL_KIND_PAGED, saved);
    exa_pool_stats_t s;
    exa_pool_query(EXA_POOL_KIND_PAGED, &s);
    exa_pool_limits_t l = *saved;
    l.capacity = s.in_use + free_bytes;
    l.critical_watermark = 64 * 1024;
    l.low_watermark = 256 * 1024;
    l.low_clear = 384 * 1024;
    l.high_clear = 640 * 1024;
    l.high_watermark = 768 * 1024;
    l.must_succeed_reserve = 128 * 1024;
    exa_pool_set_limits(EXA_POOL_KIND_PAGED, &l);
    return s.in_use;
}

static void limits_priorities_and_conditions_with_hysteresis(void) {
    exa_pool_limits_t saved;
    limit_paged(&saved, 1024 * 1024);
    seen_t seen = {0};
    uint32_t cookie;
    CHECK_EQ(exa_pool_register_condition(record_condition, &seen, &cookie), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), EXA_POOL_CONDITION_HIGH);
    enum { CHUNK = 64 * 1024 };
    void *v[16];
    int n = 0;
    /* free: 1024K -> 960 ... 704K: High holds down to high_clear (640K). */
    for (; n < 6; n++) v[n] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, CHUNK, test_tag("Cond"));
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), EXA_POOL_CONDITION_HIGH); /* 640K: not below */
    CHECK_EQ(seen.calls, 0);
    v[n++] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, CHUNK, test_tag("Cond")); /* 576K */
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), 0);
    CHECK_EQ(seen.calls, 1);
    CHECK_EQ(seen.bits[0], 0);
    CHECK_EQ(seen.pool[0], EXA_POOL_KIND_PAGED);
    /* Freeing one (640K free) does not bring High back: it needs 768K. */
    exa_pool_free(v[--n]);
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), 0);
    for (; n < 13; n++) {
        v[n] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, CHUNK, test_tag("Cond"));
        CHECK(v[n] != NULL);
    }
    /* 192K free: Low. A Low-priority request fails, Normal and High succeed. */
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), EXA_POOL_CONDITION_LOW);
    CHECK_EQ(seen.calls, 2);
    CHECK_EQ(seen.bits[1], EXA_POOL_CONDITION_LOW);
    CHECK(exa_pool_allocate_typed(EXA_PAGED_POOL, 100, test_tag("Prio"), EXA_POOL_PRIORITY_LOW) == NULL);
    exa_pool_parameter_t low = {EXA_POOL_PARAMETER_PRIORITY, 0, EXA_POOL_PRIORITY_LOW};
    CHECK(exa_pool_allocate_ex(EXA_POOL_FLAG_PAGED, 100, test_tag("Prio"), &low, 1) == NULL);
    void *normal = exa_pool_allocate_typed(EXA_PAGED_POOL, 100, test_tag("Prio"), EXA_POOL_PRIORITY_NORMAL);
    CHECK(normal != NULL);
    /* The Normal block took a page (188K free); down to 56K: Normal fails below the
     * critical watermark (64K), High goes on (from the thread's cache). */
    v[n++] = exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_UNINITIALIZED, 2 * CHUNK + PAGE, test_tag("Cond"));
    CHECK(v[n - 1] != NULL);
    CHECK(exa_pool_allocate_typed(EXA_PAGED_POOL, 100, test_tag("Prio"), EXA_POOL_PRIORITY_NORMAL) == NULL);
    void *high = exa_pool_allocate_typed(EXA_PAGED_POOL, 100, test_tag("Prio"), EXA_POOL_PRIORITY_HIGH);
    CHECK(high != NULL);
    /* Exhaustion: NULL, or a raise of STATUS_INSUFFICIENT_RESOURCES when asked. */
    exa_clear_last_status();
    CHECK(exa_pool_allocate(EXA_POOL_FLAG_PAGED, CHUNK, test_tag("Cond")) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_SUCCESS);
    CHECK(exa_pool_allocate(EXA_POOL_FLAG_PAGED | EXA_POOL_FLAG_RAISE_ON_FAILURE, CHUNK, test_tag("Cond")) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INSUFFICIENT_RESOURCES);
    exa_clear_last_status();
    CHECK(exa_pool_allocate_typed(EXA_PAGED_POOL | EXA_POOL_RAISE_IF_ALLOCATION_FAILURE, CHUNK, test_tag("Cond"), 32) == NULL);
    CHECK_EQ(exa_last_status(), EXA_STATUS_INSUFFICIENT_RESOURCES);
    exa_clear_last_status();
    CHECK(exa_pool_allocate_quota(EXA_PAGED_POOL, CHUNK, test_tag("Cond")) == NULL); /* quota routine: raises */
    CHECK_EQ(exa_last_status(), EXA_STATUS_INSUFFICIENT_RESOURCES);
    exa_clear_last_status();
    exa_pool_stats_t st;
    exa_pool_query(EXA_POOL_KIND_PAGED, &st);
    CHECK(st.in_use <= st.capacity);
    CHECK(st.peak >= st.in_use);
    /* Back up: Low holds until 384K free (hysteresis), then clears; High at 768K. */
    exa_pool_free(normal);
    exa_pool_free(high);
    exa_pool_trim();                                           /* their page goes back */
    exa_pool_free(v[--n]);                                     /* 192K free */
    exa_pool_free(v[--n]);                                     /* 256K */
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), EXA_POOL_CONDITION_LOW);
    exa_pool_free(v[--n]);                                     /* 320K */
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), EXA_POOL_CONDITION_LOW);
    exa_pool_free(v[--n]);                                     /* 384K */
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), 0);
    while (n > 3) exa_pool_free(v[--n]);                       /* 832K */
    CHECK_EQ(exa_pool_condition(EXA_POOL_KIND_PAGED), EXA_POOL_CONDITION_HIGH);
    while (n > 0) exa_pool_free(v[--n]);
    CHECK_EQ(exa_pool_unregister_condition(cookie), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_pool_unregister_condition(cookie), EXA_STATUS_INVALID_PARAMETER);
    /* Transitions delivered in order: none, Low, none, High. */
    CHECK_EQ(seen.calls, 4);
    CHECK_EQ(seen.bits[2], 0);
    CHECK_EQ(seen.bits[3], EXA_POOL_CONDITION_HIGH);
    exa_pool_query(EXA_POOL_KIND_PAGED, &st);
    CHECK_EQ(st.condition, EXA_POOL_CONDITION_HIGH);
    CHECK(st.condition_changes >= 4);
    exa_pool_set_limits(EXA_POOL_KIND_PAGED, &saved);
}

static void limits_are_validated(void) {
    exa_pool_limits_t l;
    CHECK_EQ(exa_pool_get_limits(7, &l), EXA_STATUS_INVALID_PARAMETER_1);
    CHECK_EQ(exa_pool_get_limits(EXA_POOL_KIND_NON_PAGED, NULL), EXA_STATUS_INVALID_PARAMETER_2);
    CHECK_EQ(exa_pool_get_limits(EXA_POOL_KIND_NON_PAGED, &l), EXA_STATUS_SUCCESS);
    CHECK(l.capacity > 0);
    CHECK(l.critical_watermark <= l.low_watermark && l.low_watermark <= l.low_clear && l.low_clear <= l.high_clear &&
          l.high_clear <= l.high_watermark && l.high_watermark <= l.capacity);
    exa_pool_limits_t bad = l;
    bad.low_clear = bad.low_watermark - PAGE; /* below low_watermark */
    CHECK_EQ(exa_pool_set_limits(EXA_POOL_KIND_NON_PAGED, &bad), EXA_STATUS_INVALID_PARAMETER_2);
    bad = l;
    bad.high_watermark = bad.capacity + PAGE;
    CHECK_EQ(exa_pool_set_limits(EXA_POOL_KIND_NON_PAGED, &bad), EXA_STATUS_INVALID_PARAMETER_2);
    bad = l;
    bad.lock_policy = 9;
    CHECK_EQ(exa_pool_set_limits(EXA_POOL_KIND_NON_PAGED, &bad), EXA_STATUS_INVALID_PARAMETER_2);
    CHECK_EQ(exa_pool_set_limits(EXA_POOL_KIND_NON_PAGED, &l), EXA_STATUS_SUCCESS);
    exa_pool_limits_t back;
    exa_pool_get_limits(EXA_POOL_KIND_NON_PAGED, &back);
    CHECK(memcmp(&back, &l, sizeof l) == 0);
}

/* Must-succeed (docs/pool.md#failure; exalloc's own improvement on NT): served from a reserve beyond the capacity when
 * the pool is exhausted; only when the reserve is gone too: bug check 0x41. Strict mode
 * rejects the request itself (0xC2/0x9A). */
static void must_succeed_reserve_then_0x41(void) {
    exa_pool_limits_t saved;
    exa_pool_trim();
    exa_pool_get_limits(EXA_POOL_KIND_NON_PAGED, &saved);
    exa_pool_stats_t s;
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s);
    exa_pool_limits_t l = {0};
    l.capacity = s.in_use + 8 * PAGE;
    l.must_succeed_reserve = 4 * PAGE;
    l.lock_policy = saved.lock_policy;
    l.cached_segments = saved.cached_segments;
    CHECK_EQ(exa_pool_set_limits(EXA_POOL_KIND_NON_PAGED, &l), EXA_STATUS_SUCCESS);
    void *fill = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 8 * PAGE, test_tag("MSuc"));
    CHECK(fill != NULL);
    CHECK(exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, PAGE, test_tag("MSuc")) == NULL);
    void *ms = exa_pool_allocate_typed(EXA_NON_PAGED_POOL_MUST_SUCCEED, 3 * PAGE, test_tag("MSuc"), 32);
    CHECK(ms != NULL);
    CHECK_EQ(test_block_info(ms).pool_type, EXA_NON_PAGED_POOL_MUST_SUCCEED);
    exa_u64 c = test_bugcheck_begin();
    void *none = exa_pool_allocate_typed(EXA_NON_PAGED_POOL_MUST_SUCCEED, 2 * PAGE, test_tag("MSuc"), 32);
    exa_bugcheck_info_t bc = test_bugcheck_end(c);
    CHECK(none == NULL);
    CHECK_BUGCHECK(bc, 0x41, 2 * PAGE, s.in_use / PAGE + 11);
    CHECK_EQ(bc.parameter4, 1); /* pages still available in the reserve */
    exa_pool_free(ms);
    exa_pool_free(fill);
    exa_pool_set_options(EXA_POOL_OPTION_STRICT);
    c = test_bugcheck_begin();
    none = exa_pool_allocate_typed(EXA_NON_PAGED_POOL_MUST_SUCCEED, 10, test_tag("MSuc"), 32);
    bc = test_bugcheck_end(c);
    exa_pool_set_options(0);
    CHECK(none == NULL);
    CHECK_BUGCHECK(bc, 0xC2, 0x9A, EXA_NON_PAGED_POOL_MUST_SUCCEED);
    exa_pool_set_limits(EXA_POOL_KIND_NON_PAGED, &saved);
}

/* ==========================================================================================
 * Locked memory, cold hint, IRQL, Mm, lookaside backing
 * ======================================================================================== */

#if TEST_POSIX
static void child_memlock_refused(void) {
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) _exit(10);
    /* root may lock beyond the limit (CAP_IPC_LOCK): become an ordinary user first. */
    if (geteuid() == 0 && setuid(65534) != 0) _exit(9);
    exa_pool_stats_t s0, s1;
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s0);
    /* A big allocation always maps fresh memory, so a lock is always attempted. */
    void *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 80 * PAGE, test_tag("Lock"));
    if (p == NULL) _exit(11);  /* best effort: the allocation still succeeds */
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s1);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /* The sanitizers intercept mlock and ignore it: nothing is ever refused under them. */
    if (s1.locked != s0.locked + 80 * PAGE) _exit(17);
    exa_pool_free(p);
    _exit(0);
#endif
    if (s1.lock_failures != s0.lock_failures + 1) _exit(12);
    if (s1.lock_status != EXA_STATUS_WORKING_SET_QUOTA) _exit(13);
    if (s1.locked != s0.locked) _exit(14);
    exa_pool_free(p);
    exa_pool_limits_t l;
    exa_pool_get_limits(EXA_POOL_KIND_NON_PAGED, &l);
    l.lock_policy = EXA_POOL_LOCK_REQUIRED;
    exa_pool_set_limits(EXA_POOL_KIND_NON_PAGED, &l);
    if (exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 80 * PAGE, test_tag("Lock")) != NULL) _exit(15);
    /* Paged pool is never locked. */
    p = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 80 * PAGE, test_tag("Lock"));
    if (p == NULL) _exit(16);
    exa_pool_free(p);
    _exit(0);
}
#endif

static void nonpaged_memory_is_locked_or_says_why(void) {
    exa_pool_stats_t s0, s1;
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s0);
    void *p = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 70 * PAGE, test_tag("Lock"));
    CHECK(p != NULL);
    exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s1);
    CHECK(s1.locked == s0.locked + 70 * PAGE || s1.lock_failures == s0.lock_failures + 1);
    exa_pool_free(p);
#if TEST_POSIX
    char err[512];
    int status = test_in_child(child_memlock_refused, err, sizeof err);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
#else
    TEST_SKIP("the refusal half needs a lock limit a process can lower for itself (RLIMIT_MEMLOCK); Windows' "
         "is the working-set size, which the library grows when a lock needs it");
#endif
}

static void cold_hint_never_fails(void) {
    exa_pool_stats_t s0, s1;
    exa_pool_query(EXA_POOL_KIND_PAGED, &s0);
    void *big = exa_pool_allocate_typed(EXA_PAGED_POOL | EXA_POOL_COLD_ALLOCATION, 8 * PAGE, test_tag("Cold"), 32);
    void *small = exa_pool_allocate_typed(EXA_PAGED_POOL | EXA_POOL_COLD_ALLOCATION, 100, test_tag("Cold"), 32);
    void *np = exa_pool_allocate_typed(EXA_NON_PAGED_POOL_NX | EXA_POOL_COLD_ALLOCATION, 8 * PAGE, test_tag("Cold"), 32);
    CHECK(big != NULL && small != NULL && np != NULL);
    exa_pool_query(EXA_POOL_KIND_PAGED, &s1);
    CHECK(s1.cold_hints == s0.cold_hints || s1.cold_hints == s0.cold_hints + 1);
    exa_pool_free(big);
    exa_pool_free(small);
    exa_pool_free(np);
}

/* docs/pool.md#api: paged pool only up to APC_LEVEL, any pool up to DISPATCH_LEVEL (0xC2/0x08 on
 * allocate, 0x09 on free). */
static void irql_rules(void) {
    void *paged = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 64, test_tag("Irql"));
    uint8_t old;
    CHECK_EQ(exa_irql_raise(EXA_DISPATCH_LEVEL, &old), EXA_STATUS_SUCCESS);
    void *np = exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 64, test_tag("Irql"));
    exa_u64 c = test_bugcheck_begin();
    void *bad = exa_pool_allocate(EXA_POOL_FLAG_PAGED, 64, test_tag("Irql"));
    exa_bugcheck_info_t alloc_bc = test_bugcheck_end(c);
    c = test_bugcheck_begin();
    exa_pool_free(paged);
    exa_bugcheck_info_t free_bc = test_bugcheck_end(c);
    exa_pool_free(np); /* non-paged: fine at DISPATCH_LEVEL */
    exa_irql_lower(old);
    exa_pool_free(paged);
    CHECK(np != NULL);
    CHECK(bad == NULL);
    CHECK_BUGCHECK(alloc_bc, 0xC2, 0x08, EXA_DISPATCH_LEVEL);
    CHECK_EQ(alloc_bc.parameter3, EXA_PAGED_POOL);
    CHECK_EQ(alloc_bc.parameter4, 64);
    CHECK_BUGCHECK(free_bc, 0xC2, 0x09, EXA_DISPATCH_LEVEL);
    CHECK_EQ(free_bc.parameter4, (uintptr_t)paged);
}

/* docs/mm.md, docs/edge-cases.md#case-48 and #case-49: thresholds inclusive, product type by its first two characters. */
static void mm_system_size_thresholds(void) {
    static const struct {
        exa_u64 pages;  /* physical memory in 4 KiB pages */
        const char *product;
        int32_t size, server;
    } cases[] = {{13 * 256, "WinNt", 0, 0},        {13 * 256 + 1, "WinNt", 0, 0}, {19 * 256, "WinNt", 0, 0},
                 {19 * 256 + 1, "WinNt", 1, 0},    {32 * 256 - 1, "WinNt", 1, 0}, {32 * 256, "WinNt", 2, 0},
                 {32 * 256, "ServerNt", 1, 1},     {64 * 256 - 1, "LanmanNt", 1, 1}, {64 * 256, "LanmanNt", 2, 1},
                 {64 * 256, "Wizard", 2, 0},       {40 * 256, "", 1, 1},          {1u << 22, "Se", 2, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(exa_mm_configure(cases[i].pages * 4096, cases[i].product), EXA_STATUS_SUCCESS);
        CHECK_EQ(exa_mm_query_system_size(), cases[i].size);
        CHECK_EQ(exa_mm_is_nt_as_system(), cases[i].server);
    }
    exa_mm_configure(0, NULL);
    CHECK_EQ(exa_mm_query_system_size(), EXA_MM_LARGE_SYSTEM); /* any host of 64 MiB or more */
    CHECK_EQ(exa_mm_is_nt_as_system(), 0);
}

/* Lookaside misses go through the pool with the list's tag and type. */
static void lookaside_default_allocator_is_the_pool(void) {
    exa_lookaside_config_t cfg = {0};
    cfg.size = 72;
    cfg.tag = test_tag("LkPl") | 0x80000000u; /* protected: the list frees with its own tag */
    cfg.pool_type = EXA_PAGED_POOL_CACHE_ALIGNED;
    exa_lookaside_t *l;
    CHECK_EQ(exa_lookaside_create(&cfg, &l), EXA_STATUS_SUCCESS);
    void *v[12];
    for (int i = 0; i < 12; i++) {
        v[i] = exa_lookaside_allocate(l);
        CHECK(v[i] != NULL);
        exa_pool_block_info_t bi = test_block_info(v[i]);
        CHECK_EQ(bi.tag, cfg.tag);
        CHECK_EQ(bi.pool_type, EXA_PAGED_POOL_CACHE_ALIGNED);
        CHECK_EQ((uintptr_t)v[i] % exa_cache_line_size(), 0);
    }
    exa_pool_tag_row_t r = test_tag_row(cfg.tag, EXA_POOL_KIND_PAGED);
    CHECK_EQ(r.diff, 12);
    for (int i = 0; i < 12; i++) exa_lookaside_free(l, v[i]);
    exa_lookaside_delete(l); /* flushes the cached ones through the pool: no bug check */
    r = test_tag_row(cfg.tag, EXA_POOL_KIND_PAGED);
    CHECK_EQ(r.diff, 0);
}

static void struct_sizes_and_query_arguments(void) {
    CHECK_EQ(exa_struct_size(EXA_STRUCT_POOL_PARAMETER), sizeof(exa_pool_parameter_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_POOL_BLOCK_INFO), sizeof(exa_pool_block_info_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_POOL_TAG_ROW), sizeof(exa_pool_tag_row_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_POOL_STATS), sizeof(exa_pool_stats_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_POOL_LIMITS), sizeof(exa_pool_limits_t));
    CHECK_EQ(exa_struct_size(EXA_STRUCT_QUOTA_STATS), sizeof(exa_quota_stats_t));
    CHECK_EQ(sizeof(exa_pool_parameter_t), 16);
    exa_pool_block_info_t bi;
    int x;
    CHECK_EQ(exa_pool_query_block(&x, &bi), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_pool_query_block(NULL, &bi), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_pool_query(5, NULL), EXA_STATUS_INVALID_PARAMETER_1);
    CHECK_EQ(exa_pool_condition(9), 0);
    exa_pool_stats_t s;
    CHECK_EQ(exa_pool_query(EXA_POOL_KIND_NON_PAGED, &s), EXA_STATUS_SUCCESS);
    CHECK(s.numa_nodes >= 1);
    CHECK(s.lock_status == EXA_STATUS_SUCCESS || s.lock_status == EXA_STATUS_WORKING_SET_QUOTA);
    CHECK_EQ(exa_quota_create(0, 0, NULL), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_quota_query(exa_quota_system(), NULL), EXA_STATUS_INVALID_PARAMETER_2);
}

/* ==========================================================================================
 * Random walk (fixed seed): allocate, free, verify a fill byte per live block
 * ======================================================================================== */

typedef struct {
    unsigned char *p;
    exa_u64 n;
    uint32_t tag;
    unsigned char fill;
} live_t;

static int walk_verify(const live_t *b) {
    for (exa_u64 i = 0; i < b->n; i++)
        if (b->p[i] != b->fill) return 0;
    return 1;
}

static void random_walk_fill_bytes(void) {
    enum { SLOTS = 512 };
    static const int32_t types[] = {EXA_NON_PAGED_POOL_NX, EXA_PAGED_POOL, EXA_PAGED_POOL_CACHE_ALIGNED,
                                    EXA_NON_PAGED_POOL, EXA_NON_PAGED_POOL_NX_CACHE_ALIGNED};
    live_t *live = calloc(SLOTS, sizeof *live);
    uint64_t seed = 0x5EEDF00DULL;
    unsigned steps = test_scale(200000);
    exa_u64 allocs = 0;
    for (unsigned step = 0; step < steps; step++) {
        uint64_t r = test_rand(&seed);
        live_t *b = &live[r % SLOTS];
        if (b->p != NULL) {
            CHECK(walk_verify(b));
            exa_pool_free_with_tag(b->p, b->tag);
            b->p = NULL;
            continue;
        }
        /* Mostly small, some around the page cut-over, a few multi-page. */
        uint64_t k = (r >> 16) % 100;
        exa_u64 n = k < 80 ? 1 + (r >> 24) % 512 : k < 95 ? 3900 + (r >> 24) % 400 : 1 + (r >> 24) % 40000;
        b->tag = test_tag("Wlk0") + (uint32_t)((r >> 40) % 4 << 24);
        b->fill = (unsigned char)(r >> 48);
        b->n = n;
        b->p = exa_pool_allocate_typed(types[(r >> 56) % 5], n, b->tag, 32);
        CHECK(b->p != NULL);
        memset(b->p, b->fill, n);
        allocs++;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (live[i].p == NULL) continue;
        CHECK(walk_verify(&live[i]));
        exa_pool_free(live[i].p);
    }
    free(live);
    exa_u64 total = 0;
    for (uint32_t t = 0; t < 4; t++) {
        for (int32_t pool = 0; pool < 2; pool++) {
            exa_pool_tag_row_t row = test_tag_row(test_tag("Wlk0") + (t << 24), pool);
            CHECK_EQ(row.diff, 0);
            CHECK_EQ(row.bytes, 0);
            total += row.allocs;
        }
    }
    CHECK_EQ(total, allocs);
}

static const test_case_t pool_cases[] = {
    {"pool.alignment_and_page_rules_every_size", alignment_and_page_rules_every_size},
    {"pool.small_big_boundary", small_big_boundary},
    {"pool.header_layout_and_tag_read_back", header_layout_and_tag_read_back},
    {"pool.split_coalesce_and_page_return", split_coalesce_and_page_return},
    {"pool.big_allocations_are_tracked", big_allocations_are_tracked},
    {"pool.tag_rows_have_poolmon_columns", tag_rows_have_poolmon_columns},
    {"pool.protected_tags_and_tag_checks", protected_tags_and_tag_checks},
    {"pool.bad_frees_are_bug_checks", bad_frees_are_bug_checks},
    {"pool.free_checked_reports_the_outcome", free_checked_reports_the_outcome},
    {"pool.double_free_after_merge", double_free_after_merge},
    {"pool.default_handler_stops_on_double_free", default_handler_stops_on_double_free},
    {"pool.cache_aligned_blocks_and_shadow_headers", cache_aligned_blocks_and_shadow_headers},
    {"pool.pool_flags_map_to_types", pool_flags_map_to_types},
    {"pool.pool_flags_validation", pool_flags_validation},
    {"pool.zero_bytes_never_take_a_cached_page", zero_bytes_never_take_a_cached_page},
    {"pool.pool3_extended_parameters", pool3_extended_parameters},
    {"pool.node_binding_refusal_is_counted", node_binding_refusal_is_counted},
    {"pool.legacy_zero_length_and_tags", legacy_zero_length_and_tags},
    {"pool.quota_charge_and_back_out", quota_charge_and_back_out},
    {"pool.quota_owner_is_checked", quota_owner_is_checked},
    {"pool.limits_priorities_and_conditions_with_hysteresis", limits_priorities_and_conditions_with_hysteresis},
    {"pool.limits_are_validated", limits_are_validated},
    {"pool.must_succeed_reserve_then_0x41", must_succeed_reserve_then_0x41},
    {"pool.nonpaged_memory_is_locked_or_says_why", nonpaged_memory_is_locked_or_says_why},
    {"pool.cold_hint_never_fails", cold_hint_never_fails},
    {"pool.irql_rules", irql_rules},
    {"pool.mm_system_size_thresholds", mm_system_size_thresholds},
    {"pool.lookaside_default_allocator_is_the_pool", lookaside_default_allocator_is_the_pool},
    {"pool.struct_sizes_and_query_arguments", struct_sizes_and_query_arguments},
    {"pool.random_walk_fill_bytes", random_walk_fill_bytes},
    {NULL, NULL}};
TEST_SUITE(pool);
