/* exalloc - the Windows NT executive's memory-support routines as a user-space library.
 *
 * exalloc.h: the modern C API, and the only input of jextract (see generated/). NT names and
 * types are in exalloc_nt.h, a thin layer over these functions.
 *
 * Rules for this header, because jextract and other FFI generators read it:
 *   - no plain `long` (32-bit on Windows): 64-bit quantities use exa_u64 / exa_i64, which
 *     are `long long` based on every platform; 32-bit ones use int32_t / uint32_t;
 *   - no bit-fields, no function-like macros, no inline functions;
 *   - constants are enumerators; opaque handles are pointers to incomplete structs;
 *   - every struct that crosses the boundary has its size checked at load time
 *     (exa_struct_size) against the caller's idea of it.
 *
 * Threading contract (read this first):
 *   - Lookaside allocate and free are safe from any number of threads at once, with no
 *     caller locking. Each thread keeps a small private cache per list in front of the
 *     list's shared stack; see "Lookaside lists" below for how the NT counters and the
 *     depth bound stay exact under that design.
 *   - exa_lookaside_flush and exa_lookaside_query may run concurrently with allocate/free.
 *   - exa_lookaside_delete must not run concurrently with any other use of the same list
 *     (NT's rule for ExDelete...LookasideList).
 *   - Callbacks run on the calling thread, outside every library lock, and may call back
 *     into the library (even into the same list).
 *   - Zones are NT's: the plain routines are not synchronised at all (the caller serialises
 *     them), the _interlocked ones serialise on the caller's spin lock. Use one kind per
 *     zone, with one lock.
 *   - The IRQL is per thread; spin-lock routines raise and restore it, and the routines NT
 *     restricts by IRQL check it (see "IRQL").
 */
#ifndef EXALLOC_H
#define EXALLOC_H

#include <stdint.h>

#if defined(_WIN32)
#  if defined(EXA_BUILDING_LIBRARY)
#    define EXA_API __declspec(dllexport)
#  else
#    define EXA_API __declspec(dllimport)
#  endif
#else
#  define EXA_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================================
 * Basic types and versioning
 * ======================================================================================== */

typedef long long exa_i64;
typedef unsigned long long exa_u64;

/* An NTSTATUS: 0 is success, negative values are errors (see exa_status_e). */
typedef int32_t exa_status_t;

/* Bumped whenever a struct or function signature in this header changes. The Java binding
 * refuses to run against a library whose ABI version differs from the one it was generated
 * for. */
enum exa_abi_e { EXA_ABI_VERSION = 1 };

EXA_API uint32_t exa_abi_version(void);

/* Library version as "major.minor.patch". */
EXA_API const char *exa_version_string(void);

/* Sizes of the structs below as the library was compiled, to compare with a binding's
 * layouts. Returns 0 for an unknown id. */
enum exa_struct_id_e {
    EXA_STRUCT_LOOKASIDE_CONFIG = 1,
    EXA_STRUCT_LOOKASIDE_STATS = 2,
    EXA_STRUCT_BUGCHECK_INFO = 3,
    EXA_STRUCT_QUEUED_LOCK_HANDLE = 4,
    EXA_STRUCT_ZONE = 5,
    EXA_STRUCT_ZONE_SEGMENT_HEADER = 6,
    EXA_STRUCT_ZONE_INFO = 7
};
EXA_API exa_u64 exa_struct_size(int32_t struct_id);

/* Cache-line size of the target the library was built for (64, or 128 on Apple arm64). */
EXA_API uint32_t exa_cache_line_size(void);

/* ==========================================================================================
 * Status codes (NTSTATUS values)
 * ======================================================================================== */

enum exa_status_e {
    EXA_STATUS_SUCCESS = 0,
    EXA_STATUS_UNSUCCESSFUL = (int32_t)0xC0000001u,
    EXA_STATUS_INVALID_PARAMETER = (int32_t)0xC000000Du,
    EXA_STATUS_NO_MEMORY = (int32_t)0xC0000017u,
    EXA_STATUS_QUOTA_EXCEEDED = (int32_t)0xC0000044u,
    EXA_STATUS_INSUFFICIENT_RESOURCES = (int32_t)0xC000009Au,
    EXA_STATUS_INVALID_PARAMETER_1 = (int32_t)0xC00000EFu,
    EXA_STATUS_INVALID_PARAMETER_2 = (int32_t)0xC00000F0u,
    EXA_STATUS_INVALID_PARAMETER_3 = (int32_t)0xC00000F1u,
    EXA_STATUS_INVALID_PARAMETER_4 = (int32_t)0xC00000F2u,
    EXA_STATUS_INVALID_PARAMETER_5 = (int32_t)0xC00000F3u,
    EXA_STATUS_INVALID_PARAMETER_6 = (int32_t)0xC00000F4u,
    EXA_STATUS_INVALID_PARAMETER_7 = (int32_t)0xC00000F5u,
    EXA_STATUS_INVALID_PARAMETER_8 = (int32_t)0xC00000F6u,
    /* exalloc's own (customer bit set): a check failed, the bug-check handler was called
     * and returned, and the operation was abandoned with nothing changed. Details:
     * exa_last_bugcheck(). */
    EXA_STATUS_BUGCHECK = (int32_t)0xE0AC0001u
};

/* ==========================================================================================
 * Pool types (NT's POOL_TYPE values and modifier bits)
 * ======================================================================================== */

enum exa_pool_type_e {
    EXA_NON_PAGED_POOL = 0,
    EXA_PAGED_POOL = 1,
    EXA_NON_PAGED_POOL_MUST_SUCCEED = 2,
    EXA_NON_PAGED_POOL_CACHE_ALIGNED = 4,
    EXA_PAGED_POOL_CACHE_ALIGNED = 5,
    EXA_NON_PAGED_POOL_SESSION = 32,
    EXA_PAGED_POOL_SESSION = 33,
    EXA_NON_PAGED_POOL_CACHE_ALIGNED_SESSION = 36,
    EXA_PAGED_POOL_CACHE_ALIGNED_SESSION = 37,
    EXA_NON_PAGED_POOL_NX = 512,
    EXA_NON_PAGED_POOL_NX_CACHE_ALIGNED = 516,
    EXA_NON_PAGED_POOL_SESSION_NX = 544
};

/* Modifier bits OR-ed into a pool type. */
enum exa_pool_modifier_e {
    EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE = 0x008,
    EXA_POOL_RAISE_IF_ALLOCATION_FAILURE = 0x010,
    EXA_POOL_COLD_ALLOCATION = 0x100,
    EXA_POOL_NX_ALLOCATION = 0x200,
    EXA_POOL_ZERO_ALLOCATION = 0x400
};

/* ==========================================================================================
 * Fatal path ("bug check") and raise emulation
 *
 * Where NT would bug-check, exalloc records the code and four parameters for the calling
 * thread and calls the bug-check handler. The default handler prints one line in NT's form,
 *     *** STOP: 0x0000000F (0x..., 0x..., 0x..., 0x...)
 * to stderr and aborts. A handler that returns makes the failing call return
 * EXA_STATUS_BUGCHECK (or NULL) with nothing changed; the Java binding installs
 * exa_bugcheck_record, which only records, and turns the record into a Java error.
 * ======================================================================================== */

typedef void (*exa_bugcheck_fn)(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4, void *context);

typedef struct exa_bugcheck_info_s {
    uint32_t code;
    uint32_t reserved;
    exa_u64 parameter1;
    exa_u64 parameter2;
    exa_u64 parameter3;
    exa_u64 parameter4;
    exa_u64 sequence;  /* per-thread count of bug checks so far; 0 = none yet */
} exa_bugcheck_info_t;

/* Install a handler (NULL restores the default). Process-wide; returns nothing. */
EXA_API void exa_set_bugcheck_handler(exa_bugcheck_fn handler, void *context);

/* The default handler: print the STOP line, abort. */
EXA_API void exa_bugcheck_abort(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4, void *context);

/* A handler that does nothing beyond the record every bug check leaves; the failing call
 * then returns EXA_STATUS_BUGCHECK. */
EXA_API void exa_bugcheck_record(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4, void *context);

/* The calling thread's most recent bug check (sequence 0 when there was none). */
EXA_API exa_status_t exa_last_bugcheck(exa_bugcheck_info_t *out);

/* "Raise" (NT's structured exception with an NTSTATUS): the routine returns NULL, records
 * the status for the calling thread, and calls the raise handler if one is installed. */
typedef void (*exa_raise_fn)(exa_status_t status, void *context);
EXA_API void exa_set_raise_handler(exa_raise_fn handler, void *context);
EXA_API exa_status_t exa_last_status(void);
EXA_API void exa_clear_last_status(void);

/* ==========================================================================================
 * IRQL (docs/conventions.md#irql)
 *
 * Every thread has a current IRQL, PASSIVE_LEVEL when it starts. Nothing is masked in user
 * space: the level exists so that NT's IRQL rules are checked exactly where NT checks them.
 * The spin-lock routines raise to DISPATCH_LEVEL and restore; paged lookaside lists may not
 * be used above APC_LEVEL, and no lookaside list above DISPATCH_LEVEL (BAD_POOL_CALLER 0xC2,
 * p1 0x08 on allocate / 0x09 on free, p2 the IRQL, p3 the pool type, p4 size or address).
 *
 * exa_irql_raise to a lower level than the current one, or above EXA_HIGH_LEVEL, is bug check
 * 0x09 IRQL_NOT_GREATER_OR_EQUAL (p1 current, p2 requested); exa_irql_lower to a higher one
 * is 0x0A IRQL_NOT_LESS_OR_EQUAL (p1 requested, p2 current). A handler that returns leaves
 * the IRQL unchanged and the call returns EXA_STATUS_BUGCHECK.
 * ======================================================================================== */

enum exa_irql_e {
    EXA_PASSIVE_LEVEL = 0,
    EXA_APC_LEVEL = 1,
    EXA_DISPATCH_LEVEL = 2,
    EXA_HIGH_LEVEL = 15
};

EXA_API uint8_t exa_irql_get(void);
/* Raise to new_irql (>= the current level); *old_irql receives the level to restore. */
EXA_API exa_status_t exa_irql_raise(uint8_t new_irql, uint8_t *old_irql);
/* Lower to new_irql (<= the current level), normally the value a raise returned. */
EXA_API exa_status_t exa_irql_lower(uint8_t new_irql);

/* ==========================================================================================
 * Spin locks (NT's KSPIN_LOCK shape: one pointer-sized word in caller memory, 0 = free)
 *
 * Test-and-test-and-set with the CPU's pause hint, bounded spinning then yielding to the OS
 * (a user-space holder can be preempted). The word holds (owner token | 1) while held, so
 * re-acquisition by the owner is bug check 0x0F (SPIN_LOCK_ALREADY_OWNED) and release by a
 * thread that does not hold it is 0x10 (SPIN_LOCK_NOT_OWNED), at every checking level.
 *
 * exa_spinlock_acquire / _release leave the IRQL alone (NT's ...AtDpcLevel forms without
 * their IRQL check); exa_spinlock_acquire_raise / _release_lower are KeAcquireSpinLock and
 * KeReleaseSpinLock: raise to DISPATCH_LEVEL (caller at or below it, else 0xC4/0x42), and
 * release at DISPATCH_LEVEL (else 0xC4/0x32, often a double release), then lower.
 *
 * A lock word is used either classically or as a queued lock, never both (NT's rule): a
 * classic acquire or release of a word in queued use is 0xC4/0x1008 or 0x1009, and a queued
 * acquire of a classically held word 0xC4/0x1008 (p2 = the lock).
 * ======================================================================================== */

typedef uintptr_t exa_spinlock_t;

EXA_API void exa_spinlock_init(exa_spinlock_t *lock);
/* EXA_STATUS_SUCCESS, or EXA_STATUS_BUGCHECK if the caller already holds it. */
EXA_API exa_status_t exa_spinlock_acquire(exa_spinlock_t *lock);
/* 1 if acquired, 0 if busy (never bug-checks, never waits). */
EXA_API int32_t exa_spinlock_try_acquire(exa_spinlock_t *lock);
/* EXA_STATUS_SUCCESS, or EXA_STATUS_BUGCHECK if the caller does not hold it. */
EXA_API exa_status_t exa_spinlock_release(exa_spinlock_t *lock);
/* 1 if the lock looks free now (may be stale on return), else 0 (after a pause). Works for
 * both kinds of use (NT's KeTestSpinLock: "held" is any non-zero word). */
EXA_API int32_t exa_spinlock_test(const exa_spinlock_t *lock);

/* Raise to DISPATCH_LEVEL and acquire; *old_irql receives the previous IRQL (written after
 * the lock is held, as NT does). EXA_STATUS_INVALID_PARAMETER when old_irql is NULL. */
EXA_API exa_status_t exa_spinlock_acquire_raise(exa_spinlock_t *lock, uint8_t *old_irql);
/* Release, then lower the IRQL to new_irql (the value the acquire returned). */
EXA_API exa_status_t exa_spinlock_release_lower(exa_spinlock_t *lock, uint8_t new_irql);

/* ==========================================================================================
 * In-stack queued spin locks (NT's KeAcquireInStackQueuedSpinLock, docs/spinlock.md#queued)
 *
 * MCS: the lock word holds the address of the last waiter's queue entry (0 = free). Each
 * acquirer appends its own entry and spins on that entry only, so waiters that are running
 * are served in arrival order (FIFO) and each spins in its own cache line; a waiter that is
 * off its CPU is skipped and queues again (docs/spinlock.md#queued-fairness). The entry lives in a handle
 * that the caller provides per acquisition (normally a local variable) and passes to the
 * release; it must not be shared between threads or reused while it holds a lock.
 *
 * exa_queued_lock_acquire raises to DISPATCH_LEVEL (caller at or below it, else 0xC4/0x42)
 * and saves the previous IRQL in the handle; exa_queued_lock_release requires
 * DISPATCH_LEVEL (else 0xC4/0x36), releases, and restores the saved IRQL. Acquiring a lock
 * the thread already holds (through any handle), or reusing a handle that holds a lock, is
 * 0x0F; releasing through a handle that does not hold a lock of this thread is 0x10.
 *
 * The handle's first 17 bytes are KLOCK_QUEUE_HANDLE's layout (entry { next, lock },
 * old_irql); the rest pads it to a 64-byte cache line, so that two waiters' entries never
 * share one. The C declaration carries the alignment; an FFI caller that allocates handles
 * itself should align them to 64 bytes (a smaller alignment costs speed, not correctness).
 * ======================================================================================== */

enum exa_lock_queue_e {
    EXA_LOCK_QUEUE_WAIT = 1,   /* bit in `lock`: still waiting for the predecessor */
    EXA_LOCK_QUEUE_OWNER = 2   /* bit in `lock`: this entry owns the lock */
};

/* The alignment is spelled per language: C11's keyword (the library's language, and what
 * jextract reads), C++'s, and the compiler's own for C99. */
typedef struct exa_queued_lock_handle_s {
#if defined(__cplusplus)
    alignas(64) void *next;
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
    _Alignas(64) void *next;   /* KSPIN_LOCK_QUEUE.Next: the successor's entry (library-owned) */
#elif defined(__GNUC__)
    void *next __attribute__((aligned(64)));
#elif defined(_MSC_VER)
    __declspec(align(64)) void *next;
#else
#error "exalloc.h: no way known to align exa_queued_lock_handle_t to 64 bytes with this compiler"
#endif
    void *lock;                /* KSPIN_LOCK_QUEUE.Lock: lock address | WAIT / OWNER bits */
    uint8_t old_irql;          /* KLOCK_QUEUE_HANDLE.OldIrql: the IRQL the release restores */
} exa_queued_lock_handle_t;

EXA_API exa_status_t exa_queued_lock_acquire(exa_spinlock_t *lock, exa_queued_lock_handle_t *handle);
EXA_API exa_status_t exa_queued_lock_release(exa_queued_lock_handle_t *handle);

/* ==========================================================================================
 * Lookaside lists (NT's ExInitialize...LookasideList family, docs/lookaside.md)
 *
 * A list caches fixed-size blocks in front of the pool. NT semantics kept exactly:
 *   - LIFO: the block freed last is handed out first (per thread, see below);
 *   - a cached block's first pointer-sized word is overwritten; nothing else is touched;
 *   - Depth starts at 4 and MaximumDepth at 256 (or the configured maximum); at most Depth
 *     blocks are cached: a free beyond that is a FreeMiss and goes to the free callback;
 *   - an allocate with nothing cached is an AllocateMiss and calls the allocate callback
 *     (default: the pool, with the list's pool type and tag);
 *   - flush and delete pass every cached block to the free callback.
 *
 * Per-thread caches: each thread that uses a list gets a private stack of up to
 * EXA_LOOKASIDE_THREAD_CACHE blocks in front of the list's shared stack, and moves blocks in
 * batches. The depth bound stays exact: a thread may only cache into slots it has claimed
 * from the list's budget (claimed slots + shared entries <= Depth at all times), so the
 * list never caches more than Depth blocks in total, and a single thread sees exactly NT's
 * hits and misses. Counters are kept per thread without atomics and summed exactly by
 * exa_lookaside_query. With several threads a thread can miss while another thread's cache
 * holds blocks (as on NT with per-processor lists); flush, delete and thread exit return
 * every thread's blocks.
 * ======================================================================================== */

typedef struct exa_lookaside_s exa_lookaside_t;

/* Called on a miss: return a block of at least `size` bytes, or NULL. pool_type carries the
 * list's type and modifier bits (e.g. EXA_POOL_RAISE_IF_ALLOCATION_FAILURE). */
typedef void *(*exa_allocate_fn)(int32_t pool_type, exa_u64 size, uint32_t tag, void *context);
/* Called for a block the list does not keep (FreeMiss, flush, delete). */
typedef void (*exa_free_fn)(void *block, void *context);

enum exa_lookaside_limits_e {
    EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE = 8,  /* one pointer (the SList link) */
    EXA_LOOKASIDE_INITIAL_DEPTH = 4,
    EXA_LOOKASIDE_DEFAULT_MAXIMUM_DEPTH = 256,
    EXA_LOOKASIDE_MAXIMUM_DEPTH_LIMIT = 1024,
    EXA_LOOKASIDE_THREAD_CACHE = 64        /* blocks one thread may hold per list */
};

typedef struct exa_lookaside_config_s {
    exa_u64 size;            /* block size in bytes; raised to EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE */
    uint32_t tag;            /* pool tag, e.g. 'Fred' read as a little-endian int */
    int32_t pool_type;       /* an exa_pool_type_e value, OR-ed with exa_pool_modifier_e bits */
    uint32_t maximum_depth;  /* 0 = 256; otherwise 256..1024 */
    uint32_t initial_depth;  /* 0 = NT's 4; exalloc extension: 1..maximum_depth */
    exa_allocate_fn allocate;  /* NULL = the pool */
    exa_free_fn free;          /* NULL = the pool */
    void *context;             /* passed to both callbacks */
} exa_lookaside_config_t;

typedef struct exa_lookaside_stats_s {
    exa_u64 id;               /* unique for the life of the process */
    exa_u64 total_allocates;  /* NT TotalAllocates (64-bit here; NT's field wraps at 2^32) */
    exa_u64 allocate_misses;  /* NT AllocateMisses */
    exa_u64 total_frees;      /* NT TotalFrees */
    exa_u64 free_misses;      /* NT FreeMisses */
    exa_u64 size;             /* NT Size */
    uint32_t current_depth;   /* blocks cached now: shared stack + every thread's cache */
    uint32_t depth;           /* NT Depth: the current bound on current_depth */
    uint32_t maximum_depth;   /* NT MaximumDepth */
    uint32_t tag;             /* NT Tag */
    int32_t pool_type;        /* NT Type: base type | modifier flags */
    uint32_t thread_caches;   /* threads holding a private cache for this list */
} exa_lookaside_stats_t;

/* Create a list. Returns EXA_STATUS_SUCCESS and *out, or:
 *   EXA_STATUS_INVALID_PARAMETER    cfg or out NULL, size 0 or > 4 GiB - 1;
 *   EXA_STATUS_INVALID_PARAMETER_4  pool_type is not a valid lookaside pool type;
 *   EXA_STATUS_INVALID_PARAMETER_8  maximum_depth not 0 and not in 256..1024, or initial_depth
 *                                   not 0 and not in 1..maximum (NT's Depth is parameter 8);
 *   EXA_STATUS_INSUFFICIENT_RESOURCES  no memory for the list itself. */
EXA_API exa_status_t exa_lookaside_create(const exa_lookaside_config_t *cfg, exa_lookaside_t **out);

/* A cached block, or the allocate callback's result on a miss (possibly NULL). */
EXA_API void *exa_lookaside_allocate(exa_lookaside_t *list);

/* Cache the block if the list holds fewer than Depth blocks, else pass it to the free
 * callback. NULL is ignored. Returns EXA_STATUS_SUCCESS, or EXA_STATUS_BUGCHECK when an IRQL
 * check failed and the handler returned: the block then stays with the caller. (A NULL
 * from exa_lookaside_allocate after a bug check is told apart by exa_last_bugcheck.) */
EXA_API exa_status_t exa_lookaside_free(exa_lookaside_t *list, void *block);

/* Pass every cached block (every thread's) to the free callback; the list stays usable.
 * Returns the number of blocks released. */
EXA_API exa_u64 exa_lookaside_flush(exa_lookaside_t *list);

/* Flush, unregister and release the list. The handle is invalid afterwards. Blocks still
 * held by users are not tracked: release them with the list's free routine directly. */
EXA_API exa_status_t exa_lookaside_delete(exa_lookaside_t *list);

/* Exact statistics (summed over all threads). */
EXA_API exa_status_t exa_lookaside_query(exa_lookaside_t *list, exa_lookaside_stats_t *out);

/* Zero the four counters (the debugger's !lookaside -r). */
EXA_API exa_status_t exa_lookaside_reset_counters(exa_lookaside_t *list);

/* Set Depth (1..MaximumDepth), as the debugger's !lookaside -d does. Surplus blocks drain
 * naturally. EXA_STATUS_INVALID_PARAMETER_2 when out of range. */
EXA_API exa_status_t exa_lookaside_set_depth(exa_lookaside_t *list, uint32_t depth);

/* Number of live lists (every list created and not yet deleted, NT-named ones included);
 * writes up to `capacity` of their statistics to `out` (out may be NULL when capacity is 0),
 * in creation order. */
EXA_API uint32_t exa_lookaside_enumerate(exa_lookaside_stats_t *out, uint32_t capacity);

/* Release a block that a list's default allocator (the pool) handed out, directly: what NT
 * code does with ExFreePool for blocks still allocated when their list is deleted. NULL is
 * ignored. */
EXA_API void exa_pool_free(void *block);

/* How thread caches synchronise with flush and delete (see "Per-thread caches" above):
 * EXA_FENCES_ASYMMETRIC when the host has a process-wide barrier (Linux membarrier), so the
 * fast paths use compiler barriers only; EXA_FENCES_SYMMETRIC when they fall back to a seq_cst
 * fence per operation (no membarrier, or a ThreadSanitizer build). */
enum exa_fence_mode_e { EXA_FENCES_SYMMETRIC = 0, EXA_FENCES_ASYMMETRIC = 1 };
EXA_API int32_t exa_lookaside_fence_mode(void);

/* Return the calling thread's cached blocks of every list to the lists' shared stacks and
 * drop its caches. Runs automatically at thread exit; call it before parking a thread for a
 * long time. */
EXA_API void exa_thread_cache_release(void);

/* ==========================================================================================
 * Zones (NT's ExInitializeZone family, docs/zone.md)
 *
 * A zone hands out fixed-size blocks carved from segments that the caller supplies; it
 * never allocates and never gives memory back. exa_zone_t is NT's ZONE_HEADER, field for
 * field, in caller memory: a zone set up through either header works with both.
 *
 *   init/extend: the first sizeof(exa_zone_segment_header_t) bytes of a segment (16 on
 *     64-bit) link it into the zone; blocks are carved after it at offsets h, h + B, ... up
 *     to the last one that fits, and pushed LIFO, so the highest block is handed out first
 *     and an extension's blocks before older free ones. total_segment_size grows by
 *     h + n*B (the used extent, not the size passed in). Validation: segment 8-aligned and
 *     not NULL, size a multiple of 8, block_size a multiple of 8, at least a pointer, and
 *     less than the segment size; else EXA_STATUS_UNSUCCESSFUL (NT's documented code),
 *     nothing changed. A segment too small for one block is accepted and adds none.
 *     IRQL: init at PASSIVE_LEVEL, extend at or below DISPATCH_LEVEL (else bug check 0x0A,
 *     p1 the zone, p2 the IRQL).
 *   allocate: the head block, or NULL when the zone is full (nothing free).
 *   free: pushes the block and returns the previous head: NULL means the zone was full.
 *     Nothing checks that the block came from the zone (NT does not); exa_zone_contains can.
 *   _interlocked forms: the same under the caller's spin lock (allocate/free at any IRQL,
 *     extend at or below DISPATCH_LEVEL, as NT's ExInterlocked... routines).
 *
 * Worked example (64-bit): a 4096-byte segment of 64-byte blocks has blocks at 16, 80, ...,
 * 3984 (63 blocks), total_segment_size 4048, and the first allocation returns offset 3984.
 * ======================================================================================== */

typedef struct exa_zone_s {
    void *free_list;              /* ZONE_HEADER.FreeList.Next: next block handed out */
    void *segment_list;           /* ZONE_HEADER.SegmentList.Next: the newest segment */
    uint32_t block_size;          /* ZONE_HEADER.BlockSize */
    uint32_t total_segment_size;  /* ZONE_HEADER.TotalSegmentSize: sum of used extents */
} exa_zone_t;

/* ZONE_SEGMENT_HEADER: the start of every segment. `reserved` is NULL in the first segment
 * (as NT sets it); exalloc stores an extension segment's used extent there, which is what
 * lets exa_zone_contains bound every segment (NT leaves the field to the executive). */
typedef struct exa_zone_segment_header_s {
    void *next;       /* SegmentList.Next: the next older segment, NULL after the first */
    void *reserved;
} exa_zone_segment_header_t;

typedef struct exa_zone_info_s {
    uint32_t block_size;
    uint32_t total_segment_size;
    uint32_t segment_count;
    uint32_t block_count;         /* blocks carved from all segments (free or not) */
} exa_zone_info_t;

EXA_API exa_status_t exa_zone_init(exa_zone_t *zone, uint32_t block_size, void *segment, uint32_t segment_size);
EXA_API exa_status_t exa_zone_extend(exa_zone_t *zone, void *segment, uint32_t segment_size);
EXA_API exa_status_t exa_zone_extend_interlocked(exa_zone_t *zone, void *segment, uint32_t segment_size,
                                                 exa_spinlock_t *lock);
EXA_API void *exa_zone_allocate(exa_zone_t *zone);
/* Returns the previous head (NULL: the zone had been full). */
EXA_API void *exa_zone_free(exa_zone_t *zone, void *block);
EXA_API void *exa_zone_allocate_interlocked(exa_zone_t *zone, exa_spinlock_t *lock);
EXA_API void *exa_zone_free_interlocked(exa_zone_t *zone, void *block, exa_spinlock_t *lock);
/* 1 when no block is free (NT's ExIsFullZone: "full" means fully allocated). */
EXA_API int32_t exa_zone_is_full(const exa_zone_t *zone);

/* 1 when p lies in the blocks of any of the zone's segments. `lock`: the zone's spin lock
 * for a zone that may be extended concurrently (held for the walk), else NULL. */
EXA_API int32_t exa_zone_contains(const exa_zone_t *zone, const void *p, exa_spinlock_t *lock);

/* NT's ExIsObjectInFirstZoneSegment, literally: segment_list <= p < segment_list +
 * total_segment_size. After an extension that is the newest segment with the combined
 * length, neither "first segment" nor "any segment"; kept for compatibility. */
EXA_API int32_t exa_zone_in_first_segment(const exa_zone_t *zone, const void *p);

/* Block size, extents and counts (walks the segment list; `lock` as for contains). */
EXA_API exa_status_t exa_zone_query(const exa_zone_t *zone, exa_zone_info_t *out, exa_spinlock_t *lock);

/* ==========================================================================================
 * Pools (NT's ExAllocatePool family, docs/pool.md)
 *
 * Two pools, non-paged and paged, each with its own capacity, watermarks, condition events
 * and per-tag statistics. Non-paged pool memory is locked in RAM where the host allows it
 * (see exa_pool_stats_t.locked / lock_status); paged pool is ordinary memory. Blocks follow
 * NT's x64 rules:
 *   - a request of up to 4064 bytes (POOL_MAX_ALLOC) is a small block: a 16-byte header,
 *     then the data, 16-byte aligned, inside one 4096-byte page (NT's logical PAGE_SIZE,
 *     whatever the host's page size); the block is the request plus the header rounded up
 *     to 16 bytes;
 *   - a larger request (so 4065..4096 bytes too) is a big allocation: page-aligned, whole
 *     pages, no header, tracked in a big-allocation table;
 *   - cache-aligned types (and EXA_POOL_FLAG_CACHE_ALIGNED) return a block aligned to the
 *     cache line (exa_cache_line_size);
 *   - session types behave as their base type (the block reports the session type);
 *     NonPagedPool / NonPagedPoolExecute / EXA_POOL_FLAG_NON_PAGED_EXECUTE come from
 *     executable memory when the host allows it (else NX memory: stats.executable == 0).
 *
 * Failure: NULL, and "raise" (exa_last_status + raise handler, see above) when the routine
 * or its flags ask for it: EXA_STATUS_INSUFFICIENT_RESOURCES for lack of pool,
 * EXA_STATUS_QUOTA_EXCEEDED for lack of quota, EXA_STATUS_INVALID_PARAMETER for a request
 * ExAllocatePool2/3 rejects. A NULL without a raise leaves exa_last_status alone.
 *
 * Freeing checks the block (bug checks 0xC2 / 0x19 with NT's parameters on a bad pointer,
 * a double free or a damaged header) and the tag: a block allocated with a tag that has
 * EXA_POOL_TAG_PROTECTED set may only be freed by exa_pool_free_with_tag with that exact
 * tag (0xC2, p1 0x0A otherwise); in strict mode (EXA_POOL_OPTION_STRICT) every non-zero
 * mismatching tag is a bug check.
 *
 * Threads: every routine may be called from any number of threads at once. Each thread
 * keeps a small cache of free blocks per block size in front of the shared pool (NT keeps
 * one per processor); exa_pool_trim returns the calling thread's, thread exit returns them
 * all. Statistics are exact: the per-tag counts of a snapshot taken while no thread is
 * inside an allocate or free equal the calls made.
 * ======================================================================================== */

enum exa_pool_struct_id_e {
    EXA_STRUCT_POOL_PARAMETER = 32,
    EXA_STRUCT_POOL_BLOCK_INFO = 33,
    EXA_STRUCT_POOL_TAG_ROW = 34,
    EXA_STRUCT_POOL_STATS = 35,
    EXA_STRUCT_POOL_LIMITS = 36,
    EXA_STRUCT_QUOTA_STATS = 37
};

/* The two pools. */
enum exa_pool_kind_e {
    EXA_POOL_KIND_NON_PAGED = 0,
    EXA_POOL_KIND_PAGED = 1
};

/* Tags: four bytes, shown in memory order ('looP' as a C literal shows as "Pool"). */
enum exa_pool_tag_e {
    EXA_POOL_TAG_PROTECTED = (int32_t)0x80000000u,  /* PROTECTED_POOL */
    EXA_POOL_TAG_NONE = 0x656E6F4E                  /* "None": the untagged routines */
};

/* POOL_FLAGS for exa_pool_allocate / _ex (ExAllocatePool2 / 3), a 64-bit value. The low 32
 * bits are required attributes: an unknown or reserved one, none or two of the three pool
 * bits, or SESSION | NON_PAGED | CACHE_ALIGNED fail the request. The high 32 bits are
 * optional and ignored when not understood: the one defined, POOL_FLAG_SPECIAL_POOL, is
 * (exa_u64)1 << EXA_POOL_FLAG_SPECIAL_POOL_BIT: the block comes from the special pool (a guard
 * page after it, at every checking level; docs/diagnostics.md#special-pool). A request the
 * special pool cannot serve (larger than 4064 bytes, charged to quota, or no slot left) falls
 * back to the normal pool, as NT's does when its special pool is exhausted. */
enum exa_pool_flag_e {
    EXA_POOL_FLAG_USE_QUOTA = 0x001,
    EXA_POOL_FLAG_UNINITIALIZED = 0x002,   /* else the requested bytes are zeroed */
    EXA_POOL_FLAG_SESSION = 0x004,
    EXA_POOL_FLAG_CACHE_ALIGNED = 0x008,
    EXA_POOL_FLAG_RESERVED1 = 0x010,
    EXA_POOL_FLAG_RAISE_ON_FAILURE = 0x020,
    EXA_POOL_FLAG_NON_PAGED = 0x040,       /* non-paged, no-execute */
    EXA_POOL_FLAG_NON_PAGED_EXECUTE = 0x080,
    EXA_POOL_FLAG_PAGED = 0x100,
    EXA_POOL_FLAG_RESERVED2 = 0x200,
    EXA_POOL_FLAG_RESERVED3 = 0x400,
    EXA_POOL_FLAG_SPECIAL_POOL_BIT = 32
};

/* EX_POOL_PRIORITY. Priorities are watermarks on the pool's free capacity: Low fails below
 * the low watermark, Normal below the critical one, High only when the pool is exhausted.
 * The +8 / +9 special-pool placement variants act as their base priority. */
enum exa_pool_priority_e {
    EXA_POOL_PRIORITY_LOW = 0,
    EXA_POOL_PRIORITY_LOW_SPECIAL_POOL_OVERRUN = 8,
    EXA_POOL_PRIORITY_LOW_SPECIAL_POOL_UNDERRUN = 9,
    EXA_POOL_PRIORITY_NORMAL = 16,
    EXA_POOL_PRIORITY_NORMAL_SPECIAL_POOL_OVERRUN = 24,
    EXA_POOL_PRIORITY_NORMAL_SPECIAL_POOL_UNDERRUN = 25,
    EXA_POOL_PRIORITY_HIGH = 32,
    EXA_POOL_PRIORITY_HIGH_SPECIAL_POOL_OVERRUN = 40,
    EXA_POOL_PRIORITY_HIGH_SPECIAL_POOL_UNDERRUN = 41
};

/* Extended parameters of exa_pool_allocate_ex (POOL_EXTENDED_PARAMETER without its
 * bit-fields). An invalid parameter fails the request unless `optional` is 1, in which
 * case it is ignored: type 0 or unknown, a priority not in exa_pool_priority_e, secure
 * pool (not supported), a node with paged pool, a node the host does not have without
 * EXA_MM_ANY_NODE_OK. */
enum exa_pool_parameter_type_e {
    EXA_POOL_PARAMETER_INVALID = 0,
    EXA_POOL_PARAMETER_PRIORITY = 1,       /* value: an exa_pool_priority_e */
    EXA_POOL_PARAMETER_SECURE_POOL = 2,
    EXA_POOL_PARAMETER_NUMA_NODE = 3       /* value: node number, | EXA_MM_ANY_NODE_OK */
};
enum exa_mm_node_e {
    EXA_MM_ANY_NODE_OK = (int32_t)0x80000000u  /* bit 31 of a node value: another node will do */
};

typedef struct exa_pool_parameter_s {
    uint32_t type;       /* exa_pool_parameter_type_e */
    uint32_t optional;   /* 1: ignore the parameter when it cannot be honoured */
    exa_u64 value;       /* the low 32 bits are used */
} exa_pool_parameter_t;

/* Global options. STRICT applies the rules Driver Verifier enforces: zero-byte and must-succeed
 * requests are bug checks (0xC4/0x00, 0xC2/0x9A), legacy tags 0 / "BIG " / without a
 * letter or digit are 0xC2/0x9B-0x9D, zero-byte ExAllocatePool2/3 requests return NULL,
 * and any non-zero tag passed to a free must match. Default: off. */
enum exa_pool_option_e {
    EXA_POOL_OPTION_STRICT = 0x1
};
EXA_API void exa_pool_set_options(uint32_t options);
EXA_API uint32_t exa_pool_get_options(void);

/* ExAllocatePool2: flags are POOL_FLAGS, tag must be non-zero; zeroed unless
 * EXA_POOL_FLAG_UNINITIALIZED; a zero-byte request gets a minimal block (NULL in strict
 * mode). */
EXA_API void *exa_pool_allocate(exa_u64 flags, exa_u64 size, uint32_t tag);
/* ExAllocatePool3: as exa_pool_allocate, with `count` extended parameters. */
EXA_API void *exa_pool_allocate_ex(exa_u64 flags, exa_u64 size, uint32_t tag, const exa_pool_parameter_t *params,
                                   uint32_t count);
/* ExAllocatePoolWithTagPriority (ExAllocatePoolWithTag with EXA_POOL_PRIORITY_HIGH):
 * pool_type is an exa_pool_type_e with exa_pool_modifier_e bits (RAISE_IF_ALLOCATION_FAILURE,
 * COLD, ZERO; NX_ALLOCATION turns NonPagedPool into NonPagedPoolNx). Uninitialised unless
 * EXA_POOL_ZERO_ALLOCATION. Tag 0 is counted as "None". Must-succeed types may use a
 * reserve beyond the capacity; if even that fails: bug check 0x41. */
EXA_API void *exa_pool_allocate_typed(int32_t pool_type, exa_u64 size, uint32_t tag, int32_t priority);
/* ExAllocatePoolWithQuotaTag: charges the calling thread's current quota account (blocks
 * of up to 4064 bytes: the whole block, header included; big allocations and the system
 * account are never charged). Raises on failure unless EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE
 * is in pool_type. */
EXA_API void *exa_pool_allocate_quota(int32_t pool_type, exa_u64 size, uint32_t tag);
/* ExFreePoolWithTag (exa_pool_free, declared above, is ExFreePool). */
EXA_API void exa_pool_free_with_tag(void *block, uint32_t tag);
/* The same, reporting the outcome, for bindings that cannot afford a second call to learn it
 * (Java's address path): tag 0 frees as ExFreePool (no tag check), any other tag as
 * ExFreePoolWithTag. EXA_STATUS_SUCCESS, or EXA_STATUS_BUGCHECK when a check refused the
 * free (the bug-check handler ran and returned; exa_last_bugcheck has the details; the block
 * is as it was). */
EXA_API exa_status_t exa_pool_free_checked(void *block, uint32_t tag);

typedef struct exa_quota_account_s exa_quota_account_t;

/* What exa_pool_query_block reports about a live block. */
typedef struct exa_pool_block_info_s {
    exa_u64 size;                  /* ExQueryPoolBlockSize: bytes usable from the address */
    exa_u64 charged;               /* bytes counted for the tag: the block with its header,
                                    * or the whole pages of a big allocation */
    uint32_t tag;                  /* as allocated (EXA_POOL_TAG_PROTECTED included) */
    int32_t pool_type;             /* POOL_TYPE, e.g. 0x200 for NonPagedPoolNx */
    int32_t pool;                  /* exa_pool_kind_e */
    uint32_t quota_charged;        /* 1 when a quota account was charged */
    uint32_t big;                  /* 1 for a big (page-aligned, headerless) allocation */
    uint32_t reserved;
    exa_quota_account_t *account;  /* the account charged, or NULL */
} exa_pool_block_info_t;

/* EXA_STATUS_SUCCESS, or EXA_STATUS_INVALID_PARAMETER when block is not a live block. */
EXA_API exa_status_t exa_pool_query_block(const void *block, exa_pool_block_info_t *out);

/* One PoolMon row: a tag in one pool. Counts are since the process started. */
typedef struct exa_pool_tag_row_s {
    uint32_t tag;        /* PROTECTED_POOL bit removed */
    int32_t pool;        /* exa_pool_kind_e: PoolMon's "Nonp" / "Paged" */
    exa_u64 allocs;      /* Allocs */
    exa_u64 frees;       /* Frees */
    exa_u64 diff;        /* Diff = Allocs - Frees (blocks live now) */
    exa_u64 bytes;       /* Bytes live now (block sizes with headers; big: whole pages) */
    exa_u64 per_alloc;   /* Per Alloc = Bytes / Diff (0 when Diff is 0) */
} exa_pool_tag_row_t;

/* Rows sorted by tag bytes, then pool. Writes up to `capacity` rows (out may be NULL when
 * capacity is 0) and returns the number of rows there are. */
EXA_API uint32_t exa_pool_tag_snapshot(exa_pool_tag_row_t *out, uint32_t capacity);

/* Limits of one pool. All in bytes (capacity rounded down to pages, the rest rounded up);
 * they must satisfy critical <= low_watermark <= low_clear <= high_clear <= high_watermark
 * <= capacity. The Low condition is set when free capacity drops below low_watermark and
 * cleared when it is back at or above low_clear; the High condition is set at or above
 * high_watermark and cleared below high_clear: the gaps are the hysteresis. */
enum exa_pool_lock_policy_e {
    EXA_POOL_LOCK_BEST_EFFORT = 0,  /* lock non-paged memory; when refused, count and go on */
    EXA_POOL_LOCK_REQUIRED = 1,     /* a mapping the host refuses to lock fails the request */
    EXA_POOL_LOCK_NONE = 2          /* never lock */
};
typedef struct exa_pool_limits_s {
    exa_u64 capacity;               /* bytes of pages the pool may hold in blocks */
    exa_u64 low_watermark;
    exa_u64 low_clear;
    exa_u64 high_clear;
    exa_u64 high_watermark;
    exa_u64 critical_watermark;
    exa_u64 must_succeed_reserve;   /* bytes beyond capacity for must-succeed requests */
    uint32_t lock_policy;           /* exa_pool_lock_policy_e; non-paged pool only */
    uint32_t cached_segments;       /* empty 256 KiB segments kept per descriptor (0..64) */
} exa_pool_limits_t;

EXA_API exa_status_t exa_pool_get_limits(int32_t pool, exa_pool_limits_t *out);
/* EXA_STATUS_INVALID_PARAMETER_1 for an unknown pool, _2 for inconsistent limits. Lowering
 * the capacity below what is in use is allowed: requests then fail until blocks are freed. */
EXA_API exa_status_t exa_pool_set_limits(int32_t pool, const exa_pool_limits_t *limits);

enum exa_pool_condition_e {
    EXA_POOL_CONDITION_LOW = 1,     /* \KernelObjects\Low{NonPaged,Paged}PoolCondition */
    EXA_POOL_CONDITION_HIGH = 2     /* \KernelObjects\High{NonPaged,Paged}PoolCondition */
};

typedef struct exa_pool_stats_s {
    int32_t pool;                  /* exa_pool_kind_e */
    uint32_t condition;            /* exa_pool_condition_e bits now */
    exa_u64 capacity;              /* bytes */
    exa_u64 in_use;                /* bytes of pages holding blocks (small-block pages + big) */
    exa_u64 peak;                  /* highest in_use */
    exa_u64 available;             /* capacity - in_use (0 when over) */
    exa_u64 small_pages;           /* pages carved into small blocks */
    exa_u64 big_pages;             /* pages of big allocations */
    exa_u64 big_allocations;       /* live big allocations */
    exa_u64 mapped;                /* bytes mapped from the host (segments and big mappings) */
    exa_u64 cached;                /* bytes of empty segments kept for reuse */
    exa_u64 locked;                /* bytes locked in RAM (non-paged) */
    exa_u64 lock_failures;         /* mappings the host refused to lock */
    exa_u64 cold_hints;            /* cold hints the host took */
    exa_status_t lock_status;      /* EXA_STATUS_SUCCESS, or why the last lock was refused
                                    * (EXA_STATUS_WORKING_SET_QUOTA: RLIMIT_MEMLOCK) */
    uint32_t condition_changes;    /* transitions of `condition` so far (mod 2^30) */
    uint32_t executable;           /* non-paged: 1 when executable requests get executable
                                    * memory; 0 when the host refused (NX fallback) */
    uint32_t numa_nodes;           /* nodes the host has (>= 1) */
    exa_u64 node_refusals;         /* non-paged: node-bound mappings served unbound because
                                    * the host cannot bind memory to a node (no NUMA policy
                                    * in the kernel or emulator, or a seccomp profile) */
} exa_pool_stats_t;

enum exa_pool_status_e {
    EXA_STATUS_WORKING_SET_QUOTA = (int32_t)0xC00000A1u  /* the host refused to lock memory */
};

EXA_API exa_status_t exa_pool_query(int32_t pool, exa_pool_stats_t *out);
/* The pool's condition bits now (the pollable form of the condition events). */
EXA_API uint32_t exa_pool_condition(int32_t pool);

/* Condition callbacks: called with the pool's new condition bits each time they change,
 * on the thread whose allocation or free changed them, outside every library lock, one
 * call at a time and in order (a change during a callback is delivered after it returns).
 * At most 16 registrations. After unregister returns (outside a callback), the callback is
 * not called again. */
typedef void (*exa_pool_condition_fn)(int32_t pool, uint32_t condition, void *context);
EXA_API exa_status_t exa_pool_register_condition(exa_pool_condition_fn fn, void *context, uint32_t *cookie);
EXA_API exa_status_t exa_pool_unregister_condition(uint32_t cookie);

/* Return the calling thread's cached free blocks to the pools and empty segments to the
 * host (beyond none). Returns the number of blocks returned. */
EXA_API exa_u64 exa_pool_trim(void);

/* ==========================================================================================
 * Quota accounts (NT's process pool quota, docs/pool.md#quota)
 *
 * An account stands for an NT process: a non-paged and a paged limit (0 = unlimited), the
 * usage and its peak. Each thread has a current account, the process account unless it
 * attached another; ExAllocatePoolWithQuota(Tag), exa_pool_allocate_quota and
 * EXA_POOL_FLAG_USE_QUOTA charge it. A charged block keeps its account alive until it is
 * freed (NT references the process); exa_quota_close only drops the creator's reference.
 * The system account is never charged.
 * ======================================================================================== */

enum exa_quota_kind_e {
    EXA_QUOTA_KIND_ACCOUNT = 0,   /* created by exa_quota_create */
    EXA_QUOTA_KIND_PROCESS = 1,   /* the host process: every thread's default */
    EXA_QUOTA_KIND_SYSTEM = 2     /* the System process: never charged */
};

typedef struct exa_quota_stats_s {
    exa_u64 id;                    /* unique for the life of the process */
    exa_u64 non_paged_usage, non_paged_peak, non_paged_limit;
    exa_u64 paged_usage, paged_peak, paged_limit;
    exa_u64 charged_blocks;        /* blocks holding a charge now */
    int32_t kind;                  /* exa_quota_kind_e */
    uint32_t closed;               /* 1 after exa_quota_close */
} exa_quota_stats_t;

/* EXA_STATUS_INVALID_PARAMETER when out is NULL, EXA_STATUS_INSUFFICIENT_RESOURCES. */
EXA_API exa_status_t exa_quota_create(exa_u64 non_paged_limit, exa_u64 paged_limit, exa_quota_account_t **out);
/* Drop the creator's reference; the account lives on while blocks or threads use it. The
 * process and system accounts cannot be closed (EXA_STATUS_INVALID_PARAMETER). */
EXA_API exa_status_t exa_quota_close(exa_quota_account_t *account);
EXA_API exa_status_t exa_quota_set_limits(exa_quota_account_t *account, exa_u64 non_paged_limit, exa_u64 paged_limit);
EXA_API exa_status_t exa_quota_query(const exa_quota_account_t *account, exa_quota_stats_t *out);
/* Make `account` the calling thread's current account (NULL: the process account) and
 * return the previous one, to pass back when the scope ends:
 *     exa_quota_account_t *saved = exa_quota_attach(a);  ...;  exa_quota_attach(saved);
 * The thread holds a reference on its current account; `saved` is only borrowed, so an
 * account must not be closed while a scope that will re-attach it is still open. */
EXA_API exa_quota_account_t *exa_quota_attach(exa_quota_account_t *account);
EXA_API exa_quota_account_t *exa_quota_current(void);
EXA_API exa_quota_account_t *exa_quota_process(void);
EXA_API exa_quota_account_t *exa_quota_system(void);

/* ==========================================================================================
 * Memory-manager queries (MmQuerySystemSize / MmIsThisAnNtAsSystem, docs/mm.md)
 *
 * Computed from the host's physical memory in 4 KiB pages P and a product type (the
 * registry's ProductType string; only its first two characters count, "Wi" is a
 * workstation, anything else a server): P <= 19 MiB small, else medium; large when P >=
 * 32 MiB on a workstation or >= 64 MiB on a server. Default: the host's memory, "WinNt".
 * ======================================================================================== */

enum exa_mm_system_size_e {
    EXA_MM_SMALL_SYSTEM = 0,
    EXA_MM_MEDIUM_SYSTEM = 1,
    EXA_MM_LARGE_SYSTEM = 2
};

EXA_API int32_t exa_mm_query_system_size(void);
/* 1 on a server product type, else 0. */
EXA_API int32_t exa_mm_is_nt_as_system(void);
/* Override the inputs: physical_bytes 0 = the host's; product_type NULL = "WinNt". */
EXA_API exa_status_t exa_mm_configure(exa_u64 physical_bytes, const char *product_type);
/* NUMA nodes the host has (>= 1). */
EXA_API uint32_t exa_numa_node_count(void);

/* ==========================================================================================
 * Lookaside lists: bulk transfers, depth adjustment (exalloc extensions)
 * ======================================================================================== */

/* Take up to n CACHED blocks for the caller (this thread's cache first, then the shared
 * stack, newest first). Never calls the allocate callback / pool, so it never calls the OS
 * and is short enough for a critical downcall. Each block returned counts as one allocate
 * (TotalAllocates) hit. Returns the number stored in out[0..k). IRQL check as
 * exa_lookaside_allocate (too high -> bug check path, returns 0). */
EXA_API uint32_t exa_lookaside_allocate_cached(exa_lookaside_t *list, void **out, uint32_t n);

/* Cache up to n of blocks[0..n) while the Depth bound allows (never calls the free
 * callback). Each taken block counts as one free (TotalFrees) hit, first word overwritten as
 * exa_lookaside_free does. Returns k: blocks[0..k) were taken (blocks[k-1] comes out first);
 * the caller frees blocks[k..n) with exa_lookaside_free (which counts misses and calls the
 * callback). IRQL check as exa_lookaside_free (too high -> bug check path, returns 0). */
EXA_API uint32_t exa_lookaside_free_cached(exa_lookaside_t *list, void *const *blocks, uint32_t n);

/* Give back blocks[0..n) that exa_lookaside_allocate_cached took and the caller never handed
 * on, so that the counters read as if the transfer had not taken them: each uncounts its
 * allocate (TotalAllocates - 1) and counts no free. As many as the Depth bound allows are
 * cached again, blocks[0..k) (the return value); the others go to the free callback (or the
 * pool), so this calls the free callback when the list has one and n > k. */
EXA_API uint32_t exa_lookaside_return_cached(exa_lookaside_t *list, void *const *blocks, uint32_t n);

/* Depth adjustment (docs/lookaside.md#depth). One pass over every live list, as the balance-set thread
 * does each period. Per list, with A allocates and M allocate misses since the last pass:
 * A < 32 (idle): Depth -= 8; M <= 0.5 % of A: Depth -= 1 (never below the list's initial
 * depth); else Depth += clamp(ceil(M / 2), 1, MaximumDepth / 4), up to MaximumDepth. When
 * Depth drops, the cached blocks beyond it go to the free callback (the shared stack's
 * newest first, then each thread cache's oldest). Callbacks run on the calling thread with
 * no lock held. */
EXA_API void exa_lookaside_tick(void);

/* Start the balance-set thread: exa_lookaside_tick every period_ms (0 = 1000, NT's one
 * second). Already running: only the period changes. Also started at the first list
 * creation when the environment has EXALLOC_BALANCE_SET=1 (default period) or =<ms>.
 * EXA_STATUS_INSUFFICIENT_RESOURCES if no thread could be created. */
EXA_API exa_status_t exa_balance_set_start(uint32_t period_ms);

/* Stop the balance-set thread and wait for it (returns within one tick plus ~20 ms).
 * Idempotent: EXA_STATUS_SUCCESS when it was not running. EXA_STATUS_UNSUCCESSFUL when
 * called on the balance-set thread itself (from a free callback during a trim). */
EXA_API exa_status_t exa_balance_set_stop(void);

/* 1 while the balance-set thread runs, else 0. */
EXA_API int32_t exa_balance_set_running(void);

/* NT Depth now: how many blocks the list caches at most (0 for NULL or a deleted list). A
 * moment's value: the balance-set thread and exa_lookaside_set_depth move it. */
EXA_API uint32_t exa_lookaside_depth(exa_lookaside_t *list);

/* Exclude a list from depth adjustment (fixed != 0) or include it again (0; the default).
 * A list created with initial_depth == maximum_depth cannot move either way. */
EXA_API exa_status_t exa_lookaside_set_fixed_depth(exa_lookaside_t *list, int32_t fixed);

/* ==========================================================================================
 * Diagnostics: leak report, allocation dump, PoolMon / !lookaside text, live view
 * (docs/diagnostics.md, docs/pool.md#tags and #integrity)
 *
 * Text routines are snprintf-like: they write at most `capacity` bytes including a
 * terminating NUL (nothing when capacity is 0; buf may then be NULL) and return the length
 * of the whole text, NUL excluded; a return >= capacity means the text was truncated.
 *
 * Environment (read when the library is loaded):
 *   EXALLOC_LEAK_REPORT=1 | <path>   write the leak report at exit (1: to stderr)
 *   EXALLOC_CHECKS=verifier          record each pool allocation's call stack (see
 *                                    exa_diag_record_sites) for leak reports and dumps
 *   EXALLOC_PUBLISH=1 | <period ms>  start the live-view publisher (1: every 1000 ms)
 *   EXALLOC_PUBLISH_MODE=0640 | 0644 the live view's mode (default 0600: the user only;
 *                                    read when the file is created)
 *   EXALLOC_DUMP_PATH=<path>         where the default bug-check handler writes its dump
 *                                    (default: stderr, after the STOP line)
 * A secure-execution process (setuid, setgid) ignores every EXALLOC_* variable; reports and
 * dumps are new files of mode 0600 renamed over the path (docs/diagnostics.md#secure-execution,
 * #output-files).
 * ======================================================================================== */

/* The leak report: lookaside lists not deleted (id, tag, type, size, depth), pool tags with
 * blocks outstanding (PoolMon rows with Diff > 0) and, when allocation sites are recorded,
 * every outstanding block with the stack that allocated it. "No leaks." when clean. */
EXA_API exa_u64 exa_leak_report(char *buf, exa_u64 capacity);
/* Write the leak report to `path` (NULL or "-": stderr): a new file of mode 0600 renamed over
 * the path. EXA_STATUS_UNSUCCESSFUL when it cannot be created or put in place. */
EXA_API exa_status_t exa_leak_report_write(const char *path);
/* Write the leak report when the process exits (enable 1) or not (0); path as above,
 * copied. */
EXA_API exa_status_t exa_leak_report_at_exit(int32_t enable, const char *path);

/* Record (1) or stop recording (0) the call stack of each pool allocation in a side table
 * keyed by address (the verifier's allocation sites). Returns the previous setting. Blocks
 * allocated while off have no site. */
EXA_API int32_t exa_diag_record_sites(int32_t enable);

/* One live pool block. */
typedef struct exa_allocation_info_s {
    exa_u64 address;     /* the pointer the caller holds */
    exa_u64 size;        /* bytes usable from address (ExQueryPoolBlockSize) */
    uint32_t tag;        /* as allocated (EXA_POOL_TAG_PROTECTED included) */
    int32_t pool_type;   /* POOL_TYPE, e.g. 0x200 NonPagedPoolNx */
} exa_allocation_info_t;

/* Every live pool block (big allocations first, then small blocks by address within each
 * segment): writes up to `capacity` (out may be NULL when 0) and returns how many there are.
 * Blocks cached by lookaside lists and thread caches of lists count as live. */
EXA_API exa_u64 exa_allocation_snapshot(exa_allocation_info_t *out, exa_u64 capacity);
/* The same as text, one block a line (with its allocation site when recorded). */
EXA_API exa_u64 exa_allocation_dump(char *buf, exa_u64 capacity);

/* PoolMon's view (Tag, Type, Allocs, Frees, Diff, Bytes, Per Alloc) sorted by: */
enum exa_poolmon_sort_e {
    EXA_POOLMON_SORT_BYTES = 0,   /* Bytes, largest first (PoolMon's b) */
    EXA_POOLMON_SORT_ALLOCS = 1,  /* Allocs, most first (a) */
    EXA_POOLMON_SORT_FREES = 2,   /* Frees, most first (f) */
    EXA_POOLMON_SORT_DIFF = 3,    /* Diff, most first (d) */
    EXA_POOLMON_SORT_TAG = 4      /* Tag, alphabetical (t) */
};
EXA_API exa_u64 exa_poolmon_text(char *buf, exa_u64 capacity, int32_t sort_key);
/* The debugger's !lookaside view of every live list. */
EXA_API exa_u64 exa_lookaside_text(char *buf, exa_u64 capacity);

/* Live view for tools/exapoolmon: publish the PoolMon rows and lookaside statistics into
 * /dev/shm/exalloc.<pid> (seqlock-versioned), every period_ms (0 = 1000) from a small
 * thread. start when running: changes the period. stop ends the thread and removes the
 * file. now: publish once (creating the file if needed), from the calling thread. The file
 * is created anew, mode 0600 (EXALLOC_PUBLISH_MODE); when the name is held by something not
 * this user's own file, start and now return EXA_STATUS_UNSUCCESSFUL and say so once on
 * stderr (docs/diagnostics.md#live-view). */
EXA_API exa_status_t exa_publish_start(uint32_t period_ms);
EXA_API exa_status_t exa_publish_stop(void);
EXA_API exa_status_t exa_publish_now(void);

/* ==========================================================================================
 * Checking levels and the Driver Verifier emulation (docs/diagnostics.md#check-levels)
 *
 * Levels (EXALLOC_CHECKS=off|default|verifier at start-up, or exa_set_check_level):
 *   off      skips the optional free-time check: a block whose next neighbour's header
 *            disagrees (an overrun of the block being freed, 0x19/0x05) is freed without a
 *            report (coalescing still checks it later). Every check that keeps the allocator
 *            itself from writing through a damaged pointer stays on: the block's own header
 *            (0xC2/0x01, 0x07, 0x42, 0x46, 0x99; 0x19/0x08, 0x09, 0x22), free-list links
 *            (0x19/0x03, 0x0D), coalescing neighbours (0x19/0x05, 0x06), the quota owner
 *            (0xC2/0x0D), protected tags (0xC2/0x0A) and IRQL.
 *   default  every O(1) header and list check (the level before this section existed).
 *   verifier default + EXA_POOL_OPTION_STRICT (zero-byte 0xC4/0x00, must-succeed 0xC2/0x9A,
 *            tag rules, any mismatching tag 0xC2/0x0A) + fill patterns (uninitialised
 *            blocks 0x5A at allocation, freed blocks 0x6B at free) + the special pool for
 *            the requests exa_verifier_configure selects + low-resources simulation when
 *            configured + lookaside misuse checks (0xC4/0xCA, 0xCB, 0xCC).
 * The level may change at any time; it applies to the calls made after the change. Blocks
 * from the special pool are recognised at every level, whenever they were allocated.
 *
 * Special pool: each selected request below one host page (and <= 4064 bytes) gets a page
 * of its own next to a no-access guard page: EXA_VERIFIER_VERIFY_END (default) puts the block
 * at the end of its page (16-byte aligned, 64 for cache-aligned types) with the guard page
 * after it; EXA_VERIFIER_VERIFY_START at the start with the guard page before it. The rest
 * of the page is filled with a pattern checked at free (0xC1, p4 0x23 before the block,
 * 0x24 after it). Touching a guard page is bug check 0xCD PAGE_FAULT_BEYOND_END_OF_ALLOCATION
 * and touching a freed special block (kept no-access in a FIFO quarantine) is 0xCC
 * PAGE_FAULT_IN_FREED_SPECIAL_POOL, both with p1 the address touched, p2 1 write / 0 read
 * (-1 unknown), p3 the block, p4 the block's size; the line before the STOP line names the
 * tag. A fault that cannot return runs the bug-check handler, then aborts. Freeing a special
 * block twice is 0xC1 p4 0x20 (p1 the address, p2 the size, p3 the tag); a pointer inside a
 * special page that is not its block is 0xC1 p4 0x21. When the special pool is full the
 * request falls back to the normal pool (NT's behaviour). POOL_FLAG_SPECIAL_POOL
 * (ExAllocatePool2/3) asks for the special pool at every level.
 *
 * Start-up environment (read when the library loads):
 *   EXALLOC_CHECKS=off|default|verifier
 *   EXALLOC_SPECIAL_POOL=tag:Ab?d | size:LO-HI | all    (selects requests; implies nothing
 *                                                       about the level)
 *   EXALLOC_VERIFIER_FLAGS=end|start[,nofill][,quarantine=N]
 *   EXALLOC_LOW_RESOURCES=PROB[,tag=Ab?d][,after=N][,ms=M]  (PROB per 10000)
 * ======================================================================================== */

enum exa_verifier_struct_id_e {
    EXA_STRUCT_VERIFIER_CONFIG = 48,
    EXA_STRUCT_VERIFIER_STATS = 49
};

enum exa_check_level_e {
    EXA_CHECKS_OFF = 0,
    EXA_CHECKS_DEFAULT = 1,
    EXA_CHECKS_VERIFIER = 2
};

/* EXA_STATUS_INVALID_PARAMETER for an unknown level. */
EXA_API exa_status_t exa_set_check_level(int32_t level);
EXA_API int32_t exa_get_check_level(void);

enum exa_verifier_flag_e {
    EXA_VERIFIER_VERIFY_END = 0x0,     /* block at the page end, guard page after (default) */
    EXA_VERIFIER_VERIFY_START = 0x1,   /* block at the page start, guard page before */
    EXA_VERIFIER_NO_FILL = 0x2         /* no fill patterns at the verifier level */
};

typedef struct exa_verifier_config_s {
    uint32_t special_tag;        /* tag selecting special pool requests; '?' (0x3F) bytes match
                                  * any byte; 0 = by tag: none */
    uint32_t flags;              /* exa_verifier_flag_e */
    exa_u64 special_size_min;    /* size range selecting special pool requests (inclusive); */
    exa_u64 special_size_max;    /* max 0 = by size: none */
    uint32_t quarantine;         /* freed special pages kept no-access (FIFO), 0 = 64 */
    uint32_t low_resources;      /* failure probability per 10000 at the verifier level; 0 = off */
    uint32_t low_resources_tag;  /* only requests with this tag ('?' wildcards); 0 = all */
    uint32_t reserved;
    exa_u64 low_resources_after; /* requests to let through before failing any */
    exa_u64 low_resources_ms;    /* milliseconds after configuration before failing any */
} exa_verifier_config_t;

/* Replace the configuration (selection applies to requests made afterwards at the
 * verifier level; POOL_FLAG_SPECIAL_POOL requests use the placement flags at every level).
 * EXA_STATUS_INVALID_PARAMETER: cfg NULL, unknown flag bits, min > max, probability > 10000. */
EXA_API exa_status_t exa_verifier_configure(const exa_verifier_config_t *cfg);
EXA_API exa_status_t exa_verifier_get_config(exa_verifier_config_t *out);

typedef struct exa_verifier_stats_s {
    exa_u64 special_allocations;   /* blocks handed out from the special pool so far */
    exa_u64 special_live;          /* special blocks live now */
    exa_u64 special_fallbacks;     /* selected requests served by the normal pool (full) */
    exa_u64 injected_failures;     /* requests failed by the low-resources simulation */
    uint32_t special_capacity;     /* special pages in all */
    uint32_t quarantined;          /* freed special pages kept no-access now */
} exa_verifier_stats_t;

EXA_API exa_status_t exa_verifier_query(exa_verifier_stats_t *out);

/* MmIsSpecialPoolAddress: 1 when address lies in a special pool page (live, free or
 * guard), else 0. */
EXA_API int32_t exa_is_special_pool_address(const void *address);

#ifdef __cplusplus
}
#endif

#endif /* EXALLOC_H */
