/* exalloc - native core
 * pool/pool.h: what the pool floor offers (docs/pool.md), to its own files and to the floors
 * above: the entry points, the allocation request, the two pools, tags, quota, the walkers.
 * The allocator's own internals are in pool/core.h (which lists its files).
 *
 *   options.c   the options word (strict mode)
 *   limits.c    the two pools (non-paged, paged): capacity, watermarks, priorities,
 *               condition events, the locked-memory record
 *   tag.c       per-tag accounting (PoolMon's columns)
 *   quota.c     quota accounts (NT processes)
 *   mm.c        MmQuerySystemSize / MmIsThisAnNtAsSystem
 *   doors.c ... walk.c  the allocator (pool/core.h)
 *
 * Within the floor, files call downward only: doors.c -> allocate.c, free.c, walk.c ->
 * front.c -> blocks.c -> segment.c, big.c -> limits.c, tag.c, quota.c, options.c
 * (scripts/layers.sh rejects any loop). */
#ifndef EXA_INTERNAL_POOL_H
#define EXA_INTERNAL_POOL_H

#include "base/base.h"
#include "base/hooks.h"

/* ---------------------------------------------------------------------------------------
 * Geometry (x64 NT, docs/pool.md#alignment and #header). PAGE_SIZE is NT's logical page, whatever the host's.
 * ------------------------------------------------------------------------------------- */
enum {
    EXA_PAGE_SIZE = 4096,
    EXA_PAGE_SHIFT = 12,
    EXA_POOL_BLOCK_SIZE = 16,                 /* POOL_BLOCK_SIZE = sizeof(POOL_HEADER) */
    EXA_POOL_BLOCK_SHIFT = 4,
    EXA_POOL_PAGE_UNITS = EXA_PAGE_SIZE / EXA_POOL_BLOCK_SIZE, /* 256 block units a page */
    EXA_POOL_MAX_ALLOC = EXA_PAGE_SIZE - 2 * EXA_POOL_BLOCK_SIZE, /* 4064: larger is "big" */
    EXA_POOL_SEGMENT_PAGES = 64,              /* pages per segment: one 64-bit free mask */
    EXA_POOL_SEGMENT_SHIFT = EXA_PAGE_SHIFT + 6,
    EXA_POOL_SEGMENT_SIZE = EXA_PAGE_SIZE * EXA_POOL_SEGMENT_PAGES, /* 256 KiB, so aligned */
    EXA_POOL_MAX_NODES = 64,                  /* NUMA nodes with their own descriptors */
    EXA_POOL_FRONT_DESCRIPTORS = 3            /* descriptors with a per-thread front cache */
};

/* POOL_TYPE bits (NT's internal masks, docs/pool.md#pool-type). */
enum {
    EXA_PT_PAGED = 0x001,
    EXA_PT_MUST_SUCCEED = 0x002,
    EXA_PT_CACHE_ALIGNED = 0x004,
    EXA_PT_QUOTA = 0x008,          /* header only: the block carries a quota charge */
    EXA_PT_SESSION = 0x020,
    EXA_PT_NX = 0x200,
    EXA_PT_HEADER_MASK = 0x02F,    /* the bits an 8-bit header PoolType keeps (NX does not fit) */
    EXA_PT_TYPE_MASK = 0x227       /* the bits of a POOL_TYPE proper (no modifiers) */
};

#define EXA_TAG_PROTECTED 0x80000000u
#define EXA_TAG_NONE 0x656E6F4Eu   /* 'enoN': shows as "None" (untagged routines) */
#define EXA_TAG_BIG 0x20474942u    /* 'BIG ' as stored bytes "BIG " */

/* ---------------------------------------------------------------------------------------
 * Options (exa_pool_set_options): strict mode applies the rules NT's Driver Verifier
 * enforces (docs/pool.md#failure, docs/diagnostics.md#check-levels).
 * ------------------------------------------------------------------------------------- */
extern exa_atomic(uint32_t) _exa_pool_option_bits;
exa_inline int _exa_pool_strict(void) {
    return (exa_atomic_load_relaxed(&_exa_pool_option_bits) & EXA_POOL_OPTION_STRICT) != 0;
}

/* Internal bit of _exa_pool_option_bits set at the verifier level: it keeps every free off
 * the inline fast path, so that the checked path's hooks see it. */
#define EXA_POOL_OPTION_VERIFIER_INTERNAL 0x100u
/* Internal bit set while allocation sites are recorded (diag.c): the doors stand aside so
 * that every allocation and free reaches the site hooks. */
#define EXA_POOL_OPTION_SITES_INTERNAL 0x200u
/* Set the bits of `mask` in the options word to those of `value`, the others untouched
 * (atomically with respect to every other change). */
void _exa_pool_options_replace(uint32_t mask, uint32_t value);

/* ---------------------------------------------------------------------------------------
 * One allocation request, as every entry point (legacy, ExAllocatePool2/3, lookaside
 * misses) reduces to it. allocate.c carries it out.
 * ------------------------------------------------------------------------------------- */
enum {
    EXA_REQ_RAISE = 0x01,          /* raise (as well as return NULL) on failure */
    EXA_REQ_ZERO = 0x02,           /* zero the requested bytes */
    EXA_REQ_COLD = 0x04,           /* POOL_COLD_ALLOCATION */
    EXA_REQ_QUOTA = 0x08,          /* charge the thread's current quota account */
    EXA_REQ_PRIORITY = 0x10,       /* `priority` applies (TagPriority, Pool3) */
    EXA_REQ_SPECIAL = 0x100        /* POOL_FLAG_SPECIAL_POOL was passed */
};

typedef struct exa_pool_request_s {
    exa_u64 size;         /* bytes asked for (0 already mapped to 1 by the caller) */
    uint32_t tag;         /* as stored: PROTECTED bit included */
    int32_t type;         /* POOL_TYPE: EXA_PT_TYPE_MASK bits only */
    uint32_t options;     /* EXA_REQ_* */
    int32_t priority;     /* EX_POOL_PRIORITY with the special-pool placement bits removed */
    int32_t node;         /* preferred NUMA node, -1 for none */
    uint32_t node_strict; /* 1: fail rather than use another node */
} exa_pool_request_t;

/* Carry out a request: the block, or NULL after raising (EXA_REQ_RAISE) or bug check 0x41
 * (must-succeed). Checks IRQL, must-succeed, limits, priority and quota. A node that is
 * not strict falls back to any node. */
void *_exa_pool_allocate_request(const exa_pool_request_t *r);

/* The fast doors (doors.c). The common requests (1..EXA_PAGE_SIZE bytes of
 * NonPagedPoolNx, NonPagedPool or PagedPool, a non-zero tag, no quota, priority, node,
 * alignment or must-succeed, not strict mode for the legacy routine) are served straight
 * from the calling thread's front cache (small blocks) or page cache (one-page big
 * allocations); anything else, and a request the caches cannot serve (no thread state yet,
 * IRQL too high, an empty cache), goes to the full path, which validates everything and
 * reports what is wrong:
 *   _exa_pool_flags_entry   ExAllocatePool2 without extended parameters -> _exa_pool_flags_full
 *   _exa_pool_legacy_entry  ExAllocatePoolWithTag -> _exa_pool_legacy_full (how = TAGGED) */
void *_exa_pool_flags_entry(exa_u64 flags, exa_u64 size, uint32_t tag);
void *_exa_pool_legacy_entry(int32_t pool_type, exa_u64 size, uint32_t tag);
void *_exa_pool_flags_full(exa_u64 flags, exa_u64 size, uint32_t tag, const exa_pool_parameter_t *params, uint32_t count);
void *_exa_pool_legacy_full(int32_t pool_type, exa_u64 size, uint32_t tag, uint32_t how, int32_t priority);

/* The POOL_FLAGS a fast ExAllocatePool2 may carry besides its one pool flag
 * (RAISE_ON_FAILURE cannot matter when the cache serves). */
enum { EXA_FLAGS_FAST_EXTRA = EXA_POOL_FLAG_UNINITIALIZED | EXA_POOL_FLAG_RAISE_ON_FAILURE };

/* The two front doors (doors.c). _exa_pool_legacy: a POOL_TYPE routine; `how` says
 * which (EXA_LEGACY_*), `priority` applies with EXA_LEGACY_PRIORITY. _exa_pool_flags:
 * ExAllocatePool2/3. */
enum { EXA_LEGACY_TAGGED = 1, EXA_LEGACY_QUOTA = 2, EXA_LEGACY_PRIORITY = 4 };
void *_exa_pool_legacy(int32_t pool_type, exa_u64 size, uint32_t tag, uint32_t how, int32_t priority);
void *_exa_pool_flags(exa_u64 flags, exa_u64 size, uint32_t tag, const exa_pool_parameter_t *params, uint32_t count);

/* exa_struct_size for the pool's structs (0 for an id that is not one of them). */
exa_u64 _exa_pool_struct_size(int32_t struct_id);

/* ExFreePool (check_tag 0) / ExFreePoolWithTag (check_tag 1, tag as passed). */
void _exa_pool_release(void *block, uint32_t tag, int check_tag);
/* _exa_pool_release(block, tag, 1), compiled for that constant (ExFreePoolWithTag). */
void _exa_pool_release_tagged(void *block, uint32_t tag);
/* _exa_pool_release(block, 0, 0), compiled for those constants. */
void _exa_pool_release_untagged(void *block);

/* Validate `block` without changing anything; EXA_STATUS_INVALID_PARAMETER when it is not
 * a live pool block. */
exa_status_t _exa_pool_describe(const void *block, exa_pool_block_info_t *out);

/* The calling thread's front caches back to the descriptors; empty segments back to the OS.
 * Returns the number of blocks released. */
exa_u64 _exa_pool_trim(void);

/* ---------------------------------------------------------------------------------------
 * The two pools (limits.c). A pool owns capacity and conditions; the allocator's
 * descriptors (one per protection and NUMA node) draw pages from it.
 * ------------------------------------------------------------------------------------- */
typedef struct exa_pool_s {
    /* written on every page-level change */
    exa_cache_aligned exa_atomic(exa_u64) xpages;  /* pages held by blocks (small + big) */
    exa_atomic(exa_u64) xpeak;                     /* highest xpages */
    exa_atomic(exa_u64) xbig;                      /* live big allocations */
    exa_atomic(exa_u64) xmapped;                   /* bytes mapped from the host */
    exa_atomic(exa_u64) xlocked;                   /* bytes of those locked in RAM */
    exa_atomic(exa_u64) xlock_failures;            /* mappings the host refused to lock */
    exa_atomic(exa_u64) xcold;                     /* cold hints the host took */
    exa_atomic(exa_u64) xnode_refusals;            /* node bindings the host refused (served unbound) */
    exa_atomic(uint32_t) xlock_status;             /* status of the last refusal, 0 = none */
    exa_atomic(uint32_t) xcondition;               /* EXA_POOL_CONDITION_* | changes << 2 */
    /* limits, in pages (exa_pool_set_limits; read on page changes and priority checks) */
    exa_cache_aligned exa_atomic(exa_u64) xcapacity;
    exa_atomic(exa_u64) xlow, xlow_clear, xhigh, xhigh_clear, xcritical, xreserve;
    exa_atomic(uint32_t) xlock_policy;             /* EXA_POOL_LOCK_* */
    exa_atomic(uint32_t) xcached_segments;         /* empty segments kept per descriptor */
    /* condition delivery (limits.c) */
    exa_atomic(uint32_t) xdelivering;              /* 1 while one thread runs the callbacks */
    exa_atomic(uint32_t) xdelivered;               /* bits last delivered (written by it) */
    int32_t kind;                                  /* EXA_POOL_KIND_* */
} exa_pool_t;

exa_pool_t *_exa_pool_of_kind(int32_t kind);
exa_inline int _exa_pool_kind_valid(int32_t pool) { return pool == EXA_POOL_KIND_NON_PAGED || pool == EXA_POOL_KIND_PAGED; }
/* Pages left below the capacity when `used` are held. */
exa_inline exa_u64 _exa_pool_free_pages(exa_pool_t *p, exa_u64 used) {
    exa_u64 cap = exa_atomic_load_relaxed(&p->xcapacity);
    return cap > used ? cap - used : 0;
}
/* The Low / High condition bits of xcondition (the rest counts changes, in steps of 4). */
enum { EXA_CONDITION_BITS = EXA_POOL_CONDITION_LOW | EXA_POOL_CONDITION_HIGH };

/* Take `pages` pages of capacity: 1, or 0 when the pool is at its limit (capacity, plus
 * the must-succeed reserve when must_succeed). _exa_pool_unreserve gives them back. After
 * either, once no lock is held, call _exa_pool_changed. */
int  _exa_pool_reserve(exa_pool_t *p, exa_u64 pages, int must_succeed);
void _exa_pool_unreserve(exa_pool_t *p, exa_u64 pages);
/* Re-evaluate the Low/High conditions and run the callbacks of any change (no lock held). */
void _exa_pool_changed(exa_pool_t *p);
/* 1 when a request of this priority may proceed (docs/pool.md#pool-flags: priorities as
 * watermarks). */
int  _exa_pool_priority_allows(exa_pool_t *p, int32_t priority);
/* Record a lock attempt on `bytes` of fresh memory: errno 0 = locked. */
void _exa_pool_note_lock(exa_pool_t *p, exa_u64 bytes, int error);
/* Bind `bytes` of fresh, untouched memory at `a` to NUMA node `node` (docs/pool.md#placement):
 * 1 when the memory may serve the request (bound, or the host cannot bind at all and the
 * refusal is counted), 0 when the binding failed for the node itself. */
int  _exa_pool_bind_node(exa_pool_t *p, void *a, size_t bytes, uint32_t node);

/* walk.c, for the statistics: pages carved into small blocks and bytes of cached empty
 * segments over the pool's descriptors; 1 unless the host refused executable memory. */
void _exa_pool_desc_totals(int32_t kind, exa_u64 *small_pages, exa_u64 *cached_bytes);
uint32_t _exa_pool_executable_ok(void);

/* ---------------------------------------------------------------------------------------
 * Per-tag accounting (tag.c). Each thread keeps deltas in a small direct-mapped table of
 * slots written only by itself; a slot that must change keys folds its counts into the
 * global table under the tag lock, and a snapshot sums the global table and every thread's
 * slots under the same lock. Keys strip PROTECTED_POOL.
 * ------------------------------------------------------------------------------------- */
enum { EXA_TAG_SLOTS = 64 };

typedef struct exa_tag_slot_s {
    exa_u64 key;                         /* tag | kind << 32 | 1 << 40; 0 = unused */
    exa_atomic(exa_u64) xallocs, xfrees; /* owner-written (relaxed load + store) */
    exa_atomic(exa_u64) xalloc_bytes, xfree_bytes;
} exa_tag_slot_t;

typedef struct exa_tag_cache_s {
    exa_tag_slot_t slot[EXA_TAG_SLOTS];
    struct exa_tag_cache_s *next, *prev; /* registered caches (tag lock) */
    uint32_t registered;
} exa_tag_cache_t;

exa_inline exa_u64 _exa_tag_key(uint32_t tag, int32_t kind) {
    return (exa_u64)(tag & ~EXA_TAG_PROTECTED) | ((exa_u64)(uint32_t)kind << 32) | ((exa_u64)1 << 40);
}
exa_inline uint32_t _exa_tag_slot_of(exa_u64 key) {
    return (uint32_t)(((key & 0xFFFFFFFFu) * 0x9E3779B1u + (key >> 32)) >> 26) & (EXA_TAG_SLOTS - 1);
}
exa_inline void _exa_tag_owner_add(exa_atomic(exa_u64) *c, exa_u64 v) { exa_atomic_owner_add_u64(c, v); }

/* Slow path of _exa_tag_count: cache NULL (no thread state) or a slot holding another key. */
void _exa_tag_count_slow(exa_tag_cache_t *c, exa_u64 key, int is_free, exa_u64 bytes);

/* Owner only: count one operation in a slot. */
exa_inline void _exa_tag_slot_add(exa_tag_slot_t *s, int is_free, exa_u64 bytes) {
    _exa_tag_owner_add(is_free ? &s->xfrees : &s->xallocs, 1);
    _exa_tag_owner_add(is_free ? &s->xfree_bytes : &s->xalloc_bytes, bytes);
}

/* Count one allocation (is_free 0) or free (1) of `bytes` (the block size, header
 * included; whole pages for big allocations) under tag/kind. */
exa_inline void _exa_tag_count(exa_tag_cache_t *c, uint32_t tag, int32_t kind, int is_free, exa_u64 bytes) {
    exa_u64 key = _exa_tag_key(tag, kind);
    if (exa_likely(c != NULL)) {
        exa_tag_slot_t *s = &c->slot[_exa_tag_slot_of(key)];
        if (exa_likely(s->key == key)) {
            _exa_tag_slot_add(s, is_free, bytes);
            return;
        }
    }
    _exa_tag_count_slow(c, key, is_free, bytes);
}

/* Register a thread's cache (zeroed) / fold it into the global table and unregister it. */
void _exa_tag_cache_attach(exa_tag_cache_t *c);
void _exa_tag_cache_detach(exa_tag_cache_t *c);

/* ---------------------------------------------------------------------------------------
 * Quota accounts (quota.c). A charged small block records its account in the header's
 * ProcessBilled word and holds a reference on it until the charge is returned.
 * ------------------------------------------------------------------------------------- */

/* The calling thread's current account (the process account unless switched). */
exa_quota_account_t *_exa_quota_current(void);
int _exa_quota_is_system(const exa_quota_account_t *a);
/* 1: `bytes` charged to pool `kind` (and a reference taken); 0: over the limit, nothing
 * changed. */
int  _exa_quota_charge(exa_quota_account_t *a, int32_t kind, exa_u64 bytes);
void _exa_quota_return(exa_quota_account_t *a, int32_t kind, exa_u64 bytes);
/* 1 when `a` is a live account (the ProcessBilled check on free). */
int  _exa_quota_valid(const exa_quota_account_t *a);

/* ---------------------------------------------------------------------------------------
 * Bug-check codes and parameters the pool reports (NT's numbers, docs/pool.md#integrity).
 * ------------------------------------------------------------------------------------- */
enum {
    EXA_BUGCHECK_BAD_POOL_HEADER = 0x19,
    EXA_BUGCHECK_MUST_SUCCEED_POOL_EMPTY = 0x41
};
enum {
    EXA_BPC_HEADER_CORRUPT = 0x01,       /* 0xC2: p2 header, p3 first header word */
    EXA_BPC_ALREADY_FREE = 0x07,         /* 0xC2: p3 header word, p4 block */
    EXA_BPC_WRONG_TAG = 0x0A,            /* 0xC2: p2 block, p3 stored tag, p4 passed tag */
    EXA_BPC_BAD_QUOTA_OWNER = 0x0D,      /* 0xC2: p2 block, p3 tag, p4 owner */
    EXA_BPC_NEVER_IN_POOL = 0x42,        /* 0xC2: p2 address */
    EXA_BPC_INVALID_ADDRESS = 0x46,      /* 0xC2: p2 address (NULL) */
    EXA_BPC_BAD_ADDRESS = 0x99,          /* 0xC2: p2 address (inconsistent shadow header) */
    EXA_BPC_MUST_SUCCEED = 0x9A,         /* 0xC2: p2 pool type, p3 size, p4 tag */
    EXA_BPC_TAG_ZERO = 0x9B,             /* 0xC2: p2 pool type, p3 size, p4 tag */
    EXA_BPC_TAG_BIG = 0x9C,              /* 0xC2: as 0x9B */
    EXA_BPC_TAG_NO_ALNUM = 0x9D,         /* 0xC2: as 0x9B */
    EXA_BPH_LIST_CORRUPT = 0x03,         /* 0x19: p2 entry, p3 flink's blink, p4 blink's flink */
    EXA_BPH_NEIGHBOURS_DISAGREE = 0x05,  /* 0x19: p2 entry, p4 the other entry */
    EXA_BPH_PREVIOUS_TOO_LARGE = 0x06,   /* 0x19: p2 entry */
    EXA_BPH_SIZE_ZERO = 0x08,            /* 0x19: p2 entry */
    EXA_BPH_SIZE_TOO_LARGE = 0x09,       /* 0x19: p2 entry */
    EXA_BPH_FREE_MODIFIED = 0x0D,        /* 0x19: p2 entry, p3 header word, p4 list index */
    EXA_BPH_UNTRACKED = 0x22,            /* 0x19: p2 address with no big-page entry */
    EXA_VERIFIER_ZERO_BYTES = 0x00       /* 0xC4: p2 IRQL, p3 pool type, p4 size */
};

/* ---------------------------------------------------------------------------------------
 * The pool behind lookaside misses when the list has no allocate callback (pool/doors.c):
 * ExAllocatePoolWithTag with the list's type (modifier bits honoured) and tag, and a free
 * with the list's tag (the block's own, so a protected tag passes).
 * ------------------------------------------------------------------------------------- */
void *_exa_pool_allocate(int32_t pool_type, uint64_t size, uint32_t tag);
void  _exa_pool_free(void *block);

/* Pool type helpers. */
exa_inline int32_t _exa_pool_base_type(int32_t pool_type) {
    return pool_type & ~(int32_t)(EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE | EXA_POOL_RAISE_IF_ALLOCATION_FAILURE |
                                  EXA_POOL_COLD_ALLOCATION | EXA_POOL_ZERO_ALLOCATION);
}
int _exa_pool_type_is_valid_for_lookaside(int32_t base_type);

/* ---------------------------------------------------------------------------------------
 * Walkers over the live blocks, for the diagnostics floor.
 * ------------------------------------------------------------------------------------- */
/* One live pool block as a walker reports it. */
typedef struct exa_diag_block_s {
    uintptr_t address;   /* the caller's pointer */
    exa_u64 size;        /* bytes usable from address */
    exa_u64 charged;     /* bytes counted for the tag (header included; big: whole pages) */
    uint32_t tag;        /* as allocated */
    int32_t pool_type;   /* POOL_TYPE (NX included, quota bit removed); -1 unknown */
    int32_t pool;        /* exa_pool_kind_e */
    uint32_t big;        /* 1 for a big allocation */
} exa_diag_block_t;

/* Return 0 to stop the walk. Runs under a pool lock: must not call the pool. */
typedef int (*_exa_diag_block_fn)(const exa_diag_block_t *block, void *context);

/* walk.c. Every live block (big allocations first, then small blocks in address order per
 * segment). fatal: locks only tried, held ones skipped. Returns 1 when every part was seen
 * (and the callback never stopped), else 0. */
int _exa_pool_walk(_exa_diag_block_fn fn, void *context, int fatal);
/* walk.c. The block containing `address`, best effort and lock-free but for a tried stripe
 * lock (the bug-check dump's culprit). 1 when found. */
int _exa_pool_block_of(uintptr_t address, exa_diag_block_t *out);

#if EXA_DEBUG
/* Debug tier (base/debug.h, pool/validate_pool.c): every descriptor's free lists (encoded
 * links, free headers of the list's size, inside a carved page of one of the descriptor's
 * segments, no cycle, the non-empty bitmap) and its carved pages (a chain of headers summing
 * to a page; the free blocks of two units or more are exactly the listed ones; as many
 * carved pages as the descriptor counts). */
EXA_DEBUG_API int _exa_debug_pool_validate(char *why, size_t cap);
#endif

#endif /* EXA_INTERNAL_POOL_H */
