/* exalloc - C tests: the NT lookaside routines compiled with EXA_NT_INLINE_LOOKASIDE (the
 * header-inline fast path, docs/lookaside.md#inline): NT's single-thread behaviour (Depth,
 * LIFO, hits and misses), exact counters with several threads and a concurrent flush, the
 * inline ABI check, and the names still usable as function pointers. Under AddressSanitizer
 * or ThreadSanitizer the header sends every call to the library, and the same checks hold. */
#if defined(_WIN32)
/* The inline path reads the library's thread block through initial-exec TLS, which a Windows
 * DLL cannot export: the header refuses the macro there (exalloc_nt.h), and this suite is one
 * skipped case. */
#include "exalloc_nt.h"
#include "test.h"

static void inline_not_on_windows(void) {
    TEST_SKIP("the header-inline lookaside path is for ELF targets: a Windows DLL cannot export its thread block");
}
static const test_case_t lookaside_inline_cases[] = {
    {"lookaside_inline.not_on_windows", inline_not_on_windows},
    {NULL, NULL},
};
TEST_SUITE(lookaside_inline);
#else
#define EXA_NT_INLINE_LOOKASIDE 1
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INLINE_TAG 0x6E6C6E49u /* 'Inln' */

/* Callback calls, counted per thread and summed by the threads when they end. */
static _Thread_local unsigned in_allocs, in_frees;

static PVOID in_alloc(POOL_TYPE type, SIZE_T size, ULONG tag) {
    (void)type;
    (void)tag;
    in_allocs++;
    return malloc(size);
}
static VOID in_free(PVOID p) {
    in_frees++;
    free(p);
}
static PVOID in_alloc_ex(POOL_TYPE type, SIZE_T size, ULONG tag, PLOOKASIDE_LIST_EX list) {
    (void)list;
    return in_alloc(type, size, tag);
}
static VOID in_free_ex(PVOID p, PLOOKASIDE_LIST_EX list) {
    (void)list;
    in_free(p);
}

static exa_lookaside_t *handle_of(void *nt_list) {
    return (exa_lookaside_t *)(uintptr_t)((PGENERAL_LOOKASIDE_POOL)nt_list)->ListHead.Region;
}

/* NT's single-thread figures, as the out-of-line names give them (test_lookaside_nt.c):
 * Depth 4, ten misses, six free misses, LIFO. */
static void inline_nt_single_thread(void) {
    NPAGED_LOOKASIDE_LIST list;
    in_allocs = in_frees = 0;
    ExInitializeNPagedLookasideList(&list, in_alloc, in_free, 0, 48, INLINE_TAG, 0);
    CHECK_EQ(list.L.Depth, 4);
    void *b[10];
    for (int i = 0; i < 10; i++) {
        b[i] = ExAllocateFromNPagedLookasideList(&list);
        CHECK(b[i] != NULL);
    }
    for (int i = 0; i < 10; i++) ExFreeToNPagedLookasideList(&list, b[i]);
    exa_lookaside_stats_t s;
    CHECK_EQ(exa_lookaside_query(handle_of(&list), &s), EXA_STATUS_SUCCESS);
    CHECK_EQ(s.total_allocates, 10);
    CHECK_EQ(s.allocate_misses, 10);
    CHECK_EQ(s.total_frees, 10);
    CHECK_EQ(s.free_misses, 6);
    CHECK_EQ(s.current_depth, 4);
    CHECK_EQ(in_frees, 6);
    /* hits: LIFO, the newest first */
    for (int i = 3; i >= 0; i--) CHECK(ExAllocateFromNPagedLookasideList(&list) == b[i]);
    void *x = ExAllocateFromNPagedLookasideList(&list); /* a miss */
    CHECK(x != NULL);
    CHECK_EQ(in_allocs, 11);
    CHECK_EQ(exa_lookaside_query(handle_of(&list), &s), EXA_STATUS_SUCCESS);
    CHECK_EQ(s.total_allocates, 15);
    CHECK_EQ(s.allocate_misses, 11);
    CHECK_EQ(s.current_depth, 0);
    for (int i = 0; i < 4; i++) ExFreeToNPagedLookasideList(&list, b[i]);
    ExFreeToNPagedLookasideList(&list, x); /* Depth blocks cached: a free miss */
    CHECK_EQ(in_frees, 7);
    /* The fast path hits from here (its memo names this list) when the host has the
     * process-wide barrier the handshake needs. */
    if (exa_lookaside_fence_mode() == EXA_FENCES_ASYMMETRIC) CHECK(exa_nt_inline_tls.list == (void *)handle_of(&list));
    ExFreeToNPagedLookasideList(&list, NULL); /* ignored */
    ExDeleteNPagedLookasideList(&list);
    CHECK_EQ(in_frees, 7 + 4); /* delete hands the four cached blocks to Free */
}

/* Depth lowered and raised while the inline path is hitting: the list never caches more than
 * Depth blocks, and every operation is counted. */
static void inline_depth_bound_and_counts(void) {
    NPAGED_LOOKASIDE_LIST list;
    in_allocs = in_frees = 0;
    ExInitializeNPagedLookasideList(&list, in_alloc, in_free, 0, 64, INLINE_TAG, 0);
    exa_lookaside_t *h = handle_of(&list);
    CHECK_EQ(exa_lookaside_set_depth(h, 200), EXA_STATUS_SUCCESS);
    enum { HELD = 150 };
    void *b[HELD];
    exa_u64 allocates = 0, frees = 0;
    uint64_t rng = 0x1234567u;
    exa_lookaside_stats_t s;
    for (int round = 0; round < 40; round++) {
        uint32_t depth = round % 3 == 0 ? 200u : round % 3 == 1 ? 10u : 1u + (uint32_t)(test_rand(&rng) % 80);
        CHECK_EQ(exa_lookaside_set_depth(h, depth), EXA_STATUS_SUCCESS);
        uint32_t k = 1 + (uint32_t)(test_rand(&rng) % HELD);
        for (uint32_t i = 0; i < k; i++) {
            b[i] = ExAllocateFromNPagedLookasideList(&list);
            CHECK(b[i] != NULL);
            allocates++;
        }
        /* A lowered Depth is restored as blocks drain: frees never grow the cache while it
         * holds Depth blocks or more. */
        CHECK_EQ(exa_lookaside_query(h, &s), EXA_STATUS_SUCCESS);
        uint32_t bound = s.current_depth > depth ? s.current_depth : depth;
        for (uint32_t i = 0; i < k; i++) {
            ExFreeToNPagedLookasideList(&list, b[i]);
            frees++;
            CHECK_EQ(exa_lookaside_query(h, &s), EXA_STATUS_SUCCESS);
            CHECK(s.current_depth <= bound);
        }
        if (bound == depth) CHECK(s.current_depth <= depth);
        CHECK_EQ(s.total_allocates, allocates);
        CHECK_EQ(s.total_frees, frees);
        CHECK_EQ(s.allocate_misses, in_allocs);
        CHECK_EQ(s.free_misses, in_frees);
        /* every block the callback made is cached or was given back */
        CHECK_EQ((exa_u64)in_allocs, (exa_u64)in_frees + s.current_depth);
    }
    ExDeleteNPagedLookasideList(&list);
    CHECK_EQ(in_allocs, in_frees);
}

/* Several threads on one LOOKASIDE_LIST_EX through the inline path while the main thread
 * flushes: the counters are exact once the threads are done, and no block is lost or
 * duplicated (every callback allocation was freed by a callback at delete). */
enum { MT_THREADS = 4 };
static LOOKASIDE_LIST_EX mt_list;
static unsigned mt_allocs[MT_THREADS], mt_frees[MT_THREADS];
static exa_u64 mt_ops[MT_THREADS];

static void *mt_worker(void *arg) {
    unsigned me = (unsigned)(uintptr_t)arg;
    in_allocs = in_frees = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (me + 1);
    void *held[32];
    unsigned n = 0;
    exa_u64 ops = 0;
    unsigned rounds = test_scale(20000);
    for (unsigned r = 0; r < rounds; r++) {
        if (n < 32 && (n == 0 || test_rand(&rng) % 2 == 0)) {
            void *p = ExAllocateFromLookasideListEx(&mt_list);
            if (p == NULL) break;
            memset(p, (int)me, 32);
            held[n++] = p;
        } else {
            ExFreeToLookasideListEx(&mt_list, held[--n]);
        }
        ops++;
    }
    while (n > 0) {
        ExFreeToLookasideListEx(&mt_list, held[--n]);
        ops++;
    }
    exa_thread_cache_release();
    mt_allocs[me] = in_allocs;
    mt_frees[me] = in_frees;
    mt_ops[me] = ops;
    return NULL;
}

static void inline_threads_exact_counts(void) {
    in_allocs = in_frees = 0;
    CHECK_EQ(ExInitializeLookasideListEx(&mt_list, in_alloc_ex, in_free_ex, NonPagedPoolNx, 0, 32, INLINE_TAG, 0),
             STATUS_SUCCESS);
    CHECK_EQ(exa_lookaside_set_depth(handle_of(&mt_list), 128), EXA_STATUS_SUCCESS);
    pthread_t t[MT_THREADS];
    for (unsigned i = 0; i < MT_THREADS; i++) CHECK_EQ(pthread_create(&t[i], NULL, mt_worker, (void *)(uintptr_t)i), 0);
    for (int i = 0; i < 50; i++) ExFlushLookasideListEx(&mt_list);
    for (unsigned i = 0; i < MT_THREADS; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);
    exa_lookaside_stats_t s;
    CHECK_EQ(exa_lookaside_query(handle_of(&mt_list), &s), EXA_STATUS_SUCCESS);
    exa_u64 ops = 0, allocs = 0, frees = in_frees; /* the main thread's flushes freed some */
    for (unsigned i = 0; i < MT_THREADS; i++) {
        ops += mt_ops[i];
        allocs += mt_allocs[i];
        frees += mt_frees[i];
    }
    CHECK_EQ(s.total_allocates + s.total_frees, ops);
    CHECK_EQ(s.total_allocates, s.total_frees);
    CHECK_EQ(s.allocate_misses, allocs);
    CHECK(s.free_misses <= frees); /* the others were flushed (not counted as misses) */
    CHECK(s.current_depth <= s.depth);
    CHECK_EQ(allocs, frees + s.current_depth);
    unsigned before = in_frees;
    ExDeleteLookasideListEx(&mt_list);
    CHECK_EQ(allocs, frees + (in_frees - before));
}

/* A header with another inline ABI: the check and every out-of-line entry refuse it with
 * 0xC4/0x1015 (p2 the header's version, p3 the library's), and change nothing. */
static void inline_abi_mismatch(void) {
    NPAGED_LOOKASIDE_LIST list;
    ExInitializeNPagedLookasideList(&list, NULL, NULL, 0, 32, INLINE_TAG, 0);
    CHECK_EQ(exa_nt_inline_abi_check(EXA_NT_INLINE_ABI_VERSION), STATUS_SUCCESS);
    exa_u64 c = test_bugcheck_begin();
    NTSTATUS st = exa_nt_inline_abi_check(EXA_NT_INLINE_ABI_VERSION + 1);
    exa_bugcheck_info_t info = test_bugcheck_end(c);
    CHECK_EQ(st, EXA_STATUS_BUGCHECK);
    CHECK_BUGCHECK(info, 0xC4, 0x1015, EXA_NT_INLINE_ABI_VERSION + 1);
    CHECK_EQ(info.parameter3, EXA_NT_INLINE_ABI_VERSION);
    c = test_bugcheck_begin();
    void *p = exa_nt_inline_allocate(&list, 0, 0);
    info = test_bugcheck_end(c);
    CHECK(p == NULL);
    CHECK_BUGCHECK(info, 0xC4, 0x1015, 0);
    void *q = ExAllocateFromNPagedLookasideList(&list);
    CHECK(q != NULL);
    c = test_bugcheck_begin();
    exa_nt_inline_free(&list, q, 0, 7);
    info = test_bugcheck_end(c);
    CHECK_BUGCHECK(info, 0xC4, 0x1015, 7);
    exa_lookaside_stats_t s;
    CHECK_EQ(exa_lookaside_query(handle_of(&list), &s), EXA_STATUS_SUCCESS);
    CHECK_EQ(s.total_allocates, 1);
    CHECK_EQ(s.total_frees, 0); /* the refused free did nothing: the block is still ours */
    ExFreeToNPagedLookasideList(&list, q);
    ExDeleteNPagedLookasideList(&list);
}

/* The names stay functions when not called: pointers to them reach the exported routines,
 * and the paged forms inline too. */
static void inline_names_are_still_functions(void) {
    PVOID (*alloc)(PPAGED_LOOKASIDE_LIST) = ExAllocateFromPagedLookasideList;
    VOID (*release)(PPAGED_LOOKASIDE_LIST, PVOID) = ExFreeToPagedLookasideList;
    PAGED_LOOKASIDE_LIST list;
    ExInitializePagedLookasideList(&list, NULL, NULL, 0, 40, INLINE_TAG, 0);
    void *a = alloc(&list);
    CHECK(a != NULL);
    release(&list, a);
    CHECK(ExAllocateFromPagedLookasideList(&list) == a); /* inline, the same LIFO cache */
    ExFreeToPagedLookasideList(&list, a);
    CHECK(alloc(&list) == a);
    release(&list, a);
    exa_lookaside_stats_t s;
    CHECK_EQ(exa_lookaside_query(handle_of(&list), &s), EXA_STATUS_SUCCESS);
    CHECK_EQ(s.total_allocates, 3);
    CHECK_EQ(s.allocate_misses, 1);
    CHECK_EQ(s.total_frees, 3);
    CHECK_EQ(s.free_misses, 0);
    ExDeletePagedLookasideList(&list);
}

static const test_case_t lookaside_inline_cases[] = {
    {"lookaside_inline.nt_single_thread", inline_nt_single_thread},
    {"lookaside_inline.depth_bound_and_counts", inline_depth_bound_and_counts},
    {"lookaside_inline.threads_exact_counts", inline_threads_exact_counts},
    {"lookaside_inline.abi_mismatch", inline_abi_mismatch},
    {"lookaside_inline.names_are_still_functions", inline_names_are_still_functions},
    {NULL, NULL},
};
TEST_SUITE(lookaside_inline);
#endif
