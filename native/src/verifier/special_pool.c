/* exalloc - native core
 * verifier/special_pool.c: Driver Verifier's special pool (docs/diagnostics.md#special-pool,
 * docs/edge-cases.md#case-21) with host guard pages.
 *
 * One reservation of EXA_SPECIAL_SLOTS slots, each two host pages: the data page and a
 * no-access guard page (after it for Verify End, before it for Verify Start). A slot's data
 * page is read-write only while its block is live; freed slots stay no-access in a FIFO
 * quarantine before reuse, so a late touch faults. The side table (one exa_special_slot_t per
 * slot) holds what a report names: block, size, tag, type. The access-fault handler (platform
 * layer) asks exa_special_fault whether an address is ours: guard page -> 0xCD, freed or
 * quarantined page -> 0xCC. The unused part of a data page holds EXA_SPECIAL_PATTERN, checked
 * at free (0xC1, p4 0x23 before the block, 0x24 after it). */
#include "verifier/verifier.h"
#include "diag/diag.h"

#include <stdio.h>
#include <string.h>

enum {
    EXA_SPECIAL_SLOTS = 4096,
    EXA_SPECIAL_PATTERN = 0xA5,
    EXA_SPECIAL_UNINIT = 0x5A,
    EXA_SLOT_FREE = 0,
    EXA_SLOT_LIVE = 1,
    EXA_SLOT_QUARANTINED = 2,
    EXA_SPECIAL_QUARANTINE_MAX = EXA_SPECIAL_SLOTS / 2
};

typedef struct exa_special_slot_s {
    uintptr_t block;
    exa_u64 size;
    uint32_t tag;
    int32_t type;
    uint32_t state;
    uint32_t start;     /* 1: Verify Start placement */
} exa_special_slot_t;

static exa_spinlock_t exa_sp_lock;
static exa_atomic(uintptr_t) exa_sp_base;   /* the reservation, 0 until the first use */
static size_t exa_sp_span;                  /* bytes reserved (written before exa_sp_base) */
static exa_special_slot_t *exa_sp_slots;
static uint32_t *exa_sp_free;               /* stack of free slot numbers */
static uint32_t exa_sp_free_count;
static uint32_t exa_sp_ring[EXA_SPECIAL_QUARANTINE_MAX]; /* quarantine FIFO */
static exa_atomic(uint32_t) exa_sp_keep = EXA_QUARANTINE_DEFAULT; /* freed pages to keep no-access */

void _exa_special_set_quarantine(uint32_t pages) { exa_atomic_store_relaxed(&exa_sp_keep, pages); }
static uint32_t exa_sp_ring_head, exa_sp_ring_count;
static exa_u64 exa_sp_allocations, exa_sp_live;

static int exa_special_fault(void *address, int write);

exa_inline size_t exa_sp_page(void) { return _exa_os_page_size(); }

int _exa_special_owns(const void *p) {
    uintptr_t base = exa_atomic_load_acquire(&exa_sp_base);
    return base != 0 && (uintptr_t)p - base < exa_sp_span;
}

int32_t exa_is_special_pool_address(const void *address) { return _exa_special_owns(address); }

/* Under exa_sp_lock. 1 when the reservation exists. */
static int exa_sp_ready_locked(void) {
    if (exa_atomic_load_relaxed(&exa_sp_base) != 0) return 1;
    size_t span = (size_t)EXA_SPECIAL_SLOTS * 2 * exa_sp_page();
    exa_special_slot_t *slots = _exa_os_alloc_aligned(sizeof *slots * EXA_SPECIAL_SLOTS, 64);
    uint32_t *stack = _exa_os_alloc_aligned(sizeof *stack * EXA_SPECIAL_SLOTS, 64);
    void *base = slots && stack ? _exa_os_pages_reserve(span) : NULL;
    if (base == NULL || _exa_os_install_fault_handler(exa_special_fault) != 0) {
        if (base != NULL) _exa_os_pages_unmap(base, span);
        _exa_os_free_aligned(slots);
        _exa_os_free_aligned(stack);
        return 0;
    }
    memset(slots, 0, sizeof *slots * EXA_SPECIAL_SLOTS);
    for (uint32_t i = 0; i < EXA_SPECIAL_SLOTS; i++) stack[i] = EXA_SPECIAL_SLOTS - 1 - i; /* slot 0 first */
    exa_sp_slots = slots;
    exa_sp_free = stack;
    exa_sp_free_count = EXA_SPECIAL_SLOTS;
    exa_sp_span = span;
    exa_atomic_store_release(&exa_sp_base, (uintptr_t)base);
    /* From now on every free looks here first (the pool's hook, base/hooks.h). */
    _exa_verifier_bits_update(EXA_VBIT_SPECIAL, 0);
    return 1;
}

/* The data page of slot i. */
exa_inline uintptr_t exa_sp_data(uint32_t i, uint32_t start) {
    return exa_atomic_load_relaxed(&exa_sp_base) + ((uintptr_t)i * 2 + start) * exa_sp_page();
}

void *_exa_special_allocate(const exa_pool_request_t *r, uint32_t flags, uint32_t quarantine) {
    size_t page = exa_sp_page();
    uint32_t align = (r->type & EXA_PT_CACHE_ALIGNED) ? EXA_CACHE_LINE : EXA_POOL_BLOCK_SIZE;
    /* Only requests below a page; quota charges stay with the normal pool. */
    if (r->size > EXA_POOL_MAX_ALLOC || r->size + align > page || (r->options & EXA_REQ_QUOTA)) return NULL;
    uint32_t start = (flags & EXA_VERIFIER_VERIFY_START) != 0;
    (void)quarantine;
    _exa_lock(&exa_sp_lock);
    if (!exa_sp_ready_locked() || exa_sp_free_count == 0) {
        _exa_unlock(&exa_sp_lock);
        return NULL;
    }
    uint32_t i = exa_sp_free[--exa_sp_free_count];
    uintptr_t data = exa_sp_data(i, start);
    if (_exa_os_pages_protect((void *)data, page, EXA_OS_ACCESS_READ_WRITE) != 0) {
        exa_sp_free[exa_sp_free_count++] = i;
        _exa_unlock(&exa_sp_lock);
        return NULL;
    }
    uintptr_t block = start ? data : ((data + page - (size_t)r->size) & ~(uintptr_t)(align - 1));
    exa_special_slot_t *s = &exa_sp_slots[i];
    s->block = block;
    s->size = r->size;
    s->tag = r->tag;
    s->type = r->type;
    s->start = start;
    s->state = EXA_SLOT_LIVE;
    exa_sp_allocations++;
    exa_sp_live++;
    _exa_unlock(&exa_sp_lock);
    memset((void *)data, EXA_SPECIAL_PATTERN, page);
    if (r->options & EXA_REQ_ZERO) memset((void *)block, 0, (size_t)r->size);
    else if (!(flags & EXA_VERIFIER_NO_FILL)) memset((void *)block, EXA_SPECIAL_UNINIT, (size_t)r->size);
    _exa_tag_count(NULL, r->tag, (r->type & EXA_PT_PAGED) ? EXA_POOL_KIND_PAGED : EXA_POOL_KIND_NON_PAGED, 0,
                   EXA_PAGE_SIZE);
    return (void *)block;
}

/* First byte of [from, to) that is not the pattern, or 0. */
static uintptr_t exa_sp_damage(uintptr_t from, uintptr_t to) {
    static const uint64_t word = 0x0101010101010101ull * EXA_SPECIAL_PATTERN;
    uintptr_t a = from;
    for (; a < to && (a & 7u) != 0; a++)
        if (*(const unsigned char *)a != EXA_SPECIAL_PATTERN) return a;
    for (; a + 8 <= to; a += 8) {
        uint64_t w;
        memcpy(&w, (const void *)a, 8);
        if (w != word) break; /* the byte loop below finds which */
    }
    for (; a < to; a++)
        if (*(const unsigned char *)a != EXA_SPECIAL_PATTERN) return a;
    return 0;
}

int _exa_special_release(void *block, uint32_t tag, int check_tag) {
    if (!_exa_special_owns(block)) return 0;
    size_t page = exa_sp_page();
    uintptr_t a = (uintptr_t)block, base = exa_atomic_load_relaxed(&exa_sp_base);
    uint32_t i = (uint32_t)((a - base) / (2 * page));
    _exa_lock(&exa_sp_lock);
    exa_special_slot_t s = exa_sp_slots[i];
    _exa_unlock(&exa_sp_lock);
    if (s.state != EXA_SLOT_LIVE) {
        _exa_bugcheck(EXA_BUGCHECK_SPECIAL_POOL_CORRUPTION, a, s.size, s.tag, EXA_SPC_FREE_UNALLOCATED);
        return 1;
    }
    if (s.block != a) {
        _exa_bugcheck(EXA_BUGCHECK_SPECIAL_POOL_CORRUPTION, a, s.size, s.tag, EXA_SPC_BAD_ADDRESS);
        return 1;
    }
    if (exa_unlikely(_exa_irql_too_high_for_pool(s.type))) {
        (void)_exa_irql_pool_violation(EXA_BAD_POOL_CALLER_FREE_IRQL, s.type, a);
        return 1;
    }
    if (check_tag != 2) {
        uint32_t passed = check_tag ? tag : 0;
        int bad = (s.tag & EXA_TAG_PROTECTED) ? passed != s.tag
                                               : (_exa_pool_strict() && passed != 0 &&
                                                  (passed & ~EXA_TAG_PROTECTED) != s.tag);
        if (bad) {
            _exa_bugcheck(EXA_BUGCHECK_BAD_POOL_CALLER, EXA_BPC_WRONG_TAG, a, s.tag, passed);
            return 1;
        }
    }
    uintptr_t data = exa_sp_data(i, s.start), end = a + (uintptr_t)s.size, bad;
    if ((bad = exa_sp_damage(data, a)) != 0) {
        _exa_bugcheck(EXA_BUGCHECK_SPECIAL_POOL_CORRUPTION, a, s.size, bad, EXA_SPC_NEARBY_CORRUPTED);
        return 1;
    }
    if ((bad = exa_sp_damage(end, data + page)) != 0) {
        _exa_bugcheck(EXA_BUGCHECK_SPECIAL_POOL_CORRUPTION, a, s.size, bad, EXA_SPC_AFTER_END_CORRUPTED);
        return 1;
    }
    if (_exa_hooks.verifier_freeing != NULL && !_exa_hooks.verifier_freeing(block, s.size)) return 1;
    (void)_exa_os_pages_protect((void *)data, page, EXA_OS_ACCESS_NONE);
    uint32_t keep = exa_atomic_load_relaxed(&exa_sp_keep);
    _exa_lock(&exa_sp_lock);
    if (exa_sp_slots[i].state != EXA_SLOT_LIVE || exa_sp_slots[i].block != a) {
        /* A racing free of the same block got here first. */
        _exa_unlock(&exa_sp_lock);
        _exa_bugcheck(EXA_BUGCHECK_SPECIAL_POOL_CORRUPTION, a, s.size, s.tag, EXA_SPC_FREE_UNALLOCATED);
        return 1;
    }
    exa_sp_slots[i].state = EXA_SLOT_QUARANTINED;
    exa_sp_live--;
    exa_sp_ring[(exa_sp_ring_head + exa_sp_ring_count) % EXA_SPECIAL_QUARANTINE_MAX] = i;
    exa_sp_ring_count++;
    while (exa_sp_ring_count > keep) {
        uint32_t old = exa_sp_ring[exa_sp_ring_head];
        exa_sp_ring_head = (exa_sp_ring_head + 1) % EXA_SPECIAL_QUARANTINE_MAX;
        exa_sp_ring_count--;
        exa_sp_slots[old].state = EXA_SLOT_FREE;
        exa_sp_free[exa_sp_free_count++] = old;
    }
    _exa_unlock(&exa_sp_lock);
    _exa_tag_count(NULL, s.tag, (s.type & EXA_PT_PAGED) ? EXA_POOL_KIND_PAGED : EXA_POOL_KIND_NON_PAGED, 1,
                   EXA_PAGE_SIZE);
    return 1;
}

int _exa_special_describe(const void *block, exa_pool_block_info_t *out, exa_status_t *status) {
    if (!_exa_special_owns(block)) return 0;
    size_t page = exa_sp_page();
    uintptr_t a = (uintptr_t)block;
    uint32_t i = (uint32_t)((a - exa_atomic_load_relaxed(&exa_sp_base)) / (2 * page));
    _exa_lock(&exa_sp_lock);
    exa_special_slot_t s = exa_sp_slots[i];
    _exa_unlock(&exa_sp_lock);
    if (s.state != EXA_SLOT_LIVE || s.block != a) {
        *status = EXA_STATUS_INVALID_PARAMETER;
        return 1;
    }
    memset(out, 0, sizeof *out);
    out->size = s.start ? s.size : exa_sp_data(i, 0) + page - a;
    out->charged = EXA_PAGE_SIZE;
    out->tag = s.tag;
    out->pool_type = s.type;
    out->pool = (s.type & EXA_PT_PAGED) ? EXA_POOL_KIND_PAGED : EXA_POOL_KIND_NON_PAGED;
    *status = EXA_STATUS_SUCCESS;
    return 1;
}

void _exa_special_counts(exa_u64 *allocations, exa_u64 *live, uint32_t *capacity, uint32_t *quarantined) {
    _exa_lock(&exa_sp_lock);
    *allocations = exa_sp_allocations;
    *live = exa_sp_live;
    *quarantined = exa_sp_ring_count;
    _exa_unlock(&exa_sp_lock);
    *capacity = EXA_SPECIAL_SLOTS;
}

/* The access-fault handler's question (signal context: no lock, the slot is read as it is;
 * a report is fatal anyway). */
static int exa_special_fault(void *address, int write) {
    if (!_exa_special_owns(address)) return 0;
    size_t page = exa_sp_page();
    uintptr_t a = (uintptr_t)address, off = a - exa_atomic_load_relaxed(&exa_sp_base);
    uint32_t i = (uint32_t)(off / (2 * page));
    uint32_t which = (uint32_t)((off / page) & 1u);
    exa_special_slot_t s = exa_sp_slots[i];
    uint32_t code;
    const char *what;
    if (s.state == EXA_SLOT_LIVE && which != s.start) {
        code = EXA_BUGCHECK_BEYOND_END_OF_ALLOCATION;
        what = s.start ? "before the start of" : "beyond the end of";
    } else if (s.state != EXA_SLOT_LIVE) {
        code = EXA_BUGCHECK_FREED_SPECIAL_POOL;
        what = "in freed";
    } else {
        return 0; /* a live data page does not fault: not ours to explain */
    }
    char tag[5];
    for (int k = 0; k < 4; k++) {
        unsigned c = (s.tag >> (8 * k)) & 0x7Fu;
        tag[k] = c >= 0x20 && c < 0x7F ? (char)c : '.';
    }
    tag[4] = 0;
    char line[200];
    int n = snprintf(line, sizeof line, "exalloc verifier: %s access at 0x%llx %s special pool block 0x%llx (size %llu, tag '%s')\n",
                     write > 0 ? "write" : write == 0 ? "read" : "an", (unsigned long long)a, what,
                     (unsigned long long)s.block, (unsigned long long)s.size, tag);
    if (n > 0) _exa_os_write_stderr(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    _exa_bugcheck(code, a, (exa_u64)(int64_t)write, s.block, s.size);
    /* The faulting access cannot be resumed: a handler that returns (a recording one, as the
     * Java binding installs) is overruled as KeBugCheckEx overrules it, with the STOP line and
     * the dump of the default handler, which then aborts. */
    exa_bugcheck_abort(code, a, (exa_u64)(int64_t)write, s.block, s.size, NULL);
    _exa_os_abort();
}

/* ==========================================================================================
 * Diagnostics walkers (diag.c through pool.c's walk): live special pool blocks
 * ======================================================================================== */

static void exa_sp_describe_slot(const exa_special_slot_t *s, exa_diag_block_t *out) {
    out->address = s->block;
    out->size = s->size;
    out->charged = EXA_PAGE_SIZE;
    out->tag = s->tag;
    out->pool_type = s->type & ~(int32_t)EXA_PT_QUOTA;
    out->pool = (s->type & EXA_PT_PAGED) ? EXA_POOL_KIND_PAGED : EXA_POOL_KIND_NON_PAGED;
    out->big = 0;
}

int _exa_special_walk(_exa_diag_block_fn fn, void *ctx, int fatal) {
    if (exa_atomic_load_acquire(&exa_sp_base) == 0) return 1;
    if (!_exa_lock_or_try(&exa_sp_lock, fatal)) return 0;
    int go = 1;
    for (uint32_t i = 0; go && i < EXA_SPECIAL_SLOTS; i++) {
        if (exa_sp_slots[i].state != EXA_SLOT_LIVE) continue;
        exa_diag_block_t b;
        exa_sp_describe_slot(&exa_sp_slots[i], &b);
        go = fn(&b, ctx);
    }
    _exa_unlock(&exa_sp_lock);
    return go;
}

int _exa_special_block_of(uintptr_t address, exa_diag_block_t *out) {
    if (!_exa_special_owns((const void *)address)) return 0;
    uintptr_t base = exa_atomic_load_acquire(&exa_sp_base);
    size_t i = (address - base) / (2 * exa_sp_page());
    if (i >= EXA_SPECIAL_SLOTS) return 0;
    /* Read without the lock: the fatal path may hold it; a slot's fields change only while
     * its page is being handed out or freed. */
    const exa_special_slot_t *s = &exa_sp_slots[i];
    if (s->state == EXA_SLOT_FREE) return 0;
    exa_sp_describe_slot(s, out);
    return 1;
}

/* Fork (base/fork.c): the slot lock is held across fork. */
static void exa_special_fork_prepare(void) { _exa_lock(&exa_sp_lock); }
static void exa_special_fork_parent(void) { _exa_unlock(&exa_sp_lock); }
static void exa_special_fork_child(void) { _exa_lock_reset(&exa_sp_lock); }
static const exa_fork_handler_t exa_special_fork = {EXA_FORK_RANK_SPECIAL, exa_special_fork_prepare,
                                                    exa_special_fork_parent, exa_special_fork_child};
EXA_ON_LOAD(exa_special_fork_load) { _exa_fork_register(&exa_special_fork); }
