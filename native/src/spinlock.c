/* exalloc - native core
 * spinlock.c: NT-shaped spin locks (KSPIN_LOCK = one pointer-sized word in caller memory).
 *
 * Acquire: CAS 0 -> (owner token | 1) with acquire order. On failure, wait with plain
 * (relaxed) loads and the CPU pause hint until the word reads 0, then retry the CAS
 * (test-and-test-and-set: waiters spin in their own cache, not on the bus). The pause count
 * doubles up to EXA_SPIN_PAUSE_MAX per round; after EXA_SPIN_ROUNDS rounds the waiter yields
 * to the OS on every round, because a user-space holder can be preempted (there is no
 * DISPATCH_LEVEL to stop that) and pure spinning would then burn the waiter's whole slice.
 * Release: store 0 with release order. */
#include "internal/internal.h"

enum { EXA_SPIN_PAUSE_MAX = 64, EXA_SPIN_ROUNDS = 16 };

void _exa_spin_wait(exa_atomic(uintptr_t) *word, uintptr_t mine) {
    unsigned pauses = 1, rounds = 0;
    for (;;) {
        while (exa_atomic_load_relaxed(word) != 0) {
            if (rounds < EXA_SPIN_ROUNDS) {
                for (unsigned i = 0; i < pauses; i++) exa_cpu_pause();
                if (pauses < EXA_SPIN_PAUSE_MAX) pauses <<= 1;
                else rounds++;
            } else {
                _exa_os_yield();
            }
        }
        uintptr_t expected = 0;
        if (exa_atomic_cas_strong_acquire(word, &expected, mine)) return;
    }
}

void exa_spinlock_init(exa_spinlock_t *lock) { exa_atomic_store_release(exa_atomic_word(lock), (uintptr_t)0); }

exa_status_t exa_spinlock_acquire(exa_spinlock_t *lock) {
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    uintptr_t mine = _exa_os_thread_token() | 1u;
    uintptr_t expected = 0;
    if (exa_likely(exa_atomic_cas_strong_acquire(word, &expected, mine))) return EXA_STATUS_SUCCESS;
    if (expected == mine) {
        /* NT: SPIN_LOCK_ALREADY_OWNED, p1 = lock address. Spinning would hang forever. */
        _exa_bugcheck(EXA_BUGCHECK_SPIN_LOCK_ALREADY_OWNED, (uint64_t)(uintptr_t)lock, 0, 0, 0);
        return EXA_STATUS_BUGCHECK;
    }
    _exa_spin_wait(word, mine);
    return EXA_STATUS_SUCCESS;
}

int32_t exa_spinlock_try_acquire(exa_spinlock_t *lock) {
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    if (exa_atomic_load_relaxed(word) != 0) return 0;
    uintptr_t expected = 0;
    return exa_atomic_cas_strong_acquire(word, &expected, _exa_os_thread_token() | 1u) ? 1 : 0;
}

exa_status_t exa_spinlock_release(exa_spinlock_t *lock) {
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    uintptr_t mine = _exa_os_thread_token() | 1u;
    uintptr_t held = exa_atomic_load_relaxed(word);
    if (exa_unlikely(held != mine)) {
        /* NT: SPIN_LOCK_NOT_OWNED, p1 = lock address, p2 = the word found. */
        _exa_bugcheck(EXA_BUGCHECK_SPIN_LOCK_NOT_OWNED, (uint64_t)(uintptr_t)lock, (uint64_t)held, 0, 0);
        return EXA_STATUS_BUGCHECK;
    }
    exa_atomic_store_release(word, (uintptr_t)0);
    return EXA_STATUS_SUCCESS;
}

int32_t exa_spinlock_test(const exa_spinlock_t *lock) {
    if (exa_atomic_load_relaxed(exa_atomic_word((void *)(uintptr_t)lock)) == 0) return 1;
    exa_cpu_pause();
    return 0;
}
