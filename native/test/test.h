/* exalloc - C tests
 * test.h: a two-macro harness. Each test_*.c file defines a NULL-terminated table of cases
 * and registers it with TEST_SUITE; test_main.c runs every registered suite (optionally
 * filtered by a substring argument) and prints the countable summary line
 * "native: N passed, N failed, N skipped". OS differences live behind test_os.h. */
#ifndef EXA_TEST_H
#define EXA_TEST_H

#include "exalloc.h"
#include "test_os.h"

/* 1 in an AddressSanitizer build (gcc's __SANITIZE_ADDRESS__, clang's __has_feature), else 0. */
#if defined(__SANITIZE_ADDRESS__)
#  define TEST_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define TEST_ASAN 1
#  endif
#endif
#ifndef TEST_ASAN
#  define TEST_ASAN 0
#endif
/* 1 in a ThreadSanitizer build. */
#if defined(__SANITIZE_THREAD__)
#  define TEST_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define TEST_TSAN 1
#  endif
#endif
#ifndef TEST_TSAN
#  define TEST_TSAN 0
#endif

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

typedef struct test_case_s {
    const char *name;
    void (*fn)(void);
} test_case_t;

extern int test_current_failed;
void test_report(const char *file, int line, const char *expr, const char *detail);
/* Skipping: a case may be skipped only for a stated reason that is a property of where it
 * runs (the platform, an emulator that lacks what the case needs, or the kind of build),
 * never of the code under test. TEST_SKIP prints "    skipped: why", counts the case apart
 * from passes and returns. */
void test_skip(const char *why);
#define TEST_SKIP(why)      \
    do {                    \
        test_skip(why);     \
        return;             \
    } while (0)

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            test_report(__FILE__, __LINE__, #cond, NULL);                    \
            return;                                                          \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                                                 \
    do {                                                                                               \
        unsigned long long check_a_ = (unsigned long long)(a), check_b_ = (unsigned long long)(b);      \
        if (check_a_ != check_b_) {                                                                    \
            char check_d_[96];                                                                         \
            snprintf(check_d_, sizeof check_d_, "%llu (0x%llx) != %llu (0x%llx)", check_a_, check_a_,   \
                     check_b_, check_b_);                                                              \
            test_report(__FILE__, __LINE__, #a " == " #b, check_d_);                                   \
            return;                                                                                    \
        }                                                                                              \
    } while (0)

/* Deterministic pseudo-random numbers (xorshift64*), one state per thread. */
static inline uint64_t test_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Bug checks in-process: test_bugcheck_begin() installs exa_bugcheck_record and returns the
 * calling thread's bug-check count; test_bugcheck_end(count) restores the default handler
 * and returns the newest record with `sequence` made relative to `count` (1 = exactly one
 * bug check in between). */
static inline exa_u64 test_bugcheck_begin(void) {
    exa_bugcheck_info_t info;
    exa_set_bugcheck_handler(exa_bugcheck_record, NULL);
    exa_last_bugcheck(&info);
    return info.sequence;
}

static inline exa_bugcheck_info_t test_bugcheck_end(exa_u64 count) {
    exa_bugcheck_info_t info;
    exa_last_bugcheck(&info);
    exa_set_bugcheck_handler(NULL, NULL);
    info.sequence -= count;
    return info;
}

/* Exactly one bug check with this code and first two parameters. */
#define CHECK_BUGCHECK(info, code_, p1_, p2_)            \
    do {                                                 \
        CHECK_EQ((info).sequence, 1);                    \
        CHECK_EQ((info).code, (code_));                  \
        CHECK_EQ((info).parameter1, (p1_));              \
        CHECK_EQ((info).parameter2, (p2_));              \
    } while (0)

/* Scale for stress loops: smaller under sanitizers (set by the sanitizer script). */
unsigned test_scale(unsigned n);

/* Run fn in a child process (test_os.h: a fork, or a new process where there is no fork);
 * returns its wait status and captures stderr (up to cap-1 bytes, NUL-terminated). */
int test_in_child(void (*fn)(void), char *err, size_t cap);

/* Run fn in a child process: 1 when it died of SIGABRT (abort()) after writing a line that starts with
 * `stop` (the default bug-check handler's "*** STOP: ..." line) to stderr, else 0 (and the
 * child's stderr is printed). */
int test_child_stops(void (*fn)(void), const char *stop);

/* Pool test helpers (test_main.c). test_tag("abcd"): the tag whose stored bytes are "abcd"
 * (PoolMon's display order). test_tag_row: the row for (tag, pool) in a fresh snapshot,
 * zeroes when there is none. test_block_info: exa_pool_query_block's answer, zeroes when the
 * pointer is no live block. */
uint32_t test_tag(const char *s);
exa_pool_tag_row_t test_tag_row(uint32_t tag, int32_t pool);
exa_pool_block_info_t test_block_info(const void *p);

/* Suites register themselves: a test file defines a NULL-terminated table `static const
 * test_case_t NAME_cases[]` and writes TEST_SUITE(NAME) after it. The runner sorts the suites
 * by name, so the order is stable and a new test_*.c file needs no other edit. */
typedef struct test_suite_s {
    const char *name;
    const test_case_t *cases;
    struct test_suite_s *next;
} test_suite_t;
void test_register_suite(test_suite_t *suite);

#define TEST_SUITE(name_)                                                                        \
    static test_suite_t name_##_suite = {#name_, name_##_cases, NULL};                           \
    __attribute__((constructor)) static void name_##_suite_register(void) {                      \
        test_register_suite(&name_##_suite);                                                     \
    }                                                                                            \
    extern int test_suite_end_##name_

#endif
