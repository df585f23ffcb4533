/* A C11 program built with CMake against the C package (find_package(exalloc), target
 * exalloc::exalloc): a lookaside list shared by threads keeps exact counters, and its tag
 * shows in the PoolMon view. */
#include <exalloc.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "consumer-cmake: line %d: failed: %s\n", __LINE__, #cond); \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

enum { THREADS = 4, ROUNDS = 5000, BATCH = 8 };

static exa_lookaside_t *list;

static void *worker(void *arg) {
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        void *held[BATCH];
        for (int i = 0; i < BATCH; i++) {
            held[i] = exa_lookaside_allocate(list);
            if (held[i] == NULL) return (void *)1;
            memset(held[i], r & 0xFF, 32);
        }
        for (int i = 0; i < BATCH; i++)
            if (exa_lookaside_free(list, held[i]) != EXA_STATUS_SUCCESS) return (void *)1;
    }
    return NULL;
}

int main(void) {
    CHECK(exa_abi_version() == EXPECTED_ABI);
    const uint32_t tag = 0x6B614D43; /* "CMak" */
    exa_lookaside_config_t cfg = { .size = 32, .tag = tag, .pool_type = EXA_PAGED_POOL };
    CHECK(exa_lookaside_create(&cfg, &list) == EXA_STATUS_SUCCESS);

    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *rc;
        CHECK(pthread_join(t[i], &rc) == 0 && rc == NULL);
    }

    exa_lookaside_stats_t st;
    CHECK(exa_lookaside_query(list, &st) == EXA_STATUS_SUCCESS);
    const exa_u64 n = (exa_u64)THREADS * ROUNDS * BATCH;
    CHECK(st.total_allocates == n && st.total_frees == n);
    CHECK(st.allocate_misses <= n && st.free_misses <= n);
    /* every block a miss took from the pool went back to it through a free miss or is cached */
    CHECK(st.allocate_misses == st.free_misses + st.current_depth);

    char text[1 << 16];
    exa_u64 len = exa_poolmon_text(text, sizeof text, EXA_POOLMON_SORT_TAG);
    CHECK(len > 0 && strstr(text, "CMak") != NULL);

    CHECK(exa_lookaside_delete(list) == EXA_STATUS_SUCCESS);
    printf("consumer-cmake: %llu allocates from %d threads, %llu misses, tag CMak in PoolMon\n",
           (unsigned long long)st.total_allocates, THREADS, (unsigned long long)st.allocate_misses);
    return 0;
}
