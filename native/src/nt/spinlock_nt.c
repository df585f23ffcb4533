/* exalloc - native core
 * spinlock_nt.c: NT's Ke* IRQL and spin-lock routines (exalloc_nt.h) over the modern ones.
 *
 * NT has several of these as macros or inlines on x64 (KeRaiseIrql, KeAcquireSpinLock,
 * KeInitializeSpinLock before Windows 8); exalloc exports functions and keeps NT's macro
 * forms in the header. The routines that return nothing drop the status: what a failed
 * check did is in exa_last_bugcheck. The only checks that live here are the ...AtDpcLevel
 * forms' (Verifier 0xC4/0x40 acquire, 0x41 release: caller below DISPATCH_LEVEL), since the
 * modern API has no such forms: its plain acquire/release are IRQL-neutral. */
#include "base/base.h"
#include "exalloc_nt.h"

/* wdm.h x64 layouts; a queued handle's entry is the core's exa_lock_queue_t. */
_Static_assert(offsetof(KSPIN_LOCK_QUEUE, Next) == 0 && offsetof(KSPIN_LOCK_QUEUE, Lock) == sizeof(void *),
               "KSPIN_LOCK_QUEUE");
_Static_assert(sizeof(KSPIN_LOCK_QUEUE) == sizeof(exa_lock_queue_t), "entry size");
_Static_assert(offsetof(KLOCK_QUEUE_HANDLE, OldIrql) == offsetof(exa_queued_lock_handle_t, old_irql),
               "OldIrql where the modern handle keeps it");
_Static_assert(PASSIVE_LEVEL == EXA_PASSIVE_LEVEL && APC_LEVEL == EXA_APC_LEVEL &&
               DISPATCH_LEVEL == EXA_DISPATCH_LEVEL && HIGH_LEVEL == EXA_HIGH_LEVEL, "IRQL values");
_Static_assert(LOCK_QUEUE_WAIT == EXA_LOCK_QUEUE_WAIT && LOCK_QUEUE_OWNER == EXA_LOCK_QUEUE_OWNER, "queue bits");

static exa_lock_queue_t *exa_nt_entry(PKLOCK_QUEUE_HANDLE handle) { return (exa_lock_queue_t *)(void *)&handle->LockQueue; }

/* The ...AtDpcLevel rule: 1 (after reporting `code`) when the caller is below DISPATCH_LEVEL. */
static int exa_nt_below_dispatch(uint32_t code, const void *lock) {
    if (exa_likely(_exa_irql() >= DISPATCH_LEVEL)) return 0;
    (void)_exa_irql_verifier(code, (uintptr_t)lock, 0);
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * IRQL
 * ------------------------------------------------------------------------------------- */

KIRQL KeGetCurrentIrql(VOID) { return _exa_irql(); }

KIRQL KfRaiseIrql(KIRQL NewIrql) {
    KIRQL old;
    (void)exa_irql_raise(NewIrql, &old);
    return old;
}

KIRQL KeRaiseIrqlToDpcLevel(VOID) { return KfRaiseIrql(DISPATCH_LEVEL); }

VOID KeLowerIrql(KIRQL NewIrql) { (void)_exa_irql_lower(NewIrql); }

/* ---------------------------------------------------------------------------------------
 * Classic spin locks
 * ------------------------------------------------------------------------------------- */

VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock) { exa_spinlock_init(SpinLock); }

KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock) {
    KIRQL old;
    (void)exa_spinlock_acquire_raise(SpinLock, &old);
    return old;
}

VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql) { (void)exa_spinlock_release_lower(SpinLock, NewIrql); }

VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
    if (exa_nt_below_dispatch(EXA_VERIFIER_ACQUIRE_BELOW_DISPATCH, SpinLock)) return;
    (void)_exa_spin_acquire(SpinLock);
}

VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock) {
    if (exa_nt_below_dispatch(EXA_VERIFIER_RELEASE_BELOW_DISPATCH, SpinLock)) return;
    (void)_exa_spin_release(SpinLock);
}

BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
    /* Verifier has no code of its own for the try form: the acquire rule's 0x40 applies. */
    if (exa_nt_below_dispatch(EXA_VERIFIER_ACQUIRE_BELOW_DISPATCH, SpinLock)) return FALSE;
    return exa_spinlock_try_acquire(SpinLock) ? TRUE : FALSE;
}

BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock) { return exa_spinlock_test(SpinLock) ? TRUE : FALSE; }

/* ---------------------------------------------------------------------------------------
 * In-stack queued spin locks
 * ------------------------------------------------------------------------------------- */

VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
    (void)_exa_queued_acquire_raise(SpinLock, exa_nt_entry(LockHandle), &LockHandle->OldIrql);
}

VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle) {
    (void)_exa_queued_release_lower(exa_nt_entry(LockHandle), LockHandle->OldIrql);
}

VOID KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
    if (exa_nt_below_dispatch(EXA_VERIFIER_ACQUIRE_BELOW_DISPATCH, SpinLock)) return;
    (void)_exa_queued_acquire(SpinLock, exa_nt_entry(LockHandle));
}

VOID KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle) {
    PKSPIN_LOCK lock = (PKSPIN_LOCK)((ULONG_PTR)LockHandle->LockQueue.Lock & ~(ULONG_PTR)(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER));
    if (exa_nt_below_dispatch(EXA_VERIFIER_RELEASE_BELOW_DISPATCH, lock)) return;
    (void)_exa_queued_release(exa_nt_entry(LockHandle));
}
