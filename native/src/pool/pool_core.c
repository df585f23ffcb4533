/* exalloc - native core
 * pool.c: the pool allocator (spec 1.4, 1.5, 1.13): descriptors, segments and pages, small
 * blocks with NT's headers, big allocations, the per-thread front cache, and the checks a
 * free makes.
 *
 * Theory of operation
 * -------------------
 * Memory comes from the host in segments of 64 logical pages (256 KiB, aligned to 256 KiB),
 * each owned by one descriptor. A descriptor is NT's POOL_DESCRIPTOR: one per pool and
 * protection (0 non-paged NX, 1 non-paged executable, 2 paged) plus, created on demand, a
 * pair per NUMA node for node-bound requests (3 + 2n NX, 4 + 2n executable). Its index is
 * the header's PoolIndex, so a free finds the descriptor from the block alone.
 *
 * A page is either free (a bit in its segment's free mask), carved into small blocks, or
 * part of a big allocation (a run of up to 64 pages of one segment; larger big allocations
 * are mapped on their own). A segment map (two levels, 256 KiB granules) says which
 * segment, if any, holds an address: a free of a pointer outside every segment is caught
 * before anything is read.
 *
 * Small blocks (n <= 4064, POOL_MAX_ALLOC): the block is u = ceil((n + 16) / 16) units of
 * 16 bytes, header first; the caller's pointer is header + 16. In every carved page
 *
 *     sum of BlockSize over the page's blocks == 256,   first block's PreviousSize == 0,
 *     next->PreviousSize == this->BlockSize             for consecutive blocks,
 *
 * so blocks never cross a page and are 16-byte aligned. The header (16 bytes, x64 NT's
 * POOL_HEADER; no bit-fields: one byte per field, see below):
 *
 *     byte   0              1           2            3            4..7      8..15
 *         +--------------+-----------+------------+------------+---------+---------------+
 *         | PreviousSize | PoolIndex | BlockSize  | PoolType   | PoolTag | ProcessBilled |
 *         | units, 0 =   | the       | units,     | POOL_TYPE  | 4 bytes | quota account |
 *         | first in page| descriptor| 1..255     | + 1; 0 free|         | or 0          |
 *         +--------------+-----------+------------+------------+---------+---------------+
 *     PoolType byte: 0 = free (on a free list, or an unlisted 1-unit fragment);
 *     1..0x30 = (type & 0x2F | QUOTA 0x8 when charged) + 1 (NX 0x200 does not fit and is
 *     the descriptor's); 0xFE = free, held by a thread's front cache; 0xFF = a shadow header
 *     (cache-aligned blocks, below).
 *
 * Free blocks of u >= 2 units sit on the descriptor's list u (a LIST_ENTRY after the
 * header, links stored with bit 0 set and checked on every removal, NT's encoding); a bitmap
 * of non-empty lists finds the smallest fit in O(1) (NT scans). Allocation takes the front
 * of the found block and lists the remainder (a 1-unit remainder stays unlisted until a
 * neighbour coalesces it); with nothing free, a fresh page is carved. Freeing coalesces with
 * a free next and previous block of the same page; a page that becomes wholly free goes back
 * to its segment, and a segment that becomes wholly free is kept (up to the pool's
 * cached_segments per descriptor) or unmapped.
 *
 * Cache-aligned types ([OURS], spec 1.4): the block is sized for the worst-case padding
 * (n + a cache line); the caller's pointer is the first line boundary at or after header +
 * 16. When that is not header + 16, a shadow header (PoolType 0xFF, PreviousSize = units
 * back to the real header, the tag copied) sits just before it.
 *
 * Big allocations (n > 4064, so 4065..4096 too): whole pages, page-aligned, no header,
 * recorded in the big-allocation table (striped hash tables keyed by address: tag, pages,
 * type, descriptor). A page-aligned pointer is always looked up there on free.
 *
 * Front cache: each thread keeps, per front descriptor (0-2) and block size, a LIFO of up
 * to `limit` blocks (about 8 KiB of them, 4..64; NT keeps per-processor small-block
 * lookasides), and at most EXA_FRONT_BUDGET bytes over all sizes. Allocate pops; a miss
 * takes limit/2 blocks from the descriptor under one lock acquisition. Free pushes; a cache
 * that is full, or a thread at its budget, first gives half of that size back in one batch
 * (with none of that size cached, the block goes straight to the descriptor). Cached
 * blocks are marked 0xFE, so a neighbour never coalesces them and a second free of one is
 * caught as a double free. Only the owner touches its cache (no atomics); exa_pool_trim and
 * thread exit drain it. Node-bound descriptors and must-succeed requests bypass it.
 *
 * Fast doors (issue 6): ExAllocatePool2 with exactly one pool flag (plus UNINITIALIZED /
 * RAISE_ON_FAILURE) and ExAllocatePoolWithTag with NonPagedPool, PagedPool or NonPagedPoolNx,
 * a non-zero tag and 1..4096 bytes, are recognised with a few compares
 * (_exa_pool_flags_entry, _exa_pool_legacy_entry) and served from the thread's caches: a
 * small block is a pop (its header was formatted when it was carved; only PoolTag,
 * ProcessBilled and PoolType are written), a one-page big allocation a page from the
 * thread's page cache (up to 8 per front descriptor) plus one big-table insertion. Anything
 * else, and a miss, takes the full path, which validates everything and reports. The fast
 * free (_exa_pool_release) runs its checks as two grouped predicates, exa_free_header_sound
 * and exa_free_caller_allowed, and pushes; a page-aligned pointer looks up and deletes its
 * big-table record under one stripe lock (exa_release_big). Tag counts go to the thread's
 * slot through a one-entry memo (every count of a thread goes through it, so it never
 * outlives its slot's key). Pages in a thread's page cache stay reserved (in_use, counted as
 * big pages) until exa_pool_trim or thread exit gives them back.
 *
 * Who writes a header, and why the bytes are atomic: the owner of an allocated or cached
 * block writes its PoolType (and tag, ProcessBilled) without the descriptor lock; a lock
 * holder coalescing or splitting a neighbour reads that PoolType and may rewrite the
 * block's PreviousSize at the same time. Distinct bytes are distinct memory locations, so
 * one-byte relaxed atomics make both race-free with plain byte moves. BlockSize of a block
 * and the next header's PreviousSize change only while the block is free and under the
 * lock, so the owner may read them without it (the free-time checks below).
 *
 * Free-time checks, before anything changes (a bug-check handler that returns leaves the
 * block as it was): NULL (0xC2/0x46), outside every segment (0xC2/0x42), page-aligned and
 * not in the big table (0x19/0x22), already free (0xC2/0x07), PoolIndex not the segment's
 * descriptor (0xC2/0x01), BlockSize 0 or past the page (0x19/0x08, 0x09), next header
 * disagreeing (0x19/0x05), misaligned or bad shadow header (0xC2/0x99), IRQL (0xC2/0x09),
 * tag (0xC2/0x0A), quota owner (0xC2/0x0D). The common free (an unprotected, uncharged small
 * block of a front descriptor) runs these checks inline and only proceeds when all pass;
 * anything else goes to the checked path, which repeats them one by one to report the
 * first failure. Under the lock, every list removal checks its links (0x19/0x03) and the
 * listed header (0x19/0x0D), and coalescing checks the previous header (0x19/0x05, 0x06). A
 * freed block's header is set free before it coalesces, so a stale pointer into a merged
 * block still reads "free".
 *
 * ASan (track.h): free pages, and free or cached blocks past their links, are poisoned;
 * a block handed out is addressable for exactly the requested bytes.
 *
 * Locks: a descriptor lock (free lists, segment lists, page masks), a big-table stripe lock
 * (its table), the node-descriptor lock (creation), and elsewhere the tag lock (tag.c), the
 * quota registry's stripe locks (quota.c) and the condition-callback lock (pool_limits.c).
 * There is no lock order because no lock is ever taken while another is held: capacity,
 * conditions, quota charges and the segment map are lock-free, segments are unmapped and
 * tags counted after the descriptor lock is dropped, and callbacks run with no lock held.
 * A descriptor lock is also dropped while a segment is mapped.
 */
#include "pool/pool.h"
#include "verifier/verifier.h" /* verifier hooks (verifier.c, special_pool.c) */
#include "base/track.h"
#include "diag/diag.h"

#include <string.h>

/* ==========================================================================================
 * Headers and free-list links
 * ======================================================================================== */

typedef struct exa_pool_header_s {
    exa_atomic(uint8_t) xprevious_size;  /* byte 0 */
    exa_atomic(uint8_t) xpool_index;     /* byte 1 */
    exa_atomic(uint8_t) xblock_size;     /* byte 2 */
    exa_atomic(uint8_t) xpool_type;      /* byte 3 */
    uint32_t pool_tag;                   /* bytes 4..7: owner only */
    uintptr_t process_billed;            /* bytes 8..15: owner only */
} exa_pool_header_t;

_Static_assert(sizeof(exa_pool_header_t) == EXA_POOL_BLOCK_SIZE, "POOL_HEADER is 16 bytes on x64");
_Static_assert(offsetof(exa_pool_header_t, pool_tag) == 4 && offsetof(exa_pool_header_t, process_billed) == 8,
               "x64 POOL_HEADER offsets");
_Static_assert(EXA_POOL_MAX_ALLOC == 4064, "x64 POOL_MAX_ALLOC");

enum { EXA_HDR_FREE = 0, EXA_HDR_CACHED = 0xFE, EXA_HDR_SHADOW = 0xFF, EXA_HDR_TYPE_MAX = EXA_PT_HEADER_MASK + 1 };

/* Smallest request that takes the big path, for normal and cache-aligned types. */
enum {
    EXA_SMALL_MAX = EXA_POOL_MAX_ALLOC,
    EXA_SMALL_MAX_ALIGNED = (EXA_POOL_PAGE_UNITS - 1) * EXA_POOL_BLOCK_SIZE - EXA_CACHE_LINE
};

exa_inline exa_pool_header_t *exa_hdr_at(const void *h, int32_t units) {
    return (exa_pool_header_t *)((char *)(uintptr_t)h + (intptr_t)units * EXA_POOL_BLOCK_SIZE);
}
exa_inline uintptr_t exa_page_of(const void *p) { return (uintptr_t)p & ~(uintptr_t)(EXA_PAGE_SIZE - 1); }
exa_inline uint32_t exa_h_prev(exa_pool_header_t *h) { return exa_atomic_load_relaxed(&h->xprevious_size); }
exa_inline uint32_t exa_h_index(exa_pool_header_t *h) { return exa_atomic_load_relaxed(&h->xpool_index); }
exa_inline uint32_t exa_h_size(exa_pool_header_t *h) { return exa_atomic_load_relaxed(&h->xblock_size); }
exa_inline uint32_t exa_h_type(exa_pool_header_t *h) { return exa_atomic_load_relaxed(&h->xpool_type); }
exa_inline void exa_h_set_prev(exa_pool_header_t *h, uint32_t v) { exa_atomic_store_relaxed(&h->xprevious_size, (uint8_t)v); }
exa_inline void exa_h_set_size(exa_pool_header_t *h, uint32_t v) { exa_atomic_store_relaxed(&h->xblock_size, (uint8_t)v); }
exa_inline void exa_h_set_type(exa_pool_header_t *h, uint32_t v) { exa_atomic_store_relaxed(&h->xpool_type, (uint8_t)v); }

/* The header's first 32-bit word as NT's bug-check parameters show it. */
static uint64_t exa_h_word(exa_pool_header_t *h) {
    return (uint64_t)exa_h_prev(h) | (uint64_t)exa_h_index(h) << 8 | (uint64_t)exa_h_size(h) << 16 |
           (uint64_t)exa_h_type(h) << 24;
}

/* A whole new header (lock held, or a block nobody else can see). */
static void exa_h_init(exa_pool_header_t *h, uint32_t prev, uint32_t index, uint32_t size, uint32_t type) {
    exa_h_set_prev(h, prev);
    exa_atomic_store_relaxed(&h->xpool_index, (uint8_t)index);
    exa_h_set_size(h, size);
    exa_h_set_type(h, type);
}

/* LIST_ENTRY after the header of a free block; links are the entries' addresses | 1. */
typedef struct exa_pool_link_s {
    uintptr_t flink, blink;
} exa_pool_link_t;

exa_inline exa_pool_link_t *exa_link_of(exa_pool_header_t *h) { return (exa_pool_link_t *)(void *)(h + 1); }
exa_inline exa_pool_header_t *exa_hdr_of_link(exa_pool_link_t *l) { return (exa_pool_header_t *)(void *)l - 1; }
exa_inline uintptr_t exa_enc(exa_pool_link_t *l) { return (uintptr_t)l | 1u; }
exa_inline exa_pool_link_t *exa_dec(uintptr_t v) { return (exa_pool_link_t *)(v & ~(uintptr_t)1); }

/* The front cache links cached blocks through the first data word. */
exa_inline exa_pool_header_t **exa_cache_link(exa_pool_header_t *h) { return (exa_pool_header_t **)(void *)(h + 1); }

/* ASan (track.h): a free or cached block keeps its header and links addressable. */
static void exa_track_free_block(exa_pool_header_t *h, uint32_t units) {
    exa_track_unpoison(h, units >= 2 ? 2 * EXA_POOL_BLOCK_SIZE : EXA_POOL_BLOCK_SIZE);
    if (units > 2) exa_track_poison(exa_hdr_at(h, 2), (size_t)(units - 2) * EXA_POOL_BLOCK_SIZE);
}

/* ASan: a block handed out: its data addressable (then exa_place may write a shadow
 * header), and after placement the tail past [p, p + n) poisoned again. */
static void exa_track_hand_out(exa_pool_header_t *h, uint32_t units) {
    exa_track_unpoison(h + 1, (size_t)(units - 1) * EXA_POOL_BLOCK_SIZE);
}
static void exa_track_tail(exa_pool_header_t *h, uint32_t units, const char *p, exa_u64 n) {
    const char *end = (const char *)exa_hdr_at(h, (int32_t)units);
    exa_track_poison(p + n, (size_t)(end - (p + n)));
}

/* ==========================================================================================
 * Descriptors and segments
 * ======================================================================================== */

typedef struct exa_pool_desc_s exa_pool_desc_t;

typedef struct exa_pool_segment_s {
    uintptr_t base;                          /* EXA_POOL_SEGMENT_SIZE-aligned */
    uint64_t free_mask;                      /* bit i: page i free (descriptor lock) */
    exa_pool_desc_t *desc;
    struct exa_pool_segment_s *next, *prev;  /* partial or empty list (descriptor lock) */
    uint8_t where;                           /* EXA_SEG_* */
    uint8_t locked;                          /* 1 when locked in RAM */
} exa_pool_segment_t;

enum { EXA_SEG_FULL = 0, EXA_SEG_PARTIAL = 1, EXA_SEG_EMPTY = 2 };
#define EXA_SEG_ALL_FREE (~(uint64_t)0)

struct exa_pool_desc_s {
    exa_cache_aligned exa_spinlock_t lock;
    uint64_t nonempty[EXA_POOL_PAGE_UNITS / 64];  /* bit u: heads[u] non-empty (lock) */
    exa_pool_segment_t *partial;       /* segments with free and used pages (lock) */
    exa_pool_segment_t *empty;         /* wholly free segments kept for reuse (lock) */
    uint32_t empty_count;
    uint32_t segments;                 /* segments mapped (lock) */
    exa_u64 small_pages;               /* pages carved into small blocks (lock) */
    exa_pool_t *pool;
    int32_t kind;                      /* pool->kind, without the indirection */
    int32_t type_bits;                 /* EXA_PT_NX for NX non-paged descriptors, else 0 */
    int32_t node;                      /* NUMA node the pages are bound to, -1 for none */
    uint32_t index;                    /* PoolIndex */
    uint32_t executable;               /* 1: map executable pages (when the host allows) */
    exa_pool_link_t heads[EXA_POOL_PAGE_UNITS];  /* free lists by block units (lock) */
};

enum {
    EXA_DESC_NX = 0,
    EXA_DESC_EXECUTE = 1,
    EXA_DESC_PAGED = 2,
    EXA_DESC_MAX = 3 + 2 * EXA_POOL_MAX_NODES
};
_Static_assert(EXA_DESC_MAX <= 255, "PoolIndex is one byte");

static exa_pool_desc_t exa_front_descs[EXA_POOL_FRONT_DESCRIPTORS];
static exa_atomic(uintptr_t) exa_descs[EXA_DESC_MAX];  /* index -> exa_pool_desc_t * */
static exa_spinlock_t exa_node_lock;                    /* creation of node descriptors */
static exa_atomic(uint32_t) exa_executable_refused;     /* the host refused PROT_EXEC once */
static exa_atomic(uint32_t) exa_pool_state;             /* 0 not yet, 1 running, 2 ready */

exa_inline exa_pool_desc_t *exa_desc_by_index(uint32_t index) {
    return index < EXA_DESC_MAX ? (exa_pool_desc_t *)exa_atomic_load_acquire(&exa_descs[index]) : NULL;
}

static void exa_desc_init(exa_pool_desc_t *d, uint32_t index, int32_t kind, int executable, int32_t node) {
    memset(d, 0, sizeof *d);
    exa_spinlock_init(&d->lock);
    for (uint32_t i = 0; i < EXA_POOL_PAGE_UNITS; i++) d->heads[i].flink = d->heads[i].blink = exa_enc(&d->heads[i]);
    d->pool = _exa_pool_of_kind(kind);
    d->kind = kind;
    d->type_bits = (kind == EXA_POOL_KIND_NON_PAGED && !executable) ? EXA_PT_NX : 0;
    d->node = node;
    d->index = index;
    d->executable = executable ? 1u : 0u;
}

static exa_noinline void exa_pool_init_slow(void) {
    uint32_t expected = 0;
    if (exa_atomic_cas_strong_acq_rel(&exa_pool_state, &expected, 1u)) {
        _exa_init();
        exa_desc_init(&exa_front_descs[EXA_DESC_NX], EXA_DESC_NX, EXA_POOL_KIND_NON_PAGED, 0, -1);
        exa_desc_init(&exa_front_descs[EXA_DESC_EXECUTE], EXA_DESC_EXECUTE, EXA_POOL_KIND_NON_PAGED, 1, -1);
        exa_desc_init(&exa_front_descs[EXA_DESC_PAGED], EXA_DESC_PAGED, EXA_POOL_KIND_PAGED, 0, -1);
        for (uint32_t i = 0; i < EXA_POOL_FRONT_DESCRIPTORS; i++)
            exa_atomic_store_release(&exa_descs[i], (uintptr_t)&exa_front_descs[i]);
        exa_atomic_store_release(&exa_pool_state, 2u);
        return;
    }
    while (exa_atomic_load_acquire(&exa_pool_state) != 2) _exa_os_yield();
}

exa_inline void exa_pool_ready(void) {
    if (exa_unlikely(exa_atomic_load_acquire(&exa_pool_state) != 2)) exa_pool_init_slow();
}

/* The descriptor for a node-bound non-paged request, created on first use (NULL: no memory). */
static exa_noinline exa_pool_desc_t *exa_desc_for_node(uint32_t node, int executable) {
    uint32_t index = 3 + 2 * node + (executable ? 1u : 0u);
    exa_pool_desc_t *d = exa_desc_by_index(index);
    if (d != NULL) return d;
    _exa_lock(&exa_node_lock);
    d = exa_desc_by_index(index);
    if (d == NULL) {
        d = _exa_os_alloc_aligned(sizeof *d, EXA_CACHE_LINE);
        if (d != NULL) {
            exa_desc_init(d, index, EXA_POOL_KIND_NON_PAGED, executable, (int32_t)node);
            exa_atomic_store_release(&exa_descs[index], (uintptr_t)d);
        }
    }
    _exa_unlock(&exa_node_lock);
    return d;
}

/* ------------------------------------------------------------------------------------------
 * Segment map: address >> 18 -> segment, two levels over 48-bit addresses. Leaves are
 * created once and never freed; entries are published with release stores.
 * ---------------------------------------------------------------------------------------- */
enum {
    EXA_MAP_KEY_BITS = 48 - EXA_POOL_SEGMENT_SHIFT,  /* 30 */
    EXA_MAP_LEAF_BITS = 14,
    EXA_MAP_TOP_BITS = EXA_MAP_KEY_BITS - EXA_MAP_LEAF_BITS
};
static exa_atomic(uintptr_t) exa_segmap[(size_t)1 << EXA_MAP_TOP_BITS];

exa_inline exa_pool_segment_t *exa_segmap_find(uintptr_t a) {
    uintptr_t key = a >> EXA_POOL_SEGMENT_SHIFT;
    if (key >> EXA_MAP_KEY_BITS) return NULL;
    exa_atomic(uintptr_t) *leaf = (exa_atomic(uintptr_t) *)exa_atomic_load_acquire(&exa_segmap[key >> EXA_MAP_LEAF_BITS]);
    if (leaf == NULL) return NULL;
    return (exa_pool_segment_t *)exa_atomic_load_acquire(&leaf[key & (((uintptr_t)1 << EXA_MAP_LEAF_BITS) - 1)]);
}

/* 1 on success, 0 when the address is out of range or no leaf could be made. */
static int exa_segmap_set(uintptr_t a, exa_pool_segment_t *s) {
    uintptr_t key = a >> EXA_POOL_SEGMENT_SHIFT;
    if (key >> EXA_MAP_KEY_BITS) return 0;
    exa_atomic(uintptr_t) *slot = &exa_segmap[key >> EXA_MAP_LEAF_BITS];
    uintptr_t leaf = exa_atomic_load_acquire(slot);
    if (leaf == 0) {
        size_t bytes = sizeof(uintptr_t) << EXA_MAP_LEAF_BITS;
        void *fresh = _exa_os_pages_map(bytes, _exa_os_page_size(), 0);
        if (fresh == NULL) return 0;
        uintptr_t expected = 0;
        if (exa_atomic_cas_strong_acq_rel(slot, &expected, (uintptr_t)fresh)) {
            leaf = (uintptr_t)fresh;
        } else {
            _exa_os_pages_unmap(fresh, bytes);
            leaf = expected;
        }
    }
    exa_atomic(uintptr_t) *entries = (exa_atomic(uintptr_t) *)leaf;
    exa_atomic_store_release(&entries[key & (((uintptr_t)1 << EXA_MAP_LEAF_BITS) - 1)], (uintptr_t)s);
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * Segments: mapping, releasing, list moves (descriptor lock for the lists).
 * ---------------------------------------------------------------------------------------- */

static void exa_seg_unlink(exa_pool_segment_t **head, exa_pool_segment_t *s) {
    if (s->prev != NULL) s->prev->next = s->next;
    else *head = s->next;
    if (s->next != NULL) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void exa_seg_push(exa_pool_segment_t **head, exa_pool_segment_t *s) {
    s->prev = NULL;
    s->next = *head;
    if (*head != NULL) (*head)->prev = s;
    *head = s;
}

/* Map, bind, lock and register a new segment for d (no lock held). NULL with *status. */
static exa_pool_segment_t *exa_segment_create(exa_pool_desc_t *d, exa_status_t *status) {
    *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
    exa_pool_t *pool = d->pool;
    exa_pool_segment_t *s = _exa_os_alloc_aligned(sizeof *s, sizeof(void *));
    if (s == NULL) return NULL;
    int exec = d->executable && exa_atomic_load_relaxed(&exa_executable_refused) == 0;
    void *base = _exa_os_pages_map(EXA_POOL_SEGMENT_SIZE, EXA_POOL_SEGMENT_SIZE, exec);
    if (base == NULL && exec) {
        /* Spec 1.2 [OURS]: executable pages are a hardening question, not a functional one:
         * fall back to NX memory, say so once (stats.executable tells programs). */
        if (exa_atomic_exchange_acq_rel(&exa_executable_refused, 1u) == 0) {
            static const char warning[] = "exalloc: the host refused executable memory; executable pool types get NX memory\n";
            _exa_os_write_stderr(warning, sizeof warning - 1);
        }
        base = _exa_os_pages_map(EXA_POOL_SEGMENT_SIZE, EXA_POOL_SEGMENT_SIZE, 0);
    }
    if (base == NULL) {
        _exa_os_free_aligned(s);
        return NULL;
    }
    if (d->node >= 0 && _exa_os_pages_bind_node(base, EXA_POOL_SEGMENT_SIZE, (uint32_t)d->node) != 0) goto fail;
    s->locked = 0;
    if (pool->kind == EXA_POOL_KIND_NON_PAGED) {
        uint32_t policy = exa_atomic_load_relaxed(&pool->xlock_policy);
        if (policy != EXA_POOL_LOCK_NONE) {
            int err = _exa_os_pages_lock(base, EXA_POOL_SEGMENT_SIZE);
            _exa_pool_note_lock(pool, EXA_POOL_SEGMENT_SIZE, err);
            if (err == 0) s->locked = 1;
            else if (policy == EXA_POOL_LOCK_REQUIRED) {
                *status = EXA_STATUS_WORKING_SET_QUOTA;
                goto fail;
            }
        }
    }
    s->base = (uintptr_t)base;
    s->free_mask = EXA_SEG_ALL_FREE;
    s->desc = d;
    s->next = s->prev = NULL;
    s->where = EXA_SEG_PARTIAL;
    if (!exa_segmap_set(s->base, s)) goto fail_locked;
    exa_track_poison(base, EXA_POOL_SEGMENT_SIZE);
    exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)EXA_POOL_SEGMENT_SIZE);
    return s;
fail_locked:
    if (s->locked) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - EXA_POOL_SEGMENT_SIZE);
fail:
    _exa_os_pages_unmap(base, EXA_POOL_SEGMENT_SIZE);
    _exa_os_free_aligned(s);
    return NULL;
}

/* Unregister and unmap a segment that is wholly free and on no list (no lock held). */
static void exa_segment_release(exa_pool_segment_t *s) {
    exa_pool_t *pool = s->desc->pool;
    (void)exa_segmap_set(s->base, NULL);
    exa_track_unpoison((void *)s->base, EXA_POOL_SEGMENT_SIZE);
    _exa_os_pages_unmap((void *)s->base, EXA_POOL_SEGMENT_SIZE);
    exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)0 - EXA_POOL_SEGMENT_SIZE);
    if (s->locked) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - EXA_POOL_SEGMENT_SIZE);
    _exa_os_free_aligned(s);
}

/* Segments a locked operation freed; released once the lock is dropped. */
typedef struct exa_release_s {
    exa_pool_segment_t *segments;
} exa_release_t;

static void exa_release_run(exa_release_t *r) {
    while (r->segments != NULL) {
        exa_pool_segment_t *s = r->segments;
        r->segments = s->next;
        exa_segment_release(s);
    }
}

/* ------------------------------------------------------------------------------------------
 * Pages (descriptor lock held)
 * ---------------------------------------------------------------------------------------- */

/* Start of a run of k (1..64) set bits in mask, or -1. */
static int exa_run_find(uint64_t mask, uint32_t k) {
    uint64_t r = mask;
    for (uint32_t len = 1; len < k && r != 0;) {
        uint32_t step = len < k - len ? len : k - len;
        r &= r >> step;
        len += step;
    }
    return r != 0 ? (int)exa_ctz64(r) : -1;
}

exa_inline uint64_t exa_run_mask(uint32_t k, uint32_t at) {
    return (k >= 64 ? EXA_SEG_ALL_FREE : (((uint64_t)1 << k) - 1)) << at;
}

/* k free pages from a segment already mapped, or 0. Prefers partly used segments. */
static uintptr_t exa_pages_find(exa_pool_desc_t *d, uint32_t k) {
    exa_pool_segment_t *s;
    int at = -1;
    for (s = d->partial; s != NULL; s = s->next)
        if ((at = exa_run_find(s->free_mask, k)) >= 0) break;
    if (s == NULL) {
        s = d->empty;
        if (s == NULL) return 0;
        exa_seg_unlink(&d->empty, s);
        d->empty_count--;
        s->where = EXA_SEG_PARTIAL;
        exa_seg_push(&d->partial, s);
        at = 0;
    }
    s->free_mask &= ~exa_run_mask(k, (uint32_t)at);
    if (s->free_mask == 0) {
        exa_seg_unlink(&d->partial, s);
        s->where = EXA_SEG_FULL;
    }
    return s->base + ((uintptr_t)at << EXA_PAGE_SHIFT);
}

/* k pages for d, within the pool's capacity (plus the must-succeed reserve). The lock is
 * held on entry and on return, and dropped while a new segment is mapped. 0 with *status
 * on failure. */
static uintptr_t exa_pages_take(exa_pool_desc_t *d, uint32_t k, int must_succeed, exa_status_t *status) {
    if (!_exa_pool_reserve(d->pool, k, must_succeed)) {
        *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
        return 0;
    }
    for (;;) {
        uintptr_t a = exa_pages_find(d, k);
        if (a != 0) return a;
        _exa_unlock(&d->lock);
        exa_pool_segment_t *s = exa_segment_create(d, status);
        _exa_lock(&d->lock);
        if (s == NULL) {
            _exa_pool_unreserve(d->pool, k);
            return 0;
        }
        d->segments++;
        exa_seg_push(&d->partial, s);
    }
}

/* Give k pages back to their segment; a segment left wholly free is kept or queued on
 * `rel` for release after the unlock. */
static void exa_pages_give(exa_pool_desc_t *d, uintptr_t a, uint32_t k, exa_release_t *rel) {
    exa_pool_segment_t *s = exa_segmap_find(a);
    uint32_t at = (uint32_t)((a - s->base) >> EXA_PAGE_SHIFT);
    exa_track_poison((void *)a, (size_t)k << EXA_PAGE_SHIFT);
    if (s->where == EXA_SEG_FULL) {
        s->where = EXA_SEG_PARTIAL;
        exa_seg_push(&d->partial, s);
    }
    s->free_mask |= exa_run_mask(k, at);
    _exa_pool_unreserve(d->pool, k);
    if (s->free_mask != EXA_SEG_ALL_FREE) return;
    exa_seg_unlink(&d->partial, s);
    if (d->empty_count < exa_atomic_load_relaxed(&d->pool->xcached_segments)) {
        s->where = EXA_SEG_EMPTY;
        exa_seg_push(&d->empty, s);
        d->empty_count++;
    } else {
        d->segments--;
        s->next = rel->segments;
        rel->segments = s;
    }
}

/* ==========================================================================================
 * Free lists and small blocks (descriptor lock held)
 * ======================================================================================== */

exa_inline void exa_bit_set(uint64_t *bits, uint32_t i) { bits[i >> 6] |= (uint64_t)1 << (i & 63); }
exa_inline void exa_bit_clear(uint64_t *bits, uint32_t i) { bits[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

/* Smallest non-empty list index >= from, or -1. */
static int exa_first_nonempty(const uint64_t *bits, uint32_t from) {
    uint32_t w = from >> 6;
    uint64_t m = bits[w] & (EXA_SEG_ALL_FREE << (from & 63));
    while (m == 0) {
        if (++w == EXA_POOL_PAGE_UNITS / 64) return -1;
        m = bits[w];
    }
    return (int)(w * 64 + exa_ctz64(m));
}

static void exa_list_insert(exa_pool_desc_t *d, exa_pool_header_t *h, uint32_t units) {
    exa_pool_link_t *head = &d->heads[units], *e = exa_link_of(h);
    e->flink = head->flink;
    e->blink = exa_enc(head);
    exa_dec(head->flink)->blink = exa_enc(e);
    head->flink = exa_enc(e);
    exa_bit_set(d->nonempty, units);
}

/* Check a listed block's links and header (bug check 0x19/0x03 or 0x0D). 1 when sound. */
static int exa_list_check(exa_pool_header_t *h, uint32_t units) {
    exa_pool_link_t *e = exa_link_of(h);
    uintptr_t fb = exa_dec(e->flink)->blink, bf = exa_dec(e->blink)->flink;
    if (exa_unlikely(fb != exa_enc(e) || bf != exa_enc(e))) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_LIST_CORRUPT, (uintptr_t)e, fb, bf);
        return 0;
    }
    if (exa_unlikely(exa_h_type(h) != EXA_HDR_FREE || exa_h_size(h) != units)) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_FREE_MODIFIED, (uintptr_t)h, exa_h_word(h), units);
        return 0;
    }
    return 1;
}

static void exa_list_remove(exa_pool_desc_t *d, exa_pool_header_t *h, uint32_t units) {
    exa_pool_link_t *e = exa_link_of(h);
    exa_dec(e->blink)->flink = e->flink;
    exa_dec(e->flink)->blink = e->blink;
    if (d->heads[units].flink == exa_enc(&d->heads[units])) exa_bit_clear(d->nonempty, units);
}

/* Split a `have`-unit block at h: keep `units` units, list the remainder. */
static void exa_split(exa_pool_desc_t *d, exa_pool_header_t *h, uint32_t have, uint32_t units) {
    uint32_t rest = have - units;
    exa_pool_header_t *r = exa_hdr_at(h, (int32_t)units);
    exa_track_free_block(r, rest);
    exa_h_init(r, units, d->index, rest, EXA_HDR_FREE);
    exa_pool_header_t *after = exa_hdr_at(h, (int32_t)have);
    if ((uintptr_t)after != exa_page_of(h) + EXA_PAGE_SIZE) exa_h_set_prev(after, rest);
    if (rest >= 2) exa_list_insert(d, r, rest);
    exa_h_set_size(h, units);
}

/* A block of exactly `units` units, marked EXA_HDR_CACHED (owned, not coalescable). NULL
 * with *status when the pool is at its limit, the host has no memory, or a list check
 * failed (EXA_STATUS_BUGCHECK). */
static exa_pool_header_t *exa_small_take(exa_pool_desc_t *d, uint32_t units, int must_succeed, exa_status_t *status) {
    int i = exa_first_nonempty(d->nonempty, units);
    exa_pool_header_t *h;
    if (i >= 0) {
        h = exa_hdr_of_link(exa_dec(d->heads[i].flink));
        if (!exa_list_check(h, (uint32_t)i)) {
            *status = EXA_STATUS_BUGCHECK;
            return NULL;
        }
        exa_list_remove(d, h, (uint32_t)i);
        if ((uint32_t)i > units) exa_split(d, h, (uint32_t)i, units);
    } else {
        uintptr_t page = exa_pages_take(d, 1, must_succeed, status);
        if (page == 0) return NULL;
        d->small_pages++;
        h = (exa_pool_header_t *)page;
        exa_track_unpoison(h, EXA_POOL_BLOCK_SIZE);
        exa_h_init(h, 0, d->index, 0, EXA_HDR_CACHED);
        exa_split(d, h, EXA_POOL_PAGE_UNITS, units);
    }
    exa_h_set_type(h, EXA_HDR_CACHED);
    exa_track_free_block(h, units);
    return h;
}

/* Return an owned block (allocated or cached) to the free lists, coalescing with free
 * neighbours; a page left wholly free goes back to its segment. 0 after a failed check
 * (the block is then left out of the pool). */
static int exa_small_give(exa_pool_desc_t *d, exa_pool_header_t *h, exa_release_t *rel) {
    uintptr_t page = exa_page_of(h), end = page + EXA_PAGE_SIZE;
    uint32_t size = exa_h_size(h), prev = exa_h_prev(h);
    exa_pool_header_t *next = exa_hdr_at(h, (int32_t)size), *start = h;
    exa_pool_header_t *before = prev != 0 ? exa_hdr_at(h, -(int32_t)prev) : NULL;
    /* Check both neighbours before changing anything. */
    if (exa_unlikely((uintptr_t)before != 0 && (uintptr_t)before < page)) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_PREVIOUS_TOO_LARGE, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    if (exa_unlikely(before != NULL && exa_h_size(before) != prev)) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_NEIGHBOURS_DISAGREE, (uintptr_t)before, 0, (uintptr_t)h);
        return 0;
    }
    int next_free = (uintptr_t)next < end && exa_h_type(next) == EXA_HDR_FREE;
    int before_free = before != NULL && exa_h_type(before) == EXA_HDR_FREE;
    if (next_free && exa_h_size(next) >= 2 && !exa_list_check(next, exa_h_size(next))) return 0;
    if (before_free && prev >= 2 && !exa_list_check(before, prev)) return 0;
    /* Mark it free first (NT does): if it merges into the block before it, its stale header
     * still says "free", so a second free of it is caught as one (0xC2/0x07). */
    exa_h_set_type(h, EXA_HDR_FREE);
    if (next_free) {
        uint32_t n = exa_h_size(next);
        if (n >= 2) exa_list_remove(d, next, n);
        size += n;
    }
    if (before_free) {
        if (prev >= 2) exa_list_remove(d, before, prev);
        start = before;
        size += prev;
    }
    if (size == EXA_POOL_PAGE_UNITS) {
        d->small_pages--;
        exa_pages_give(d, page, 1, rel);
        return 1;
    }
    exa_h_set_type(start, EXA_HDR_FREE);
    exa_h_set_size(start, size);
    exa_track_free_block(start, size);
    exa_pool_header_t *after = exa_hdr_at(start, (int32_t)size);
    if ((uintptr_t)after != end) exa_h_set_prev(after, size);
    if (size >= 2) exa_list_insert(d, start, size);
    return 1;
}

/* ==========================================================================================
 * Big-allocation table: striped open-addressing hash tables keyed by address
 * ======================================================================================== */

typedef struct exa_big_s {
    uintptr_t va;          /* 0 = empty slot */
    exa_u64 pages;
    uint32_t tag;          /* as allocated */
    int32_t type;          /* POOL_TYPE incl. NX */
    uint32_t desc;         /* descriptor index */
    uint32_t direct;       /* 1: its own mapping; 0: a run of a segment's pages */
} exa_big_t;

enum { EXA_BIG_STRIPES = 16 };

typedef struct exa_big_stripe_s {
    exa_cache_aligned exa_spinlock_t lock;
    exa_big_t *slots;
    uint32_t capacity, count;  /* capacity a power of two (or 0) */
} exa_big_stripe_t;

static exa_big_stripe_t exa_big_table[EXA_BIG_STRIPES];

exa_inline exa_big_stripe_t *exa_big_stripe(uintptr_t va) {
    return &exa_big_table[(va >> EXA_PAGE_SHIFT) & (EXA_BIG_STRIPES - 1)];
}
exa_inline uint32_t exa_big_home(uintptr_t va, uint32_t capacity) {
    return (uint32_t)(((uint64_t)(va >> EXA_PAGE_SHIFT) * 0x9E3779B97F4A7C15ull) >> 32) & (capacity - 1);
}

/* Stripe lock held. The slot of va, or NULL. */
static exa_big_t *exa_big_find(exa_big_stripe_t *st, uintptr_t va) {
    if (st->capacity == 0) return NULL;
    for (uint32_t i = exa_big_home(va, st->capacity);; i = (i + 1) & (st->capacity - 1)) {
        if (st->slots[i].va == va) return &st->slots[i];
        if (st->slots[i].va == 0) return NULL;
    }
}

static void exa_big_place(exa_big_t *slots, uint32_t capacity, const exa_big_t *e) {
    uint32_t i = exa_big_home(e->va, capacity);
    while (slots[i].va != 0) i = (i + 1) & (capacity - 1);
    slots[i] = *e;
}

/* 1 when recorded, 0 when the table could not grow. */
static int exa_big_insert(const exa_big_t *e) {
    exa_big_stripe_t *st = exa_big_stripe(e->va);
    _exa_lock(&st->lock);
    if ((st->count + 1) * 4 > st->capacity * 3) {
        uint32_t cap = st->capacity ? st->capacity * 2 : 64;
        exa_big_t *grown = _exa_os_alloc_aligned(sizeof(exa_big_t) * cap, sizeof(void *));
        if (grown == NULL) {
            _exa_unlock(&st->lock);
            return 0;
        }
        memset(grown, 0, sizeof(exa_big_t) * cap);
        for (uint32_t i = 0; i < st->capacity; i++)
            if (st->slots[i].va != 0) exa_big_place(grown, cap, &st->slots[i]);
        _exa_os_free_aligned(st->slots);
        st->slots = grown;
        st->capacity = cap;
    }
    exa_big_place(st->slots, st->capacity, e);
    st->count++;
    _exa_unlock(&st->lock);
    return 1;
}

/* Stripe lock held: delete a slot (backward-shift deletion keeps probe chains whole). */
static void exa_big_delete(exa_big_stripe_t *st, exa_big_t *slot) {
    uint32_t mask = st->capacity - 1, hole = (uint32_t)(slot - st->slots);
    for (uint32_t i = (hole + 1) & mask; st->slots[i].va != 0; i = (i + 1) & mask) {
        uint32_t home = exa_big_home(st->slots[i].va, st->capacity);
        /* Move entry i into the hole unless its home lies cyclically in (hole, i]. */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            st->slots[hole] = st->slots[i];
            hole = i;
        }
    }
    st->slots[hole].va = 0;
    st->count--;
}

/* A copy of va's record; 0 when there is none. */
static int exa_big_lookup(uintptr_t va, exa_big_t *out) {
    exa_big_stripe_t *st = exa_big_stripe(va);
    _exa_lock(&st->lock);
    exa_big_t *e = exa_big_find(st, va);
    if (e != NULL) *out = *e;
    _exa_unlock(&st->lock);
    return e != NULL;
}

/* ==========================================================================================
 * Per-thread state: front caches and tag deltas
 * ======================================================================================== */

typedef struct exa_front_s {
    exa_pool_header_t *head;  /* newest cached block */
    uint32_t count, limit;
} exa_front_t;

typedef struct exa_pool_thread_s {
    exa_front_t front[EXA_POOL_FRONT_DESCRIPTORS][EXA_POOL_PAGE_UNITS];
    exa_u64 cached_bytes;              /* bytes of blocks in all front caches */
    uintptr_t pages[EXA_POOL_FRONT_DESCRIPTORS][8];  /* cached single pages (big allocations) */
    uint32_t npages[EXA_POOL_FRONT_DESCRIPTORS];
    exa_u64 memo_key;                  /* tag key of memo_slot (0: none) */
    exa_tag_slot_t *memo_slot;         /* the slot of the last tag counted */
    exa_tag_cache_t tags;
} exa_pool_thread_t;

/* Bytes one thread may hold in its front caches, all sizes together. Larger budgets measured
 * slower on a mixed-size workload (more memory touched), smaller ones drain too often. */
enum { EXA_FRONT_BUDGET = 512 * 1024 };

enum { EXA_TLS_NONE = 0, EXA_TLS_LIVE = 1, EXA_TLS_GONE = 2 };
static exa_thread_local exa_pool_thread_t *exa_tls_pool;
static exa_thread_local uint8_t exa_tls_pool_state;

/* Cache bound per block size: about 8 KiB of blocks, 4..64 of them. */
static uint32_t exa_front_limit(uint32_t units) {
    uint32_t n = (8192u / EXA_POOL_BLOCK_SIZE) / units;
    return n < 4 ? 4 : n > 64 ? 64 : n;
}

static void exa_thread_exit(void *value);

/* The calling thread's state, created on first use; NULL when it cannot have one (no
 * memory, or the thread is exiting): it then works without caches. */
static exa_noinline exa_pool_thread_t *exa_thread_create(void) {
    if (exa_tls_pool_state != EXA_TLS_NONE) return NULL;
    exa_tls_pool_state = EXA_TLS_GONE;
    exa_pool_thread_t *t = _exa_os_alloc_aligned(sizeof *t, EXA_CACHE_LINE);
    if (t == NULL) return NULL;
    memset(t, 0, sizeof *t);
    for (uint32_t d = 0; d < EXA_POOL_FRONT_DESCRIPTORS; d++)
        for (uint32_t u = 2; u < EXA_POOL_PAGE_UNITS; u++) t->front[d][u].limit = exa_front_limit(u);
    if (_exa_os_at_thread_exit_slot(EXA_OS_THREAD_EXIT_POOL, exa_thread_exit, t) != 0) {
        _exa_os_free_aligned(t);
        return NULL;
    }
    _exa_tag_cache_attach(&t->tags);
    exa_tls_pool = t;
    exa_tls_pool_state = EXA_TLS_LIVE;
    return t;
}

exa_inline exa_pool_thread_t *exa_thread(void) {
    exa_pool_thread_t *t = exa_tls_pool;
    return exa_likely(t != NULL) ? t : exa_thread_create();
}

/* Give `count` blocks from the top of a front cache back to descriptor d. */
static void exa_front_drain(exa_pool_thread_t *t, exa_pool_desc_t *d, exa_front_t *c, uint32_t count) {
    exa_release_t rel = {NULL};
    _exa_lock(&d->lock);
    while (count-- > 0 && c->head != NULL) {
        exa_pool_header_t *h = c->head;
        c->head = *exa_cache_link(h);
        c->count--;
        t->cached_bytes -= (exa_u64)exa_h_size(h) * EXA_POOL_BLOCK_SIZE;
        (void)exa_small_give(d, h, &rel);
    }
    _exa_unlock(&d->lock);
    exa_release_run(&rel);
    _exa_pool_changed(d->pool);
}

/* Give t's cached single pages back to their descriptors (still reserved: the pool's
 * page count drops here, not when they were cached). */
static exa_u64 exa_thread_drain_pages(exa_pool_thread_t *t) {
    exa_u64 n = 0;
    for (uint32_t i = 0; i < EXA_POOL_FRONT_DESCRIPTORS; i++) {
        if (t->npages[i] == 0) continue;
        exa_pool_desc_t *d = &exa_front_descs[i];
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        while (t->npages[i] != 0) {
            exa_pages_give(d, t->pages[i][--t->npages[i]], 1, &rel);
            n++;
        }
        _exa_unlock(&d->lock);
        exa_release_run(&rel);
        _exa_pool_changed(d->pool);
    }
    return n;
}

/* Drain every front cache of t; returns the number of blocks (and cached pages). */
static exa_u64 exa_thread_drain(exa_pool_thread_t *t) {
    exa_u64 n = exa_thread_drain_pages(t);
    for (uint32_t i = 0; i < EXA_POOL_FRONT_DESCRIPTORS; i++) {
        for (uint32_t u = 0; u < EXA_POOL_PAGE_UNITS; u++) {
            exa_front_t *c = &t->front[i][u];
            if (c->count == 0) continue;
            n += c->count;
            exa_front_drain(t, &exa_front_descs[i], c, c->count);
        }
    }
    return n;
}

static void exa_thread_exit(void *value) {
    exa_pool_thread_t *t = value;
    exa_tls_pool = NULL;
    exa_tls_pool_state = EXA_TLS_GONE;
    (void)exa_thread_drain(t);
    _exa_tag_cache_detach(&t->tags);
    _exa_os_free_aligned(t);
}

/* ==========================================================================================
 * Small blocks through the front cache
 * ======================================================================================== */

/* Refill: take up to limit/2 blocks under one lock acquisition, hand one out, cache the
 * rest. NULL with *status when not even one could be had. */
static exa_noinline exa_pool_header_t *exa_front_refill(exa_pool_thread_t *t, exa_pool_desc_t *d, exa_front_t *c,
                                                         uint32_t units, exa_status_t *status) {
    uint32_t want = c->limit / 2;
    exa_pool_header_t *first = NULL;
    _exa_lock(&d->lock);
    for (uint32_t i = 0; i < want; i++) {
        exa_pool_header_t *h = exa_small_take(d, units, 0, status);
        if (h == NULL) break;
        if (first == NULL) {
            first = h;
        } else {
            *exa_cache_link(h) = c->head;
            c->head = h;
            c->count++;
            t->cached_bytes += (exa_u64)units * EXA_POOL_BLOCK_SIZE;
        }
    }
    _exa_unlock(&d->lock);
    _exa_pool_changed(d->pool);
    return first;
}

/* An owned (EXA_HDR_CACHED) block of `units` units from d, or NULL with *status. */
exa_inline exa_pool_header_t *exa_block_get(exa_pool_desc_t *d, exa_pool_thread_t *t, uint32_t units, int must_succeed,
                                            exa_status_t *status) {
    if (exa_likely(t != NULL && d->index < EXA_POOL_FRONT_DESCRIPTORS && !must_succeed)) {
        exa_front_t *c = &t->front[d->index][units];
        exa_pool_header_t *h = c->head;
        if (exa_likely(h != NULL)) {
            c->head = *exa_cache_link(h);
            c->count--;
            t->cached_bytes -= (exa_u64)units * EXA_POOL_BLOCK_SIZE;
            return h;
        }
        return exa_front_refill(t, d, c, units, status);
    }
    _exa_lock(&d->lock);
    exa_pool_header_t *h = exa_small_take(d, units, must_succeed, status);
    _exa_unlock(&d->lock);
    _exa_pool_changed(d->pool);
    return h;
}

/* Release an owned block: into the front cache, or to the descriptor. */
exa_inline void exa_block_put(exa_pool_desc_t *d, exa_pool_thread_t *t, exa_pool_header_t *h, uint32_t units) {
    exa_u64 bytes = (exa_u64)units * EXA_POOL_BLOCK_SIZE;
    if (exa_likely(t != NULL && d->index < EXA_POOL_FRONT_DESCRIPTORS)) {
        exa_front_t *c = &t->front[d->index][units];
        int full = c->count >= c->limit || t->cached_bytes + bytes > EXA_FRONT_BUDGET;
        if (exa_likely(!full) || c->count != 0) {
            /* Full, or the thread is at its budget: half of this size goes back in one batch. */
            if (exa_unlikely(full)) exa_front_drain(t, d, c, (c->count + 1) / 2);
            exa_h_set_type(h, EXA_HDR_CACHED);
            exa_track_free_block(h, units);
            *exa_cache_link(h) = c->head;
            c->head = h;
            c->count++;
            t->cached_bytes += bytes;
            return;
        }
    }
    exa_release_t rel = {NULL};
    _exa_lock(&d->lock);
    (void)exa_small_give(d, h, &rel);
    _exa_unlock(&d->lock);
    exa_release_run(&rel);
    _exa_pool_changed(d->pool);
}

/* ==========================================================================================
 * The fast allocate (issue 6): a small block of a front descriptor straight from the
 * thread's front cache. The caller (pool_api.c) has already reduced the request to one of
 * the three plain types (NonPagedPoolNx, NonPagedPool, PagedPool: no quota, priority, node,
 * cache alignment or must-succeed), a non-zero tag and 1..4064 bytes, outside strict mode.
 * Everything this path skips is something those requests cannot need: the block already
 * holds its page (capacity and conditions do not change), nothing is charged.
 * ======================================================================================== */

/* The thread's tag slot for (tag, kind): a one-entry memo in front of the direct-mapped
 * table, so the common case (the same tag as last time) is one compare. Every count a
 * thread makes goes through it (exa_tag_count_t), so the memo never outlives its slot's key. */
static exa_noinline void exa_tag_count_miss(exa_pool_thread_t *t, exa_u64 key, int is_free, exa_u64 bytes) {
    exa_tag_slot_t *s = &t->tags.slot[_exa_tag_slot_of(key)];
    if (exa_likely(s->key == key)) {
        t->memo_key = key;
        t->memo_slot = s;
        _exa_tag_slot_add(s, is_free, bytes);
        return;
    }
    /* The slot changes keys (or is claimed): the memo may point at it, so forget it. */
    t->memo_key = 0;
    _exa_tag_count_slow(&t->tags, key, is_free, bytes);
}

/* 1 when counted through the memo; 0: the caller must call exa_tag_count_miss. */
exa_inline int exa_tag_count_hit(exa_pool_thread_t *t, exa_u64 key, int is_free, exa_u64 bytes) {
    if (exa_unlikely(t->memo_key != key)) return 0;
    _exa_tag_slot_add(t->memo_slot, is_free, bytes);
    return 1;
}

exa_inline void exa_tag_count_memo(exa_pool_thread_t *t, uint32_t tag, int32_t kind, int is_free, exa_u64 bytes) {
    exa_u64 key = _exa_tag_key(tag, kind);
    if (!exa_tag_count_hit(t, key, is_free, bytes)) exa_tag_count_miss(t, key, is_free, bytes);
}

/* Count through the memo when the thread has state (every count of a thread must, or the
 * memo could outlive its slot's key). */
exa_inline void exa_tag_count_t(exa_pool_thread_t *t, uint32_t tag, int32_t kind, int is_free, exa_u64 bytes) {
    if (exa_likely(t != NULL)) exa_tag_count_memo(t, tag, kind, is_free, bytes);
    else _exa_tag_count(NULL, tag, kind, is_free, bytes);
}

/* The rest of a fast allocate whose tag missed the memo (out of line: the inline part
 * then needs no stack frame). */
static exa_noinline __attribute__((returns_nonnull)) void *exa_allocate_fast_miss(exa_pool_thread_t *t, exa_u64 key,
                                                                                   char *p, exa_u64 n, uint32_t units,
                                                                                   uint32_t zero) {
    exa_tag_count_miss(t, key, 0, (exa_u64)units * EXA_POOL_BLOCK_SIZE);
    return zero ? memset(p, 0, (size_t)n) : p;
}

/* The fast core: the block for a request of `type` (EXA_PT_NX, 0 or EXA_PT_PAGED), n in
 * 1..EXA_POOL_MAX_ALLOC, from front descriptor `di`'s cache; NULL when it cannot serve. */
exa_inline void *exa_allocate_fast(uint32_t di, int32_t type, exa_u64 n, uint32_t tag, uint32_t zero) {
    exa_pool_thread_t *t = exa_tls_pool;
    if (exa_unlikely(t == NULL || _exa_irql_too_high_for_pool(type))) return NULL;
    uint32_t units = (uint32_t)((n + 2 * EXA_POOL_BLOCK_SIZE - 1) >> EXA_POOL_BLOCK_SHIFT);
    exa_front_t *c = &t->front[di][units];
    exa_pool_header_t *h = c->head;
    if (exa_unlikely(h == NULL)) return NULL;
    exa_u64 bytes = (exa_u64)units * EXA_POOL_BLOCK_SIZE;
    c->head = *exa_cache_link(h);
    c->count--;
    t->cached_bytes -= bytes;
    /* The header: PreviousSize, PoolIndex and BlockSize are already right (the block was
     * formatted when it was carved); only the owner's fields change. */
    h->pool_tag = tag;
    h->process_billed = 0;
    exa_track_hand_out(h, units);
    char *p = (char *)(h + 1);
    exa_track_tail(h, units, p, n);
    exa_h_set_type(h, (uint32_t)(type & EXA_PT_HEADER_MASK) + 1);
    exa_u64 key = _exa_tag_key(tag, (int32_t)(type & EXA_PT_PAGED));
    if (exa_unlikely(!exa_tag_count_hit(t, key, 0, bytes))) return exa_allocate_fast_miss(t, key, p, n, units, zero);
    return zero ? memset(p, 0, (size_t)n) : p;
}

exa_inline int exa_fast_size(exa_u64 size) { return size - 1 < (exa_u64)EXA_POOL_MAX_ALLOC; }

static void *exa_big_page_cached(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_pool_request_t *r);

/* The fast door for a one-page big request (4065..4096 bytes) of a front descriptor: a page
 * from the thread's page cache, one big-table insertion. NULL when the cache is empty. */
static exa_noinline void *exa_allocate_page_fast(uint32_t di, int32_t type, exa_u64 n, uint32_t tag, uint32_t zero) {
    exa_pool_thread_t *t = exa_tls_pool;
    if (t == NULL || t->npages[di] == 0 || _exa_irql_too_high_for_pool(type)) return NULL;
    exa_pool_request_t r = {n, tag, type, zero ? (uint32_t)EXA_REQ_ZERO : 0u, EXA_POOL_PRIORITY_HIGH, -1, 0};
    exa_pool_desc_t *d = &exa_front_descs[di];
    void *p = exa_big_page_cached(t, d, &r);
    if (p != NULL) exa_tag_count_t(t, tag, d->kind, 0, EXA_PAGE_SIZE);
    return p;
}

/* The POOL_FLAGS / POOL_TYPE of a fast door as (front descriptor, type); 0 when it is none. */
exa_inline int exa_door_of_flags(exa_u64 pool, uint32_t *di, int32_t *type) {
    if (exa_likely(pool == EXA_POOL_FLAG_NON_PAGED)) *di = EXA_DESC_NX, *type = EXA_PT_NX;
    else if (pool == EXA_POOL_FLAG_PAGED) *di = EXA_DESC_PAGED, *type = EXA_PT_PAGED;
    else if (pool == EXA_POOL_FLAG_NON_PAGED_EXECUTE) *di = EXA_DESC_EXECUTE, *type = 0;
    else return 0;
    return 1;
}
exa_inline int exa_door_of_type(int32_t pool_type, uint32_t *di, int32_t *type) {
    if (exa_likely(pool_type == EXA_PT_NX)) *di = EXA_DESC_NX;
    else if (pool_type == EXA_PT_PAGED) *di = EXA_DESC_PAGED;
    else if (pool_type == 0) *di = EXA_DESC_EXECUTE;
    else return 0;
    *type = pool_type;
    return 1;
}

/* The one-page doors (out of line, each falling back to its full path itself, so that the
 * small doors below make only tail calls and need no stack frame). */
static exa_noinline void *exa_flags_page_door(exa_u64 flags, exa_u64 size, uint32_t tag) {
    uint32_t di;
    int32_t type;
    void *p = NULL;
    if (exa_door_of_flags(flags & ~(exa_u64)EXA_FLAGS_FAST_EXTRA, &di, &type))
        p = exa_allocate_page_fast(di, type, size, tag, (flags & EXA_POOL_FLAG_UNINITIALIZED) == 0);
    return p != NULL ? p : _exa_pool_flags_full(flags, size, tag, NULL, 0);
}

static exa_noinline void *exa_legacy_page_door(int32_t pool_type, exa_u64 size, uint32_t tag) {
    uint32_t di;
    int32_t type;
    void *p = NULL;
    if (exa_door_of_type(pool_type, &di, &type)) p = exa_allocate_page_fast(di, type, size, tag, 0);
    return p != NULL ? p : _exa_pool_legacy_full(pool_type, size, tag, EXA_LEGACY_TAGGED, 0);
}

/* The doors: three inlined copies of the fast core, one per pool, each with its constants. */
/* The doors stand aside, sending every request through the full path, while allocation
 * sites are recorded (diag.h) or the verifier level is on (verifier.h: special pool,
 * low-resources simulation, fill patterns). */
exa_inline int exa_doors_open(void) {
    return (exa_atomic_load_relaxed(&_exa_diag_sites) | (_exa_verifier_state() & EXA_VBIT_VERIFIER)) == 0;
}

void *_exa_pool_flags_entry(exa_u64 flags, exa_u64 size, uint32_t tag) {
    if (exa_likely(tag != 0 && exa_doors_open())) {
        if (exa_likely(exa_fast_size(size))) {
            exa_u64 pool = flags & ~(exa_u64)EXA_FLAGS_FAST_EXTRA;
            uint32_t zero = (flags & EXA_POOL_FLAG_UNINITIALIZED) == 0;
            void *p = NULL;
            if (exa_likely(pool == EXA_POOL_FLAG_NON_PAGED)) p = exa_allocate_fast(EXA_DESC_NX, EXA_PT_NX, size, tag, zero);
            else if (pool == EXA_POOL_FLAG_PAGED) p = exa_allocate_fast(EXA_DESC_PAGED, EXA_PT_PAGED, size, tag, zero);
            else if (pool == EXA_POOL_FLAG_NON_PAGED_EXECUTE) p = exa_allocate_fast(EXA_DESC_EXECUTE, 0, size, tag, zero);
            if (exa_likely(p != NULL)) return p;
        } else if (size <= EXA_PAGE_SIZE) {
            return exa_flags_page_door(flags, size, tag);
        }
    }
    return _exa_pool_flags_full(flags, size, tag, NULL, 0);
}

void *_exa_pool_legacy_entry(int32_t pool_type, exa_u64 size, uint32_t tag) {
    if (exa_likely(tag != 0 && exa_atomic_load_relaxed(&_exa_pool_option_bits) == 0 && exa_doors_open())) {
        if (exa_likely(exa_fast_size(size))) {
            void *p = NULL;
            if (exa_likely(pool_type == EXA_PT_NX)) p = exa_allocate_fast(EXA_DESC_NX, EXA_PT_NX, size, tag, 0);
            else if (pool_type == EXA_PT_PAGED) p = exa_allocate_fast(EXA_DESC_PAGED, EXA_PT_PAGED, size, tag, 0);
            else if (pool_type == 0) p = exa_allocate_fast(EXA_DESC_EXECUTE, 0, size, tag, 0);
            if (exa_likely(p != NULL)) return p;
        } else if (size <= EXA_PAGE_SIZE) {
            return exa_legacy_page_door(pool_type, size, tag);
        }
    }
    return _exa_pool_legacy_full(pool_type, size, tag, EXA_LEGACY_TAGGED, 0);
}

/* ==========================================================================================
 * Allocate
 * ======================================================================================== */

/* The pointer handed out for block h: header + 16, or the next cache-line boundary behind a
 * shadow header. */
exa_inline char *exa_place(exa_pool_header_t *h, int aligned, uint32_t tag) {
    char *p = (char *)(h + 1);
    if (!aligned) return p;
    char *q = (char *)(((uintptr_t)p + EXA_CACHE_LINE - 1) & ~(uintptr_t)(EXA_CACHE_LINE - 1));
    if (q != p) {
        exa_pool_header_t *shadow = (exa_pool_header_t *)(void *)q - 1;
        exa_h_init(shadow, (uint32_t)((char *)shadow - (char *)h) / EXA_POOL_BLOCK_SIZE, exa_h_index(h), 0,
                   EXA_HDR_SHADOW);
        shadow->pool_tag = tag;
        shadow->process_billed = 0;
    }
    return q;
}

/* Big allocation of `pages` pages: a segment run (<= 64 pages) or a mapping of its own. */
static void *exa_big_allocate(exa_pool_desc_t *d, const exa_pool_request_t *r, exa_u64 pages, exa_status_t *status) {
    int must = (r->type & EXA_PT_MUST_SUCCEED) != 0;
    exa_big_t e = {0, pages, r->tag, (r->type & ~EXA_PT_NX) | d->type_bits, d->index, 0};
    exa_pool_t *pool = d->pool;
    if (pages <= EXA_POOL_SEGMENT_PAGES) {
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        e.va = exa_pages_take(d, (uint32_t)pages, must, status);
        _exa_unlock(&d->lock);
        if (e.va == 0) return NULL;
        if (!exa_big_insert(&e)) {
            _exa_lock(&d->lock);
            exa_pages_give(d, e.va, (uint32_t)pages, &rel);
            _exa_unlock(&d->lock);
            exa_release_run(&rel);
            *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
            return NULL;
        }
        if (r->options & EXA_REQ_ZERO) {
            exa_track_unpoison((void *)e.va, (size_t)r->size);
            memset((void *)e.va, 0, (size_t)r->size);
        }
    } else {
        *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
        if (pages > (exa_u64)SIZE_MAX >> EXA_PAGE_SHIFT || !_exa_pool_reserve(pool, pages, must)) return NULL;
        size_t bytes = (size_t)pages << EXA_PAGE_SHIFT;
        int exec = d->executable && exa_atomic_load_relaxed(&exa_executable_refused) == 0;
        void *a = _exa_os_pages_map(bytes, EXA_PAGE_SIZE, exec);
        if (a == NULL && exec) a = _exa_os_pages_map(bytes, EXA_PAGE_SIZE, 0);
        int locked = 0;
        if (a != NULL && d->node >= 0 && _exa_os_pages_bind_node(a, bytes, (uint32_t)d->node) != 0) {
            _exa_os_pages_unmap(a, bytes);
            a = NULL;
        }
        if (a != NULL && pool->kind == EXA_POOL_KIND_NON_PAGED) {
            uint32_t policy = exa_atomic_load_relaxed(&pool->xlock_policy);
            if (policy != EXA_POOL_LOCK_NONE) {
                int err = _exa_os_pages_lock(a, bytes);
                _exa_pool_note_lock(pool, bytes, err);
                locked = err == 0;
                if (!locked && policy == EXA_POOL_LOCK_REQUIRED) {
                    *status = EXA_STATUS_WORKING_SET_QUOTA;
                    _exa_os_pages_unmap(a, bytes);
                    a = NULL;
                }
            }
        }
        e.va = (uintptr_t)a;
        e.direct = 1u | (locked ? 2u : 0u);
        if (a == NULL || !exa_big_insert(&e)) {
            if (a != NULL) {
                _exa_os_pages_unmap(a, bytes);
                if (locked) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - bytes);
            }
            _exa_pool_unreserve(pool, pages);
            _exa_pool_changed(pool);
            return NULL;
        }
        exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)bytes);
        exa_track_poison((char *)a + r->size, bytes - (size_t)r->size);
    }
    exa_track_unpoison((void *)e.va, (size_t)r->size);
    exa_atomic_fetch_add_relaxed(&pool->xbig, (exa_u64)1);
    _exa_pool_changed(pool);
    /* Cold hint (spec 1.9): pageable pages only; locked pages cannot go cold. */
    if ((r->options & EXA_REQ_COLD) && pool->kind == EXA_POOL_KIND_PAGED &&
        _exa_os_pages_cold((void *)e.va, (size_t)pages << EXA_PAGE_SHIFT))
        exa_atomic_fetch_add_relaxed(&pool->xcold, (exa_u64)1);
    return (void *)e.va;
}

/* A single-page big allocation from the thread's page cache (the page is still reserved
 * for the pool): one big-table insertion, no descriptor lock. NULL when the table could
 * not grow (the caller then takes the ordinary path, which reports). */
static void *exa_big_page_cached(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_pool_request_t *r) {
    uint32_t di = d->index;
    exa_big_t e = {t->pages[di][t->npages[di] - 1], 1, r->tag, (r->type & ~EXA_PT_NX) | d->type_bits, di, 0};
    if (!exa_big_insert(&e)) return NULL;
    t->npages[di]--;
    exa_track_unpoison((void *)e.va, (size_t)r->size);
    if (r->options & EXA_REQ_ZERO) memset((void *)e.va, 0, (size_t)r->size);
    exa_atomic_fetch_add_relaxed(&d->pool->xbig, (exa_u64)1);
    return (void *)e.va;
}

static exa_pool_desc_t *exa_desc_select(const exa_pool_request_t *r) {
    if (r->type & EXA_PT_PAGED) return &exa_front_descs[EXA_DESC_PAGED];
    int exec = (r->type & EXA_PT_NX) == 0;
    if (r->node < 0) return &exa_front_descs[exec ? EXA_DESC_EXECUTE : EXA_DESC_NX];
    return exa_desc_for_node((uint32_t)r->node, exec);
}

/* The failure path: bug check 0x41 for must-succeed, else raise if asked; NULL. */
static exa_noinline void *exa_allocate_failed(const exa_pool_request_t *r, exa_status_t status) {
    if (r->type & EXA_PT_MUST_SUCCEED) {
        exa_pool_t *np = _exa_pool_of_kind(EXA_POOL_KIND_NON_PAGED);
        exa_u64 used = exa_atomic_load_relaxed(&np->xpages);
        exa_u64 limit = exa_atomic_load_relaxed(&np->xcapacity) + exa_atomic_load_relaxed(&np->xreserve);
        _exa_bugcheck(EXA_BUGCHECK_MUST_SUCCEED_POOL_EMPTY, r->size, used, exa_atomic_load_relaxed(&np->xbig),
                      limit > used ? limit - used : 0);
        return NULL;
    }
    if (r->options & EXA_REQ_RAISE) _exa_raise(status);
    return NULL;
}

/* One attempt: the block, or NULL with *status (EXA_STATUS_BUGCHECK: a check already
 * reported; nothing more to do). */
exa_inline void *exa_allocate_try(const exa_pool_request_t *r, exa_status_t *status) {
    int32_t type = r->type;
    if (exa_unlikely(_exa_irql_too_high_for_pool(type))) {
        *status = EXA_STATUS_BUGCHECK;
        return _exa_irql_pool_violation(EXA_BAD_POOL_CALLER_ALLOCATE_IRQL, type, r->size);
    }
    *status = EXA_STATUS_INSUFFICIENT_RESOURCES;
    exa_pool_desc_t *d = exa_desc_select(r);
    if (exa_unlikely(d == NULL)) return NULL;
    exa_pool_t *pool = d->pool;
    if ((r->options & EXA_REQ_PRIORITY) && !_exa_pool_priority_allows(pool, r->priority)) return NULL;
    exa_pool_thread_t *t = exa_thread();
    int aligned = (type & EXA_PT_CACHE_ALIGNED) != 0;
    exa_u64 n = r->size;
    if (n > (aligned ? (exa_u64)EXA_SMALL_MAX_ALIGNED : (exa_u64)EXA_SMALL_MAX)) {
        /* Never wrap (spec 7.24): a request beyond the address space fails here. */
        if (n > ((exa_u64)1 << 47)) return NULL;
        exa_u64 pages = (n + EXA_PAGE_SIZE - 1) >> EXA_PAGE_SHIFT;
        void *p = pages == 1 && t != NULL && d->index < EXA_POOL_FRONT_DESCRIPTORS && t->npages[d->index] != 0 &&
                          !(r->options & EXA_REQ_COLD) && !(type & EXA_PT_MUST_SUCCEED)
                      ? exa_big_page_cached(t, d, r)
                      : NULL;
        if (p == NULL) p = exa_big_allocate(d, r, pages, status);
        if (p != NULL) exa_tag_count_t(t, r->tag, pool->kind, 0, pages << EXA_PAGE_SHIFT);
        return p;
    }
    uint32_t units = (uint32_t)((n + EXA_POOL_BLOCK_SIZE + (aligned ? EXA_CACHE_LINE - EXA_POOL_BLOCK_SIZE : 0) +
                                 EXA_POOL_BLOCK_SIZE - 1) >> EXA_POOL_BLOCK_SHIFT);
    exa_pool_header_t *h = exa_block_get(d, t, units, (type & EXA_PT_MUST_SUCCEED) != 0, status);
    if (exa_unlikely(h == NULL)) return NULL;
    exa_quota_account_t *account = NULL;
    if (r->options & EXA_REQ_QUOTA) {
        /* NT's order: the block first, then the charge; a refused charge releases it. */
        account = _exa_quota_current();
        if (_exa_quota_is_system(account)) {
            account = NULL;
        } else if (!_exa_quota_charge(account, pool->kind, (exa_u64)units * EXA_POOL_BLOCK_SIZE)) {
            exa_block_put(d, t, h, units);
            *status = EXA_STATUS_QUOTA_EXCEEDED;
            return NULL;
        }
    }
    h->pool_tag = r->tag;
    h->process_billed = (uintptr_t)account;
    exa_track_hand_out(h, units);
    char *p = exa_place(h, aligned, r->tag);
    exa_track_tail(h, units, p, n);
    exa_h_set_type(h, (uint32_t)((type & EXA_PT_HEADER_MASK) | (account != NULL ? EXA_PT_QUOTA : 0)) + 1);
    exa_tag_count_t(t, r->tag, d->kind, 0, (exa_u64)units * EXA_POOL_BLOCK_SIZE);
    if (r->options & EXA_REQ_ZERO) memset(p, 0, (size_t)n);
    return p;
}

static exa_noinline void *exa_allocate_retry(const exa_pool_request_t *r, exa_status_t status) {
    if (status == EXA_STATUS_BUGCHECK) return NULL;
    if (r->node >= 0 && !r->node_strict) {
        /* MM_ANY_NODE_OK: the preferred node could not serve; any node will do. */
        exa_pool_request_t any = *r;
        any.node = -1;
        void *p = exa_allocate_try(&any, &status);
        if (p != NULL || status == EXA_STATUS_BUGCHECK) return p;
    }
    return exa_allocate_failed(r, status);
}

/* VERIFIER HOOK (verifier.c): special pool, low-resources simulation, fill patterns. */
static exa_noinline void *exa_allocate_verified(const exa_pool_request_t *r) {
    void *p;
    if (_exa_verifier_allocate(r, &p)) return p;
    exa_status_t status;
    p = exa_allocate_try(r, &status);
    if (p == NULL) p = exa_allocate_retry(r, status);
    if (p != NULL) _exa_verifier_allocated(r, p);
    return p;
}

void *_exa_pool_allocate_request(const exa_pool_request_t *r) {
    exa_pool_ready();
    void *p;
    if (exa_unlikely((r->options & EXA_REQ_SPECIAL) | (_exa_verifier_state() & EXA_VBIT_VERIFIER))) {
        p = exa_allocate_verified(r); /* VERIFIER HOOK */
    } else {
        exa_status_t status;
        p = exa_allocate_try(r, &status);
        if (exa_unlikely(p == NULL)) p = exa_allocate_retry(r, status);
    }
    if (exa_unlikely(exa_atomic_load_relaxed(&_exa_diag_sites) != 0)) _exa_diag_note_alloc(p);  /* diag.h */
    return p;
}

/* ==========================================================================================
 * Free
 * ======================================================================================== */

/* What a free or a query found out about a pointer. */
typedef struct exa_found_s {
    exa_pool_desc_t *desc;
    exa_pool_header_t *h;    /* small blocks */
    exa_big_t big;           /* big allocations (big.va != 0) */
    int32_t type;            /* POOL_TYPE as allocated, quota bit removed, NX included */
    uint32_t tag;
    exa_u64 charged;         /* bytes counted for the tag */
    exa_quota_account_t *account;
} exa_found_t;

static int exa_find_big(const void *p, exa_found_t *f, int report);
static int exa_find_unusual(const void *p, exa_pool_desc_t *d, exa_found_t *f, int report);

/* A small block's findings (its checks passed). */
exa_inline int exa_found_small(exa_found_t *f, exa_pool_desc_t *d, exa_pool_header_t *h, uint32_t type, uint32_t size) {
    f->desc = d;
    f->h = h;
    f->type = (int32_t)((type - 1) & ~(uint32_t)EXA_PT_QUOTA) | d->type_bits;
    f->tag = h->pool_tag;
    f->charged = (exa_u64)size * EXA_POOL_BLOCK_SIZE;
    f->account = ((type - 1) & EXA_PT_QUOTA) ? (exa_quota_account_t *)h->process_billed : NULL;
    return 1;
}

/* Locate and check the block at p. 1 when it is a live block; otherwise 0, after a bug
 * check when `report` (a free), silently for a query. The common case (an aligned pointer
 * with a sound header) is inline; everything else, reports included, is out of line. */
exa_inline int exa_find_block(const void *p, exa_found_t *f, int report) {
    uintptr_t a = (uintptr_t)p;
    if (exa_unlikely((a & (EXA_PAGE_SIZE - 1)) == 0)) return exa_find_big(p, f, report);
    exa_pool_segment_t *s = exa_segmap_find(a);
    if (exa_unlikely(s == NULL)) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_NEVER_IN_POOL, a, 0, 0);
        return 0;
    }
    exa_pool_desc_t *d = s->desc;
    exa_pool_header_t *h = (exa_pool_header_t *)(void *)p - 1;
    uint32_t type, size;
    if (exa_unlikely((a & (EXA_POOL_BLOCK_SIZE - 1)) != 0 || (type = exa_h_type(h)) == EXA_HDR_SHADOW ||
                     type == EXA_HDR_FREE || type > EXA_HDR_TYPE_MAX || exa_h_index(h) != d->index ||
                     (size = exa_h_size(h)) < 2))
        return exa_find_unusual(p, d, f, report);
    uintptr_t end = exa_page_of(h) + EXA_PAGE_SIZE;
    exa_pool_header_t *next = exa_hdr_at(h, (int32_t)size);
    if (exa_unlikely((uintptr_t)next > end || ((uintptr_t)next != end && exa_h_prev(next) != size)))
        return exa_find_unusual(p, d, f, report);
    return exa_found_small(f, d, h, type, size);
}

/* The cases exa_find_block leaves out of line: NULL and page-aligned pointers, shadow
 * headers, and every failed check (each reported with its own code). */
static exa_noinline int exa_find_big(const void *p, exa_found_t *f, int report) {
    uintptr_t a = (uintptr_t)p;
    f->h = NULL;
    f->account = NULL;
    if (p == NULL) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_INVALID_ADDRESS, 0, 0, 0);
        return 0;
    }
    if (!exa_big_lookup(a, &f->big)) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_UNTRACKED, a, 0, 0);
        return 0;
    }
    f->desc = exa_desc_by_index(f->big.desc);
    f->type = f->big.type;
    f->tag = f->big.tag;
    f->charged = f->big.pages << EXA_PAGE_SHIFT;
    return 1;
}

static exa_noinline int exa_find_unusual(const void *p, exa_pool_desc_t *d, exa_found_t *f, int report) {
    uintptr_t a = (uintptr_t)p;
    exa_pool_header_t *h = (exa_pool_header_t *)(void *)p - 1;
    int shadowed = 0;
    if ((a & (EXA_POOL_BLOCK_SIZE - 1)) == 0 && exa_h_type(h) == EXA_HDR_SHADOW) {
        /* A cache-aligned block: the shadow header points back less than one line. */
        uint32_t back = exa_h_prev(h);
        exa_pool_header_t *real = exa_hdr_at(h, -(int32_t)back);
        if (back != 0 && back < EXA_CACHE_LINE / EXA_POOL_BLOCK_SIZE && exa_page_of(real) == exa_page_of(h)) {
            h = real;
            shadowed = 1;
        }
    }
    if ((a & (EXA_POOL_BLOCK_SIZE - 1)) != 0 || exa_h_type(h) == EXA_HDR_SHADOW) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_BAD_ADDRESS, a, 0, 0);
        return 0;
    }
    uint32_t type = exa_h_type(h), size = exa_h_size(h);
    if (type == EXA_HDR_FREE || type == EXA_HDR_CACHED) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_ALREADY_FREE, 0, exa_h_word(h), a);
        return 0;
    }
    if (type > EXA_HDR_TYPE_MAX || exa_h_index(h) != d->index ||
        (shadowed && ((type - 1) & EXA_PT_CACHE_ALIGNED) == 0)) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_HEADER_CORRUPT, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    if (size == 0) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_SIZE_ZERO, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    uintptr_t end = exa_page_of(h) + EXA_PAGE_SIZE;
    exa_pool_header_t *next = exa_hdr_at(h, (int32_t)size);
    if ((uintptr_t)next > end || (uintptr_t)p >= (uintptr_t)next) {
        if (report) _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_SIZE_TOO_LARGE, (uintptr_t)h, exa_h_word(h), 0);
        return 0;
    }
    if ((uintptr_t)next != end && exa_h_prev(next) != size && !_exa_checks_off() /* VERIFIER HOOK: level off */) {
        if (report)
            _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_NEIGHBOURS_DISAGREE, (uintptr_t)h, 0, (uintptr_t)next);
        return 0;
    }
    return exa_found_small(f, d, h, type, size);
}

static void exa_release_big_found(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_big_t *big);

/* exa_free_caller_allowed: what the caller may free: IRQL, a tag that is not protected,
 * not strict mode (whose tag comparison the checked path makes). */
exa_inline int exa_free_caller_allowed(uint32_t tag, uint32_t type) {
    return (tag & EXA_TAG_PROTECTED) == 0 && !_exa_irql_too_high_for_pool((int32_t)type) &&
           exa_atomic_load_relaxed(&_exa_pool_option_bits) == 0;
}

/* A freed single-page big allocation (its record already deleted, counted) into the
 * thread's page cache: 1 when kept. */
exa_inline int exa_big_page_keep(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_big_t *big) {
    uint32_t di = d->index;
    if (big->pages != 1 || big->direct || t == NULL || di >= EXA_POOL_FRONT_DESCRIPTORS || t->npages[di] >= 8) return 0;
    exa_track_poison((void *)big->va, EXA_PAGE_SIZE);
    t->pages[di][t->npages[di]++] = big->va;
    return 1;
}

/* The whole free, every check reported. check_tag: 0 ExFreePool, 1 ExFreePoolWithTag, 2 the
 * block's own allocator (lookaside default free, which frees with the list's tag: nothing
 * to compare). */
static exa_noinline void exa_release_checked(void *block, uint32_t tag, int check_tag) {
    exa_pool_ready();
    /* VERIFIER HOOK (special_pool.c): special pool blocks are recognised at every level. */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_SPECIAL) && _exa_special_release(block, tag, check_tag)) return;
    exa_found_t f;
    if (!exa_find_block(block, &f, 1)) return;
    if (exa_unlikely(_exa_irql_too_high_for_pool(f.type))) {
        (void)_exa_irql_pool_violation(EXA_BAD_POOL_CALLER_FREE_IRQL, f.type, (uintptr_t)block);
        return;
    }
    /* Spec 1.6: a protected tag must be passed exactly (ExFreePool passes none); in strict
     * mode any non-zero tag must match, protection bit aside. */
    if (check_tag != 2) {
        uint32_t passed = check_tag ? tag : 0;
        int bad = (f.tag & EXA_TAG_PROTECTED) ? passed != f.tag
                                               : (_exa_pool_strict() && passed != 0 &&
                                                  (passed & ~EXA_TAG_PROTECTED) != f.tag);
        if (exa_unlikely(bad)) {
            _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_WRONG_TAG, (uintptr_t)block, f.tag, passed);
            return;
        }
    }
    if (f.account != NULL && exa_unlikely(!_exa_quota_valid(f.account))) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_BAD_QUOTA_OWNER, (uintptr_t)block, f.tag,
                      (uintptr_t)f.account);
        return;
    }
    /* VERIFIER HOOK (verifier.c): lookaside lists inside the block (0xC4/0xCC), free fill. */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_VERIFIER) &&
        !_exa_verifier_freeing(block, f.h != NULL ? (exa_u64)((uintptr_t)exa_hdr_at(f.h, (int32_t)exa_h_size(f.h)) -
                                                             (uintptr_t)block)
                                                  : f.charged))
        return;
    /* Every check passed: now change things. */
    exa_pool_thread_t *t = exa_thread();
    exa_pool_desc_t *d = f.desc;
    exa_pool_t *pool = d->pool;
    if (f.h != NULL) {
        exa_tag_count_t(t, f.tag, pool->kind, 1, f.charged);
        if (f.account != NULL) _exa_quota_return(f.account, pool->kind, f.charged);
        exa_block_put(d, t, f.h, exa_h_size(f.h));
        return;
    }
    /* Big: remove the record (a racing second free finds none), then the pages. */
    exa_big_stripe_t *st = exa_big_stripe(f.big.va);
    _exa_lock(&st->lock);
    exa_big_t *e = exa_big_find(st, f.big.va);
    if (e != NULL) exa_big_delete(st, e);
    _exa_unlock(&st->lock);
    if (e == NULL) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_HEADER, EXA_BPH_UNTRACKED, f.big.va, 0, 0);
        return;
    }
    exa_release_big_found(t, d, &f.big);
}

/* A big allocation whose record this free deleted: count it, then keep its page in the
 * thread's page cache, or give the pages back (run or mapping). */
static void exa_release_big_found(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_big_t *big) {
    exa_pool_t *pool = d->pool;
    void *block = (void *)big->va;
    exa_tag_count_t(t, big->tag, pool->kind, 1, big->pages << EXA_PAGE_SHIFT);
    exa_atomic_fetch_add_relaxed(&pool->xbig, (exa_u64)0 - 1);
    if (exa_big_page_keep(t, d, big)) return;
    size_t bytes = (size_t)big->pages << EXA_PAGE_SHIFT;
    if (big->direct) {
        exa_track_unpoison(block, bytes);
        _exa_os_pages_unmap(block, bytes);
        exa_atomic_fetch_add_relaxed(&pool->xmapped, (exa_u64)0 - bytes);
        if (big->direct & 2u) exa_atomic_fetch_add_relaxed(&pool->xlocked, (exa_u64)0 - bytes);
        _exa_pool_unreserve(pool, big->pages);
    } else {
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        exa_pages_give(d, big->va, (uint32_t)big->pages, &rel);
        _exa_unlock(&d->lock);
        exa_release_run(&rel);
    }
    _exa_pool_changed(pool);
}

/* The common free of a big allocation (page-aligned pointer): look up and delete the record
 * under one stripe lock when the caller may free it (IRQL, an unprotected tag, not strict
 * mode); anything else to the checked path, which reports. */
static exa_noinline void exa_release_big(void *block, uint32_t tag, int check_tag) {
    exa_pool_thread_t *t = exa_tls_pool;
    uintptr_t va = (uintptr_t)block;
    if (t != NULL && va != 0) {
        exa_big_stripe_t *st = exa_big_stripe(va);
        exa_big_t big;
        _exa_lock(&st->lock);
        exa_big_t *e = exa_big_find(st, va);
        int ok = e != NULL && exa_free_caller_allowed(e->tag, (uint32_t)e->type);
        if (ok) {
            big = *e;
            exa_big_delete(st, e);
        }
        _exa_unlock(&st->lock);
        if (ok) {
            exa_release_big_found(t, exa_desc_by_index(big.desc), &big);
            return;
        }
    }
    exa_release_checked(block, tag, check_tag);
}

/* The fast free's checks, grouped so that a check level can wrap them. Each is 1 when the
 * block passes; a block that fails any goes to the checked path, which repeats every check
 * one by one and reports the first failure (nothing is reported here).
 *
 * exa_free_header_sound: the header of a small block of a front descriptor (PoolType an
 * allocated, uncharged type; PoolIndex the segment's descriptor; BlockSize within the
 * page; the next header's PreviousSize agreeing). *size gets BlockSize. */
exa_inline int exa_free_header_sound(uint32_t di, exa_pool_header_t *h, uint32_t type, uint32_t *size) {
    uint32_t units = exa_h_size(h);
    *size = units;
    /* The block's end as an offset in its page: 256 units = the page's end. */
    uint32_t end_units = (uint32_t)(((uintptr_t)h & (EXA_PAGE_SIZE - 1)) >> EXA_POOL_BLOCK_SHIFT) + units;
    return type <= EXA_PT_HEADER_MASK && (type & EXA_PT_QUOTA) == 0 && di < EXA_POOL_FRONT_DESCRIPTORS &&
           exa_h_index(h) == di && units >= 2 && end_units <= EXA_POOL_PAGE_UNITS &&
           (end_units == EXA_POOL_PAGE_UNITS || exa_h_prev(exa_hdr_at(h, (int32_t)units)) == units);
}

/* exa_free_caller_allowed for a sound block of front descriptor di (whose PoolType is paged
 * exactly when di is the paged descriptor): the IRQL limit by table. */
_Static_assert(EXA_DESC_PAGED == 2 && EXA_POOL_FRONT_DESCRIPTORS == 3, "front descriptors 0, 1 non-paged, 2 paged");
exa_inline int exa_free_caller_allowed_front(uint32_t tag, uint32_t di) {
    static const uint8_t max_irql[EXA_POOL_FRONT_DESCRIPTORS] = {EXA_DISPATCH_LEVEL, EXA_DISPATCH_LEVEL, EXA_APC_LEVEL};
    return (tag & EXA_TAG_PROTECTED) == 0 && _exa_tls_irql <= max_irql[di] &&
           exa_atomic_load_relaxed(&_exa_pool_option_bits) == 0;
}

/* The rest of a fast free that missed the tag memo or found its cache full (checks passed,
 * nothing changed yet). */
static exa_noinline void exa_release_fast_miss(exa_pool_thread_t *t, exa_pool_desc_t *d, exa_pool_header_t *h,
                                               uint32_t size) {
    exa_tag_count_memo(t, h->pool_tag, d->kind, 1, (exa_u64)size * EXA_POOL_BLOCK_SIZE);
    exa_block_put(d, t, h, size);
}

/* The common free, inline: an unprotected, uncharged small block of a front descriptor,
 * sound header, IRQL allowed, not strict mode, a thread with a cache with room. It only
 * proceeds when each of those holds and leaves everything else (and every report) to the
 * checked path. The segment map lookup comes first, so a foreign pointer is never read. */
exa_inline void exa_release(void *block, uint32_t tag, int check_tag) {
    if (exa_unlikely(exa_atomic_load_relaxed(&_exa_diag_sites) != 0)) _exa_diag_note_free(block);  /* diag.h */
    uintptr_t a = (uintptr_t)block;
    exa_pool_thread_t *t = exa_tls_pool;
    exa_pool_segment_t *s;
    if (exa_likely((a & (EXA_POOL_BLOCK_SIZE - 1)) == 0 && (a & (EXA_PAGE_SIZE - 1)) != 0 && t != NULL &&
                   (s = exa_segmap_find(a)) != NULL)) {
        exa_pool_desc_t *d = s->desc;
        uint32_t di = d->index;  /* read once: the header's atomic loads would make it reload */
        exa_pool_header_t *h = (exa_pool_header_t *)block - 1;
        uint32_t owner_tag = h->pool_tag, type = exa_h_type(h) - 1, size;
        if (exa_likely(exa_free_header_sound(di, h, type, &size) && exa_free_caller_allowed_front(owner_tag, di))) {
            exa_u64 bytes = (exa_u64)size * EXA_POOL_BLOCK_SIZE;
            exa_front_t *c = &t->front[di][size];
            /* The tag is not protected, and only the paged front descriptor is paged. */
            static const exa_u64 kind_bits[EXA_POOL_FRONT_DESCRIPTORS] = {
                (exa_u64)1 << 40, (exa_u64)1 << 40, ((exa_u64)1 << 40) | ((exa_u64)EXA_POOL_KIND_PAGED << 32)};
            exa_u64 key = (exa_u64)owner_tag | kind_bits[di];
            if (exa_likely(c->count < c->limit && t->cached_bytes + bytes <= EXA_FRONT_BUDGET &&
                           exa_tag_count_hit(t, key, 1, bytes))) {
                exa_h_set_type(h, EXA_HDR_CACHED);
                exa_track_free_block(h, size);
                *exa_cache_link(h) = c->head;
                c->head = h;
                c->count++;
                t->cached_bytes += bytes;
                return;
            }
            exa_release_fast_miss(t, d, h, size);
            return;
        }
    }
    /* VERIFIER HOOK (special_pool.c): special pool blocks (VERIFY_START ones are page-aligned). */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_SPECIAL) && _exa_special_release(block, tag, check_tag)) return;
    if ((a & (EXA_PAGE_SIZE - 1)) == 0) {
        exa_release_big(block, tag, check_tag);
        return;
    }
    exa_release_checked(block, tag, check_tag);
}

void _exa_pool_release(void *block, uint32_t tag, int check_tag) { exa_release(block, tag, check_tag); }

/* exa_pool_free / ExFreePool: the same with the constants in place (the checked path's
 * arguments need no register across the fast path). */
void _exa_pool_release_untagged(void *block) { exa_release(block, 0, 0); }

exa_status_t _exa_pool_describe(const void *block, exa_pool_block_info_t *out) {
    exa_pool_ready();
    exa_status_t special_status; /* VERIFIER HOOK (special_pool.c) */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_SPECIAL) && _exa_special_describe(block, out, &special_status))
        return special_status;
    exa_found_t f;
    if (!exa_find_block(block, &f, 0)) return EXA_STATUS_INVALID_PARAMETER;
    memset(out, 0, sizeof *out);
    out->tag = f.tag;
    out->pool_type = f.type;
    out->pool = f.desc->pool->kind;
    out->charged = f.charged;
    if (f.h != NULL) {
        out->size = (exa_u64)((uintptr_t)exa_hdr_at(f.h, (int32_t)exa_h_size(f.h)) - (uintptr_t)block);
    } else {
        out->size = f.charged;
        out->big = 1;
    }
    out->quota_charged = f.account != NULL;
    out->account = f.account;
    return EXA_STATUS_SUCCESS;
}

/* ==========================================================================================
 * Trim and statistics
 * ======================================================================================== */

exa_u64 _exa_pool_trim(void) {
    exa_pool_ready();
    exa_u64 n = 0;
    if (exa_tls_pool != NULL) n = exa_thread_drain(exa_tls_pool);
    for (uint32_t i = 0; i < EXA_DESC_MAX; i++) {
        exa_pool_desc_t *d = exa_desc_by_index(i);
        if (d == NULL) continue;
        exa_release_t rel = {NULL};
        _exa_lock(&d->lock);
        while (d->empty != NULL) {
            exa_pool_segment_t *s = d->empty;
            exa_seg_unlink(&d->empty, s);
            d->empty_count--;
            d->segments--;
            s->next = rel.segments;
            rel.segments = s;
        }
        _exa_unlock(&d->lock);
        exa_release_run(&rel);
    }
    return n;
}

void _exa_pool_desc_totals(int32_t kind, exa_u64 *small_pages, exa_u64 *cached_bytes) {
    exa_pool_ready();
    *small_pages = *cached_bytes = 0;
    for (uint32_t i = 0; i < EXA_DESC_MAX; i++) {
        exa_pool_desc_t *d = exa_desc_by_index(i);
        if (d == NULL || d->pool->kind != kind) continue;
        _exa_lock(&d->lock);
        *small_pages += d->small_pages;
        *cached_bytes += (exa_u64)d->empty_count * EXA_POOL_SEGMENT_SIZE;
        _exa_unlock(&d->lock);
    }
}

uint32_t _exa_pool_executable_ok(void) { return exa_atomic_load_relaxed(&exa_executable_refused) == 0; }

/* ==========================================================================================
 * Diagnostics walkers (diag.c: allocation dumps, snapshots, the bug-check dump)
 *
 * Every live block: big allocations from the big table, then small blocks page by page over
 * the segment map. A page counts as small-block pages only when its headers chain exactly to
 * its end (pages of a big run inside a segment do not). fatal != 0: locks are only tried, and
 * what is locked is skipped (the fatal path may already hold one). The callback runs under a
 * descriptor or stripe lock and must not call the pool.
 * ======================================================================================== */


static int exa_walk_page(exa_pool_desc_t *d, uintptr_t page, _exa_diag_block_fn fn, void *ctx) {
    /* A free page is poisoned whole under ASan (headers never are): nothing to read there. */
    if (exa_track_poisoned((const void *)page, EXA_POOL_BLOCK_SIZE)) return 1;
    /* First check that the page is a chain of headers, then report its live blocks. */
    uint32_t at = 0, prev = 0;
    while (at < EXA_POOL_PAGE_UNITS) {
        exa_pool_header_t *h = (exa_pool_header_t *)(page + (uintptr_t)at * EXA_POOL_BLOCK_SIZE);
        uint32_t size = exa_h_size(h), type = exa_h_type(h);
        if (size == 0 || at + size > EXA_POOL_PAGE_UNITS || exa_h_prev(h) != prev || exa_h_index(h) != d->index ||
            (type > EXA_HDR_TYPE_MAX && type != EXA_HDR_CACHED))
            return 1;
        prev = size;
        at += size;
    }
    for (at = 0; at < EXA_POOL_PAGE_UNITS;) {
        exa_pool_header_t *h = (exa_pool_header_t *)(page + (uintptr_t)at * EXA_POOL_BLOCK_SIZE);
        uint32_t size = exa_h_size(h), type = exa_h_type(h);
        if (type != EXA_HDR_FREE && type != EXA_HDR_CACHED) {
            uint32_t pt = (type - 1) & ~(uint32_t)EXA_PT_QUOTA;
            uintptr_t user = (uintptr_t)(h + 1);
            if (pt & EXA_PT_CACHE_ALIGNED) user = (user + EXA_CACHE_LINE - 1) & ~(uintptr_t)(EXA_CACHE_LINE - 1);
            exa_diag_block_t b;
            b.address = user;
            b.size = (exa_u64)((uintptr_t)exa_hdr_at(h, (int32_t)size) - user);
            b.charged = (exa_u64)size * EXA_POOL_BLOCK_SIZE;
            b.tag = h->pool_tag;
            b.pool_type = (int32_t)pt | d->type_bits;
            b.pool = d->kind;
            b.big = 0;
            if (!fn(&b, ctx)) return 0;
        }
        at += size;
    }
    return 1;
}

int _exa_pool_walk(_exa_diag_block_fn fn, void *ctx, int fatal) {
    if (exa_atomic_load_acquire(&exa_pool_state) != 2) return 1;  /* nothing allocated yet */
    int complete = 1;
    for (uint32_t i = 0; i < EXA_BIG_STRIPES; i++) {
        exa_big_stripe_t *st = &exa_big_table[i];
        if (!_exa_lock_or_try(&st->lock, fatal)) {
            complete = 0;
            continue;
        }
        for (uint32_t j = 0; j < st->capacity; j++) {
            const exa_big_t *e = &st->slots[j];
            if (e->va == 0) continue;
            exa_pool_desc_t *d = exa_desc_by_index(e->desc);
            exa_diag_block_t b = {e->va, e->pages * EXA_PAGE_SIZE, e->pages * EXA_PAGE_SIZE, e->tag,
                                  e->type & ~(int32_t)EXA_PT_QUOTA, d != NULL ? d->kind : 0, 1};
            if (!fn(&b, ctx)) {
                _exa_unlock(&st->lock);
                return 0;
            }
        }
        _exa_unlock(&st->lock);
    }
    const uintptr_t leaf_entries = (uintptr_t)1 << EXA_MAP_LEAF_BITS;
    for (uintptr_t top = 0; top < ((uintptr_t)1 << EXA_MAP_TOP_BITS); top++) {
        exa_atomic(uintptr_t) *leaf = (exa_atomic(uintptr_t) *)exa_atomic_load_acquire(&exa_segmap[top]);
        if (leaf == NULL) continue;
        for (uintptr_t k = 0; k < leaf_entries; k++) {
            exa_pool_segment_t *s = (exa_pool_segment_t *)exa_atomic_load_acquire(&leaf[k]);
            if (s == NULL) continue;
            exa_pool_desc_t *d = s->desc;
            if (!_exa_lock_or_try(&d->lock, fatal)) {
                complete = 0;
                continue;
            }
            if ((exa_pool_segment_t *)exa_atomic_load_acquire(&leaf[k]) == s) {
                for (uint32_t pg = 0; pg < EXA_POOL_SEGMENT_PAGES; pg++) {
                    if (s->free_mask & ((uint64_t)1 << pg)) continue;
                    if (!exa_walk_page(d, s->base + (uintptr_t)pg * EXA_PAGE_SIZE, fn, ctx)) {
                        _exa_unlock(&d->lock);
                        return 0;
                    }
                }
            }
            _exa_unlock(&d->lock);
        }
    }
    if (!_exa_special_walk(fn, ctx, fatal)) complete = 0; /* special pool blocks (special_pool.c) */
    return complete;
}

/* The tag and size of the block that contains `address` (a live small block's header, a
 * big allocation's record), without locks beyond a tried stripe lock. 0 when unknown. */
int _exa_pool_block_of(uintptr_t address, exa_diag_block_t *out) {
    if (_exa_special_block_of(address, out)) return 1;
    if (exa_atomic_load_acquire(&exa_pool_state) != 2) return 0;
    exa_pool_segment_t *s = exa_segmap_find(address);
    if (s != NULL && (address & (EXA_PAGE_SIZE - 1)) != 0) {
        exa_pool_desc_t *d = s->desc;
        uintptr_t page = exa_page_of((const void *)address);
        for (uint32_t at = 0; at < EXA_POOL_PAGE_UNITS;) {
            exa_pool_header_t *h = (exa_pool_header_t *)(page + (uintptr_t)at * EXA_POOL_BLOCK_SIZE);
            uint32_t size = exa_h_size(h);
            if (size == 0 || at + size > EXA_POOL_PAGE_UNITS) return 0;
            uintptr_t end = (uintptr_t)exa_hdr_at(h, (int32_t)size);
            if (address < end) {
                uint32_t type = exa_h_type(h);
                out->address = (uintptr_t)(h + 1);
                out->size = (exa_u64)(end - out->address);
                out->charged = (exa_u64)size * EXA_POOL_BLOCK_SIZE;
                out->tag = h->pool_tag;
                out->pool_type = (type >= 1 && type <= EXA_HDR_TYPE_MAX)
                                     ? ((int32_t)((type - 1) & ~(uint32_t)EXA_PT_QUOTA) | d->type_bits)
                                     : -1;
                out->pool = d->kind;
                out->big = 0;
                return 1;
            }
            at += size;
        }
        return 0;
    }
    uintptr_t va = address & ~(uintptr_t)(EXA_PAGE_SIZE - 1);
    exa_big_stripe_t *st = exa_big_stripe(va);
    if (!_exa_lock_or_try(&st->lock, 1)) return 0;
    exa_big_t *e = exa_big_find(st, va);
    int found = e != NULL;
    if (found) {
        exa_pool_desc_t *d = exa_desc_by_index(e->desc);
        exa_diag_block_t b = {e->va, e->pages * EXA_PAGE_SIZE, e->pages * EXA_PAGE_SIZE, e->tag,
                              e->type & ~(int32_t)EXA_PT_QUOTA, d != NULL ? d->kind : 0, 1};
        *out = b;
    }
    _exa_unlock(&st->lock);
    return found;
}
