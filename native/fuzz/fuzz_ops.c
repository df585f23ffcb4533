/* exalloc - fuzz target (libFuzzer): random operation sequences over the pool, lookaside
 * lists, a zone and quota accounts, with bad frees mixed in, checked against a reference model.
 *
 * Built and run by native/fuzz/run.sh (ASan + UBSan, the debug tier). Each input is decoded into
 * operations, two bytes or more each: an opcode byte, then its arguments. The first byte picks
 * the checking level (bit 0: the verifier level, where the lookaside bad frees are caught).
 *
 * The model holds every outstanding block (address, size, tag, the list or account it belongs
 * to), the lists' expected TotalAllocates / TotalFrees, the zone's free-block count and each
 * account's expected usage. After every operation:
 *   - a good operation must not bug-check; a bad one (double free, foreign pointer, wrong
 *     tag, a stale list handle, the verifier level's lookaside bad frees) must bug-check with
 *     one of the codes that fit it, and must leave everything as it was (the handler installed
 *     here returns, so the call is abandoned);
 *   - a block handed out is not outstanding already (no block has two owners) and is
 *     writable over its size (ASan checks the write);
 * and at the end of the input, with everything freed: each fuzz tag's Allocs and Frees
 * (exa_pool_tag_snapshot) moved by the same amounts as the model's, each list's counters
 * matched the model's all along, and each account is back to zero usage.
 * A mismatch calls abort(): libFuzzer keeps the input as a crash. */
#include "exalloc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_BLOCKS 64
#define FZ_LISTS 4
#define FZ_TAGS 4
#define FZ_ACCOUNTS 2
#define FZ_ZONE_SEGMENTS 3
#define FZ_SEGMENT 2048

static void fz_fail(const char *what, int line) {
    fprintf(stderr, "fuzz_ops: model mismatch at line %d: %s\n", line, what);
    abort();
}
#define FZ_CHECK(c) \
    do {            \
        if (!(c)) fz_fail(#c, __LINE__); \
    } while (0)

typedef struct {
    void *p;
    exa_u64 size;
    int kind;      /* 0 free slot, 1 pool, 2 list block, 3 zone block */
    int owner;     /* list index or account index (-1 none) */
    uint32_t tag;
    exa_u64 charged;
} fz_block_t;

typedef struct {
    exa_lookaside_t *l;
    exa_u64 size;
    exa_u64 allocates, frees; /* expected TotalAllocates / TotalFrees */
} fz_list_t;

typedef struct {
    exa_quota_account_t *a;
    exa_u64 usage; /* expected non-paged usage */
    exa_u64 blocks;
} fz_account_t;

static fz_block_t blocks[FZ_BLOCKS];
static fz_list_t lists[FZ_LISTS];
static fz_account_t accounts[FZ_ACCOUNTS];
static exa_lookaside_t *stale_list; /* deleted, and no list created since: still detectable */
static exa_zone_t zone;
static int zone_live, zone_segments;
static exa_u64 zone_free;
static _Alignas(16) unsigned char zone_mem[FZ_ZONE_SEGMENTS][FZ_SEGMENT];
static _Alignas(16) unsigned char foreign[256];
static const uint32_t tags[FZ_TAGS] = {0x30307A46u, 0x31317A46u, 0x32327A46u, 0x33337A46u}; /* "Fz00".. */
static const uint32_t list_tag = 0x4C4C7A46u; /* "FzLL" */
static exa_u64 tag_allocs[FZ_TAGS], tag_frees[FZ_TAGS]; /* expected movements this input */
static exa_pool_tag_row_t base_rows[FZ_TAGS];
static int verifier;

/* ------------------------------------------------------------------------------------------ */

static exa_u64 bugchecks(exa_bugcheck_info_t *last) {
    exa_bugcheck_info_t info;
    exa_last_bugcheck(&info);
    if (last != NULL) *last = info;
    return info.sequence;
}

/* The call between must not have bug-checked. */
#define FZ_QUIET(before) FZ_CHECK(bugchecks(NULL) == (before))

/* The call between bug-checked exactly once, with code/p1 among the accepted ones. */
static void fz_expect(exa_u64 before, uint32_t code, exa_u64 p1a, exa_u64 p1b, int line) {
    exa_bugcheck_info_t info;
    if (bugchecks(&info) != before + 1) fz_fail("expected one bug check", line);
    if (info.code != code || (info.parameter1 != p1a && info.parameter1 != p1b)) {
        fprintf(stderr, "fuzz_ops: got 0x%X/0x%llX\n", info.code, (unsigned long long)info.parameter1);
        fz_fail("unexpected bug-check code", line);
    }
}

static uint32_t tag_row_index(uint32_t tag) {
    for (uint32_t i = 0; i < FZ_TAGS; i++)
        if (tags[i] == tag) return i;
    return FZ_TAGS;
}

static void tag_rows(exa_pool_tag_row_t out[FZ_TAGS]) {
    static exa_pool_tag_row_t rows[4096];
    memset(out, 0, sizeof(exa_pool_tag_row_t) * FZ_TAGS);
    uint32_t n = exa_pool_tag_snapshot(rows, 4096);
    if (n > 4096) n = 4096;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = tag_row_index(rows[i].tag);
        if (k < FZ_TAGS && rows[i].pool == EXA_POOL_KIND_NON_PAGED) {
            out[k].allocs += rows[i].allocs;
            out[k].frees += rows[i].frees;
        }
    }
}

static int find_free_slot(void) {
    for (int i = 0; i < FZ_BLOCKS; i++)
        if (blocks[i].kind == 0) return i;
    return -1;
}

static int outstanding(const void *p) {
    for (int i = 0; i < FZ_BLOCKS; i++)
        if (blocks[i].kind != 0 && blocks[i].p == p) return 1;
    return 0;
}

static int nth_block(int kind, uint8_t pick) {
    int n = 0;
    for (int i = 0; i < FZ_BLOCKS; i++) n += blocks[i].kind == kind;
    if (n == 0) return -1;
    int k = pick % n;
    for (int i = 0; i < FZ_BLOCKS; i++)
        if (blocks[i].kind == kind && k-- == 0) return i;
    return -1;
}

/* A block handed out: not outstanding, writable over its size. */
static void take(int slot, void *p, exa_u64 size, int kind, int owner, uint32_t tag) {
    FZ_CHECK(!outstanding(p));
    memset(p, 0xA5, (size_t)size);
    blocks[slot].p = p;
    blocks[slot].size = size;
    blocks[slot].kind = kind;
    blocks[slot].owner = owner;
    blocks[slot].tag = tag;
    blocks[slot].charged = 0;
}

static void check_list(int i) {
    exa_lookaside_stats_t st;
    FZ_CHECK(exa_lookaside_query(lists[i].l, &st) == EXA_STATUS_SUCCESS);
    FZ_CHECK(st.total_allocates == lists[i].allocates);
    FZ_CHECK(st.total_frees == lists[i].frees);
    FZ_CHECK(st.current_depth <= st.depth);
}

static void check_account(int i) {
    exa_quota_stats_t st;
    FZ_CHECK(exa_quota_query(accounts[i].a, &st) == EXA_STATUS_SUCCESS);
    FZ_CHECK(st.non_paged_usage == accounts[i].usage);
    FZ_CHECK(st.charged_blocks == accounts[i].blocks);
}

/* ------------------------------------------------------------------------------------------
 * Operations
 * ---------------------------------------------------------------------------------------- */

static void op_pool_allocate(uint8_t a, uint8_t b) {
    int slot = find_free_slot();
    if (slot < 0) return;
    static const exa_u64 sizes[8] = {1, 8, 16, 40, 100, 256, 1000, 4100};
    exa_u64 size = sizes[a & 7] + (b & 0x30);
    uint32_t t = tags[(a >> 3) & 3];
    exa_u64 before = bugchecks(NULL);
    void *p = exa_pool_allocate_typed(EXA_NON_PAGED_POOL_NX, size, t, EXA_POOL_PRIORITY_HIGH);
    FZ_QUIET(before);
    if (p == NULL) return;
    take(slot, p, size, 1, -1, t);
    tag_allocs[tag_row_index(t)]++;
}

static void op_pool_free(uint8_t a, uint8_t b) {
    int i = nth_block(1, a);
    if (i < 0) return;
    exa_u64 before = bugchecks(NULL);
    exa_status_t st = (b & 1) ? exa_pool_free_checked(blocks[i].p, blocks[i].tag) : exa_pool_free_checked(blocks[i].p, 0);
    FZ_CHECK(st == EXA_STATUS_SUCCESS);
    FZ_QUIET(before);
    tag_frees[tag_row_index(blocks[i].tag)]++;
    if (blocks[i].owner >= 0) {
        accounts[blocks[i].owner].usage -= blocks[i].charged;
        accounts[blocks[i].owner].blocks--;
    }
    blocks[i].kind = 0;
}

/* Bad pool frees: a foreign pointer, an interior pointer, a wrong tag. Each is refused with
 * nothing changed, or (a wrong tag below the verifier level, where only protected tags are
 * checked) accepted as a free. */
static void op_pool_bad_free(uint8_t a, uint8_t b) {
    exa_u64 before = bugchecks(NULL);
    switch (a % 3) {
    case 0: /* a pointer the pool never gave out */
        FZ_CHECK(exa_pool_free_checked(foreign + 16 * (b % 8), 0) == EXA_STATUS_BUGCHECK);
        if (((uintptr_t)(foreign + 16 * (b % 8)) & 4095) == 0) fz_expect(before, 0x19, 0x22, 0x22, __LINE__); /* no big record */
        else fz_expect(before, 0xC2, 0x42, 0x99, __LINE__);
        break;
    case 1: { /* inside a live block */
        int i = nth_block(1, b);
        if (i < 0 || blocks[i].size < 64) return;
        FZ_CHECK(exa_pool_free_checked((unsigned char *)blocks[i].p + 32, 0) == EXA_STATUS_BUGCHECK);
        FZ_CHECK(bugchecks(NULL) == before + 1);
        break;
    }
    default: { /* the wrong tag */
        int i = nth_block(1, b);
        if (i < 0) return;
        uint32_t wrong = tags[(tag_row_index(blocks[i].tag) + 1) % FZ_TAGS];
        exa_status_t st = exa_pool_free_checked(blocks[i].p, wrong);
        if (st == EXA_STATUS_BUGCHECK) {
            fz_expect(before, 0xC2, 0x0A, 0x0A, __LINE__);
            exa_pool_block_info_t info;
            FZ_CHECK(exa_pool_query_block(blocks[i].p, &info) == EXA_STATUS_SUCCESS); /* still live */
        } else {
            FZ_CHECK(!verifier); /* the verifier level checks every tag */
            FZ_QUIET(before);
            tag_frees[tag_row_index(blocks[i].tag)]++;
            if (blocks[i].owner >= 0) {
                accounts[blocks[i].owner].usage -= blocks[i].charged;
                accounts[blocks[i].owner].blocks--;
            }
            blocks[i].kind = 0;
        }
        break;
    }
    }
}

/* A double free of a pool block: freed here, then freed again while nothing else reuses the
 * address (allocations by this thread could; none happen in between). */
static void op_pool_double_free(uint8_t a) {
    int i = nth_block(1, a);
    if (i < 0 || blocks[i].owner >= 0) return;
    void *p = blocks[i].p;
    exa_u64 before = bugchecks(NULL);
    FZ_CHECK(exa_pool_free_checked(p, 0) == EXA_STATUS_SUCCESS);
    FZ_QUIET(before);
    tag_frees[tag_row_index(blocks[i].tag)]++;
    blocks[i].kind = 0;
    FZ_CHECK(exa_pool_free_checked(p, 0) == EXA_STATUS_BUGCHECK);
    FZ_CHECK(bugchecks(NULL) == before + 1);
}

static void op_list_create(uint8_t a) {
    int i = a % FZ_LISTS;
    if (lists[i].l != NULL) return;
    static const exa_u64 sizes[4] = {16, 64, 256, 1000};
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizes[(a >> 2) & 3];
    cfg.tag = list_tag;
    cfg.pool_type = EXA_NON_PAGED_POOL_NX;
    cfg.initial_depth = 1 + ((a >> 4) & 7);
    exa_lookaside_t *l = NULL;
    FZ_CHECK(exa_lookaside_create(&cfg, &l) == EXA_STATUS_SUCCESS);
    stale_list = NULL; /* the new list may reuse a deleted one's memory */
    lists[i].l = l;
    lists[i].size = cfg.size;
    lists[i].allocates = lists[i].frees = 0;
}

static void op_list_allocate(uint8_t a) {
    int i = a % FZ_LISTS, slot = find_free_slot();
    if (lists[i].l == NULL || slot < 0) return;
    exa_u64 before = bugchecks(NULL);
    void *p = exa_lookaside_allocate(lists[i].l);
    FZ_QUIET(before);
    lists[i].allocates++;
    if (p != NULL) take(slot, p, lists[i].size, 2, i, list_tag);
    check_list(i);
}

static void op_list_free(uint8_t a) {
    int k = nth_block(2, a);
    if (k < 0) return;
    int i = blocks[k].owner;
    exa_u64 before = bugchecks(NULL);
    FZ_CHECK(exa_lookaside_free(lists[i].l, blocks[k].p) == EXA_STATUS_SUCCESS);
    FZ_QUIET(before);
    lists[i].frees++;
    blocks[k].kind = 0;
    check_list(i);
}

/* The verifier level's lookaside bad frees: twice, a short pool block, a cached block to the
 * pool. Each is refused with the list unchanged. */
static void op_list_bad_free(uint8_t a, uint8_t b) {
    if (!verifier) return;
    int i = a % FZ_LISTS;
    if (lists[i].l == NULL) return;
    exa_u64 before = bugchecks(NULL);
    switch (b % 3) {
    case 0: { /* free one of its blocks, then free it again */
        int k = nth_block(2, b >> 2);
        if (k < 0) return;
        int o = blocks[k].owner;
        void *p = blocks[k].p;
        FZ_CHECK(exa_lookaside_free(lists[o].l, p) == EXA_STATUS_SUCCESS);
        FZ_QUIET(before);
        lists[o].frees++;
        blocks[k].kind = 0;
        /* Cached (0x1011), or, when the free missed, back in the pool: no live pool block (0x1012). */
        FZ_CHECK(exa_lookaside_free(lists[i].l, p) == EXA_STATUS_BUGCHECK);
        fz_expect(before, 0xC4, 0x1011, 0x1012, __LINE__);
        check_list(o);
        check_list(i);
        break;
    }
    case 1: { /* a pool block smaller than the list's Size */
        if (lists[i].size <= 16) return;
        void *p = exa_pool_allocate_typed(EXA_NON_PAGED_POOL_NX, 8, tags[0], EXA_POOL_PRIORITY_HIGH);
        if (p == NULL) return;
        FZ_CHECK(exa_lookaside_free(lists[i].l, p) == EXA_STATUS_BUGCHECK);
        fz_expect(before, 0xC4, 0x1012, 0x1012, __LINE__);
        FZ_CHECK(exa_pool_free_checked(p, tags[0]) == EXA_STATUS_SUCCESS);
        tag_allocs[0]++;
        tag_frees[0]++;
        break;
    }
    default: { /* a block the list caches, freed to the pool */
        void *p = exa_lookaside_allocate(lists[i].l);
        lists[i].allocates++;
        if (p == NULL) return;
        FZ_CHECK(exa_lookaside_free(lists[i].l, p) == EXA_STATUS_SUCCESS);
        lists[i].frees++;
        FZ_QUIET(before);
        /* Cached: 0xC4/0x1013. If the free missed, the pool has the block already: a double
         * free of a pool block, 0xC2. Refused either way. */
        FZ_CHECK(exa_pool_free_checked(p, 0) == EXA_STATUS_BUGCHECK);
        exa_bugcheck_info_t info;
        FZ_CHECK(bugchecks(&info) == before + 1);
        FZ_CHECK((info.code == 0xC4 && info.parameter1 == 0x1013) || info.code == 0xC2);
        check_list(i);
        break;
    }
    }
}

static void op_list_delete(uint8_t a) {
    int i = a % FZ_LISTS;
    if (lists[i].l == NULL) return;
    for (int k = 0; k < FZ_BLOCKS; k++) /* outstanding blocks go back to the pool directly */
        if (blocks[k].kind == 2 && blocks[k].owner == i) {
            FZ_CHECK(exa_pool_free_checked(blocks[k].p, 0) == EXA_STATUS_SUCCESS);
            blocks[k].kind = 0;
        }
    check_list(i);
    exa_u64 before = bugchecks(NULL);
    FZ_CHECK(exa_lookaside_delete(lists[i].l) == EXA_STATUS_SUCCESS);
    FZ_QUIET(before);
    stale_list = lists[i].l;
    lists[i].l = NULL;
}

static void op_list_stale(uint8_t a) {
    if (stale_list == NULL) return;
    exa_u64 before = bugchecks(NULL);
    if (a & 1) FZ_CHECK(exa_lookaside_allocate(stale_list) == NULL);
    else FZ_CHECK(exa_lookaside_free(stale_list, foreign) == EXA_STATUS_BUGCHECK);
    fz_expect(before, 0xC4, 0x1014, 0x1014, __LINE__);
}

static void op_zone(uint8_t a, uint8_t b) {
    if (!zone_live) {
        uint32_t bs = 16 + 8 * (a % 30);
        FZ_CHECK(exa_zone_init(&zone, bs, zone_mem[0], FZ_SEGMENT) == EXA_STATUS_SUCCESS);
        zone_live = 1;
        zone_segments = 1;
        zone_free = (FZ_SEGMENT - sizeof(exa_zone_segment_header_t)) / bs;
        return;
    }
    switch (b % 3) {
    case 0: {
        int slot = find_free_slot();
        if (slot < 0) return;
        void *p = exa_zone_allocate(&zone);
        if (zone_free == 0) {
            FZ_CHECK(p == NULL);
            return;
        }
        FZ_CHECK(p != NULL && exa_zone_contains(&zone, p, NULL));
        zone_free--;
        take(slot, p, zone.block_size, 3, -1, 0);
        break;
    }
    case 1: {
        int k = nth_block(3, a);
        if (k < 0) return;
        (void)exa_zone_free(&zone, blocks[k].p);
        blocks[k].kind = 0;
        zone_free++;
        break;
    }
    default:
        if (zone_segments == FZ_ZONE_SEGMENTS) return;
        FZ_CHECK(exa_zone_extend(&zone, zone_mem[zone_segments], FZ_SEGMENT) == EXA_STATUS_SUCCESS);
        zone_segments++;
        zone_free += (FZ_SEGMENT - sizeof(exa_zone_segment_header_t)) / zone.block_size;
        break;
    }
    FZ_CHECK(exa_zone_is_full(&zone) == (zone_free == 0));
}

static void op_quota(uint8_t a, uint8_t b) {
    int i = a % FZ_ACCOUNTS;
    if (accounts[i].a == NULL) {
        FZ_CHECK(exa_quota_create(1024 + 512 * (exa_u64)(b % 16), 0, &accounts[i].a) == EXA_STATUS_SUCCESS);
        accounts[i].usage = accounts[i].blocks = 0;
        return;
    }
    int slot = find_free_slot();
    if (slot < 0) return;
    static const exa_u64 sizes[4] = {16, 100, 500, 2000};
    exa_u64 size = sizes[b & 3];
    uint32_t t = tags[(b >> 2) & 3];
    exa_quota_account_t *saved = exa_quota_attach(accounts[i].a);
    exa_u64 before = bugchecks(NULL);
    void *p = exa_pool_allocate_quota(EXA_NON_PAGED_POOL_NX | EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, size, t);
    FZ_QUIET(before);
    (void)exa_quota_attach(saved);
    if (p != NULL) {
        exa_pool_block_info_t info;
        FZ_CHECK(exa_pool_query_block(p, &info) == EXA_STATUS_SUCCESS);
        take(slot, p, size, 1, i, t);
        tag_allocs[tag_row_index(t)]++;
        if (info.quota_charged) {
            FZ_CHECK(info.account == accounts[i].a);
            blocks[slot].charged = info.charged;
            accounts[i].usage += info.charged;
            accounts[i].blocks++;
        } else {
            blocks[slot].owner = -1;
        }
    }
    check_account(i);
}

/* ------------------------------------------------------------------------------------------ */

static void finish(void) {
    for (int k = 0; k < FZ_BLOCKS; k++) {
        if (blocks[k].kind == 1) {
            FZ_CHECK(exa_pool_free_checked(blocks[k].p, blocks[k].tag) == EXA_STATUS_SUCCESS);
            tag_frees[tag_row_index(blocks[k].tag)]++;
            if (blocks[k].owner >= 0) {
                accounts[blocks[k].owner].usage -= blocks[k].charged;
                accounts[blocks[k].owner].blocks--;
            }
        } else if (blocks[k].kind == 2) {
            FZ_CHECK(exa_lookaside_free(lists[blocks[k].owner].l, blocks[k].p) == EXA_STATUS_SUCCESS);
            lists[blocks[k].owner].frees++;
        }
        blocks[k].kind = 0;
    }
    for (int i = 0; i < FZ_LISTS; i++)
        if (lists[i].l != NULL) {
            check_list(i);
            FZ_CHECK(exa_lookaside_delete(lists[i].l) == EXA_STATUS_SUCCESS);
            lists[i].l = NULL;
        }
    for (int i = 0; i < FZ_ACCOUNTS; i++)
        if (accounts[i].a != NULL) {
            check_account(i);
            FZ_CHECK(accounts[i].usage == 0);
            FZ_CHECK(exa_quota_close(accounts[i].a) == EXA_STATUS_SUCCESS);
            accounts[i].a = NULL;
        }
    zone_live = 0;
    exa_pool_tag_row_t rows[FZ_TAGS];
    tag_rows(rows);
    for (int t = 0; t < FZ_TAGS; t++) {
        FZ_CHECK(rows[t].allocs - base_rows[t].allocs == tag_allocs[t]);
        FZ_CHECK(rows[t].frees - base_rows[t].frees == tag_frees[t]);
    }
    if (verifier) exa_set_check_level(EXA_CHECKS_DEFAULT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    exa_set_bugcheck_handler(exa_bugcheck_record, NULL);
    verifier = data[0] & 1;
    if (verifier) exa_set_check_level(EXA_CHECKS_VERIFIER);
    memset(tag_allocs, 0, sizeof tag_allocs);
    memset(tag_frees, 0, sizeof tag_frees);
    tag_rows(base_rows);
    for (size_t i = 1; i + 2 < size; i += 3) {
        uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
        switch (op % 14) {
        case 0: case 1: op_pool_allocate(a, b); break;
        case 2: op_pool_free(a, b); break;
        case 3: op_pool_bad_free(a, b); break;
        case 4: op_pool_double_free(a); break;
        case 5: op_list_create(a); break;
        case 6: case 7: op_list_allocate(a); break;
        case 8: op_list_free(a); break;
        case 9: op_list_bad_free(a, b); break;
        case 10: op_list_delete(a); break;
        case 11: op_list_stale(a); break;
        case 12: op_zone(a, b); break;
        default: op_quota(a, b); break;
        }
    }
    finish();
    return 0;
}
