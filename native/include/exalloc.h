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
    EXA_STRUCT_BUGCHECK_INFO = 3
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
 * Spin locks (NT's KSPIN_LOCK shape: one pointer-sized word in caller memory, 0 = free)
 *
 * Test-and-test-and-set with the CPU's pause hint, bounded spinning then yielding to the OS
 * (a user-space holder can be preempted). The word holds (owner token | 1) while held, so
 * re-acquisition by the owner is bug check 0x0F (SPIN_LOCK_ALREADY_OWNED) and release by a
 * thread that does not hold it is 0x10 (SPIN_LOCK_NOT_OWNED), at every checking level.
 * ======================================================================================== */

typedef uintptr_t exa_spinlock_t;

EXA_API void exa_spinlock_init(exa_spinlock_t *lock);
/* EXA_STATUS_SUCCESS, or EXA_STATUS_BUGCHECK if the caller already holds it. */
EXA_API exa_status_t exa_spinlock_acquire(exa_spinlock_t *lock);
/* 1 if acquired, 0 if busy (never bug-checks, never waits). */
EXA_API int32_t exa_spinlock_try_acquire(exa_spinlock_t *lock);
/* EXA_STATUS_SUCCESS, or EXA_STATUS_BUGCHECK if the caller does not hold it. */
EXA_API exa_status_t exa_spinlock_release(exa_spinlock_t *lock);
/* 1 if the lock looks free now (may be stale on return), else 0 (after a pause). */
EXA_API int32_t exa_spinlock_test(const exa_spinlock_t *lock);

/* ==========================================================================================
 * Lookaside lists (NT's ExInitialize...LookasideList family, spec section 2)
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
 *   EXA_STATUS_INVALID_PARAMETER    cfg or out NULL, size 0 or > 4 GiB - 1, bad initial_depth;
 *   EXA_STATUS_INVALID_PARAMETER_4  pool_type is not a valid lookaside pool type;
 *   EXA_STATUS_INVALID_PARAMETER_8  maximum_depth not 0 and not in 256..1024;
 *   EXA_STATUS_INSUFFICIENT_RESOURCES  no memory for the list itself. */
EXA_API exa_status_t exa_lookaside_create(const exa_lookaside_config_t *cfg, exa_lookaside_t **out);

/* A cached block, or the allocate callback's result on a miss (possibly NULL). */
EXA_API void *exa_lookaside_allocate(exa_lookaside_t *list);

/* Cache the block if the list holds fewer than Depth blocks, else pass it to the free
 * callback. NULL is ignored. */
EXA_API void exa_lookaside_free(exa_lookaside_t *list, void *block);

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

/* Return the calling thread's cached blocks of every list to the lists' shared stacks and
 * drop its caches. Runs automatically at thread exit; call it before parking a thread for a
 * long time. */
EXA_API void exa_thread_cache_release(void);

#ifdef __cplusplus
}
#endif

#endif /* EXALLOC_H */
