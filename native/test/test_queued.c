/* exalloc - C tests: in-stack queued (MCS) spin locks: layouts, the lock word and handle
 * fields, FIFO hand-off, and the checks (0x0F, 0x10, Verifier 0x36/0x40/0x41/0x1008/0x1009). */
#define _GNU_SOURCE 1
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* wdm.h x64 layout, and the modern handle's prefix. */
_Static_assert(offsetof(KSPIN_LOCK_QUEUE, Next) == 0 && offsetof(KSPIN_LOCK_QUEUE, Lock) == 8, "KSPIN_LOCK_QUEUE");
_Static_assert(sizeof(KSPIN_LOCK_QUEUE) == 16, "KSPIN_LOCK_QUEUE size");
_Static_assert(offsetof(KLOCK_QUEUE_HANDLE, LockQueue) == 0 && offsetof(KLOCK_QUEUE_HANDLE, OldIrql) == 16,
               "KLOCK_QUEUE_HANDLE");
_Static_assert(sizeof(KLOCK_QUEUE_HANDLE) == 24, "KLOCK_QUEUE_HANDLE size");
_Static_assert(LOCK_QUEUE_WAIT == 1 && LOCK_QUEUE_OWNER == 2, "queue bits");
_Static_assert(offsetof(exa_queued_lock_handle_t, next) == 0 && offsetof(exa_queued_lock_handle_t, lock) == 8 &&
                   offsetof(exa_queued_lock_handle_t, old_irql) == 16,
               "modern handle starts as KLOCK_QUEUE_HANDLE");
_Static_assert(sizeof(exa_queued_lock_handle_t) == 64 && _Alignof(exa_queued_lock_handle_t) == 64,
               "modern handle: one cache line");

static uintptr_t word_of(KSPIN_LOCK *lock) { return atomic_load((_Atomic uintptr_t *)lock); }

static void word_and_handle_fields(void) {
    KSPIN_LOCK lock;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock);
    KeAcquireInStackQueuedSpinLock(&lock, &h);
    CHECK_EQ(h.OldIrql, PASSIVE_LEVEL);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    CHECK_EQ(word_of(&lock), (uintptr_t)&h.LockQueue); /* the tail entry */
    CHECK_EQ((uintptr_t)h.LockQueue.Lock, (uintptr_t)&lock | LOCK_QUEUE_OWNER);
    CHECK(h.LockQueue.Next == NULL);
    CHECK_EQ(KeTestSpinLock(&lock), FALSE); /* "held" is any non-zero word */
    KeReleaseInStackQueuedSpinLock(&h);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    CHECK_EQ(lock, 0);
    CHECK_EQ((uintptr_t)h.LockQueue.Lock, (uintptr_t)&lock); /* no longer the owner */

    exa_queued_lock_handle_t m;
    uint8_t apc;
    exa_irql_raise(EXA_APC_LEVEL, &apc);
    CHECK_EQ(exa_queued_lock_acquire(&lock, &m), EXA_STATUS_SUCCESS);
    CHECK_EQ(m.old_irql, EXA_APC_LEVEL);
    CHECK_EQ(word_of(&lock), (uintptr_t)&m);
    CHECK_EQ(exa_queued_lock_release(&m), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_irql_get(), EXA_APC_LEVEL);
    exa_irql_lower(apc);
    CHECK_EQ(exa_queued_lock_acquire(NULL, &m), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_queued_lock_release(NULL), EXA_STATUS_INVALID_PARAMETER);
}

static void nested_queued_locks(void) {
    KSPIN_LOCK a = 0, b = 0;
    KLOCK_QUEUE_HANDLE ha, hb;
    KeAcquireInStackQueuedSpinLock(&a, &ha);
    KeAcquireInStackQueuedSpinLock(&b, &hb);
    CHECK_EQ(hb.OldIrql, DISPATCH_LEVEL);
    KeReleaseInStackQueuedSpinLock(&hb);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseInStackQueuedSpinLock(&ha);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    CHECK_EQ(a, 0);
    CHECK_EQ(b, 0);
}

static void recursion_and_handle_reuse_are_0x0f(void) {
    KSPIN_LOCK lock = 0, other = 0;
    KLOCK_QUEUE_HANDLE h1, h2;
    KeAcquireInStackQueuedSpinLock(&lock, &h1);
    exa_u64 n = test_bugcheck_begin();
    KeAcquireInStackQueuedSpinLock(&lock, &h2); /* NT would spin on its own entry forever */
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x0F, (uintptr_t)&lock, (uintptr_t)&h2.LockQueue);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    CHECK_EQ(word_of(&lock), (uintptr_t)&h1.LockQueue);
    n = test_bugcheck_begin();
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&other, &h1); /* the handle still holds `lock` */
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x0F, (uintptr_t)&other, (uintptr_t)&h1.LockQueue);
    CHECK_EQ(other, 0);
    KeReleaseInStackQueuedSpinLock(&h1);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    CHECK_EQ(lock, 0);
}

static void double_release(void) {
    KSPIN_LOCK lock = 0;
    exa_queued_lock_handle_t h;
    CHECK_EQ(exa_queued_lock_acquire(&lock, &h), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_queued_lock_release(&h), EXA_STATUS_SUCCESS);
    exa_u64 n = test_bugcheck_begin();
    CHECK_EQ(exa_queued_lock_release(&h), EXA_STATUS_BUGCHECK); /* at PASSIVE_LEVEL: 0x36 */
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x36, PASSIVE_LEVEL);
    CHECK_EQ(b.parameter3, (uintptr_t)&lock);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    n = test_bugcheck_begin();
    CHECK_EQ(exa_queued_lock_release(&h), EXA_STATUS_BUGCHECK); /* at DISPATCH_LEVEL: the owner check */
    KeReleaseInStackQueuedSpinLockFromDpcLevel((PKLOCK_QUEUE_HANDLE)(void *)&h);
    b = test_bugcheck_end(n);
    KeLowerIrql(old);
    CHECK_EQ(b.sequence, 2);
    CHECK_EQ(b.code, 0x10);
    CHECK_EQ(b.parameter1, (uintptr_t)&lock);
    CHECK_EQ(b.parameter2, (uintptr_t)&h);
    CHECK_EQ(lock, 0);
}

static void kinds_do_not_mix(void) {
    KSPIN_LOCK lock = 0;
    KIRQL old;
    KLOCK_QUEUE_HANDLE h;
    KeAcquireSpinLock(&lock, &old);
    uintptr_t classic = lock;
    exa_u64 n = test_bugcheck_begin();
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock, &h);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x1008, (uintptr_t)&lock);
    CHECK_EQ(lock, classic); /* left intact */
    KeReleaseSpinLock(&lock, old);

    KeAcquireInStackQueuedSpinLock(&lock, &h);
    n = test_bugcheck_begin();
    KeAcquireSpinLockAtDpcLevel(&lock);
    KeReleaseSpinLockFromDpcLevel(&lock);
    b = test_bugcheck_end(n);
    CHECK_EQ(b.sequence, 2);
    CHECK_EQ(b.code, 0xC4);
    CHECK_EQ(b.parameter1, 0x1009);
    CHECK_EQ(b.parameter2, (uintptr_t)&lock);
    CHECK_EQ(word_of(&lock), (uintptr_t)&h.LockQueue);
    KeReleaseInStackQueuedSpinLock(&h);
    CHECK_EQ(lock, 0);
}

static void at_dpc_level_forms(void) {
    KSPIN_LOCK lock = 0;
    KLOCK_QUEUE_HANDLE h;
    memset(&h, 0, sizeof h);
    exa_u64 n = test_bugcheck_begin();
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock, &h);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x40, PASSIVE_LEVEL);
    CHECK_EQ(lock, 0);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    h.OldIrql = 7; /* untouched by the DPC forms */
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock, &h);
    CHECK_EQ(word_of(&lock), (uintptr_t)&h.LockQueue);
    KeLowerIrql(PASSIVE_LEVEL);
    n = test_bugcheck_begin();
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x41, PASSIVE_LEVEL);
    CHECK_EQ(b.parameter3, (uintptr_t)&lock);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    CHECK_EQ(h.OldIrql, 7);
    CHECK_EQ(lock, 0);
}

/* ------------------------------------------------------------------------------------------
 * Hand-off (docs/spinlock.md#queued-fairness). A waiter's entry carries its state in the low
 * bits of `Lock` (WAIT 1; WAIT | PARKED 5; OWNER 2; SKIPPED 4) and, while it waits, a
 * heartbeat in bytes 20-23 of its handle (CLOCK_MONOTONIC microseconds, low 32 bits). These
 * tests build the queue behind a real owner by hand, so that which waiter is running is
 * exact, and look at what the release did to each entry.
 * ---------------------------------------------------------------------------------------- */

enum { Q_WAIT = 1, Q_OWNER = 2, Q_SKIPPED = 4, Q_PARKED = 5 };

static uint32_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

typedef struct fake_waiter_s {
    KLOCK_QUEUE_HANDLE h;
} fake_waiter_t;

static _Atomic uintptr_t *entry_next(KLOCK_QUEUE_HANDLE *h) { return (_Atomic uintptr_t *)(void *)&h->LockQueue.Next; }
static _Atomic uintptr_t *entry_lock(KLOCK_QUEUE_HANDLE *h) { return (_Atomic uintptr_t *)(void *)&h->LockQueue.Lock; }
static _Atomic uint32_t *entry_beat(KLOCK_QUEUE_HANDLE *h) { return (_Atomic uint32_t *)(void *)((char *)h + 20); }
static uintptr_t state_of(KLOCK_QUEUE_HANDLE *h, KSPIN_LOCK *lock) {
    uintptr_t v = atomic_load(entry_lock(h));
    return (v & ~(uintptr_t)7) == (uintptr_t)lock ? (v & 7) : 99;
}

/* Queue `n` fake waiters with the given states behind `owner`, which holds `lock` through the
 * library. age[i]: the heartbeat's age in microseconds, 0 for a heartbeat a second in the
 * future (so that a preemption of this test cannot make a running waiter look stale). */
static void fake_queue(KSPIN_LOCK *lock, KLOCK_QUEUE_HANDLE *owner, fake_waiter_t *w, const int *state,
                       const uint32_t *age, int n) {
    uint32_t now = now_us();
    for (int i = 0; i < n; i++) {
        atomic_store(entry_next(&w[i].h), i + 1 < n ? (uintptr_t)&w[i + 1].h.LockQueue : (uintptr_t)0);
        atomic_store(entry_lock(&w[i].h), (uintptr_t)lock | (uintptr_t)state[i]);
        atomic_store(entry_beat(&w[i].h), age[i] == 0 ? now + 1000000u : now - age[i]);
    }
    atomic_store(entry_next(owner), (uintptr_t)&w[0].h.LockQueue);
    atomic_store((_Atomic uintptr_t *)lock, (uintptr_t)&w[n - 1].h.LockQueue);
}

static void handoff_goes_to_the_first_running_waiter(void) {
    KSPIN_LOCK lock;
    KLOCK_QUEUE_HANDLE owner;
    fake_waiter_t w[3];
    /* all running: strict FIFO, the first one gets the lock, the others are untouched */
    {
        const int st[3] = {Q_WAIT, Q_WAIT, Q_WAIT};
        const uint32_t age[3] = {0, 0, 0};
        KeInitializeSpinLock(&lock);
        KeAcquireInStackQueuedSpinLock(&lock, &owner);
        fake_queue(&lock, &owner, w, st, age, 3);
        KeReleaseInStackQueuedSpinLock(&owner);
        CHECK_EQ(state_of(&w[0].h, &lock), Q_OWNER);
        CHECK_EQ(state_of(&w[1].h, &lock), Q_WAIT);
        CHECK_EQ(state_of(&w[2].h, &lock), Q_WAIT);
        CHECK_EQ(word_of(&lock), (uintptr_t)&w[2].h.LockQueue); /* the queue is intact */
    }
    /* the first parked, the second preempted mid-spin (heartbeat 10 ms old): both skipped in
     * order, the third (running) gets the lock */
    {
        const int st[3] = {Q_PARKED, Q_WAIT, Q_WAIT};
        const uint32_t age[3] = {0, 10000, 0};
        KeInitializeSpinLock(&lock);
        KeAcquireInStackQueuedSpinLock(&lock, &owner);
        fake_queue(&lock, &owner, w, st, age, 3);
        KeReleaseInStackQueuedSpinLock(&owner);
        CHECK_EQ(state_of(&w[0].h, &lock), Q_SKIPPED);
        CHECK_EQ(state_of(&w[1].h, &lock), Q_SKIPPED);
        CHECK_EQ(state_of(&w[2].h, &lock), Q_OWNER);
        CHECK_EQ(word_of(&lock), (uintptr_t)&w[2].h.LockQueue);
    }
    /* a running waiter behind a parked one is not overtaken by the one behind it */
    {
        const int st[3] = {Q_PARKED, Q_WAIT, Q_WAIT};
        const uint32_t age[3] = {0, 0, 0};
        KeInitializeSpinLock(&lock);
        KeAcquireInStackQueuedSpinLock(&lock, &owner);
        fake_queue(&lock, &owner, w, st, age, 3);
        KeReleaseInStackQueuedSpinLock(&owner);
        CHECK_EQ(state_of(&w[0].h, &lock), Q_SKIPPED);
        CHECK_EQ(state_of(&w[1].h, &lock), Q_OWNER);
        CHECK_EQ(state_of(&w[2].h, &lock), Q_WAIT);
    }
    /* nobody running: every waiter is skipped and the lock is free (not handed to a waiter
     * that would hold it while off the CPU) */
    {
        const int st[2] = {Q_PARKED, Q_WAIT};
        const uint32_t age[2] = {0, 10000};
        KeInitializeSpinLock(&lock);
        KeAcquireInStackQueuedSpinLock(&lock, &owner);
        fake_queue(&lock, &owner, w, st, age, 2);
        KeReleaseInStackQueuedSpinLock(&owner);
        CHECK_EQ(state_of(&w[0].h, &lock), Q_SKIPPED);
        CHECK_EQ(state_of(&w[1].h, &lock), Q_SKIPPED);
        CHECK_EQ(lock, 0);
    }
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* Real threads: while the main thread holds the lock, waiters queue one at a time (each
 * waits until the lock word holds its entry), NT and modern handles alternating; by then the
 * earlier ones have parked, so the release skips some and they queue again. Every waiter is
 * served exactly once and the lock ends free. (The order among running waiters is checked
 * exactly by the hand-made queues above.) */
enum { FIFO_WAITERS = 4 };
static KSPIN_LOCK fifo_lock;
static _Atomic uintptr_t fifo_entry[FIFO_WAITERS];
static int fifo_order[FIFO_WAITERS]; /* guarded by fifo_lock */
static int fifo_count;

static void *fifo_waiter(void *arg) {
    int me = (int)(intptr_t)arg;
    if (me & 1) {
        exa_queued_lock_handle_t h;
        atomic_store(&fifo_entry[me], (uintptr_t)&h);
        exa_queued_lock_acquire(&fifo_lock, &h);
        fifo_order[fifo_count++] = me;
        exa_queued_lock_release(&h);
    } else {
        KLOCK_QUEUE_HANDLE h;
        atomic_store(&fifo_entry[me], (uintptr_t)&h.LockQueue);
        KeAcquireInStackQueuedSpinLock(&fifo_lock, &h);
        fifo_order[fifo_count++] = me;
        KeReleaseInStackQueuedSpinLock(&h);
    }
    return NULL;
}

static void every_waiter_is_served_once(void) {
    KLOCK_QUEUE_HANDLE mine;
    pthread_t t[FIFO_WAITERS];
    KeInitializeSpinLock(&fifo_lock);
    fifo_count = 0;
    for (int i = 0; i < FIFO_WAITERS; i++) atomic_store(&fifo_entry[i], (uintptr_t)0);
    KeAcquireInStackQueuedSpinLock(&fifo_lock, &mine);
    for (int i = 0; i < FIFO_WAITERS; i++) {
        pthread_create(&t[i], NULL, fifo_waiter, (void *)(intptr_t)i);
        uintptr_t entry;
        while ((entry = atomic_load(&fifo_entry[i])) == 0 || word_of(&fifo_lock) != entry) sched_yield();
    }
    KeReleaseInStackQueuedSpinLock(&mine);
    for (int i = 0; i < FIFO_WAITERS; i++) pthread_join(t[i], NULL);
    CHECK_EQ(fifo_count, FIFO_WAITERS);
    int seen[FIFO_WAITERS] = {0};
    for (int i = 0; i < FIFO_WAITERS; i++) seen[fifo_order[i]]++;
    for (int i = 0; i < FIFO_WAITERS; i++) CHECK_EQ(seen[i], 1);
    CHECK_EQ(fifo_lock, 0);
}

/* Mutual exclusion and no lost wake-up with 2, 4 and 8 threads (more than the CPUs here, so
 * waiters park, are skipped and queue again): a plain counter under the lock ends exact, and
 * every thread finishes within a generous deadline. */
enum { MX_MAX = 8 };
static KSPIN_LOCK mx_lock;
static unsigned long mx_counter; /* plain: guarded by mx_lock */
static unsigned mx_inside;       /* plain: 1 while a thread is inside */
static _Atomic int mx_violations, mx_done;
static unsigned mx_rounds;

static void *mx_thread(void *arg) {
    int modern = (int)(intptr_t)arg & 1;
    for (unsigned i = 0; i < mx_rounds; i++) {
        exa_queued_lock_handle_t m;
        KLOCK_QUEUE_HANDLE k;
        if (modern) exa_queued_lock_acquire(&mx_lock, &m);
        else KeAcquireInStackQueuedSpinLock(&mx_lock, &k);
        if (mx_inside++ != 0) atomic_fetch_add(&mx_violations, 1);
        mx_counter++;
        mx_inside--;
        if (modern) exa_queued_lock_release(&m);
        else KeReleaseInStackQueuedSpinLock(&k);
    }
    atomic_fetch_add(&mx_done, 1);
    return NULL;
}

static void mutual_exclusion_and_no_lost_wakeups(void) {
    static const int counts[] = {2, 4, 8};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c];
        pthread_t t[MX_MAX];
        KeInitializeSpinLock(&mx_lock);
        mx_counter = 0;
        mx_inside = 0;
        mx_rounds = test_scale(20000);
        atomic_store(&mx_violations, 0);
        atomic_store(&mx_done, 0);
        for (int i = 0; i < n; i++) CHECK_EQ(pthread_create(&t[i], NULL, mx_thread, (void *)(intptr_t)i), 0);
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        do { /* a lost wake-up would leave a thread waiting for ever */
            struct timespec pause = {0, 2000000};
            nanosleep(&pause, NULL);
            clock_gettime(CLOCK_MONOTONIC, &now);
        } while (atomic_load(&mx_done) < n && now.tv_sec - start.tv_sec < 120);
        CHECK_EQ(atomic_load(&mx_done), n);
        for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
        CHECK_EQ(atomic_load(&mx_violations), 0);
        CHECK_EQ(mx_counter, (unsigned long)n * mx_rounds);
        CHECK_EQ(mx_lock, 0);
    }
}

static const test_case_t queued_cases[] = {
    {"queued.word_and_handle_fields", word_and_handle_fields},
    {"queued.nested_queued_locks", nested_queued_locks},
    {"queued.recursion_and_handle_reuse_are_0x0f", recursion_and_handle_reuse_are_0x0f},
    {"queued.double_release", double_release},
    {"queued.kinds_do_not_mix", kinds_do_not_mix},
    {"queued.at_dpc_level_forms", at_dpc_level_forms},
    {"queued.handoff_goes_to_the_first_running_waiter", handoff_goes_to_the_first_running_waiter},
    {"queued.every_waiter_is_served_once", every_waiter_is_served_once},
    {"queued.mutual_exclusion_and_no_lost_wakeups", mutual_exclusion_and_no_lost_wakeups},
    {NULL, NULL}};
TEST_SUITE(queued);
