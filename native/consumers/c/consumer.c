/* A C99 program built against the C package with pkg-config (scripts/consumers.sh): the
 * library it loads is the one the package names, and it keeps the counters NT keeps. */
#include <exalloc.h>

#include <stdio.h>
#include <string.h>

#ifndef EXPECTED_VERSION
#error "build with -DEXPECTED_VERSION=\"<pkg-config --modversion exalloc>\""
#endif

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "consumer-c: line %d: failed: %s\n", __LINE__, #cond);    \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

static uint32_t tag_of(const char *s) {
    return (uint32_t)(unsigned char)s[0] | (uint32_t)(unsigned char)s[1] << 8 |
           (uint32_t)(unsigned char)s[2] << 16 | (uint32_t)(unsigned char)s[3] << 24;
}

/* The PoolMon row of a tag in the non-paged pool; a zero row when the tag has none yet. */
static exa_pool_tag_row_t tag_row(uint32_t tag) {
    static exa_pool_tag_row_t rows[4096];
    exa_pool_tag_row_t none;
    uint32_t n = exa_pool_tag_snapshot(rows, 4096), i;
    memset(&none, 0, sizeof none);
    if (n > 4096) n = 4096;
    for (i = 0; i < n; i++)
        if (rows[i].tag == tag && rows[i].pool == EXA_POOL_KIND_NON_PAGED) return rows[i];
    return none;
}

int main(void) {
    exa_lookaside_config_t cfg;
    exa_lookaside_t *list = NULL;
    exa_lookaside_stats_t st;
    exa_pool_tag_row_t before, during, after;
    uint32_t list_tag = tag_of("PkgL"), pool_tag = tag_of("PkgP");
    unsigned char *a, *b, *p;
    exa_u64 i;

    CHECK(exa_abi_version() == EXA_ABI_VERSION);
    CHECK(strcmp(exa_version_string(), EXPECTED_VERSION) == 0);
    CHECK(exa_struct_size(EXA_STRUCT_LOOKASIDE_CONFIG) == sizeof(exa_lookaside_config_t));
    CHECK(exa_struct_size(EXA_STRUCT_LOOKASIDE_STATS) == sizeof(exa_lookaside_stats_t));
    CHECK(exa_struct_size(EXA_STRUCT_QUEUED_LOCK_HANDLE) == sizeof(exa_queued_lock_handle_t));

    /* A lookaside list: a miss, then the freed block back first (LIFO), exact counters. */
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 48;
    cfg.tag = list_tag;
    cfg.pool_type = EXA_NON_PAGED_POOL_NX;
    CHECK(exa_lookaside_create(&cfg, &list) == EXA_STATUS_SUCCESS && list != NULL);
    a = (unsigned char *)exa_lookaside_allocate(list);
    CHECK(a != NULL);
    memset(a, 0x5A, 48);
    CHECK(exa_lookaside_free(list, a) == EXA_STATUS_SUCCESS);
    b = (unsigned char *)exa_lookaside_allocate(list);
    CHECK(b == a);
    CHECK(exa_lookaside_free(list, b) == EXA_STATUS_SUCCESS);
    CHECK(exa_lookaside_query(list, &st) == EXA_STATUS_SUCCESS);
    CHECK(st.total_allocates == 2 && st.allocate_misses == 1);
    CHECK(st.total_frees == 2 && st.free_misses == 0);
    CHECK(st.size == 48 && st.tag == list_tag && st.depth == EXA_LOOKASIDE_INITIAL_DEPTH);
    CHECK(st.current_depth == 1);
    during = tag_row(list_tag);   /* the list's one block came from the pool under its tag */
    CHECK(during.allocs == 1 && during.frees == 0 && during.diff == 1);
    CHECK(exa_lookaside_delete(list) == EXA_STATUS_SUCCESS);
    after = tag_row(list_tag);
    CHECK(after.allocs == 1 && after.frees == 1 && after.diff == 0 && after.bytes == 0);

    /* The pool: a zeroed block, counted under its tag until freed. */
    before = tag_row(pool_tag);
    p = (unsigned char *)exa_pool_allocate(EXA_POOL_FLAG_NON_PAGED, 1000, pool_tag);
    CHECK(p != NULL);
    for (i = 0; i < 1000; i++) CHECK(p[i] == 0);
    during = tag_row(pool_tag);
    CHECK(during.allocs == before.allocs + 1 && during.diff == before.diff + 1);
    CHECK(during.bytes >= before.bytes + 1000);
    exa_pool_free_with_tag(p, pool_tag);
    after = tag_row(pool_tag);
    CHECK(after.frees == before.frees + 1 && after.diff == before.diff && after.bytes == before.bytes);

    printf("consumer-c: exalloc %s (ABI %u): lookaside 2 allocates / 1 miss, pool tag PkgP %llu alloc / %llu free\n",
           exa_version_string(), (unsigned)exa_abi_version(), (unsigned long long)after.allocs,
           (unsigned long long)after.frees);
    return 0;
}
