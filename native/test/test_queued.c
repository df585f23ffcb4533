/* exalloc - C tests: in-stack queued (MCS) spin locks: layouts, the lock word and handle
 * fields, FIFO hand-off, and the checks (0x0F, 0x10, Verifier 0x36/0x40/0x41/0x1008/0x1009). */
#define _GNU_SOURCE 1
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

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
 * FIFO: while the main thread holds the lock, waiters enqueue one at a time (each waits until
 * it is the tail: the lock word holds its entry), alternating NT and modern handles. Their
 * acquisition order must be their arrival order.
 * ---------------------------------------------------------------------------------------- */

enum { FIFO_WAITERS = 6 };
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

static void fifo_order_is_arrival_order(void) {
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
    for (int i = 0; i < FIFO_WAITERS; i++) CHECK_EQ(fifo_order[i], i);
    CHECK_EQ(fifo_lock, 0);
}

static const test_case_t queued_cases[] = {
    {"queued.word_and_handle_fields", word_and_handle_fields},
    {"queued.nested_queued_locks", nested_queued_locks},
    {"queued.recursion_and_handle_reuse_are_0x0f", recursion_and_handle_reuse_are_0x0f},
    {"queued.double_release", double_release},
    {"queued.kinds_do_not_mix", kinds_do_not_mix},
    {"queued.at_dpc_level_forms", at_dpc_level_forms},
    {"queued.fifo_order_is_arrival_order", fifo_order_is_arrival_order},
    {NULL, NULL}};
TEST_SUITE(queued);
