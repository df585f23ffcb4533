/* exalloc - native core
 * diag/diag.c: diagnostics (docs/diagnostics.md: #poolmon, #leak-report, #dump; bug checks in
 * docs/pool.md#integrity): the leak report, the dump of
 * live allocations, PoolMon and !lookaside as text, allocation sites in verifier mode, and
 * the dump the default bug-check handler writes (the crash-dump analog).
 *
 * Text goes through one small writer (exa_out_t) that either fills a caller's buffer
 * snprintf-style (counting the full length) or streams to a file descriptor through a
 * stack buffer: the fatal path then needs no heap. */
#include "diag/diag.h"
#include "diag/diag_shm.h"
#include "diag/poolmon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXA_TAG_PROTECTED_BIT 0x80000000u

/* ==========================================================================================
 * Output
 * ======================================================================================== */

typedef struct exa_out_s {
    char *buf;       /* caller's buffer (fd < 0) or the stream buffer */
    exa_u64 cap;
    exa_u64 len;     /* total length so far (may exceed cap) */
    exa_u64 used;    /* bytes in the stream buffer (fd >= 0) */
    int fd;          /* -1: buffer mode */
} exa_out_t;

static void exa_out_buffer(exa_out_t *o, char *buf, exa_u64 cap) {
    o->buf = buf;
    o->cap = buf != NULL ? cap : 0;
    o->len = o->used = 0;
    o->fd = -1;
    if (o->cap > 0) buf[0] = 0;
}

static void exa_out_flush(exa_out_t *o) {
    if (o->fd >= 0 && o->used > 0) _exa_os_file_write(o->fd, o->buf, (size_t)o->used);
    o->used = 0;
}

static void exa_out_text(exa_out_t *o, const char *s, size_t n) {
    if (o->fd >= 0) {
        o->len += n;
        while (n > 0) {
            if (o->used == o->cap) exa_out_flush(o);
            size_t k = (size_t)(o->cap - o->used) < n ? (size_t)(o->cap - o->used) : n;
            memcpy(o->buf + o->used, s, k);
            o->used += k;
            s += k;
            n -= k;
        }
        return;
    }
    if (o->len + 1 < o->cap) {
        exa_u64 room = o->cap - 1 - o->len;
        exa_u64 k = n < room ? n : room;
        memcpy(o->buf + o->len, s, (size_t)k);
        o->buf[o->len + k] = 0;
    }
    o->len += n;
}

static void exa_out(exa_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exa_out(exa_out_t *o, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    exa_out_text(o, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void exa_tag_text(uint32_t tag, char out[5]) { exa_shm_tag_text(tag & ~EXA_TAG_PROTECTED_BIT, out); }

static const char *exa_pool_name(int32_t pool) { return pool == EXA_POOL_KIND_PAGED ? "Paged" : "Nonp"; }

/* ==========================================================================================
 * Allocation sites (verifier mode): address -> call stack, open addressing under a lock
 * ======================================================================================== */

enum { EXA_SITE_FRAMES = 8 };

typedef struct exa_site_s {
    uintptr_t address;  /* 0 empty, 1 deleted */
    uint32_t frames;
    void *frame[EXA_SITE_FRAMES];
} exa_site_t;

static exa_spinlock_t exa_site_lock;
static exa_site_t *exa_site_table;
static exa_u64 exa_site_capacity, exa_site_used, exa_site_live;  /* used counts deleted too */

static exa_u64 exa_site_home(uintptr_t a, exa_u64 cap) {
    return (exa_u64)(((uint64_t)(a >> 4) * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

/* Lock held. */
static exa_site_t *exa_site_find(uintptr_t a) {
    if (exa_site_capacity == 0) return NULL;
    for (exa_u64 i = exa_site_home(a, exa_site_capacity);; i = (i + 1) & (exa_site_capacity - 1)) {
        if (exa_site_table[i].address == a) return &exa_site_table[i];
        if (exa_site_table[i].address == 0) return NULL;
    }
}

static int exa_site_grow(void) {
    exa_u64 cap = exa_site_capacity ? exa_site_capacity * 2 : 1024;
    if (exa_site_live * 4 < exa_site_capacity) cap = exa_site_capacity;  /* mostly deleted: rehash */
    exa_site_t *t = _exa_os_alloc_aligned((size_t)(sizeof(exa_site_t) * cap), sizeof(void *));
    if (t == NULL) return 0;
    memset(t, 0, (size_t)(sizeof(exa_site_t) * cap));
    for (exa_u64 i = 0; i < exa_site_capacity; i++) {
        if (exa_site_table[i].address <= 1) continue;
        exa_u64 j = exa_site_home(exa_site_table[i].address, cap);
        while (t[j].address != 0) j = (j + 1) & (cap - 1);
        t[j] = exa_site_table[i];
    }
    _exa_os_free_aligned(exa_site_table);
    exa_site_table = t;
    exa_site_capacity = cap;
    exa_site_used = exa_site_live;
    return 1;
}

void _exa_diag_note_alloc(const void *block) {
    if (block == NULL) return;
    exa_site_t e;
    e.address = (uintptr_t)block;
    void *frames[EXA_SITE_FRAMES + 2];
    int n = _exa_os_backtrace(frames, EXA_SITE_FRAMES + 2);
    /* Drop this function and the pool's request routine: the caller's frames remain. */
    int skip = n > 2 ? 2 : 0;
    e.frames = (uint32_t)(n - skip > EXA_SITE_FRAMES ? EXA_SITE_FRAMES : n - skip);
    for (uint32_t i = 0; i < e.frames; i++) e.frame[i] = frames[skip + i];
    _exa_lock(&exa_site_lock);
    exa_site_t *old = exa_site_find(e.address);
    if (old != NULL) {
        *old = e;
    } else if ((exa_site_used + 1) * 4 <= exa_site_capacity * 3 || exa_site_grow()) {
        exa_u64 i = exa_site_home(e.address, exa_site_capacity);
        while (exa_site_table[i].address > 1) i = (i + 1) & (exa_site_capacity - 1);
        if (exa_site_table[i].address == 0) exa_site_used++;
        exa_site_table[i] = e;
        exa_site_live++;
    }
    _exa_unlock(&exa_site_lock);
}

void _exa_diag_note_free(const void *block) {
    if (block == NULL) return;
    _exa_lock(&exa_site_lock);
    exa_site_t *e = exa_site_find((uintptr_t)block);
    if (e != NULL) {
        e->address = 1;  /* a tombstone keeps probe chains whole */
        exa_site_live--;
    }
    _exa_unlock(&exa_site_lock);
}

/* A copy of the site of `address`; fatal: the lock is only tried. */
static int exa_site_lookup(uintptr_t address, exa_site_t *out, int fatal) {
    if (!_exa_lock_or_try(&exa_site_lock, fatal)) return 0;
    exa_site_t *e = exa_site_find(address);
    if (e != NULL) *out = *e;
    _exa_unlock(&exa_site_lock);
    return e != NULL;
}

static void exa_out_site(exa_out_t *o, const exa_site_t *s, int symbols) {
    for (uint32_t i = 0; i < s->frames; i++) {
        char sym[256];
        if (symbols && _exa_os_symbolize(s->frame[i], sym, sizeof sym))
            exa_out(o, "      #%u 0x%llx %s\n", i, (unsigned long long)(uintptr_t)s->frame[i], sym);
        else
            exa_out(o, "      #%u 0x%llx\n", i, (unsigned long long)(uintptr_t)s->frame[i]);
    }
}

int32_t exa_diag_record_sites(int32_t enable) {
    int32_t was = (int32_t)exa_atomic_exchange_acq_rel(&_exa_diag_sites, enable ? 1u : 0u);
    /* The pool's doors look at its options word alone (pool/options.c). */
    _exa_pool_options_replace(EXA_POOL_OPTION_SITES_INTERNAL, enable ? EXA_POOL_OPTION_SITES_INTERNAL : 0u);
    return was;
}

/* ==========================================================================================
 * PoolMon and !lookaside text
 * ======================================================================================== */

static int32_t exa_sort_key;

static int exa_row_cmp(const void *a_, const void *b_) {
    return exa_poolmon_row_order(a_, b_, exa_sort_key);
}

/* Rows from exa_pool_tag_snapshot in a heap array; *n rows. NULL when none or no memory. */
static exa_pool_tag_row_t *exa_rows(uint32_t *n) {
    for (;;) {
        uint32_t want = exa_pool_tag_snapshot(NULL, 0);
        *n = 0;
        if (want == 0) return NULL;
        uint32_t cap = want + 16;
        exa_pool_tag_row_t *rows = _exa_os_alloc_aligned(sizeof(exa_pool_tag_row_t) * cap, sizeof(void *));
        if (rows == NULL) return NULL;
        uint32_t got = exa_pool_tag_snapshot(rows, cap);
        if (got <= cap) {
            *n = got;
            return rows;
        }
        _exa_os_free_aligned(rows);
    }
}

static exa_lookaside_stats_t *exa_lists(uint32_t *n) {
    for (;;) {
        uint32_t want = exa_lookaside_enumerate(NULL, 0);
        *n = 0;
        if (want == 0) return NULL;
        uint32_t cap = want + 8;
        exa_lookaside_stats_t *lists = _exa_os_alloc_aligned(sizeof(exa_lookaside_stats_t) * cap, sizeof(void *));
        if (lists == NULL) return NULL;
        uint32_t got = exa_lookaside_enumerate(lists, cap);
        if (got <= cap) {
            *n = got;
            return lists;
        }
        _exa_os_free_aligned(lists);
    }
}

static exa_spinlock_t exa_sort_lock;  /* exa_sort_key for qsort */

/* rows is NULL when there are none: qsort must not see it (its pointer must be valid). */
static void exa_sort_rows(exa_pool_tag_row_t *rows, uint32_t n, int32_t key) {
    if (rows == NULL || n < 2) return;
    _exa_lock(&exa_sort_lock);
    exa_sort_key = key;
    qsort(rows, n, sizeof *rows, exa_row_cmp);
    _exa_unlock(&exa_sort_lock);
}

static void exa_out_poolmon_row(exa_out_t *o, const exa_pool_tag_row_t *r) {
    char t[5];
    exa_tag_text(r->tag, t);
    exa_out(o, " %-4s %-5s %12llu %12llu %10llu %14llu %10llu\n", t, exa_pool_name(r->pool), r->allocs, r->frees,
            r->diff, r->bytes, r->per_alloc);
}

exa_u64 exa_poolmon_text(char *buf, exa_u64 capacity, int32_t sort_key) {
    exa_out_t o;
    exa_out_buffer(&o, buf, capacity);
    uint32_t n;
    exa_pool_tag_row_t *rows = exa_rows(&n);
    exa_sort_rows(rows, n, sort_key);
    exa_out(&o, " %-4s %-5s %12s %12s %10s %14s %10s\n", "Tag", "Type", "Allocs", "Frees", "Diff", "Bytes", "Per Alloc");
    for (uint32_t i = 0; i < n; i++) exa_out_poolmon_row(&o, &rows[i]);
    _exa_os_free_aligned(rows);
    return o.len;
}

static const char *exa_type_name(int32_t type) {
    switch (type & 0x227) {
    case EXA_NON_PAGED_POOL: return "NonPagedPool";
    case EXA_PAGED_POOL: return "PagedPool";
    case EXA_NON_PAGED_POOL_NX: return "NonPagedPoolNx";
    case EXA_NON_PAGED_POOL_MUST_SUCCEED: return "NonPagedPoolMustSucceed";
    case EXA_NON_PAGED_POOL_CACHE_ALIGNED: return "NonPagedPoolCacheAligned";
    case EXA_PAGED_POOL_CACHE_ALIGNED: return "PagedPoolCacheAligned";
    case EXA_NON_PAGED_POOL_NX_CACHE_ALIGNED: return "NonPagedPoolNxCacheAligned";
    case EXA_NON_PAGED_POOL_SESSION: return "NonPagedPoolSession";
    case EXA_PAGED_POOL_SESSION: return "PagedPoolSession";
    case EXA_NON_PAGED_POOL_SESSION_NX: return "NonPagedPoolSessionNx";
    default: return "Other";
    }
}

exa_u64 exa_lookaside_text(char *buf, exa_u64 capacity) {
    exa_out_t o;
    exa_out_buffer(&o, buf, capacity);
    uint32_t n;
    exa_lookaside_stats_t *lists = exa_lists(&n);
    exa_out(&o, "%6s %-4s %-16s %8s %14s %14s %7s %14s %12s %6s %6s %6s\n", "Id", "Tag", "Type", "Size",
            "TotalAllocates", "AllocateMisses", "Hit%", "TotalFrees", "FreeMisses", "Depth", "MaxDep", "CurDep");
    for (uint32_t i = 0; i < n; i++) {
        const exa_lookaside_stats_t *l = &lists[i];
        char t[5];
        exa_tag_text(l->tag, t);
        exa_u64 hits = l->total_allocates - l->allocate_misses;
        exa_u64 rate10 = l->total_allocates ? hits * 1000 / l->total_allocates : 0;
        exa_out(&o, "%6llu %-4s %-16.16s %8llu %14llu %14llu %5llu.%llu %14llu %12llu %6u %6u %6u\n", l->id, t,
                exa_type_name(l->pool_type), l->size, l->total_allocates, l->allocate_misses, rate10 / 10, rate10 % 10,
                l->total_frees, l->free_misses, l->depth, l->maximum_depth, l->current_depth);
    }
    _exa_os_free_aligned(lists);
    return o.len;
}

/* ==========================================================================================
 * Allocation snapshot and dump
 * ======================================================================================== */

typedef struct exa_collect_s {
    exa_allocation_info_t *out;
    exa_u64 capacity, count;
} exa_collect_t;

static int exa_collect(const exa_diag_block_t *b, void *ctx) {
    exa_collect_t *c = ctx;
    if (c->count < c->capacity) {
        exa_allocation_info_t *i = &c->out[c->count];
        i->address = b->address;
        i->size = b->size;
        i->tag = b->tag;
        i->pool_type = b->pool_type;
    }
    c->count++;
    return 1;
}

exa_u64 exa_allocation_snapshot(exa_allocation_info_t *out, exa_u64 capacity) {
    exa_collect_t c = {out, out != NULL ? capacity : 0, 0};
    (void)_exa_pool_walk(exa_collect, &c, 0);
    return c.count;
}

/* The walk runs under pool locks, so blocks are copied out first and printed after. */
static exa_allocation_info_t *exa_blocks(exa_u64 *n) {
    for (;;) {
        exa_u64 want = exa_allocation_snapshot(NULL, 0);
        *n = 0;
        if (want == 0) return NULL;
        exa_u64 cap = want + want / 4 + 16;
        exa_allocation_info_t *v = _exa_os_alloc_aligned((size_t)(sizeof *v * cap), sizeof(void *));
        if (v == NULL) return NULL;
        exa_u64 got = exa_allocation_snapshot(v, cap);
        if (got <= cap) {
            *n = got;
            return v;
        }
        _exa_os_free_aligned(v);
    }
}

static void exa_out_block(exa_out_t *o, const exa_allocation_info_t *b, int fatal) {
    char t[5];
    exa_tag_text(b->tag, t);
    exa_out(o, "  0x%016llx %10llu  %-4s %s (0x%x)\n", b->address, b->size, t, exa_type_name(b->pool_type),
            (unsigned)b->pool_type);
    exa_site_t s;
    if (exa_atomic_load_relaxed(&_exa_diag_sites) && exa_site_lookup((uintptr_t)b->address, &s, fatal))
        exa_out_site(o, &s, !fatal);
}

exa_u64 exa_allocation_dump(char *buf, exa_u64 capacity) {
    exa_out_t o;
    exa_out_buffer(&o, buf, capacity);
    exa_u64 n;
    exa_allocation_info_t *v = exa_blocks(&n);
    exa_out(&o, "exalloc live allocations: %llu\n  %-18s %10s  %-4s %s\n", n, "Address", "Size", "Tag", "Type");
    for (exa_u64 i = 0; i < n; i++) exa_out_block(&o, &v[i], 0);
    _exa_os_free_aligned(v);
    return o.len;
}

/* ==========================================================================================
 * Leak report
 * ======================================================================================== */

static void exa_leak_text(exa_out_t *o) {
    uint32_t nl, nr;
    exa_lookaside_stats_t *lists = exa_lists(&nl);
    exa_pool_tag_row_t *rows = exa_rows(&nr);
    exa_sort_rows(rows, nr, EXA_POOLMON_SORT_BYTES);
    exa_u64 blocks = 0, bytes = 0;
    uint32_t tags = 0;
    for (uint32_t i = 0; i < nr; i++)
        if (rows[i].diff > 0) blocks += rows[i].diff, bytes += rows[i].bytes, tags++;
    exa_out(o, "exalloc leak report (pid %u)\n", _exa_os_pid());
    if (nl == 0 && blocks == 0) {
        exa_out(o, "No leaks.\n");
    }
    if (nl > 0) {
        exa_out(o, "Lookaside lists not deleted: %u\n", nl);
        for (uint32_t i = 0; i < nl; i++) {
            char t[5];
            exa_tag_text(lists[i].tag, t);
            void *handle = NULL, *owner = NULL;
            (void)_exa_lookaside_handle_of(lists[i].id, &handle, &owner);
            exa_out(o, "  list %llu  tag %s  type %s (0x%x)  size %llu  depth %u/%u  cached %u  handle 0x%llx  owner %s",
                    lists[i].id, t, exa_type_name(lists[i].pool_type), (unsigned)lists[i].pool_type, lists[i].size,
                    lists[i].depth, lists[i].maximum_depth, lists[i].current_depth, (unsigned long long)(uintptr_t)handle,
                    owner != NULL ? "" : "(exa_lookaside_create)\n");
            if (owner != NULL) exa_out(o, "0x%llx (NT lookaside structure)\n", (unsigned long long)(uintptr_t)owner);
        }
    }
    if (blocks > 0) {
        exa_out(o, "Outstanding pool allocations: %llu blocks, %llu bytes, %u tags\n", blocks, bytes, tags);
        exa_out(o, " %-4s %-5s %12s %12s %10s %14s %10s\n", "Tag", "Type", "Allocs", "Frees", "Diff", "Bytes", "Per Alloc");
        for (uint32_t i = 0; i < nr; i++)
            if (rows[i].diff > 0) exa_out_poolmon_row(o, &rows[i]);
        if (exa_atomic_load_relaxed(&_exa_diag_sites)) {
            exa_u64 n;
            exa_allocation_info_t *v = exa_blocks(&n);
            exa_out(o, "Outstanding blocks with their allocation sites:\n");
            for (exa_u64 i = 0; i < n; i++) exa_out_block(o, &v[i], 0);
            _exa_os_free_aligned(v);
        }
    }
    _exa_os_free_aligned(rows);
    _exa_os_free_aligned(lists);
}

exa_u64 exa_leak_report(char *buf, exa_u64 capacity) {
    exa_out_t o;
    exa_out_buffer(&o, buf, capacity);
    exa_leak_text(&o);
    return o.len;
}

exa_status_t exa_leak_report_write(const char *path) {
    exa_os_file_t f;
    if (_exa_os_file_open(&f, path) != 0) return EXA_STATUS_UNSUCCESSFUL;
    char stream[4096];
    exa_out_t o = {stream, sizeof stream, 0, 0, f.fd};
    exa_leak_text(&o);
    exa_out_flush(&o);
    return _exa_os_file_close(&f) == 0 ? EXA_STATUS_SUCCESS : EXA_STATUS_UNSUCCESSFUL;
}

static exa_spinlock_t exa_exit_lock;
static char exa_exit_path[1024];
static exa_atomic(uint32_t) exa_exit_enabled;
static exa_atomic(uint32_t) exa_exit_registered;

static void exa_leak_at_exit(void) {
    if (!exa_atomic_load_acquire(&exa_exit_enabled)) return;
    char path[sizeof exa_exit_path];
    _exa_lock(&exa_exit_lock);
    memcpy(path, exa_exit_path, sizeof path);
    _exa_unlock(&exa_exit_lock);
    /* The calling thread's caches hold blocks that are not leaks of the program's: give them
     * back first (other threads' caches went back when those threads exited). */
    exa_thread_cache_release();
    (void)exa_leak_report_write(path[0] ? path : NULL);
}

exa_status_t exa_leak_report_at_exit(int32_t enable, const char *path) {
    if (path != NULL && strlen(path) >= sizeof exa_exit_path) return EXA_STATUS_INVALID_PARAMETER_2;
    _exa_lock(&exa_exit_lock);
    if (path != NULL && strcmp(path, "-") != 0) memcpy(exa_exit_path, path, strlen(path) + 1);
    else exa_exit_path[0] = 0;
    _exa_unlock(&exa_exit_lock);
    exa_atomic_store_release(&exa_exit_enabled, enable ? 1u : 0u);
    if (enable && exa_atomic_exchange_acq_rel(&exa_exit_registered, 1u) == 0) {
        if (_exa_os_at_exit(exa_leak_at_exit) != 0) {
            exa_atomic_store_release(&exa_exit_registered, 0u);
            return EXA_STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    return EXA_STATUS_SUCCESS;
}

/* ==========================================================================================
 * The bug-check dump: no heap, locks only tried
 * ======================================================================================== */

enum { EXA_FATAL_TAGS = 256, EXA_FATAL_BLOCKS = 1000 };

typedef struct exa_fatal_tag_s {
    uint32_t tag;
    int32_t pool;
    exa_u64 blocks, bytes;
} exa_fatal_tag_t;

typedef struct exa_fatal_s {
    exa_fatal_tag_t tags[EXA_FATAL_TAGS];
    uint32_t ntags, tags_dropped;
    exa_allocation_info_t blocks[EXA_FATAL_BLOCKS];
    exa_u64 nblocks;
} exa_fatal_t;

static exa_fatal_t exa_fatal;
static exa_atomic(uint32_t) exa_fatal_busy;

static int exa_fatal_collect(const exa_diag_block_t *b, void *ctx) {
    exa_fatal_t *f = ctx;
    uint32_t tag = b->tag & ~EXA_TAG_PROTECTED_BIT;
    uint32_t i = 0;
    while (i < f->ntags && (f->tags[i].tag != tag || f->tags[i].pool != b->pool)) i++;
    if (i == f->ntags) {
        if (f->ntags < EXA_FATAL_TAGS) {
            f->tags[i].tag = tag;
            f->tags[i].pool = b->pool;
            f->tags[i].blocks = f->tags[i].bytes = 0;
            f->ntags++;
        } else {
            f->tags_dropped++;
            i = EXA_FATAL_TAGS;
        }
    }
    if (i < EXA_FATAL_TAGS) {
        f->tags[i].blocks++;
        f->tags[i].bytes += b->charged;
    }
    if (f->nblocks < EXA_FATAL_BLOCKS) {
        exa_allocation_info_t *o = &f->blocks[f->nblocks];
        o->address = b->address;
        o->size = b->size;
        o->tag = b->tag;
        o->pool_type = b->pool_type;
    }
    f->nblocks++;
    return 1;
}

/* The parameters that name a block or header, per code (docs/pool.md#integrity). */
static int exa_culprit(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4, uintptr_t *out) {
    if (code == 0xCC || code == 0xCD) {  /* special pool faults (verifier.h): p3 the block */
        *out = (uintptr_t)p3;
        return p3 != 0;
    }
    if (code == 0xC1) {  /* SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION: p1 the block */
        *out = (uintptr_t)p1;
        return p1 != 0;
    }
    if (code == 0x19) {  /* BAD_POOL_HEADER: p2 the entry (a header) */
        *out = (uintptr_t)p2 + 16;
        return p2 != 0;
    }
    if (code == 0xC2) {  /* BAD_POOL_CALLER */
        switch (p1) {
        case 0x07: *out = (uintptr_t)p4; return p4 != 0;
        case 0x01: *out = (uintptr_t)p2 + 16; return p2 != 0;
        case 0x0A: case 0x0D: case 0x42: case 0x46: case 0x99: *out = (uintptr_t)p2; return p2 != 0;
        case 0x09: *out = (uintptr_t)p4; return p4 != 0;
        default: return 0;
        }
    }
    return 0;
}

void _exa_diag_fatal_dump(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4) {
    if (exa_atomic_exchange_acq_rel(&exa_fatal_busy, 1u) != 0) return;  /* one dump at a time */
    const char *path = _exa_os_getenv("EXALLOC_DUMP_PATH");
    static exa_os_file_t file;  /* one dump at a time; kept off a fault handler's small stack */
    if (_exa_os_file_open(&file, path != NULL && path[0] ? path : NULL) != 0) (void)_exa_os_file_open(&file, NULL);
    int fd = file.fd;
    char stream[2048];
    exa_out_t o = {stream, sizeof stream, 0, 0, fd};
    exa_out(&o, "exalloc bug-check dump (pid %u)\n*** STOP: 0x%08X (0x%016llX, 0x%016llX, 0x%016llX, 0x%016llX)\n",
            _exa_os_pid(), (unsigned)code, p1, p2, p3, p4);
    uintptr_t culprit;
    if (exa_culprit(code, p1, p2, p3, p4, &culprit)) {
        exa_diag_block_t b;
        if (_exa_pool_block_of(culprit, &b)) {
            char t[5];
            exa_tag_text(b.tag, t);
            exa_out(&o, "Culprit: 0x%016llx is in the block at 0x%016llx, size %llu, tag %s (0x%08x), %s (0x%x)%s\n",
                    (exa_u64)culprit, (exa_u64)b.address, b.size, t, (unsigned)b.tag,
                    b.pool_type >= 0 ? exa_type_name(b.pool_type) : "free or damaged header", (unsigned)b.pool_type,
                    b.big ? ", big allocation" : "");
            exa_site_t s;
            if (exa_atomic_load_relaxed(&_exa_diag_sites) && exa_site_lookup(b.address, &s, 1)) exa_out_site(&o, &s, 0);
        } else {
            exa_out(&o, "Culprit: 0x%016llx is in no pool block known to exalloc\n", (exa_u64)culprit);
        }
    }
    exa_fatal_t *f = &exa_fatal;
    f->ntags = f->tags_dropped = 0;
    f->nblocks = 0;
    int complete = _exa_pool_walk(exa_fatal_collect, f, 1);
    exa_out(&o, "Live pool tags%s:\n %-4s %-5s %10s %14s\n", complete ? "" : " (some parts were locked and skipped)",
            "Tag", "Type", "Diff", "Bytes");
    for (uint32_t i = 0; i < f->ntags; i++) {
        char t[5];
        exa_tag_text(f->tags[i].tag, t);
        exa_out(&o, " %-4s %-5s %10llu %14llu\n", t, exa_pool_name(f->tags[i].pool), f->tags[i].blocks, f->tags[i].bytes);
    }
    if (f->tags_dropped) exa_out(&o, " (%u blocks of further tags not shown)\n", f->tags_dropped);
    exa_out(&o, "Live allocations: %llu%s\n", f->nblocks, f->nblocks > EXA_FATAL_BLOCKS ? " (first 1000 shown)" : "");
    exa_u64 shown = f->nblocks < EXA_FATAL_BLOCKS ? f->nblocks : EXA_FATAL_BLOCKS;
    for (exa_u64 i = 0; i < shown; i++) exa_out_block(&o, &f->blocks[i], 1);
    exa_out_flush(&o);
    (void)_exa_os_file_close(&file);
    exa_atomic_store_release(&exa_fatal_busy, 0u);
}

/* ==========================================================================================
 * Environment, read once when the library is loaded
 * ======================================================================================== */

/* Registers the diagnostics floor's hooks (base/hooks.h) before anything can set the guard. */
EXA_ON_LOAD(exa_diag_from_env) {
    _exa_hooks.note_alloc = _exa_diag_note_alloc;
    _exa_hooks.note_free = _exa_diag_note_free;
    _exa_hooks.fatal_dump = _exa_diag_fatal_dump;
    const char *checks = _exa_os_getenv("EXALLOC_CHECKS");
    if (checks != NULL && strcmp(checks, "verifier") == 0) (void)exa_diag_record_sites(1);
    const char *leak = _exa_os_getenv("EXALLOC_LEAK_REPORT");
    if (leak != NULL && leak[0] != 0 && strcmp(leak, "0") != 0)
        (void)exa_leak_report_at_exit(1, strcmp(leak, "1") == 0 ? NULL : leak);
    _exa_publish_from_env();
}

/* Fork (base/fork.c): the exit, site and sort locks are held across fork. */
static void exa_diag_fork_prepare(void) {
    _exa_lock(&exa_exit_lock);
    _exa_lock(&exa_site_lock);
    _exa_lock(&exa_sort_lock);
}
static void exa_diag_fork_parent(void) {
    _exa_unlock(&exa_sort_lock);
    _exa_unlock(&exa_site_lock);
    _exa_unlock(&exa_exit_lock);
}
static void exa_diag_fork_child(void) {
    _exa_lock_reset(&exa_sort_lock);
    _exa_lock_reset(&exa_site_lock);
    _exa_lock_reset(&exa_exit_lock);
}
static const exa_fork_handler_t exa_diag_fork = {EXA_FORK_RANK_DIAG, exa_diag_fork_prepare, exa_diag_fork_parent,
                                                 exa_diag_fork_child};
EXA_ON_LOAD(exa_diag_fork_load) { _exa_fork_register(&exa_diag_fork); }
