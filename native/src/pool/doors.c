/* exalloc - native core
 * pool/doors.c: every entry into the pool, in one file, so that a request runs one way:
 * door -> fast path -> validation -> the request (allocate.c) or the checked free (free.c).
 *
 *   fast doors         _exa_pool_flags_entry (ExAllocatePool2 without extended parameters)
 *                      and _exa_pool_legacy_entry (ExAllocatePoolWithTag) serve the common
 *                      requests from the thread's caches (pool/core.h, "Fast doors") and
 *                      hand anything else to the full paths below; the fast free
 *                      (_exa_pool_release) likewise falls back to the checked free;
 *
 *   _exa_pool_legacy   POOL_TYPE routines (ExAllocatePool, ...WithTag, ...WithQuota(Tag),
 *                      ...WithTagPriority, the ...Zero wrappers, lookaside misses):
 *                      modifier bits, tag 0 -> "None", zero bytes -> one byte, strict-mode
 *                      bug checks (docs/pool.md#api, #pool-type, #tags, #failure,
 *                      #zero-size; docs/edge-cases.md#case-1, #case-3 to #case-5, #case-13);
 *   _exa_pool_flags    POOL_FLAGS routines (ExAllocatePool2/3): required vs optional bits,
 *                      pool bits, tag non-zero, extended parameters (docs/pool.md#pool-flags;
 *                      docs/edge-cases.md#case-2, #case-6 to #case-8).
 *
 * Legacy -> request: the base type keeps bits 0x1 paged, 0x2 must-succeed, 0x4 cache
 * aligned, 0x20 session and 0x200 NX (meaningless for paged pool: dropped); the quota
 * routines strip POOL_QUOTA_FAIL_INSTEAD_OF_RAISE (the same bit as the internal quota
 * mask) and raise unless it was given; the others raise only with
 * POOL_RAISE_IF_ALLOCATION_FAILURE; legacy memory is uninitialised unless
 * POOL_ZERO_ALLOCATION.
 *
 * Flags -> request (the table in docs/pool.md#pool-flags): NON_PAGED -> NonPagedPoolNx, NON_PAGED_EXECUTE ->
 * NonPagedPool, PAGED -> PagedPool, plus CACHE_ALIGNED and SESSION; SESSION | NON_PAGED |
 * CACHE_ALIGNED has no pool type and fails. Zeroed unless UNINITIALIZED. A request these
 * routines reject raises EXA_STATUS_INVALID_PARAMETER when RAISE_ON_FAILURE is set
 * (exalloc's own choice: NT does not say which status). */
#include "pool/core.h"


/* ==========================================================================================
 * Fast doors and the fast free
 *
 * The fast allocate: a small block of a front descriptor straight from the thread's front
 * cache. The door has already reduced the request to one of the three plain types
 * (NonPagedPoolNx, NonPagedPool, PagedPool: no quota, priority, node, cache alignment or
 * must-succeed), a non-zero tag and 1..4064 bytes, outside strict mode. Everything this path
 * skips is something those requests cannot need: the block already holds its page (capacity
 * and conditions do not change), nothing is charged.
 * ======================================================================================== */

/* The rest of a fast allocate whose tag missed the memo (out of line: the inline part
 * then needs no stack frame). */
static exa_noinline __attribute__((returns_nonnull)) void *exa_allocate_fast_miss(exa_pool_thread_t *t, uint32_t di,
                                                                                   uint32_t tag, char *p, exa_u64 n,
                                                                                   uint32_t zero) {
    uint32_t units = exa_h_size((exa_pool_header_t *)(void *)p - 1);
    exa_u64 key = _exa_tag_key(tag, di == EXA_DESC_PAGED ? EXA_POOL_KIND_PAGED : EXA_POOL_KIND_NON_PAGED);
    _exa_tag_count_miss(t, di, key, 0, (exa_u64)units * EXA_POOL_BLOCK_SIZE);
    return zero ? memset(p, 0, (size_t)n) : p;
}

/* The fast core: the block for a request of `type` (EXA_PT_NX, 0 or EXA_PT_PAGED), n in
 * 1..EXA_POOL_MAX_ALLOC, from front descriptor `di`'s cache; NULL when it cannot serve. */
exa_inline void *exa_allocate_fast(uint32_t di, int32_t type, exa_u64 n, uint32_t tag, uint32_t zero) {
    exa_pool_thread_t *t = _exa_tls_pool; /* &_exa_thread_none (empty caches) when it has no state */
    if (exa_unlikely(_exa_irql_too_high_for_pool(type))) return NULL;
    uint32_t units = (uint32_t)((n + 2 * EXA_POOL_BLOCK_SIZE - 1) >> EXA_POOL_BLOCK_SHIFT);
    exa_front_t *c = &t->front[di][units];
    exa_pool_header_t *h = c->head;
    if (exa_unlikely(h == NULL)) return NULL;
    exa_u64 bytes = (exa_u64)units * EXA_POOL_BLOCK_SIZE;
    c->head = *exa_cache_link(h);
    c->room++;
    t->budget += (int64_t)bytes;
    /* The header: PreviousSize, PoolIndex and BlockSize are already right (the block was
     * formatted when it was carved) and ProcessBilled is 0 (every cached block's is:
     * exa_block_put, _exa_front_refill); only PoolTag and PoolType change. */
    h->pool_tag = tag;
    exa_track_hand_out(h, units);
    char *p = (char *)(h + 1);
    exa_track_tail(h, units, p, n);
    exa_h_set_type(h, (uint32_t)(type & EXA_PT_HEADER_MASK) + 1);
    if (exa_unlikely(!exa_tag_count_hit(t, di, tag, 0, bytes))) return exa_allocate_fast_miss(t, di, tag, p, n, zero);
    return zero ? memset(p, 0, (size_t)n) : p;
}

exa_inline int exa_fast_size(exa_u64 size) { return size - 1 < (exa_u64)EXA_POOL_MAX_ALLOC; }

/* The fast door for a one-page big request (4065..4096 bytes) of a front descriptor: a page
 * from the thread's page cache, one big-table insertion. NULL when the cache is empty. */
static exa_noinline void *exa_allocate_page_fast(uint32_t di, int32_t type, exa_u64 n, uint32_t tag, uint32_t zero) {
    exa_pool_thread_t *t = _exa_tls_pool; /* &_exa_thread_none: no pages */
    if (t->npages[di] == 0 || _exa_irql_too_high_for_pool(type)) return NULL;
    exa_pool_request_t r = {n, tag, type, zero ? (uint32_t)EXA_REQ_ZERO : 0u, EXA_POOL_PRIORITY_HIGH, -1, 0};
    exa_pool_desc_t *d = &_exa_front_descs[di];
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
/* The doors stand aside, sending every request through the full path, while any bit of the
 * options word is set: allocation sites recorded (diag.c sets EXA_POOL_OPTION_SITES_INTERNAL
 * with _exa_diag_sites), the verifier level (special pool, low-resources simulation, fill
 * patterns: verifier.c sets EXA_POOL_OPTION_VERIFIER_INTERNAL with it) and strict mode
 * (whose rules the full path applies). One load. */
exa_inline int exa_doors_open(void) { return exa_atomic_load_relaxed(&_exa_pool_option_bits) == 0; }

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
        } else if (size != 0 && size <= EXA_PAGE_SIZE) { /* zero bytes: the full path's rule */
            return exa_flags_page_door(flags, size, tag);
        }
    }
    return _exa_pool_flags_full(flags, size, tag, NULL, 0);
}

void *_exa_pool_legacy_entry(int32_t pool_type, exa_u64 size, uint32_t tag) {
    if (exa_likely(tag != 0 && exa_doors_open())) {
        if (exa_likely(exa_fast_size(size))) {
            void *p = NULL;
            if (exa_likely(pool_type == EXA_PT_NX)) p = exa_allocate_fast(EXA_DESC_NX, EXA_PT_NX, size, tag, 0);
            else if (pool_type == EXA_PT_PAGED) p = exa_allocate_fast(EXA_DESC_PAGED, EXA_PT_PAGED, size, tag, 0);
            else if (pool_type == 0) p = exa_allocate_fast(EXA_DESC_EXECUTE, 0, size, tag, 0);
            if (exa_likely(p != NULL)) return p;
        } else if (size != 0 && size <= EXA_PAGE_SIZE) {
            return exa_legacy_page_door(pool_type, size, tag);
        }
    }
    return _exa_pool_legacy_full(pool_type, size, tag, EXA_LEGACY_TAGGED, 0);
}

/* The fast free's checks. A block takes the fast free only when every check of the checked
 * path would pass; anything else goes to the checked path, which repeats every check one by
 * one and reports the first failure (nothing is reported here). The checks, in the order
 * the fast free reads them:
 *
 *   - the pointer is 16-byte aligned, not page-aligned, and inside a pool segment (the
 *     segment map, before anything at the pointer is read);
 *   - PoolIndex is the segment's descriptor and that is a front descriptor (one compare:
 *     the segment's front_key never equals an index byte otherwise);
 *   - PoolType is an allocated, uncharged type the current IRQL may free (one table load:
 *     exa_free_irql_limit, below);
 *   - BlockSize keeps the block within its page, and the next header's PreviousSize agrees
 *     (or the block ends the page); BlockSize 0 or 1 is left to the front cache, whose
 *     room for them is always 0, so the miss path sends them to the checked path;
 *   - the tag is not protected, no strict mode, verifier level or site recording
 *     (exa_doors_open).
 *
 * exa_free_irql_limit[PoolType byte]: 0 for a byte the fast free refuses (free, cached,
 * shadow, charged to a quota, out of range), else the highest IRQL allowed + 1:
 * DISPATCH_LEVEL + 1 for non-paged types, APC_LEVEL + 1 for paged ones. */
#define EXA_FIL(b) \
    ((b) == 0 || (b) > EXA_HDR_TYPE_MAX || (((b) - 1) & EXA_PT_QUOTA) ? 0 \
     : (((b) - 1) & EXA_PT_PAGED) ? EXA_APC_LEVEL + 1 : EXA_DISPATCH_LEVEL + 1)
#define EXA_FIL4(b) EXA_FIL(b), EXA_FIL((b) + 1), EXA_FIL((b) + 2), EXA_FIL((b) + 3)
#define EXA_FIL16(b) EXA_FIL4(b), EXA_FIL4((b) + 4), EXA_FIL4((b) + 8), EXA_FIL4((b) + 12)
static const uint8_t exa_free_irql_limit[256] = {
    EXA_FIL16(0x00), EXA_FIL16(0x10), EXA_FIL16(0x20), EXA_FIL16(0x30),
    EXA_FIL16(0x40), EXA_FIL16(0x50), EXA_FIL16(0x60), EXA_FIL16(0x70),
    EXA_FIL16(0x80), EXA_FIL16(0x90), EXA_FIL16(0xA0), EXA_FIL16(0xB0),
    EXA_FIL16(0xC0), EXA_FIL16(0xD0), EXA_FIL16(0xE0), EXA_FIL16(0xF0)};
#undef EXA_FIL16
#undef EXA_FIL4
#undef EXA_FIL
_Static_assert(EXA_HDR_CACHED > EXA_HDR_TYPE_MAX && EXA_HDR_SHADOW > EXA_HDR_TYPE_MAX, "cached and shadow bytes refused");

/* The rest of a fast free that passed every check but missed the tag memo, found its cache
 * full or the thread at its budget (nothing changed yet); BlockSize 0 or 1 (no room, ever)
 * to the checked path, which reports it. */
static exa_noinline void exa_release_fast_miss(void *block) {
    /* Found again from the block and the thread's segment memo (both unchanged since the
     * checks): the fast path then holds nothing across its branch here. */
    exa_pool_thread_t *t = _exa_tls_pool;
    uint32_t di = t->seg_front;
    exa_pool_header_t *h = (exa_pool_header_t *)block - 1;
    uint32_t size = exa_h_size(h);
    if (exa_unlikely(size < 2)) {
        _exa_release_checked(h + 1, 0, 2); /* a header check fails before any tag check */
        return;
    }
    exa_pool_desc_t *d = &_exa_front_descs[di];
    exa_u64 bytes = (exa_u64)size * EXA_POOL_BLOCK_SIZE;
    uint32_t tag = h->pool_tag;
    if (!exa_tag_count_hit(t, di, tag, 1, bytes)) _exa_tag_count_miss(t, di, _exa_tag_key(tag, d->kind), 1, bytes);
    exa_block_put(d, t, h, size);
}

/* Everything the fast free leaves: site recording, the special pool, big allocations and
 * the checked path. */
static exa_noinline void exa_release_slow(void *block, uint32_t tag, int check_tag) {
    if (exa_unlikely(exa_atomic_load_relaxed(&_exa_diag_sites) != 0)) _exa_hooks.note_free(block);
    /* The special pool's hook (base/hooks.h): special pool blocks (VERIFY_START ones are page-aligned). */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_SPECIAL) && _exa_hooks.special_release(block, tag, check_tag)) return;
    if (((uintptr_t)block & (EXA_PAGE_SIZE - 1)) == 0) {
        _exa_release_big(block, tag, check_tag);
        return;
    }
    _exa_release_checked(block, tag, check_tag);
}

static exa_noinline void exa_release_segment_miss(void *block, uint32_t tag, int check_tag);

/* The common free, inline: an unprotected, uncharged small block of a front descriptor,
 * sound header, IRQL allowed, not strict mode, a thread with a cache with room. It only
 * proceeds when each of those holds and leaves everything else (and every report) to
 * exa_release_slow. The segment comes first, so a foreign pointer is never read: from the
 * thread's segment memo when it holds the pointer's segment and no segment has left the map
 * since it was filled (the segment map's answer, remembered), else from the map
 * (exa_release_segment_miss, which fills the memo and comes back with `first` 0). It calls
 * nothing but tail calls, so it needs no stack frame. */
exa_inline void exa_release_in(void *block, uint32_t tag, int check_tag, int first) {
    uintptr_t a = (uintptr_t)block;
    exa_pool_thread_t *t = _exa_tls_pool;
    uintptr_t off = a & (EXA_PAGE_SIZE - 1);
    /* A thread without state (&_exa_thread_none, seg_epoch 0) always misses the memo. */
    if (exa_unlikely((a & (EXA_POOL_BLOCK_SIZE - 1)) != 0 || off == 0)) goto slow;
    if (exa_unlikely((a >> EXA_POOL_SEGMENT_SHIFT) != t->seg_key ||
                     t->seg_epoch != exa_atomic_load_relaxed(&_exa_segment_epoch))) {
        if (first) {
            exa_release_segment_miss(block, tag, check_tag);
            return;
        }
        goto slow;
    }
    /* Word-sized locals: no zero-extensions between the loads and the address arithmetic;
     * few of them, so that the path needs no callee-saved register. */
    uintptr_t di = t->seg_front;
    exa_pool_header_t *h = (exa_pool_header_t *)block - 1;
    uintptr_t bytes = (uintptr_t)exa_h_size(h) * EXA_POOL_BLOCK_SIZE;
    /* off - 16 + bytes: the offset in the page of the block's end (the next header, or the
     * page's end); the next header's PreviousSize is compared with BlockSize read again. */
    if (exa_unlikely(exa_h_index(h) != di || _exa_tls_irql >= exa_free_irql_limit[exa_h_type(h)] ||
                     off - EXA_POOL_BLOCK_SIZE + bytes > EXA_PAGE_SIZE))
        goto slow;
    if (exa_likely(off - EXA_POOL_BLOCK_SIZE + bytes != EXA_PAGE_SIZE) &&
        exa_unlikely(exa_h_prev((exa_pool_header_t *)(void *)((char *)h + bytes)) != exa_h_size(h)))
        goto slow;
    uint32_t owner_tag = h->pool_tag;
    if (exa_unlikely((owner_tag & EXA_TAG_PROTECTED) != 0 || !exa_doors_open())) goto slow;
    /* front[di][BlockSize]: entries are 16 bytes, as blocks' units are. */
    exa_front_t *c = (exa_front_t *)(void *)((char *)t->front[di] + bytes);
    if (exa_likely(c->room != 0 && t->budget >= (int64_t)bytes && t->memo_tag[di] == owner_tag)) {
        _exa_tag_slot_add(t->memo_slot[di], 1, bytes);
        exa_h_set_type(h, EXA_HDR_CACHED);
        exa_track_free_block(h, (uint32_t)(bytes / EXA_POOL_BLOCK_SIZE));
        *exa_cache_link(h) = c->head;
        c->head = h;
        c->room--;
        t->budget -= (int64_t)bytes;
        return;
    }
    exa_release_fast_miss(block);
    return;
slow:
    exa_release_slow(block, tag, check_tag);
}

/* The segment memo missed: ask the segment map (the epoch read first, so that a segment
 * leaving the map meanwhile leaves the memo stale), remember its answer, and free again. */
static exa_noinline void exa_release_segment_miss(void *block, uint32_t tag, int check_tag) {
    exa_pool_thread_t *t = _exa_tls_pool;
    uint32_t epoch = exa_atomic_load_relaxed(&_exa_segment_epoch);
    exa_pool_segment_t *s = exa_segmap_find((uintptr_t)block);
    if (s == NULL || t == &_exa_thread_none) { /* that one is never written */
        exa_release_slow(block, tag, check_tag);
        return;
    }
    t->seg_key = (uintptr_t)block >> EXA_POOL_SEGMENT_SHIFT;
    t->seg_front = s->front_key;
    t->seg_epoch = epoch;
    exa_release_in(block, tag, check_tag, 0);
}

exa_inline void exa_release(void *block, uint32_t tag, int check_tag) { exa_release_in(block, tag, check_tag, 1); }

void _exa_pool_release(void *block, uint32_t tag, int check_tag) { exa_release(block, tag, check_tag); }

/* ExFreePoolWithTag: the same with check_tag in place (one register fewer on the fast path). */
void _exa_pool_release_tagged(void *block, uint32_t tag) { exa_release(block, tag, 1); }

/* exa_pool_free / ExFreePool: the same with the constants in place (the checked path's
 * arguments need no register across the fast path). */
void _exa_pool_release_untagged(void *block) { exa_release(block, 0, 0); }

exa_status_t _exa_pool_describe(const void *block, exa_pool_block_info_t *out) {
    exa_pool_ready();
    exa_status_t special_status; /* set by the special pool's hook */
    if (exa_unlikely(_exa_verifier_state() & EXA_VBIT_SPECIAL) && _exa_hooks.special_describe(block, out, &special_status))
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
 * Legacy POOL_TYPE routines
 * ======================================================================================== */

enum {
    EXA_MODIFIERS = EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE | EXA_POOL_RAISE_IF_ALLOCATION_FAILURE |
                    EXA_POOL_COLD_ALLOCATION | EXA_POOL_ZERO_ALLOCATION
};

int _exa_pool_type_is_valid_for_lookaside(int32_t base_type) {
    switch (base_type) {
    case EXA_NON_PAGED_POOL: case EXA_PAGED_POOL:
    case EXA_NON_PAGED_POOL_CACHE_ALIGNED: case EXA_PAGED_POOL_CACHE_ALIGNED:
    case EXA_NON_PAGED_POOL_SESSION: case EXA_PAGED_POOL_SESSION:
    case EXA_NON_PAGED_POOL_CACHE_ALIGNED_SESSION: case EXA_PAGED_POOL_CACHE_ALIGNED_SESSION:
    case EXA_NON_PAGED_POOL_NX: case EXA_NON_PAGED_POOL_NX_CACHE_ALIGNED: case EXA_NON_PAGED_POOL_SESSION_NX:
        return 1;
    default:
        return 0;
    }
}

/* A POOL_TYPE (modifiers removed) a pool routine accepts: base 0..6 except 3 (DontUseThis
 * Type; must-succeed is non-paged only, which also rules out 7, MaxPoolType), optionally
 * session, optionally NX. */
static int exa_type_valid(int32_t type) {
    if (type & ~(int32_t)EXA_PT_TYPE_MASK) return 0;
    return (type & (EXA_PT_PAGED | EXA_PT_MUST_SUCCEED)) != (EXA_PT_PAGED | EXA_PT_MUST_SUCCEED);
}

/* Tag rules in strict mode (docs/pool.md#tags, docs/edge-cases.md#case-3 to #case-5): 0x9B zero, 0x9C "BIG ", 0x9D no letter or
 * digit, or a character outside 0x20..0x7E. Returns 1 when the tag passes. */
static int exa_tag_acceptable(uint32_t tag, int32_t type, exa_u64 size) {
    uint32_t plain = tag & ~EXA_TAG_PROTECTED;
    uint32_t code = 0;
    if (tag == 0) {
        code = EXA_BPC_TAG_ZERO;
    } else if (plain == EXA_TAG_BIG) {
        code = EXA_BPC_TAG_BIG;
    } else {
        int alnum = 0, printable = 1;
        for (int i = 0; i < 4; i++) {
            unsigned c = (plain >> (8 * i)) & 0xFFu;
            alnum |= (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            printable &= c >= 0x20 && c <= 0x7E;
        }
        if (!alnum || !printable) code = EXA_BPC_TAG_NO_ALNUM;
    }
    if (code == 0) return 1;
    _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, code, (uint32_t)type, size, tag);
    return 0;
}

/* Every legacy routine: ExAllocatePoolWithTag tries the fast door first (above), which
 * comes back here when it cannot serve. */
void *_exa_pool_legacy(int32_t pool_type, exa_u64 size, uint32_t tag, uint32_t how, int32_t priority) {
    if (how == EXA_LEGACY_TAGGED) return _exa_pool_legacy_entry(pool_type, size, tag);
    return _exa_pool_legacy_full(pool_type, size, tag, how, priority);
}

/* Out of line, so that the fast doors reach it with a tail call and need no stack frame. */
exa_noinline void *_exa_pool_legacy_full(int32_t pool_type, exa_u64 size, uint32_t tag, uint32_t how, int32_t priority) {
    exa_pool_request_t r;
    r.options = 0;
    r.priority = EXA_POOL_PRIORITY_HIGH;
    r.node = -1;
    r.node_strict = 0;
    int strict = _exa_pool_strict();
    if (how & EXA_LEGACY_QUOTA) {
        r.options |= EXA_REQ_QUOTA;
        if (!(pool_type & EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE)) r.options |= EXA_REQ_RAISE;
    }
    if (pool_type & EXA_POOL_RAISE_IF_ALLOCATION_FAILURE) r.options |= EXA_REQ_RAISE;
    if (pool_type & EXA_POOL_ZERO_ALLOCATION) r.options |= EXA_REQ_ZERO;
    if (pool_type & EXA_POOL_COLD_ALLOCATION) r.options |= EXA_REQ_COLD;
    int32_t type = pool_type & ~(int32_t)EXA_MODIFIERS;
    if (type & EXA_PT_PAGED) type &= ~(int32_t)EXA_PT_NX;
    if (!exa_type_valid(type)) {
        if (r.options & EXA_REQ_RAISE) _exa_raise(EXA_STATUS_INVALID_PARAMETER);
        return NULL;
    }
    if ((type & EXA_PT_MUST_SUCCEED) && strict) {
        _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_MUST_SUCCEED, (uint32_t)type, size, tag);
        return NULL;
    }
    if (size == 0) {
        /* docs/pool.md#zero-size: NT serves a zero-byte request as a one-byte one; Driver Verifier stops. */
        if (strict) {
            _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_ZERO_BYTES, _exa_irql(),
                          (uint32_t)type, 0);
            return NULL;
        }
        size = 1;
    }
    if (!(how & EXA_LEGACY_TAGGED)) {
        tag = EXA_TAG_NONE;
    } else if (strict) {
        if (!exa_tag_acceptable(tag, type, size)) return NULL;
    } else if (tag == 0) {
        tag = EXA_TAG_NONE;
    }
    if (how & EXA_LEGACY_PRIORITY) {
        r.options |= EXA_REQ_PRIORITY;
        r.priority = priority;
    }
    r.size = size;
    r.tag = tag;
    r.type = type;
    return _exa_pool_allocate_request(&r);
}

/* Lookaside misses (pool/pool.h): ExAllocatePoolWithTag with the list's type and tag. */
void *_exa_pool_allocate(int32_t pool_type, uint64_t size, uint32_t tag) {
    return _exa_pool_legacy(pool_type, size, tag, EXA_LEGACY_TAGGED, 0);
}

/* The lookaside lists' default free: the list's own blocks, freed with the list's tag. */
void _exa_pool_free(void *block) { _exa_pool_release(block, 0, 2); }

void *exa_pool_allocate_typed(int32_t pool_type, exa_u64 size, uint32_t tag, int32_t priority) {
    return _exa_pool_legacy(pool_type, size, tag, EXA_LEGACY_TAGGED | EXA_LEGACY_PRIORITY, priority);
}

void *exa_pool_allocate_quota(int32_t pool_type, exa_u64 size, uint32_t tag) {
    return _exa_pool_legacy(pool_type, size, tag, EXA_LEGACY_TAGGED | EXA_LEGACY_QUOTA, 0);
}

/* ==========================================================================================
 * POOL_FLAGS routines
 * ======================================================================================== */

enum {
    EXA_FLAGS_KNOWN = 0x7FF,
    EXA_FLAGS_RESERVED = EXA_POOL_FLAG_RESERVED1 | EXA_POOL_FLAG_RESERVED2 | EXA_POOL_FLAG_RESERVED3,
    EXA_FLAGS_POOLS = EXA_POOL_FLAG_NON_PAGED | EXA_POOL_FLAG_NON_PAGED_EXECUTE | EXA_POOL_FLAG_PAGED
};

static int exa_priority_valid(exa_u64 v) {
    switch (v) {
    case EXA_POOL_PRIORITY_LOW: case EXA_POOL_PRIORITY_LOW_SPECIAL_POOL_OVERRUN:
    case EXA_POOL_PRIORITY_LOW_SPECIAL_POOL_UNDERRUN: case EXA_POOL_PRIORITY_NORMAL:
    case EXA_POOL_PRIORITY_NORMAL_SPECIAL_POOL_OVERRUN: case EXA_POOL_PRIORITY_NORMAL_SPECIAL_POOL_UNDERRUN:
    case EXA_POOL_PRIORITY_HIGH: case EXA_POOL_PRIORITY_HIGH_SPECIAL_POOL_OVERRUN:
    case EXA_POOL_PRIORITY_HIGH_SPECIAL_POOL_UNDERRUN:
        return 1;
    default:
        return 0;
    }
}

/* Apply one extended parameter to r. 1 when honoured or ignorable, 0 when the request
 * must fail. */
static int exa_apply_parameter(exa_pool_request_t *r, const exa_pool_parameter_t *p) {
    int ok = 0;
    uint32_t value = (uint32_t)p->value;
    switch (p->type) {
    case EXA_POOL_PARAMETER_PRIORITY:
        if (exa_priority_valid(p->value)) {
            r->options |= EXA_REQ_PRIORITY;
            r->priority = (int32_t)(value & ~0xFu);  /* placement variants act as their base */
            ok = 1;
        }
        break;
    case EXA_POOL_PARAMETER_NUMA_NODE: {
        /* Non-paged only; a node the host lacks is a failure unless another will do. */
        uint32_t node = value & ~(uint32_t)EXA_MM_ANY_NODE_OK;
        int any = (value & (uint32_t)EXA_MM_ANY_NODE_OK) != 0;
        if (r->type & EXA_PT_PAGED) break;
        if (node < _exa_os_numa_node_count() && node < EXA_POOL_MAX_NODES) {
            r->node = (int32_t)node;
            r->node_strict = !any;
            ok = 1;
        } else {
            ok = any;
        }
        break;
    }
    default: /* invalid type 0, secure pool (VBS: out of scope), unknown types */
        break;
    }
    return ok || p->optional;
}

/* ExAllocatePool2/3: without extended parameters the fast door first (above), which comes
 * back to _exa_pool_flags_full when it cannot serve. */
void *_exa_pool_flags(exa_u64 flags, exa_u64 size, uint32_t tag, const exa_pool_parameter_t *params, uint32_t count) {
    if (count == 0) return _exa_pool_flags_entry(flags, size, tag);
    return _exa_pool_flags_full(flags, size, tag, params, count);
}

/* Out of line, so that the fast doors reach it with a tail call and need no stack frame. */
exa_noinline void *_exa_pool_flags_full(exa_u64 flags, exa_u64 size, uint32_t tag, const exa_pool_parameter_t *params, uint32_t count) {
    uint32_t required = (uint32_t)flags;
    exa_pool_request_t r;
    r.options = (required & EXA_POOL_FLAG_RAISE_ON_FAILURE) ? EXA_REQ_RAISE : 0;
    r.priority = EXA_POOL_PRIORITY_HIGH;
    r.node = -1;
    r.node_strict = 0;
    uint32_t pools = required & EXA_FLAGS_POOLS;
    int valid = tag != 0 && (required & ~(uint32_t)EXA_FLAGS_KNOWN) == 0 && (required & EXA_FLAGS_RESERVED) == 0 &&
                pools != 0 && (pools & (pools - 1)) == 0 && (params != NULL || count == 0);
    int32_t type = pools == EXA_POOL_FLAG_PAGED ? EXA_PT_PAGED : pools == EXA_POOL_FLAG_NON_PAGED ? EXA_PT_NX : 0;
    if (required & EXA_POOL_FLAG_CACHE_ALIGNED) type |= EXA_PT_CACHE_ALIGNED;
    if (required & EXA_POOL_FLAG_SESSION) {
        /* NonPagedPoolSessionNx exists, its cache-aligned twin does not (docs/edge-cases.md#case-7). */
        if (pools == EXA_POOL_FLAG_NON_PAGED && (required & EXA_POOL_FLAG_CACHE_ALIGNED)) valid = 0;
        type |= EXA_PT_SESSION;
    }
    r.type = type;
    for (uint32_t i = 0; valid && i < count; i++) valid = exa_apply_parameter(&r, &params[i]);
    if (size == 0) {
        if (_exa_pool_strict()) valid = 0;
        size = 1;
    }
    if (!valid) {
        if (r.options & EXA_REQ_RAISE) _exa_raise(EXA_STATUS_INVALID_PARAMETER);
        return NULL;
    }
    if (required & EXA_POOL_FLAG_USE_QUOTA) r.options |= EXA_REQ_QUOTA;
    if (!(required & EXA_POOL_FLAG_UNINITIALIZED)) r.options |= EXA_REQ_ZERO;
    if (flags & ((exa_u64)1 << EXA_POOL_FLAG_SPECIAL_POOL_BIT)) r.options |= EXA_REQ_SPECIAL; /* for the verifier's hook */
    r.size = size;
    r.tag = tag;
    return _exa_pool_allocate_request(&r);
}

void *exa_pool_allocate(exa_u64 flags, exa_u64 size, uint32_t tag) { return _exa_pool_flags_entry(flags, size, tag); }

void *exa_pool_allocate_ex(exa_u64 flags, exa_u64 size, uint32_t tag, const exa_pool_parameter_t *params,
                           uint32_t count) {
    return _exa_pool_flags(flags, size, tag, params, count);
}

/* ==========================================================================================
 * Free, query, trim
 * ======================================================================================== */

/* The modern frees ignore NULL, as free() does (ExFreePool(NULL) is a bug check: pool_nt.c). */
void exa_pool_free(void *block) {
    if (block != NULL) _exa_pool_release_untagged(block);
}

void exa_pool_free_with_tag(void *block, uint32_t tag) {
    if (block != NULL) _exa_pool_release_tagged(block, tag);
}

exa_status_t exa_pool_query_block(const void *block, exa_pool_block_info_t *out) {
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    return _exa_pool_describe(block, out);
}

exa_u64 exa_pool_trim(void) { return _exa_pool_trim(); }

exa_u64 _exa_pool_struct_size(int32_t struct_id) {
    switch (struct_id) {
    case EXA_STRUCT_POOL_PARAMETER: return sizeof(exa_pool_parameter_t);
    case EXA_STRUCT_POOL_BLOCK_INFO: return sizeof(exa_pool_block_info_t);
    case EXA_STRUCT_POOL_TAG_ROW: return sizeof(exa_pool_tag_row_t);
    case EXA_STRUCT_POOL_STATS: return sizeof(exa_pool_stats_t);
    case EXA_STRUCT_POOL_LIMITS: return sizeof(exa_pool_limits_t);
    case EXA_STRUCT_QUOTA_STATS: return sizeof(exa_quota_stats_t);
    default: return 0;
    }
}

/* ExFreePool / ExFreePoolWithTag with the outcome returned (exalloc.h). */
exa_status_t exa_pool_free_checked(void *block, uint32_t tag) {
    uint32_t before = _exa_tls.bugchecks;
    if (tag == 0) _exa_pool_release_untagged(block);
    else _exa_pool_release(block, tag, 1);
    return _exa_tls.bugchecks == before ? EXA_STATUS_SUCCESS : EXA_STATUS_BUGCHECK;
}
