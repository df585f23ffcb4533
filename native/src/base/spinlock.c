/* exalloc - native core
 * spinlock.c: NT-shaped spin locks (KSPIN_LOCK = one pointer-sized word in caller memory),
 * classic and in-stack queued (MCS), with their IRQL rules (docs/spinlock.md).
 *
 * Classic
 * -------
 * Acquire: CAS 0 -> (owner token | 1) with acquire order. On failure, wait with plain
 * (relaxed) loads and the CPU pause hint until the word reads 0, then retry the CAS
 * (test-and-test-and-set: waiters spin in their own cache, not on the bus). Release: store 0
 * with release order. Because the word names its owner, re-acquisition by the owner is 0x0F
 * and a release by anyone else 0x10, instead of NT's silent hang or corruption.
 *
 * Waiting (both kinds): exa_backoff. The pause count doubles up to EXA_SPIN_PAUSE_MAX per
 * step; after EXA_SPIN_ROUNDS steps at the maximum the waiter yields to the OS on every step,
 * because a user-space holder can be preempted (there is no DISPATCH_LEVEL to stop that) and
 * pure spinning would then burn the waiter's whole slice.
 *
 * Queued (MCS)
 * ------------
 * The word holds the address of the tail queue entry (0 = free). An entry is
 * { next, lock | WAIT/OWNER }, the start of KLOCK_QUEUE_HANDLE and exa_queued_lock_handle_t.
 *
 *   acquire: next = 0, lock field = L | WAIT; swing the word from its value v to the entry
 *            (CAS, acq_rel). v == 0: owned at once (lock field = L | OWNER). Otherwise v is
 *            the predecessor: store pred.next = entry (release) and spin on the own entry,
 *            writing a heartbeat, for a few steps; then mark it PARKED, yield or sleep, mark
 *            it WAIT again, and so on, until the entry reads OWNER (done) or SKIPPED (queue
 *            again from the start).
 *   release: if next == 0, CAS the word entry -> 0 (release); success means no waiter. A
 *            failure means a successor has swung the word but not linked itself yet: wait for
 *            next. Then hand on (exa_queued_hand_on): the first waiter that runs (WAIT with a
 *            fresh heartbeat) gets OWNER; each one before it that does not run is marked
 *            SKIPPED after its own next is read, and when the last one is skipped the word is
 *            CASed to 0 first (the lock becomes free). A waiter's entry is on its stack and may
 *            vanish once it reads OWNER or SKIPPED, so nothing touches it after that store.
 * So arrival order holds among running waiters, and no hand-off waits for a waiter that is off
 * its CPU (docs/spinlock.md#queued-fairness).
 *
 * A CAS loop instead of NT's exchange: the CAS sees the old word before replacing it, so a
 * word held classically (bit 0 set; queue entries are pointer-aligned, bit 0 clear) is
 * reported as 0xC4/0x1008 and left intact, where an exchange would already have destroyed
 * it. Uncontended both are one atomic instruction.
 *
 * The word of a queued lock names no thread, so each thread keeps a table of the queue
 * entries it holds (exa_tls_held, reached through the pointer in the initial-exec block after
 * the first lookup): acquiring a lock one of them holds, or through an entry
 * that still holds a lock, is 0x0F (NT would spin forever on its own entry); releasing an
 * entry that is not in the table is 0x10 (double release, foreign handle). The table is
 * plain _Thread_local (global-dynamic TLS): it is touched only on queued paths, and the
 * initial-exec TLS space a dlopen'ed library may use is small. Beyond EXA_HELD_MAX nested
 * queued locks the extra ones are counted but not checked.
 *
 * IRQL (docs/spinlock.md#classic, docs/edge-cases.md#case-50 to #case-55): the _raise forms require IRQL <= DISPATCH_LEVEL
 * (Verifier 0xC4/0x42), raise to DISPATCH_LEVEL, and report the previous level; the
 * _lower forms require exactly DISPATCH_LEVEL (0x32 classic, 0x36 queued) and then lower.
 * The ...AtDpcLevel checks (0x40/0x41) are in spinlock_nt.c, where those names live.
 * Every report leaves the lock and the IRQL as they were. */
#include "base/base.h"

enum { EXA_SPIN_PAUSE_MAX = 64, EXA_SPIN_ROUNDS = 16, EXA_HELD_MAX = 16 };

/* ==========================================================================================
 * Waiting
 * ======================================================================================== */

typedef struct exa_backoff_s {
    unsigned pauses;  /* pause instructions in the next step */
    unsigned rounds;  /* steps taken at EXA_SPIN_PAUSE_MAX */
} exa_backoff_t;

static void exa_backoff(exa_backoff_t *b) {
    if (b->rounds < EXA_SPIN_ROUNDS) {
        for (unsigned i = 0; i < b->pauses; i++) exa_cpu_pause();
        if (b->pauses < EXA_SPIN_PAUSE_MAX) b->pauses <<= 1;
        else b->rounds++;
    } else {
        _exa_os_yield();
    }
}

void _exa_spin_wait(exa_atomic(uintptr_t) *word, uintptr_t mine) {
    exa_backoff_t b = {1, 0};
    for (;;) {
        while (exa_atomic_load_relaxed(word) != 0) exa_backoff(&b);
        uintptr_t expected = 0;
        if (exa_atomic_cas_strong_acquire(word, &expected, mine)) return;
    }
}

/* ==========================================================================================
 * Classic locks
 * ======================================================================================== */

/* A word in queued use: an entry address (non-zero, bit 0 clear). */
exa_inline int exa_word_is_queued(uintptr_t word) { return word != 0 && (word & 1u) == 0; }

/* The other kind's API was used on this word (0xC4/0x1008 acquire, 0x1009 release). */
static exa_cold exa_status_t exa_kind_mismatch(uint32_t code, const void *lock, uintptr_t word) {
    _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, code, (uint64_t)(uintptr_t)lock, word, 0);
    return EXA_STATUS_BUGCHECK;
}

exa_status_t _exa_spin_acquire(exa_spinlock_t *lock) {
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    uintptr_t mine = _exa_os_thread_token() | 1u;
    uintptr_t expected = 0;
    if (exa_likely(exa_atomic_cas_strong_acquire(word, &expected, mine))) return EXA_STATUS_SUCCESS;
    if (expected == mine) {
        /* NT: SPIN_LOCK_ALREADY_OWNED, p1 = lock address. Spinning would hang forever. */
        _exa_bugcheck(EXA_BUGCHECK_SPIN_LOCK_ALREADY_OWNED, (uint64_t)(uintptr_t)lock, 0, 0, 0);
        return EXA_STATUS_BUGCHECK;
    }
    if (exa_word_is_queued(expected)) return exa_kind_mismatch(EXA_VERIFIER_LOCK_ACQUIRE_MISMATCH, lock, expected);
    _exa_spin_wait(word, mine);
    return EXA_STATUS_SUCCESS;
}

exa_status_t _exa_spin_release(exa_spinlock_t *lock) {
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    uintptr_t mine = _exa_os_thread_token() | 1u;
    uintptr_t held = exa_atomic_load_relaxed(word);
    if (exa_unlikely(held != mine)) {
        if (exa_word_is_queued(held)) return exa_kind_mismatch(EXA_VERIFIER_LOCK_RELEASE_MISMATCH, lock, held);
        /* NT: SPIN_LOCK_NOT_OWNED, p1 = lock address, p2 = the word found. */
        _exa_bugcheck(EXA_BUGCHECK_SPIN_LOCK_NOT_OWNED, (uint64_t)(uintptr_t)lock, (uint64_t)held, 0, 0);
        return EXA_STATUS_BUGCHECK;
    }
    exa_atomic_store_release(word, (uintptr_t)0);
    return EXA_STATUS_SUCCESS;
}

/* The modern routines take a NULL lock as an invalid parameter (docs/spinlock.md#null); the
 * NT names reach the internal forms directly and fault on NULL as NT's do. */
void exa_spinlock_init(exa_spinlock_t *lock) {
    if (exa_unlikely(lock == NULL)) {
        _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
        return;
    }
    exa_atomic_store_release(exa_atomic_word(lock), (uintptr_t)0);
}

exa_status_t exa_spinlock_acquire(exa_spinlock_t *lock) {
    if (exa_unlikely(lock == NULL)) return EXA_STATUS_INVALID_PARAMETER;
    return _exa_spin_acquire(lock);
}

exa_status_t exa_spinlock_release(exa_spinlock_t *lock) {
    if (exa_unlikely(lock == NULL)) return EXA_STATUS_INVALID_PARAMETER;
    return _exa_spin_release(lock);
}

int32_t exa_spinlock_try_acquire(exa_spinlock_t *lock) {
    if (exa_unlikely(lock == NULL)) {
        _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
        return 0;
    }
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    if (exa_atomic_load_relaxed(word) != 0) return 0;
    uintptr_t expected = 0;
    return exa_atomic_cas_strong_acquire(word, &expected, _exa_os_thread_token() | 1u) ? 1 : 0;
}

int32_t exa_spinlock_test(const exa_spinlock_t *lock) {
    if (exa_unlikely(lock == NULL)) {
        _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
        return 0;
    }
    if (exa_atomic_load_relaxed(exa_atomic_word((void *)(uintptr_t)lock)) == 0) return 1;
    exa_cpu_pause();
    return 0;
}

exa_status_t exa_spinlock_acquire_raise(exa_spinlock_t *lock, uint8_t *old_irql) {
    if (old_irql == NULL || lock == NULL) return EXA_STATUS_INVALID_PARAMETER;
    uint8_t current = _exa_irql();
    *old_irql = current;
    if (exa_unlikely(current > EXA_DISPATCH_LEVEL))
        return _exa_irql_verifier(EXA_VERIFIER_ACQUIRE_ABOVE_DISPATCH, (uintptr_t)lock, 0);
    _exa_irql_set(EXA_DISPATCH_LEVEL);
    exa_status_t st = _exa_spin_acquire(lock);
    if (exa_unlikely(st != EXA_STATUS_SUCCESS)) _exa_irql_set(current);
    return st;
}

exa_status_t exa_spinlock_release_lower(exa_spinlock_t *lock, uint8_t new_irql) {
    if (exa_unlikely(lock == NULL)) return EXA_STATUS_INVALID_PARAMETER;
    if (exa_unlikely(_exa_irql() != EXA_DISPATCH_LEVEL))
        return _exa_irql_verifier(EXA_VERIFIER_RELEASE_NOT_AT_DISPATCH, (uintptr_t)lock, 0);
    exa_status_t st = _exa_spin_release(lock);
    if (exa_unlikely(st != EXA_STATUS_SUCCESS)) return st;
    return _exa_irql_lower(new_irql);
}

/* ==========================================================================================
 * Queued (MCS) locks
 * ======================================================================================== */

_Static_assert(sizeof(exa_lock_queue_t) == 2 * sizeof(void *), "queue entry = KSPIN_LOCK_QUEUE");
_Static_assert(offsetof(exa_queued_lock_handle_t, next) == offsetof(exa_lock_queue_t, xnext), "entry.next");
_Static_assert(offsetof(exa_queued_lock_handle_t, lock) == offsetof(exa_lock_queue_t, xlock), "entry.lock");
_Static_assert(offsetof(exa_queued_lock_handle_t, old_irql) == sizeof(exa_lock_queue_t), "KLOCK_QUEUE_HANDLE.OldIrql");
_Static_assert(sizeof(exa_queued_lock_handle_t) == 64 && _Alignof(exa_queued_lock_handle_t) == 64,
               "a handle fills one 64-byte line");

enum { EXA_LOCK_QUEUE_BITS = 7 }; /* WAIT, OWNER and the library's PARKED / SKIPPED bit */

/* The queue entries this thread holds (see the theory block). */
typedef struct exa_held_s {
    uint32_t count;                          /* entries in `entry` */
    uint32_t untracked;                      /* held beyond the table, not checked */
    exa_lock_queue_t *entry[EXA_HELD_MAX];
} exa_held_t;

static _Thread_local exa_held_t exa_tls_held;

/* The table through the initial-exec block's pointer: one global-dynamic TLS lookup per thread
 * instead of one per acquire and release. */
static exa_noinline exa_held_t *exa_held_find(void) {
    exa_held_t *h = &exa_tls_held;
    _exa_tls.held = h;
    return h;
}

exa_inline exa_held_t *exa_held(void) {
    exa_held_t *h = (exa_held_t *)_exa_tls.held;
    return exa_likely(h != NULL) ? h : exa_held_find();
}

exa_inline uintptr_t exa_entry_lock(exa_lock_queue_t *q) {
    return exa_atomic_load_relaxed(&q->xlock) & ~(uintptr_t)EXA_LOCK_QUEUE_BITS;
}

/* 0x0F (p1 lock, p2 entry) when this thread holds `lock` through any entry, or q holds a
 * lock already. The entries read are this thread's own and owned, so nobody writes them. */
static exa_noinline exa_status_t exa_held_check(const exa_held_t *h, exa_spinlock_t *lock, exa_lock_queue_t *q) {
    for (uint32_t i = 0; i < h->count; i++) {
        if (h->entry[i] == q || exa_entry_lock(h->entry[i]) == (uintptr_t)lock) {
            _exa_bugcheck(EXA_BUGCHECK_SPIN_LOCK_ALREADY_OWNED, (uint64_t)(uintptr_t)lock, (uint64_t)(uintptr_t)q, 0, 0);
            return EXA_STATUS_BUGCHECK;
        }
    }
    return EXA_STATUS_SUCCESS;
}

/* Waiters' states (the low bits of the entry's lock field; the lock address is 8-aligned):
 *   WAIT            queued, spinning (running): may be handed the lock
 *   WAIT | PARKED   queued, gave its CPU away (yield): skipped by a release
 *   OWNER           handed the lock
 *   SKIPPED         taken out of the queue by a release; queues again at the tail
 * A waiter moves itself between WAIT and WAIT | PARKED with a CAS; only a release (the
 * owner, one at a time) writes OWNER or SKIPPED, with a CAS from the state it examined. */
enum { EXA_QUEUE_PARKED = 4, EXA_QUEUE_SKIPPED = 4, EXA_QUEUE_STATE = 7 };

/* A spinning waiter's heartbeat: the microsecond clock's low 32 bits, written to bytes 20-23
 * of its handle (KLOCK_QUEUE_HANDLE's padding after OldIrql; exa_queued_lock_handle_t's too)
 * at every backoff step. A release treats a waiter in WAIT whose heartbeat is older than
 * EXA_QUEUE_STALE_US as not running (the OS preempted it mid-spin) and skips it. */
enum { EXA_QUEUE_STALE_US = 20, EXA_QUEUE_SPIN_STEPS = 4, EXA_QUEUE_YIELDS = 2 };

exa_inline exa_atomic(uint32_t) *exa_entry_beat(exa_lock_queue_t *q) {
    return (exa_atomic(uint32_t) *)(void *)((char *)(void *)q + 20);
}

exa_inline uint32_t exa_now_us(void) { return (uint32_t)(_exa_os_now_ns() / 1000u); }

exa_status_t _exa_queued_acquire(exa_spinlock_t *lock, exa_lock_queue_t *q) {
    exa_held_t *h = exa_held();
    if (h->count != 0 && exa_held_check(h, lock, q) != EXA_STATUS_SUCCESS) return EXA_STATUS_BUGCHECK;
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    uintptr_t self = (uintptr_t)q, waiting = (uintptr_t)lock | EXA_LOCK_QUEUE_WAIT;
    uintptr_t parked = waiting | EXA_QUEUE_PARKED;
    unsigned parks = 0; /* this acquisition's parks, across requeues */
    for (;;) { /* once, or again after a release skipped this waiter */
        uintptr_t prev = 0;
        exa_atomic_store_relaxed(&q->xnext, (uintptr_t)0);
        exa_atomic_store_relaxed(&q->xlock, waiting);
        while (!exa_atomic_cas_strong_acq_rel(word, &prev, self)) {
            if (exa_unlikely(prev & 1u)) {
                exa_atomic_store_relaxed(&q->xlock, (uintptr_t)lock);
                return exa_kind_mismatch(EXA_VERIFIER_LOCK_ACQUIRE_MISMATCH, lock, prev);
            }
        }
        if (prev == 0) {
            exa_atomic_store_relaxed(&q->xlock, (uintptr_t)lock | EXA_LOCK_QUEUE_OWNER);
            exa_atomic_store_relaxed(exa_entry_beat(q), 0u); /* no wait: no clock reading to reuse */
            break;
        }
        exa_atomic_store_relaxed(exa_entry_beat(q), exa_now_us());
        exa_atomic_store_release(&((exa_lock_queue_t *)prev)->xnext, self);
        /* Spin a bounded number of backoff steps (heartbeat at each), then give the CPU away
         * marked PARKED, so that a release skips this waiter instead of handing it the lock. */
        exa_backoff_t b = {1, 0};
        unsigned steps = 0;
        uintptr_t state;
        for (;;) {
            state = exa_atomic_load_acquire(&q->xlock);
            if ((state & EXA_QUEUE_STATE) != EXA_LOCK_QUEUE_WAIT) break;
            if (steps++ < EXA_QUEUE_SPIN_STEPS) {
                for (unsigned i = 0; i < b.pauses; i++) exa_cpu_pause();
                if (b.pauses < EXA_SPIN_PAUSE_MAX) b.pauses <<= 1;
                exa_atomic_store_relaxed(exa_entry_beat(q), exa_now_us());
                continue;
            }
            uintptr_t expected = waiting;
            if (!exa_atomic_cas_strong_acq_rel(&q->xlock, &expected, parked)) continue; /* granted or skipped */
            /* the first parks yield; later ones sleep, leaving both CPUs to the running threads */
            if (parks++ < EXA_QUEUE_YIELDS) _exa_os_yield();
            else _exa_os_sleep_ms(1);
            exa_atomic_store_relaxed(exa_entry_beat(q), exa_now_us());
            expected = parked;
            if (!exa_atomic_cas_strong_acq_rel(&q->xlock, &expected, waiting)) continue;
            steps = EXA_QUEUE_SPIN_STEPS / 2; /* back from the OS: spin a little, then park again */
            b.pauses = EXA_SPIN_PAUSE_MAX / 4;
        }
        if (state & EXA_LOCK_QUEUE_OWNER) break;
        /* SKIPPED: the release that skipped us is done with this entry; queue again. */
    }
    if (exa_likely(h->count < EXA_HELD_MAX)) h->entry[h->count++] = q;
    else h->untracked++;
    return EXA_STATUS_SUCCESS;
}

/* The owner hands the lock on (see the theory block): to the first waiter that is running,
 * skipping parked or stale ones; when every waiter was skipped, the lock becomes free. */
static void exa_queued_hand_on(exa_atomic(uintptr_t) *word, uintptr_t lock, uintptr_t next, uint32_t own_beat) {
    exa_lock_queue_t *c = (exa_lock_queue_t *)next;
    /* "Now" for the heartbeat test: an owner that waited wrote its last heartbeat just before
     * it was handed the lock, a critical section ago; that reading is reused instead of the
     * clock's (a successor that queued later then reads as running, which it was). */
    uint32_t now = own_beat;
    int have_now = own_beat != 0;
    exa_backoff_t b = {1, 0};
    for (;;) {
        uintptr_t s = exa_atomic_load_acquire(&c->xlock);
        if ((s & EXA_QUEUE_STATE) == EXA_LOCK_QUEUE_WAIT) {
            if (!have_now) {
                now = exa_now_us();
                have_now = 1;
            }
            uint32_t beat = exa_atomic_load_relaxed(exa_entry_beat(c));
            if ((int32_t)(now - beat) < EXA_QUEUE_STALE_US) {
                if (exa_atomic_cas_strong_release(&c->xlock, &s, lock | EXA_LOCK_QUEUE_OWNER)) return;
                continue; /* it parked meanwhile: look again */
            }
        }
        /* Not running: skip it. Its successor first (it stays linked until marked). */
        uintptr_t n2 = exa_atomic_load_acquire(&c->xnext);
        if (n2 == 0) {
            uintptr_t expected = (uintptr_t)c;
            if (exa_atomic_cas_strong_acq_rel(word, &expected, (uintptr_t)0)) {
                /* c was the last: out of the queue, the lock is free; tell c to queue again */
                uintptr_t cur = exa_atomic_load_relaxed(&c->xlock);
                while (!exa_atomic_cas_strong_release(&c->xlock, &cur, lock | EXA_QUEUE_SKIPPED)) {
                }
                return;
            }
            exa_backoff(&b); /* a newer waiter is linking itself behind c */
            continue;
        }
        if (exa_atomic_cas_strong_release(&c->xlock, &s, lock | EXA_QUEUE_SKIPPED)) c = (exa_lock_queue_t *)n2;
    }
}

exa_status_t _exa_queued_release(exa_lock_queue_t *q) {
    exa_held_t *h = exa_held();
    uintptr_t field = exa_atomic_load_relaxed(&q->xlock);
    uintptr_t lock = field & ~(uintptr_t)EXA_LOCK_QUEUE_BITS;
    uint32_t i = h->count;
    while (i > 0 && h->entry[i - 1] != q) i--;  /* usually the newest: releases nest */
    if (exa_likely(i > 0)) {
        h->entry[i - 1] = h->entry[--h->count];
    } else if (h->untracked > 0 && (field & EXA_LOCK_QUEUE_OWNER)) {
        h->untracked--;
    } else {
        /* NT: SPIN_LOCK_NOT_OWNED; p1 = the lock the handle names, p2 = the handle. */
        _exa_bugcheck(EXA_BUGCHECK_SPIN_LOCK_NOT_OWNED, (uint64_t)lock, (uint64_t)(uintptr_t)q, 0, 0);
        return EXA_STATUS_BUGCHECK;
    }
    exa_atomic(uintptr_t) *word = exa_atomic_word((void *)lock);
    uintptr_t self = (uintptr_t)q;
    uintptr_t next = exa_atomic_load_acquire(&q->xnext);
    exa_atomic_store_relaxed(&q->xlock, lock); /* no longer the owner */
    if (next == 0) {
        uintptr_t expected = self;
        if (exa_atomic_cas_strong_release(word, &expected, (uintptr_t)0)) return EXA_STATUS_SUCCESS;
        exa_backoff_t b = {1, 0};
        while ((next = exa_atomic_load_acquire(&q->xnext)) == 0) exa_backoff(&b);
    }
    exa_queued_hand_on(word, lock, next, exa_atomic_load_relaxed(exa_entry_beat(q)));
    return EXA_STATUS_SUCCESS;
}

exa_status_t _exa_queued_acquire_raise(exa_spinlock_t *lock, exa_lock_queue_t *q, uint8_t *old_irql) {
    uint8_t current = _exa_irql();
    *old_irql = current;
    if (exa_unlikely(current > EXA_DISPATCH_LEVEL))
        return _exa_irql_verifier(EXA_VERIFIER_ACQUIRE_ABOVE_DISPATCH, (uintptr_t)lock, 0);
    _exa_irql_set(EXA_DISPATCH_LEVEL);
    exa_status_t st = _exa_queued_acquire(lock, q);
    if (exa_unlikely(st != EXA_STATUS_SUCCESS)) _exa_irql_set(current);
    return st;
}

exa_status_t _exa_queued_release_lower(exa_lock_queue_t *q, uint8_t old_irql) {
    if (exa_unlikely(_exa_irql() != EXA_DISPATCH_LEVEL))
        return _exa_irql_verifier(EXA_VERIFIER_QUEUED_RELEASE_NOT_AT_DISPATCH, exa_entry_lock(q), old_irql);
    exa_status_t st = _exa_queued_release(q);
    if (exa_unlikely(st != EXA_STATUS_SUCCESS)) return st;
    return _exa_irql_lower(old_irql);
}

exa_inline exa_lock_queue_t *exa_handle_entry(exa_queued_lock_handle_t *handle) {
    return (exa_lock_queue_t *)(void *)handle;
}

exa_status_t exa_queued_lock_acquire(exa_spinlock_t *lock, exa_queued_lock_handle_t *handle) {
    if (lock == NULL || handle == NULL) return EXA_STATUS_INVALID_PARAMETER;
    return _exa_queued_acquire_raise(lock, exa_handle_entry(handle), &handle->old_irql);
}

exa_status_t exa_queued_lock_release(exa_queued_lock_handle_t *handle) {
    if (handle == NULL) return EXA_STATUS_INVALID_PARAMETER;
    return _exa_queued_release_lower(exa_handle_entry(handle), handle->old_irql);
}
