/* exalloc - native core
 * base/base.h: the ground floor's declarations (native/LAYERS.md): bug check and raise, the
 * TLS block, IRQL, spin locks, library init. Three naming tiers (after mimalloc): exported
 * `exa_*` (declared in exalloc.h / exalloc_nt.h, visible), cross-file internal `_exa_*`
 * (hidden by -fvisibility=hidden), file-local `static`.
 *
 * Every floor's header includes this one; it includes only base/ headers (arch.h, atomic.h,
 * platform.h, debug.h). The floors above reach nothing here but what is declared here. */
#ifndef EXA_INTERNAL_H
#define EXA_INTERNAL_H

/* The library's sources export the public functions: exalloc.h's EXA_API is dllexport on
 * Windows only when EXA_BUILDING_LIBRARY is defined before the public headers are first read
 * (dllimport otherwise, which fails the Windows build with "definition of dllimport"
 * errors). So every library source includes this header (or a floor header) before
 * exalloc.h or exalloc_nt.h, and the cross builds pass -DEXA_BUILDING_LIBRARY=1 as well. The
 * C tests include internal headers after exalloc.h: for them EXA_API stays an import. */
#if !defined(EXA_BUILDING_LIBRARY)
#  define EXA_BUILDING_LIBRARY 1
#endif
#include "exalloc.h"
#include "base/arch.h"
#include "base/atomic.h"
#include "base/platform.h"
#include "base/debug.h"

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------
 * Bug-check codes used by the core (NT's numbers).
 * ------------------------------------------------------------------------------------- */
enum {
    EXA_BUGCHECK_IRQL_NOT_GREATER_OR_EQUAL = 0x09,
    EXA_BUGCHECK_IRQL_NOT_LESS_OR_EQUAL = 0x0A,
    EXA_BUGCHECK_SPIN_LOCK_ALREADY_OWNED = 0x0F,
    EXA_BUGCHECK_SPIN_LOCK_NOT_OWNED = 0x10,
    EXA_BUGCHECK_BAD_POOL_CALLER = 0xC2,
    EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION = 0xC4
};

/* Parameter 1 of BAD_POOL_CALLER (0xC2) and DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) that
 * the core reports, with the parameters the bug-check reference gives them. */
enum {
    EXA_BAD_POOL_CALLER_ALLOCATE_IRQL = 0x08,    /* p2 IRQL, p3 pool type, p4 size */
    EXA_BAD_POOL_CALLER_FREE_IRQL = 0x09,        /* p2 IRQL, p3 pool type, p4 address */
    EXA_VERIFIER_RELEASE_NOT_AT_DISPATCH = 0x32, /* KeReleaseSpinLock: p2 IRQL, p3 lock */
    EXA_VERIFIER_QUEUED_RELEASE_NOT_AT_DISPATCH = 0x36, /* queued release: p2 IRQL, p3 lock, p4 old IRQL */
    EXA_VERIFIER_ACQUIRE_BELOW_DISPATCH = 0x40,  /* ...AtDpcLevel: p2 IRQL, p3 lock */
    EXA_VERIFIER_RELEASE_BELOW_DISPATCH = 0x41,  /* ...FromDpcLevel: p2 IRQL, p3 lock */
    EXA_VERIFIER_ACQUIRE_ABOVE_DISPATCH = 0x42,  /* KeAcquireSpinLock: p2 IRQL, p3 lock */
    EXA_VERIFIER_LOCK_ACQUIRE_MISMATCH = 0x1008, /* acquire with the other lock kind's API: p2 lock */
    EXA_VERIFIER_LOCK_RELEASE_MISMATCH = 0x1009, /* release with the other lock kind's API: p2 lock */
    EXA_VERIFIER_LOOKASIDE_OVERSIZE = 0x1010,    /* NT lookaside Size above 4 GiB - 1: p2 list, p3 Size */
    EXA_VERIFIER_LOOKASIDE_DOUBLE_FREE = 0x1011, /* block already cached: p2 list caching it, p3 block, p4 list freed to */
    EXA_VERIFIER_LOOKASIDE_WRONG_SIZE = 0x1012,  /* block smaller than Size / no pool block: p2 list, p3 block, p4 its size */
    EXA_VERIFIER_LOOKASIDE_CACHED_FREED = 0x1013, /* pool free of a cached block: p2 list, p3 block */
    EXA_VERIFIER_LOOKASIDE_STALE = 0x1014,       /* handle of a deleted list: p2 handle, p3 the word found */
    EXA_VERIFIER_LOOKASIDE_INLINE_ABI = 0x1015   /* code built with another inline lookaside ABI: p2 its
                                                  * version, p3 the library's */
};

/* Record the bug check for this thread and call the handler. Returns only if the handler
 * returned; the caller then abandons the operation with nothing changed and reports
 * EXA_STATUS_BUGCHECK. */
void _exa_bugcheck(uint32_t code, uint64_t p1, uint64_t p2, uint64_t p3, uint64_t p4);

/* Emulated raise: record `status` for this thread and call the raise handler if any. */
void _exa_raise(exa_status_t status);

/* Record `status` for this thread (exa_last_status) without calling the raise handler: how a
 * routine that returns NULL or nothing tells a caller why (a NULL handle, for one). */
void _exa_note_status(exa_status_t status);

/* ---------------------------------------------------------------------------------------
 * IRQL (base/irql.c): the calling thread's current IRQL, one byte in initial-exec TLS so that
 * the checks on hot paths are a %fs-relative byte load and a compare. Only irql.c and the
 * spin-lock routines change it.
 * ------------------------------------------------------------------------------------- */
/* The library's hottest thread-locals share one initial-exec block (base/tls.c), so that a
 * lookaside fast path reaches the IRQL and its memo (lookaside/list.h, exa_tcache_resync)
 * through one GOT load. */
typedef struct exa_tls_block_s {
    uint8_t irql;
    exa_atomic(uint32_t) la_busy;   /* lookaside floor: 1 inside a memo fast path */
    exa_atomic(void *) la_list;     /* lookaside floor: the memoised list, or NULL */
    void *la_tc;                    /* lookaside floor: the thread's cache for it */
    uint32_t bugchecks;             /* bugcheck.c: bug checks raised on this thread so far */
    void *held;                     /* spinlock.c: this thread's table of held queued locks, once
                                     * found (the table itself is global-dynamic TLS) */
} exa_tls_block_t;
extern exa_thread_local exa_tls_block_t _exa_tls;
#define _exa_tls_irql (_exa_tls.irql)

exa_inline uint8_t _exa_irql(void) { return _exa_tls_irql; }
exa_inline void _exa_irql_set(uint8_t irql) { _exa_tls_irql = irql; }

/* Lower to new_irql (<= the current IRQL, else bug check 0x0A and nothing changes). */
exa_cold exa_status_t _exa_irql_bad_lower(uint8_t new_irql);
exa_inline exa_status_t _exa_irql_lower(uint8_t new_irql) {
    if (exa_unlikely(new_irql > _exa_tls_irql)) return _exa_irql_bad_lower(new_irql);
    _exa_tls_irql = new_irql;
    return EXA_STATUS_SUCCESS;
}

/* 1 when blocks of `pool_type` may not be touched at the current IRQL: paged pool (bit 0 of
 * the type, as in every paged POOL_TYPE) above APC_LEVEL, any pool above DISPATCH_LEVEL. */
exa_inline int _exa_irql_too_high_for_pool(int32_t pool_type) {
    return _exa_tls_irql > (uint8_t)(EXA_DISPATCH_LEVEL - (pool_type & EXA_PAGED_POOL));
}

/* The out-of-line reporting paths (all exa_cold). Each records a bug check and returns only
 * if the handler returned:
 *   _exa_irql_pool_violation   BAD_POOL_CALLER (0xC2) with p1 = which (0x08 allocate, 0x09
 *                              free), the IRQL, the pool type and p4; returns NULL;
 *   _exa_irql_verifier         DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) with p1 = code,
 *                              p2 = the IRQL, p3 = object, p4; returns EXA_STATUS_BUGCHECK;
 *   _exa_irql_too_high         IRQL_NOT_LESS_OR_EQUAL (0x0A) with p1 = object, p2 = the IRQL:
 *                              a routine called above its documented level (NT: pageable code
 *                              or data touched at raised IRQL); returns EXA_STATUS_BUGCHECK. */
exa_cold void *_exa_irql_pool_violation(uint32_t which, int32_t pool_type, uint64_t p4);
exa_cold exa_status_t _exa_irql_verifier(uint32_t code, uintptr_t object, uint64_t p4);
exa_cold exa_status_t _exa_irql_too_high(uintptr_t object);

/* ---------------------------------------------------------------------------------------
 * Spin lock core, shared by the public exa_spinlock_* routines and the library's own locks.
 * The word is 0 when free and (owner token | 1) when held.
 * ------------------------------------------------------------------------------------- */
void _exa_spin_wait(exa_atomic(uintptr_t) *word, uintptr_t mine);

/* A caller's lock, checked: 0x0F when the caller already holds it, 0x10 on release by a
 * thread that does not, 0xC4/0x1008-0x1009 on a word in queued (MCS) use. No IRQL change. */
exa_status_t _exa_spin_acquire(exa_spinlock_t *lock);
exa_status_t _exa_spin_release(exa_spinlock_t *lock);

/* In-stack queued (MCS) locks. A queue entry is the first two words of KLOCK_QUEUE_HANDLE
 * and of exa_queued_lock_handle_t (KSPIN_LOCK_QUEUE's layout); the word of a lock in queued
 * use holds the address of the tail entry (bit 0 clear, unlike a classic holder's token). */
typedef struct exa_lock_queue_s {
    exa_atomic(uintptr_t) xnext;  /* successor's entry, 0 = none yet */
    exa_atomic(uintptr_t) xlock;  /* the lock's address | EXA_LOCK_QUEUE_WAIT or _OWNER */
} exa_lock_queue_t;

/* Acquire/release without an IRQL change (the ...AtDpcLevel forms), and with the raise to
 * DISPATCH_LEVEL / the lower to *old_irql (KeAcquireInStackQueuedSpinLock and its release).
 * Each returns EXA_STATUS_SUCCESS or, after a bug check whose handler returned,
 * EXA_STATUS_BUGCHECK with nothing changed. */
exa_status_t _exa_queued_acquire(exa_spinlock_t *lock, exa_lock_queue_t *q);
exa_status_t _exa_queued_release(exa_lock_queue_t *q);
exa_status_t _exa_queued_acquire_raise(exa_spinlock_t *lock, exa_lock_queue_t *q, uint8_t *old_irql);
exa_status_t _exa_queued_release_lower(exa_lock_queue_t *q, uint8_t old_irql);

exa_inline void _exa_lock(exa_spinlock_t *lock) {
    exa_atomic(uintptr_t) *word = exa_atomic_word(lock);
    uintptr_t mine = _exa_os_thread_token() | 1u;
    uintptr_t expected = 0;
    if (exa_likely(exa_atomic_cas_strong_acquire(word, &expected, mine))) return;
    _exa_spin_wait(word, mine);
}

exa_inline void _exa_unlock(exa_spinlock_t *lock) {
    exa_atomic_store_release(exa_atomic_word(lock), (uintptr_t)0);
}

/* The diagnostics walkers' lock: taken (1), or on a fatal path (fatal != 0) only tried, since
 * the failing thread may hold it already: 1 when taken, 0 when held elsewhere. */
exa_inline int _exa_lock_or_try(exa_spinlock_t *lock, int fatal) {
    if (!fatal) {
        _exa_lock(lock);
        return 1;
    }
    uintptr_t expected = 0;
    return exa_atomic_cas_strong_acquire(exa_atomic_word(lock), &expected, _exa_os_thread_token() | 1u);
}

/* ---------------------------------------------------------------------------------------
 * Fork (base/fork.c, docs/conventions.md#fork). Every floor that owns locks or threads
 * registers one handler per file from a load-time function (EXA_ON_LOAD), so the ground
 * floor never names a higher one. Around fork() the forking thread runs every `prepare`
 * in descending rank (callers' locks before their callees': a file that calls into a lower
 * one while holding its own lock has the higher rank), then after the fork every `parent`
 * (in the parent) or `child` (in the child) in ascending rank. `prepare` takes the file's
 * locks, `parent` releases them, `child` reinitialises them and repairs what the threads
 * that do not exist in the child left behind.
 * ------------------------------------------------------------------------------------- */
typedef struct exa_fork_handler_s {
    uint32_t rank;             /* EXA_FORK_RANK_* */
    void (*prepare)(void);
    void (*parent)(void);
    void (*child)(void);
} exa_fork_handler_t;

/* The global order of the library's locks across fork: higher ranks are taken first. The
 * start/stop locks of the background threads come first: their holder may be joining its
 * thread, which must still be able to take every other lock to finish. */
enum {
    EXA_FORK_RANK_BALANCE = 98,    /* lookaside/balance.c: start/stop lock */
    EXA_FORK_RANK_PUBLISH = 95,    /* diag/publish.c: thread lock, then publish lock */
    EXA_FORK_RANK_VERIFIER = 90,   /* verifier/verifier.c: configuration lock */
    EXA_FORK_RANK_SPECIAL = 85,    /* verifier/special_pool.c: slot lock */
    EXA_FORK_RANK_DIAG = 70,       /* diag/diag.c: exit, site and sort locks */
    EXA_FORK_RANK_LOOKASIDE = 50,  /* lookaside/lookaside.c: registry, then every list */
    EXA_FORK_RANK_QUOTA = 40,      /* pool/quota.c: registry stripes */
    EXA_FORK_RANK_LIMITS = 35,     /* pool/limits.c: condition callbacks */
    EXA_FORK_RANK_TAGS = 30,       /* pool/tag.c: the tag table */
    EXA_FORK_RANK_SEGMENTS = 20,   /* pool/segment.c: node lock, then every descriptor */
    EXA_FORK_RANK_BIG = 10         /* pool/big.c: the big table's stripes */
};

/* Called from a load-time function only (single-threaded; the table is fixed afterwards).
 * `h` must stay valid for the life of the process. */
void _exa_fork_register(const exa_fork_handler_t *h);

/* A library lock held across fork by the forking thread, made free again in the child. */
exa_inline void _exa_lock_reset(exa_spinlock_t *lock) { exa_atomic_store_relaxed(exa_atomic_word(lock), (uintptr_t)0); }

/* ---------------------------------------------------------------------------------------
 * Library-wide one-time state.
 * ------------------------------------------------------------------------------------- */
/* 1 when the process barrier (membarrier) is usable: thread caches then run with compiler
 * barriers only; else with seq_cst fences (always under TSan, which cannot see membarrier). */
extern int _exa_asymmetric_fences;
void _exa_init(void);

#endif /* EXA_INTERNAL_H */
