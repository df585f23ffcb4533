/* exalloc - native core
 * pool/core.h: what the allocator's own files share: the block and header format,
 * descriptors, segments and the segment map, the big-allocation table, the per-thread front
 * caches, and the inline steps both the fast doors and the checked paths use.
 *
 *   doors.c     every entry: fast doors, validation of POOL_FLAGS / POOL_TYPE, the full
 *               paths, the fast free, block queries
 *   allocate.c  the allocation request (the core of every allocation)
 *   free.c      the checked free and its reports, big-allocation frees
 *   blocks.c    small blocks: free lists, split, coalesce
 *   segment.c   descriptors, segments, the segment map, page runs
 *   big.c       the big-allocation table
 *   front.c     per-thread state: front caches, page caches, tag memo
 *   walk.c      trim, descriptor totals, the diagnostics walkers
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
 * Cache-aligned types (exalloc's own layout within docs/pool.md#alignment): the block is sized for the worst-case padding
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
 * Fast doors: ExAllocatePool2 with exactly one pool flag (plus UNINITIALIZED /
 * RAISE_ON_FAILURE) and ExAllocatePoolWithTag with NonPagedPool, PagedPool or NonPagedPoolNx,
 * a non-zero tag and 1..4096 bytes, are recognised with a few compares
 * (_exa_pool_flags_entry, _exa_pool_legacy_entry) and served from the thread's caches: a
 * small block is a pop (its header was formatted when it was carved and every cached block's
 * ProcessBilled is 0, so only PoolTag and PoolType are written), a one-page big allocation a
 * page from the thread's page cache (up to 8 per front descriptor) plus one big-table
 * insertion. Anything else, and a miss, takes the full path, which validates everything and
 * reports. The fast free (doors.c, exa_release_in) finds the segment through the thread's
 * memo of the segment map's last answer (valid while no segment has left the map: a global
 * epoch), runs the default level's header checks with a few compares and one table load
 * (exa_free_irql_limit folds PoolType's validity, the quota bit and the IRQL rule), and
 * pushes; a page-aligned pointer looks up and deletes its big-table record under one stripe
 * lock (_exa_release_big). Tag counts go to the thread's slot through one-entry memos, one
 * per front descriptor, compared by tag (every count of a thread goes through them, so none
 * outlives its slot's key). A thread with no state of its own points at _exa_thread_none,
 * whose empty caches make every fast path miss. Pages in a thread's page cache stay reserved
 * (in_use, counted as big pages) until exa_pool_trim or thread exit gives them back.
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
 * quota registry's stripe locks (quota.c) and the condition-callback lock (limits.c).
 * There is no lock order because no lock is ever taken while another is held: capacity,
 * conditions, quota charges and the segment map are lock-free, segments are unmapped and
 * tags counted after the descriptor lock is dropped, and callbacks run with no lock held.
 * A descriptor lock is also dropped while a segment is mapped.
 */
#ifndef EXA_POOL_CORE_H
#define EXA_POOL_CORE_H

#include "pool/pool.h"
#include "base/track.h"

#include <stddef.h>
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

/* LIST_ENTRY after the header of a free block; links are the entries' addresses | 1. */
typedef struct exa_pool_link_s {
    uintptr_t flink, blink;
} exa_pool_link_t;

/* ==========================================================================================
 * Descriptors and segments
 * ======================================================================================== */

typedef struct exa_pool_desc_s exa_pool_desc_t;

typedef struct exa_pool_segment_s {
    uintptr_t base;                          /* EXA_POOL_SEGMENT_SIZE-aligned */
    uint64_t free_mask;                      /* bit i: page i free (descriptor lock) */
    exa_pool_desc_t *desc;
    struct exa_pool_segment_s *next, *prev;  /* partial or empty list (descriptor lock) */
    uint32_t front_key;                      /* desc->index for a front descriptor, else 0x100 | index:
                                              * equal to a sound header's PoolIndex byte exactly
                                              * when the block may take the fast free */
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

/* ------------------------------------------------------------------------------------------
 * Segment map: address >> 18 -> segment, two levels over 48-bit addresses. Leaves are
 * created once and never freed; entries are published with release stores.
 * ---------------------------------------------------------------------------------------- */
enum {
    EXA_MAP_KEY_BITS = 48 - EXA_POOL_SEGMENT_SHIFT,  /* 30 */
    EXA_MAP_LEAF_BITS = 14,
    EXA_MAP_TOP_BITS = EXA_MAP_KEY_BITS - EXA_MAP_LEAF_BITS
};

/* Segments a locked operation freed; released once the lock is dropped. */
typedef struct exa_release_s {
    exa_pool_segment_t *segments;
} exa_release_t;

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

/* ==========================================================================================
 * Per-thread state: front caches and tag deltas
 * ======================================================================================== */

typedef struct exa_front_s {
    exa_pool_header_t *head;  /* newest cached block */
    uint32_t room, limit;     /* room = limit - blocks cached; limit 0 for 0 and 1 units */
} exa_front_t;

/* An invalid memo tag: a protected tag never takes the fast paths' memo. */
#define EXA_MEMO_NONE EXA_TAG_PROTECTED

typedef struct exa_pool_thread_s {
    exa_front_t front[EXA_POOL_FRONT_DESCRIPTORS][EXA_POOL_PAGE_UNITS];
    int64_t budget;                    /* EXA_FRONT_BUDGET less the bytes in all front caches */
    /* Tag memo, one per front descriptor (0 and 1 are non-paged, 2 paged): the slot of the
     * last (unprotected) tag counted through that descriptor; memo_tag EXA_MEMO_NONE: none. */
    uint32_t memo_tag[EXA_POOL_FRONT_DESCRIPTORS];
    exa_tag_slot_t *memo_slot[EXA_POOL_FRONT_DESCRIPTORS];
    /* Segment memo: the segment map's answer for the last segment a fast free looked up
     * (address >> EXA_POOL_SEGMENT_SHIFT, its front_key), valid while _exa_segment_epoch
     * still equals seg_epoch (no segment has left the map since; the epoch is odd, moving by
     * 2, so seg_epoch 0 never holds); seg_key UINTPTR_MAX: none (no address has that key). */
    uintptr_t seg_key;
    uint32_t seg_front, seg_epoch;
    uintptr_t pages[EXA_POOL_FRONT_DESCRIPTORS][8];  /* cached single pages (big allocations) */
    uint32_t npages[EXA_POOL_FRONT_DESCRIPTORS];
    exa_tag_cache_t tags;
} exa_pool_thread_t;

exa_inline uint32_t exa_front_count(const exa_front_t *c) { return c->limit - c->room; }
_Static_assert(sizeof(exa_front_t) == EXA_POOL_BLOCK_SIZE, "front[di] indexed by a block's bytes");

/* Bytes one thread may hold in its front caches, all sizes together. Larger budgets measured
 * slower on a mixed-size workload (more memory touched), smaller ones drain too often. */
enum { EXA_FRONT_BUDGET = 512 * 1024 };

enum { EXA_TLS_NONE = 0, EXA_TLS_LIVE = 1, EXA_TLS_GONE = 2 };

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

/* exa_free_caller_allowed for a sound block of front descriptor di (whose PoolType is paged
 * exactly when di is the paged descriptor): the IRQL limit by table. */
_Static_assert(EXA_DESC_PAGED == 2 && EXA_POOL_FRONT_DESCRIPTORS == 3, "front descriptors 0, 1 non-paged, 2 paged");

/* ==========================================================================================
 * Shared between the allocator's files (file named after each)
 * ======================================================================================== */

extern exa_pool_desc_t _exa_front_descs[EXA_POOL_FRONT_DESCRIPTORS];  /* segment.c */
extern exa_atomic(uintptr_t) _exa_descs[EXA_DESC_MAX];  /* segment.c */
extern exa_atomic(uint32_t) _exa_executable_refused;  /* segment.c */
void _exa_pool_exec_refused(void);  /* segment.c: the host refused executable memory (once) */
extern exa_atomic(uint32_t) _exa_pool_state;  /* segment.c */
exa_noinline void _exa_pool_init_slow(void);  /* segment.c */
exa_noinline exa_pool_desc_t *_exa_desc_for_node(uint32_t node, int executable);  /* segment.c */
extern exa_atomic(uintptr_t) _exa_segmap[(size_t)1 << EXA_MAP_TOP_BITS];  /* segment.c */
/* Bumped whenever a segment leaves the segment map (segment.c). */
extern exa_atomic(uint32_t) _exa_segment_epoch;  /* segment.c */
void _exa_seg_unlink(exa_pool_segment_t **head, exa_pool_segment_t *s);  /* segment.c */
void _exa_release_run(exa_release_t *r);  /* segment.c */
uintptr_t _exa_pages_take(exa_pool_desc_t *d, uint32_t k, int must_succeed, exa_status_t *status);  /* segment.c */
void _exa_pages_give(exa_pool_desc_t *d, uintptr_t a, uint32_t k, exa_release_t *rel);  /* segment.c */
exa_pool_header_t *_exa_small_take(exa_pool_desc_t *d, uint32_t units, int must_succeed, exa_status_t *status);  /* blocks.c */
int _exa_small_give(exa_pool_desc_t *d, exa_pool_header_t *h, exa_release_t *rel);  /* blocks.c */
extern exa_big_stripe_t _exa_big_table[EXA_BIG_STRIPES];  /* big.c */
exa_big_t *_exa_big_find(exa_big_stripe_t *st, uintptr_t va);  /* big.c */
int _exa_big_insert(const exa_big_t *e);  /* big.c */
void _exa_big_delete(exa_big_stripe_t *st, exa_big_t *slot);  /* big.c */
int _exa_big_lookup(uintptr_t va, exa_big_t *out);  /* big.c */
extern exa_pool_thread_t _exa_thread_none;  /* front.c */
extern exa_thread_local exa_pool_thread_t *_exa_tls_pool;  /* front.c: &_exa_thread_none when the thread has no state */
exa_noinline exa_pool_thread_t *_exa_thread_create(void);  /* front.c */
void _exa_front_drain(exa_pool_thread_t *t, exa_pool_desc_t *d, exa_front_t *c, uint32_t count);  /* front.c */
exa_u64 _exa_thread_drain(exa_pool_thread_t *t);  /* front.c */
exa_noinline exa_pool_header_t *_exa_front_refill(exa_pool_thread_t *t, exa_pool_desc_t *d, exa_front_t *c,
                                                         uint32_t units, exa_status_t *status);  /* front.c */
exa_noinline void _exa_tag_count_miss(exa_pool_thread_t *t, uint32_t memo, exa_u64 key, int is_free,
                                      exa_u64 bytes);  /* front.c */
exa_noinline int _exa_find_big(const void *p, exa_found_t *f, int report);  /* free.c */
exa_noinline int _exa_find_unusual(const void *p, exa_pool_desc_t *d, exa_found_t *f, int report);  /* free.c */
exa_noinline void _exa_release_checked(void *block, uint32_t tag, int check_tag);  /* free.c */
exa_noinline void _exa_release_big(void *block, uint32_t tag, int check_tag);  /* free.c */

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
exa_inline uint64_t exa_h_word(exa_pool_header_t *h) {
    return (uint64_t)exa_h_prev(h) | (uint64_t)exa_h_index(h) << 8 | (uint64_t)exa_h_size(h) << 16 |
           (uint64_t)exa_h_type(h) << 24;
}

/* A whole new header (lock held, or a block nobody else can see). */
exa_inline void exa_h_init(exa_pool_header_t *h, uint32_t prev, uint32_t index, uint32_t size, uint32_t type) {
    exa_h_set_prev(h, prev);
    exa_atomic_store_relaxed(&h->xpool_index, (uint8_t)index);
    exa_h_set_size(h, size);
    exa_h_set_type(h, type);
}

exa_inline exa_pool_link_t *exa_link_of(exa_pool_header_t *h) { return (exa_pool_link_t *)(void *)(h + 1); }

exa_inline exa_pool_header_t *exa_hdr_of_link(exa_pool_link_t *l) { return (exa_pool_header_t *)(void *)l - 1; }

exa_inline uintptr_t exa_enc(exa_pool_link_t *l) { return (uintptr_t)l | 1u; }

exa_inline exa_pool_link_t *exa_dec(uintptr_t v) { return (exa_pool_link_t *)(v & ~(uintptr_t)1); }

/* The front cache links cached blocks through the first data word. */
exa_inline exa_pool_header_t **exa_cache_link(exa_pool_header_t *h) { return (exa_pool_header_t **)(void *)(h + 1); }

/* ASan (track.h): a free or cached block keeps its header and links addressable. */
exa_inline void exa_track_free_block(exa_pool_header_t *h, uint32_t units) {
    exa_track_unpoison(h, units >= 2 ? 2 * EXA_POOL_BLOCK_SIZE : EXA_POOL_BLOCK_SIZE);
    if (units > 2) exa_track_poison(exa_hdr_at(h, 2), (size_t)(units - 2) * EXA_POOL_BLOCK_SIZE);
}

/* ASan: a block handed out: its data addressable (then exa_place may write a shadow
 * header), and after placement the tail past [p, p + n) poisoned again. */
exa_inline void exa_track_hand_out(exa_pool_header_t *h, uint32_t units) {
    exa_track_unpoison(h + 1, (size_t)(units - 1) * EXA_POOL_BLOCK_SIZE);
}

exa_inline void exa_track_tail(exa_pool_header_t *h, uint32_t units, const char *p, exa_u64 n) {
    const char *end = (const char *)exa_hdr_at(h, (int32_t)units);
    exa_track_poison(p + n, (size_t)(end - (p + n)));
}

exa_inline exa_pool_desc_t *exa_desc_by_index(uint32_t index) {
    return index < EXA_DESC_MAX ? (exa_pool_desc_t *)exa_atomic_load_acquire(&_exa_descs[index]) : NULL;
}

exa_inline void exa_pool_ready(void) {
    if (exa_unlikely(exa_atomic_load_acquire(&_exa_pool_state) != 2)) _exa_pool_init_slow();
}

exa_inline exa_pool_segment_t *exa_segmap_find(uintptr_t a) {
    uintptr_t key = a >> EXA_POOL_SEGMENT_SHIFT;
    if (key >> EXA_MAP_KEY_BITS) return NULL;
    exa_atomic(uintptr_t) *leaf = (exa_atomic(uintptr_t) *)exa_atomic_load_acquire(&_exa_segmap[key >> EXA_MAP_LEAF_BITS]);
    if (leaf == NULL) return NULL;
    return (exa_pool_segment_t *)exa_atomic_load_acquire(&leaf[key & (((uintptr_t)1 << EXA_MAP_LEAF_BITS) - 1)]);
}

exa_inline uint64_t exa_run_mask(uint32_t k, uint32_t at) {
    return (k >= 64 ? EXA_SEG_ALL_FREE : (((uint64_t)1 << k) - 1)) << at;
}

/* ==========================================================================================
 * Free lists and small blocks (descriptor lock held)
 * ======================================================================================== */

exa_inline void exa_bit_set(uint64_t *bits, uint32_t i) { bits[i >> 6] |= (uint64_t)1 << (i & 63); }

exa_inline void exa_bit_clear(uint64_t *bits, uint32_t i) { bits[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

exa_inline exa_big_stripe_t *exa_big_stripe(uintptr_t va) {
    return &_exa_big_table[(va >> EXA_PAGE_SHIFT) & (EXA_BIG_STRIPES - 1)];
}

exa_inline uint32_t exa_big_home(uintptr_t va, uint32_t capacity) {
    return (uint32_t)(((uint64_t)(va >> EXA_PAGE_SHIFT) * 0x9E3779B97F4A7C15ull) >> 32) & (capacity - 1);
}

/* The calling thread's state, created on first use; NULL when it cannot have one. */
exa_inline exa_pool_thread_t *exa_thread(void) {
    exa_pool_thread_t *t = _exa_tls_pool;
    return exa_likely(t != &_exa_thread_none) ? t : _exa_thread_create();
}

/* An owned (EXA_HDR_CACHED) block of `units` units from d, or NULL with *status. */
exa_inline exa_pool_header_t *exa_block_get(exa_pool_desc_t *d, exa_pool_thread_t *t, uint32_t units, int must_succeed,
                                            exa_status_t *status) {
    if (exa_likely(t != NULL && d->index < EXA_POOL_FRONT_DESCRIPTORS && !must_succeed)) {
        exa_front_t *c = &t->front[d->index][units];
        exa_pool_header_t *h = c->head;
        if (exa_likely(h != NULL)) {
            c->head = *exa_cache_link(h);
            c->room++;
            t->budget += (int64_t)units * EXA_POOL_BLOCK_SIZE;
            return h;
        }
        return _exa_front_refill(t, d, c, units, status);
    }
    _exa_lock(&d->lock);
    exa_pool_header_t *h = _exa_small_take(d, units, must_succeed, status);
    _exa_unlock(&d->lock);
    _exa_pool_changed(d->pool);
    return h;
}

/* Release an owned block: into the front cache, or to the descriptor. */
exa_inline void exa_block_put(exa_pool_desc_t *d, exa_pool_thread_t *t, exa_pool_header_t *h, uint32_t units) {
    exa_u64 bytes = (exa_u64)units * EXA_POOL_BLOCK_SIZE;
    if (exa_likely(t != NULL && d->index < EXA_POOL_FRONT_DESCRIPTORS)) {
        exa_front_t *c = &t->front[d->index][units];
        int full = c->room == 0 || t->budget < (int64_t)bytes;
        uint32_t count = exa_front_count(c);
        if (exa_likely(!full) || count != 0) {
            /* Full, or the thread is at its budget: half of this size goes back in one batch. */
            if (exa_unlikely(full)) _exa_front_drain(t, d, c, (count + 1) / 2);
            exa_h_set_type(h, EXA_HDR_CACHED);
            h->process_billed = 0; /* every cached block's ProcessBilled is 0: the fast allocate writes none */
            exa_track_free_block(h, units);
            *exa_cache_link(h) = c->head;
            c->head = h;
            c->room--;
            t->budget -= (int64_t)bytes;
            return;
        }
    }
    exa_release_t rel = {NULL};
    _exa_lock(&d->lock);
    (void)_exa_small_give(d, h, &rel);
    _exa_unlock(&d->lock);
    _exa_release_run(&rel);
    _exa_pool_changed(d->pool);
}

/* 1 when counted through memo `memo` (a front descriptor's index; the tag as passed, so a
 * protected tag never hits); 0: the caller must call _exa_tag_count_miss. */
exa_inline int exa_tag_count_hit(exa_pool_thread_t *t, uint32_t memo, uint32_t tag, int is_free, exa_u64 bytes) {
    if (exa_unlikely(t->memo_tag[memo] != tag)) return 0;
    _exa_tag_slot_add(t->memo_slot[memo], is_free, bytes);
    return 1;
}

/* The memo a count of pool `kind` goes through: 2 (the paged front descriptor's) or 0. */
exa_inline uint32_t exa_memo_of_kind(int32_t kind) { return kind == EXA_POOL_KIND_PAGED ? EXA_DESC_PAGED : EXA_DESC_NX; }

exa_inline void exa_tag_count_memo(exa_pool_thread_t *t, uint32_t tag, int32_t kind, int is_free, exa_u64 bytes) {
    uint32_t memo = exa_memo_of_kind(kind);
    if (!exa_tag_count_hit(t, memo, tag, is_free, bytes))
        _exa_tag_count_miss(t, memo, _exa_tag_key(tag, kind), is_free, bytes);
}

/* Count through the memo when the thread has state (every count of a thread must, or the
 * memo could outlive its slot's key). */
exa_inline void exa_tag_count_t(exa_pool_thread_t *t, uint32_t tag, int32_t kind, int is_free, exa_u64 bytes) {
    if (exa_likely(t != NULL)) exa_tag_count_memo(t, tag, kind, is_free, bytes);
    else _exa_tag_count(NULL, tag, kind, is_free, bytes);
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
    if (exa_unlikely((a & (EXA_PAGE_SIZE - 1)) == 0)) return _exa_find_big(p, f, report);
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
        return _exa_find_unusual(p, d, f, report);
    uintptr_t end = exa_page_of(h) + EXA_PAGE_SIZE;
    exa_pool_header_t *next = exa_hdr_at(h, (int32_t)size);
    if (exa_unlikely((uintptr_t)next > end || ((uintptr_t)next != end && exa_h_prev(next) != size)))
        return _exa_find_unusual(p, d, f, report);
    return exa_found_small(f, d, h, type, size);
}

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
/* A single-page big allocation from the thread's page cache (the page is still reserved
 * for the pool): one big-table insertion, no descriptor lock. NULL when the table could
 * not grow (the caller then takes the ordinary path, which reports). */
exa_inline void *exa_big_page_cached(exa_pool_thread_t *t, exa_pool_desc_t *d, const exa_pool_request_t *r) {
    uint32_t di = d->index;
    exa_big_t e = {t->pages[di][t->npages[di] - 1], 1, r->tag, (r->type & ~EXA_PT_NX) | d->type_bits, di, 0};
    if (!_exa_big_insert(&e)) return NULL;
    t->npages[di]--;
    exa_track_unpoison((void *)e.va, (size_t)r->size);
    if (r->options & EXA_REQ_ZERO) memset((void *)e.va, 0, (size_t)r->size);
    exa_atomic_fetch_add_relaxed(&d->pool->xbig, (exa_u64)1);
    return (void *)e.va;
}

#endif /* EXA_POOL_CORE_H */
