/* exalloc - instruction-count driver: n allocate+free pairs of one routine pair, nothing else,
 * for bench/native/icount.sh to run under valgrind --tool=callgrind.
 *
 *   icount_driver <routine> <size>|mixed <n>
 *
 * routine (every one through the public headers exalloc.h / exalloc_nt.h):
 *   exa-lookaside   exa_lookaside_allocate / exa_lookaside_free, a list of <size>-byte blocks
 *                   with NT's default depths (exa_lookaside_create, non-paged pool)
 *   nt-lookaside    ExAllocateFromNPagedLookasideList / ExFreeToNPagedLookasideList, a list from
 *                   ExInitializeNPagedLookasideList(NULL, NULL, 0, <size>, tag, 0)
 *   nt-lookaside-inline  the same pair compiled with EXA_NT_INLINE_LOOKASIDE (the header's
 *                   inline fast path; icount_inline.c)
 *   pool-withtag    ExAllocatePoolWithTag(NonPagedPoolNx, <size>, tag) / ExFreePoolWithTag
 *   pool2           ExAllocatePool2(POOL_FLAG_NON_PAGED, <size>, tag) / ExFreePoolWithTag
 *                   (ExAllocatePool2's default zeroes the block)
 *   pool2-uninit    the same with POOL_FLAG_UNINITIALIZED (no zeroing, as malloc)
 *   malloc          malloc / free: whichever allocator provides malloc in this binary (glibc,
 *                   or the one it is linked with); the first output line names it
 *
 * size "mixed" (pool routines and malloc): n operations of the native benchmark's poolmixed
 * pattern instead of n pairs: a window of 64 live blocks, each operation frees the block in a
 * pseudo-random slot and allocates a pseudo-random size into it (a power-of-two class 16..1024
 * chosen uniformly, then a size uniform within it), from a fixed-seed table built before the
 * timed loop.
 *
 * Every block escapes through a volatile store, so the compiler cannot drop a pair. Set-up
 * (list creation, the first pages) and the process's own start-up are the same for n and 2n
 * pairs, so (Ir(2n) - Ir(n)) / n is the cost of one pair plus the loop's own (about 10
 * instructions with gcc -O2 on x86-64: the store, the NULL check, the counter, the PLT jumps).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exalloc_nt.h"
#include "icount_inline.h"

#define ICOUNT_TAG 0x746E6349u /* 'Icnt' */

static void *volatile sink;

static void die(const char *what) {
    fprintf(stderr, "icount_driver: %s\n", what);
    exit(1);
}

/* n pairs of ALLOC (an expression giving the block) and FREE (a statement freeing `p`) */
#define PAIRS(n, ALLOC, FREE)                          \
    for (long i = 0; i < (n); i++) {                   \
        void *p = (ALLOC);                             \
        if (__builtin_expect(p == NULL, 0)) die("out of memory"); \
        sink = p;                                      \
        FREE;                                          \
    }

/* mixed: the window and the fixed-seed table of (slot, size) operations */
enum { MIX_WINDOW = 64, MIX_LEN = 65536 };
static struct { unsigned slot, size; } mix[MIX_LEN];
static void *window[MIX_WINDOW];

static void mix_init(void) {
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    for (unsigned i = 0; i < MIX_LEN; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned cls = (unsigned)(x >> 8) % 7; /* 16 << 0..6: 16..1024 */
        unsigned lo = 16u << cls, hi = cls == 6 ? 1024u : lo * 2 - 1;
        mix[i].slot = (unsigned)(x >> 40) % MIX_WINDOW;
        mix[i].size = lo + (unsigned)(x >> 20) % (hi - lo + 1);
    }
}

/* n operations over the window: FREE(p) frees p, ALLOC(sz) gives a block of sz bytes */
#define MIXED(n, ALLOC, FREE)                                         \
    do {                                                              \
        mix_init();                                                   \
        for (unsigned k = 0; k < MIX_WINDOW; k++) {                   \
            size_t sz = mix[k].size;                                  \
            window[k] = (ALLOC);                                      \
        }                                                             \
        for (long i = 0; i < (n); i++) {                              \
            unsigned at = (unsigned)i & (MIX_LEN - 1);                \
            void *p = window[mix[at].slot];                           \
            FREE;                                                     \
            size_t sz = mix[at].size;                                 \
            p = (ALLOC);                                              \
            if (__builtin_expect(p == NULL, 0)) die("out of memory"); \
            window[mix[at].slot] = p;                                 \
        }                                                             \
        for (unsigned k = 0; k < MIX_WINDOW; k++) {                   \
            void *p = window[k];                                      \
            FREE;                                                     \
        }                                                             \
    } while (0)

static void malloc_provider(void) {
    Dl_info info;
    void *(*fn)(size_t) = malloc;
    const char *where = "?";
    if (dladdr(*(void **)&fn, &info) != 0 && info.dli_fname != NULL) where = info.dli_fname;
    printf("malloc\t%s\n", where);
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: icount_driver exa-lookaside|nt-lookaside|nt-lookaside-inline|pool-withtag|pool2|pool2-uninit|malloc <size> <n>");
    const char *routine = argv[1];
    int mixed = strcmp(argv[2], "mixed") == 0;
    size_t size = mixed ? 1 : (size_t)strtoull(argv[2], NULL, 10);
    long n = atol(argv[3]);
    if (size == 0 || n < 0) die("size must be > 0 and n >= 0");
    malloc_provider();

    if (mixed) {
        if (strcmp(routine, "pool-withtag") == 0)
            MIXED(n, ExAllocatePoolWithTag(NonPagedPoolNx, sz, ICOUNT_TAG), ExFreePoolWithTag(p, ICOUNT_TAG));
        else if (strcmp(routine, "pool2-uninit") == 0)
            MIXED(n, ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, sz, ICOUNT_TAG),
                  ExFreePoolWithTag(p, ICOUNT_TAG));
        else if (strcmp(routine, "malloc") == 0)
            MIXED(n, malloc(sz), free(p));
        else
            die("mixed: pool-withtag, pool2-uninit or malloc");
        return 0;
    }
    if (strcmp(routine, "exa-lookaside") == 0) {
        exa_lookaside_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.size = size;
        cfg.tag = ICOUNT_TAG;
        cfg.pool_type = EXA_NON_PAGED_POOL;
        exa_lookaside_t *list = NULL;
        if (exa_lookaside_create(&cfg, &list) != EXA_STATUS_SUCCESS) die("exa_lookaside_create failed");
        PAIRS(n, exa_lookaside_allocate(list), exa_lookaside_free(list, p))
        if (exa_lookaside_delete(list) != EXA_STATUS_SUCCESS) die("exa_lookaside_delete failed");
    } else if (strcmp(routine, "nt-lookaside") == 0) {
        static NPAGED_LOOKASIDE_LIST list;
        ExInitializeNPagedLookasideList(&list, NULL, NULL, 0, size, ICOUNT_TAG, 0);
        PAIRS(n, ExAllocateFromNPagedLookasideList(&list), ExFreeToNPagedLookasideList(&list, p))
        ExDeleteNPagedLookasideList(&list);
    } else if (strcmp(routine, "nt-lookaside-inline") == 0) {
        icount_nt_inline_pairs(size, ICOUNT_TAG, n, &sink);
    } else if (strcmp(routine, "pool-withtag") == 0) {
        PAIRS(n, ExAllocatePoolWithTag(NonPagedPoolNx, size, ICOUNT_TAG), ExFreePoolWithTag(p, ICOUNT_TAG))
    } else if (strcmp(routine, "pool2") == 0) {
        PAIRS(n, ExAllocatePool2(POOL_FLAG_NON_PAGED, size, ICOUNT_TAG), ExFreePoolWithTag(p, ICOUNT_TAG))
    } else if (strcmp(routine, "pool2-uninit") == 0) {
        PAIRS(n, ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, size, ICOUNT_TAG),
              ExFreePoolWithTag(p, ICOUNT_TAG))
    } else if (strcmp(routine, "malloc") == 0) {
        PAIRS(n, malloc(size), free(p))
    } else {
        die("unknown routine (exa-lookaside, nt-lookaside, nt-lookaside-inline, pool-withtag, pool2, pool2-uninit, malloc)");
    }
    return 0;
}
