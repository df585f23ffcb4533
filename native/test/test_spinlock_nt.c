/* exalloc - C tests: NT's spin-lock routines (exalloc_nt.h) and the modern raising forms:
 * IRQL raised and restored, the IRQL rules (Verifier 0xC4 codes 0x32, 0x40-0x42), owner
 * checks, and mutual exclusion under contention for every lock kind. */
#define _GNU_SOURCE 1
#include "exalloc_nt.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

_Static_assert(sizeof(KSPIN_LOCK) == 8, "KSPIN_LOCK");

static void acquire_raises_to_dispatch_and_restores(void) {
    KSPIN_LOCK a = 77, b;
    KIRQL old_a = 99, old_b = 99;
    KeInitializeSpinLock(&a);
    KeInitializeSpinLock(&b);
    CHECK_EQ(a, 0);
    CHECK_EQ(KeTestSpinLock(&a), TRUE);
    KeAcquireSpinLock(&a, &old_a);
    CHECK_EQ(old_a, PASSIVE_LEVEL);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    CHECK_EQ(KeTestSpinLock(&a), FALSE);
    CHECK((a & 1) == 1);
    KeAcquireSpinLock(&b, &old_b); /* nested, in a consistent order */
    CHECK_EQ(old_b, DISPATCH_LEVEL);
    KeReleaseSpinLock(&b, old_b);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLock(&a, old_a);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    CHECK_EQ(a, 0);
    CHECK_EQ(b, 0);

    KIRQL apc;
    KeRaiseIrql(APC_LEVEL, &apc);
    CHECK_EQ(KeAcquireSpinLockRaiseToDpc(&a), APC_LEVEL);
    KeReleaseSpinLock(&a, APC_LEVEL);
    CHECK_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(apc);
}

static void modern_raise_and_lower(void) {
    exa_spinlock_t lock = 0;
    uint8_t old = 99;
    CHECK_EQ(exa_spinlock_acquire_raise(&lock, NULL), EXA_STATUS_INVALID_PARAMETER);
    CHECK_EQ(exa_spinlock_acquire_raise(&lock, &old), EXA_STATUS_SUCCESS);
    CHECK_EQ(old, EXA_PASSIVE_LEVEL);
    CHECK_EQ(exa_irql_get(), EXA_DISPATCH_LEVEL);
    CHECK_EQ(exa_spinlock_release_lower(&lock, old), EXA_STATUS_SUCCESS);
    CHECK_EQ(exa_irql_get(), EXA_PASSIVE_LEVEL);
    CHECK_EQ(lock, 0);
}

static void acquire_above_dispatch_is_0xc4_0x42(void) {
    KSPIN_LOCK lock = 0;
    KIRQL high, old;
    KeRaiseIrql(HIGH_LEVEL, &high);
    exa_u64 n = test_bugcheck_begin();
    KeAcquireSpinLock(&lock, &old);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    KeLowerIrql(high);
    CHECK_BUGCHECK(b, 0xC4, 0x42, HIGH_LEVEL);
    CHECK_EQ(b.parameter3, (uintptr_t)&lock);
    CHECK_EQ(lock, 0);            /* not acquired */
    CHECK_EQ(old, HIGH_LEVEL);    /* and nothing to restore */
}

static void release_not_at_dispatch_is_0xc4_0x32(void) {
    KSPIN_LOCK lock = 0;
    KIRQL old;
    KeAcquireSpinLock(&lock, &old);
    KeReleaseSpinLock(&lock, old);
    exa_u64 n = test_bugcheck_begin();
    KeReleaseSpinLock(&lock, old); /* the double release, now at PASSIVE_LEVEL */
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x32, PASSIVE_LEVEL);
    CHECK_EQ(b.parameter3, (uintptr_t)&lock);
    /* At DISPATCH_LEVEL the same double release is the owner check's 0x10. */
    KIRQL dpc = KeRaiseIrqlToDpcLevel();
    n = test_bugcheck_begin();
    KeReleaseSpinLock(&lock, dpc);
    b = test_bugcheck_end(n);
    KeLowerIrql(dpc);
    CHECK_BUGCHECK(b, 0x10, (uintptr_t)&lock, 0);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void recursion_restores_irql(void) {
    KSPIN_LOCK lock = 0;
    KIRQL old, again;
    KeAcquireSpinLock(&lock, &old);
    exa_u64 n = test_bugcheck_begin();
    KeAcquireSpinLock(&lock, &again);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0x0F, (uintptr_t)&lock, 0);
    CHECK_EQ(again, DISPATCH_LEVEL);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL); /* the outer acquisition's level */
    KeReleaseSpinLock(&lock, old);
    CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    CHECK_EQ(lock, 0);
}

static void at_dpc_level_forms(void) {
    KSPIN_LOCK lock = 0;
    exa_u64 n = test_bugcheck_begin();
    KeAcquireSpinLockAtDpcLevel(&lock);
    exa_bugcheck_info_t b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x40, PASSIVE_LEVEL);
    CHECK_EQ(b.parameter3, (uintptr_t)&lock);
    CHECK_EQ(lock, 0);
    n = test_bugcheck_begin();
    CHECK_EQ(KeTryToAcquireSpinLockAtDpcLevel(&lock), FALSE);
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x40, PASSIVE_LEVEL);
    n = test_bugcheck_begin();
    KeReleaseSpinLockFromDpcLevel(&lock);
    b = test_bugcheck_end(n);
    CHECK_BUGCHECK(b, 0xC4, 0x41, PASSIVE_LEVEL);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&lock);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    CHECK_EQ(KeTryToAcquireSpinLockAtDpcLevel(&lock), FALSE); /* busy */
    KeReleaseSpinLockFromDpcLevel(&lock);
    CHECK_EQ(KeTryToAcquireSpinLockAtDpcLevel(&lock), TRUE);
    KeReleaseSpinLockFromDpcLevel(&lock);
    CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    CHECK_EQ(lock, 0);
}

static void child_at_dpc_level_at_passive(void) {
    KSPIN_LOCK lock = 0;
    KeAcquireSpinLockAtDpcLevel(&lock);
}

static void at_dpc_level_at_passive_aborts(void) {
    CHECK(test_child_stops(child_at_dpc_level_at_passive, "*** STOP: 0x000000C4 (0x0000000000000040, "
                                                          "0x0000000000000000, 0x"));
}

/* ------------------------------------------------------------------------------------------
 * Mutual exclusion under contention, for every kind: 4 threads increment a plain counter
 * under the lock and count how often they found another thread inside.
 * ---------------------------------------------------------------------------------------- */

typedef enum { KIND_NT_CLASSIC, KIND_MODERN_CLASSIC, KIND_NT_QUEUED, KIND_MODERN_QUEUED, KIND_MIXED_QUEUED } lock_kind_t;

typedef struct {
    lock_kind_t kind;
    unsigned iterations;
    KSPIN_LOCK lock;
    uint64_t counter;       /* guarded by lock */
    atomic_int inside;      /* threads inside the critical section right now */
    atomic_int overlaps;    /* times a thread found another one inside */
    atomic_int bad_irql;    /* times the IRQL inside was not DISPATCH_LEVEL, or not restored */
} stress_t;

typedef struct {
    stress_t *s;
    int index;
} stress_arg_t;

/* One handle of each shape, so that every kind runs the same loop. */
typedef struct {
    KIRQL old;
    KLOCK_QUEUE_HANDLE nt;
    exa_queued_lock_handle_t modern;
} hold_t;

static void stress_enter(stress_t *s, int index, hold_t *h) {
    uint8_t old;
    switch (s->kind) {
    case KIND_NT_CLASSIC: KeAcquireSpinLock(&s->lock, &h->old); break;
    case KIND_MODERN_CLASSIC: exa_spinlock_acquire_raise(&s->lock, &old); h->old = old; break;
    case KIND_NT_QUEUED: KeAcquireInStackQueuedSpinLock(&s->lock, &h->nt); break;
    case KIND_MODERN_QUEUED: exa_queued_lock_acquire(&s->lock, &h->modern); break;
    case KIND_MIXED_QUEUED: /* NT and modern handles in one queue */
        if (index & 1) exa_queued_lock_acquire(&s->lock, &h->modern);
        else KeAcquireInStackQueuedSpinLock(&s->lock, &h->nt);
        break;
    }
}

static void stress_leave(stress_t *s, int index, hold_t *h) {
    switch (s->kind) {
    case KIND_NT_CLASSIC: KeReleaseSpinLock(&s->lock, h->old); break;
    case KIND_MODERN_CLASSIC: exa_spinlock_release_lower(&s->lock, h->old); break;
    case KIND_NT_QUEUED: KeReleaseInStackQueuedSpinLock(&h->nt); break;
    case KIND_MODERN_QUEUED: exa_queued_lock_release(&h->modern); break;
    case KIND_MIXED_QUEUED:
        if (index & 1) exa_queued_lock_release(&h->modern);
        else KeReleaseInStackQueuedSpinLock(&h->nt);
        break;
    }
}

static void *stress_worker(void *arg) {
    stress_arg_t *a = arg;
    stress_t *s = a->s;
    for (unsigned i = 0; i < s->iterations; i++) {
        hold_t h;
        stress_enter(s, a->index, &h);
        if (atomic_fetch_add(&s->inside, 1) != 0)
            atomic_fetch_add(&s->overlaps, 1);
        if (KeGetCurrentIrql() != DISPATCH_LEVEL) atomic_fetch_add(&s->bad_irql, 1);
        s->counter++;
        atomic_fetch_sub(&s->inside, 1);
        stress_leave(s, a->index, &h);
        if (KeGetCurrentIrql() != PASSIVE_LEVEL) atomic_fetch_add(&s->bad_irql, 1);
    }
    return NULL;
}

enum { STRESS_THREADS = 4 };

static void run_stress(lock_kind_t kind) {
    static stress_t s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    /* Queued locks hand over in strict FIFO order: with more threads than CPUs (4 threads,
     * 2-CPU CI machines), a hand-off to a preempted waiter waits for the scheduler, a few to
     * tens of microseconds each, where a classic lock goes to whichever thread runs. NT
     * assumes no preemption at DISPATCH_LEVEL; here the count is sized for it. */
    int queued = kind == KIND_NT_QUEUED || kind == KIND_MODERN_QUEUED || kind == KIND_MIXED_QUEUED;
    s.iterations = test_scale(queued ? 10000 : 100000);
    KeInitializeSpinLock(&s.lock);
    pthread_t t[STRESS_THREADS];
    stress_arg_t a[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++) {
        a[i] = (stress_arg_t){&s, i};
        pthread_create(&t[i], NULL, stress_worker, &a[i]);
    }
    for (int i = 0; i < STRESS_THREADS; i++) pthread_join(t[i], NULL);
    CHECK_EQ(s.counter, (uint64_t)STRESS_THREADS * s.iterations);
    CHECK_EQ(atomic_load(&s.overlaps), 0);
    CHECK_EQ(atomic_load(&s.bad_irql), 0);
    CHECK_EQ(s.lock, 0);
}

static void stress_nt_classic(void) { run_stress(KIND_NT_CLASSIC); }
static void stress_modern_classic(void) { run_stress(KIND_MODERN_CLASSIC); }
static void stress_nt_queued(void) { run_stress(KIND_NT_QUEUED); }
static void stress_modern_queued(void) { run_stress(KIND_MODERN_QUEUED); }
static void stress_mixed_queued_handles(void) { run_stress(KIND_MIXED_QUEUED); }

static const test_case_t spinlock_nt_cases[] = {
    {"spinlock_nt.acquire_raises_to_dispatch_and_restores", acquire_raises_to_dispatch_and_restores},
    {"spinlock_nt.modern_raise_and_lower", modern_raise_and_lower},
    {"spinlock_nt.acquire_above_dispatch_is_0xc4_0x42", acquire_above_dispatch_is_0xc4_0x42},
    {"spinlock_nt.release_not_at_dispatch_is_0xc4_0x32", release_not_at_dispatch_is_0xc4_0x32},
    {"spinlock_nt.recursion_restores_irql", recursion_restores_irql},
    {"spinlock_nt.at_dpc_level_forms", at_dpc_level_forms},
    {"spinlock_nt.at_dpc_level_at_passive_aborts", at_dpc_level_at_passive_aborts},
    {"spinlock_nt.stress_nt_classic", stress_nt_classic},
    {"spinlock_nt.stress_modern_classic", stress_modern_classic},
    {"spinlock_nt.stress_nt_queued", stress_nt_queued},
    {"spinlock_nt.stress_modern_queued", stress_modern_queued},
    {"spinlock_nt.stress_mixed_queued_handles", stress_mixed_queued_handles},
    {NULL, NULL}};
TEST_SUITE(spinlock_nt);
