/* exalloc - the Windows NT executive's memory-support routines as a user-space library.
 *
 * exalloc_nt.h: NT names, types, structures and constants, source-compatible with code
 * written against wdm.h for the routines exalloc implements. Every routine is an exported
 * function (NT has made the lookaside routines exported functions since Windows 11 22H2).
 *
 * Types follow the Windows LLP64 model on every host: LONG and ULONG are 32 bits, SIZE_T
 * and ULONG_PTR are pointer-sized. Structure layouts match x64 wdm.h (checked by
 * static assertions in the C tests). Do not include this together with the real wdm.h.
 *
 * Not a jextract input: the Java binding uses exalloc.h.
 */
#ifndef EXALLOC_NT_H
#define EXALLOC_NT_H

#include "exalloc.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================================
 * Basic types (wdm.h / ntdef.h names)
 * ======================================================================================== */

#ifndef VOID
#define VOID void
#endif
typedef void *PVOID;
typedef uint8_t UCHAR, *PUCHAR;
typedef uint8_t BOOLEAN, *PBOOLEAN;
typedef uint16_t USHORT, *PUSHORT;
typedef int32_t LONG, *PLONG;
typedef uint32_t ULONG, *PULONG;
typedef long long LONGLONG;
typedef unsigned long long ULONGLONG;
typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef ULONG_PTR SIZE_T, *PSIZE_T;
typedef LONG NTSTATUS;
typedef UCHAR KIRQL, *PKIRQL;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef NTAPI
#define NTAPI
#endif
#ifndef DECLSPEC_NORETURN
#if defined(__cplusplus)
#define DECLSPEC_NORETURN [[noreturn]]
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define DECLSPEC_NORETURN _Noreturn
#elif defined(__GNUC__)
#define DECLSPEC_NORETURN __attribute__((noreturn))
#elif defined(_MSC_VER)
#define DECLSPEC_NORETURN __declspec(noreturn)
#else
#define DECLSPEC_NORETURN
#endif
#endif

/* Spellings for C11 (the library's language), C99 with GCC or Clang, and C++11 or later:
 *   EXALLOC_ALIGNAS(n)           on a named member: align it (and so the struct) to n bytes;
 *   EXALLOC_ANONYMOUS            before an anonymous struct or union member (standard in C11,
 *                                an extension in C99 and C++, which -pedantic accepts when
 *                                marked);
 *   EXALLOC_CACHE_ALIGNED_TYPE   after `struct` and EXALLOC_CACHE_ALIGNED_FIRST before the
 *                                first member: 64-byte alignment for a struct whose first
 *                                member is anonymous (C99 and C++ cannot align an anonymous
 *                                member, so the type carries it there).
 * Every spelling gives the same layout (the headers' check compiles and compares them). */
#if defined(__cplusplus)
#define EXALLOC_ALIGNAS(n) alignas(n)
#define EXALLOC_CACHE_ALIGNED_TYPE alignas(64)
#define EXALLOC_CACHE_ALIGNED_FIRST
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define EXALLOC_ALIGNAS(n) _Alignas(n)
#define EXALLOC_CACHE_ALIGNED_TYPE
#define EXALLOC_CACHE_ALIGNED_FIRST _Alignas(64)
#elif defined(__GNUC__)
#define EXALLOC_ALIGNAS(n) __attribute__((aligned(n)))
#define EXALLOC_CACHE_ALIGNED_TYPE __attribute__((aligned(64)))
#define EXALLOC_CACHE_ALIGNED_FIRST
#elif defined(_MSC_VER)
#define EXALLOC_ALIGNAS(n) __declspec(align(n))
#define EXALLOC_CACHE_ALIGNED_TYPE __declspec(align(64))
#define EXALLOC_CACHE_ALIGNED_FIRST
#else
#error "exalloc_nt.h: no way known to spell the NT structures' alignment with this compiler"
#endif
#if defined(__GNUC__) && (defined(__cplusplus) || !defined(__STDC_VERSION__) || __STDC_VERSION__ < 201112L)
#define EXALLOC_ANONYMOUS __extension__
#else
#define EXALLOC_ANONYMOUS
#endif

#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)

#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001L)
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000DL)
#define STATUS_NO_MEMORY ((NTSTATUS)0xC0000017L)
#define STATUS_QUOTA_EXCEEDED ((NTSTATUS)0xC0000044L)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009AL)
#define STATUS_INVALID_PARAMETER_1 ((NTSTATUS)0xC00000EFL)
#define STATUS_INVALID_PARAMETER_2 ((NTSTATUS)0xC00000F0L)
#define STATUS_INVALID_PARAMETER_3 ((NTSTATUS)0xC00000F1L)
#define STATUS_INVALID_PARAMETER_4 ((NTSTATUS)0xC00000F2L)
#define STATUS_INVALID_PARAMETER_5 ((NTSTATUS)0xC00000F3L)
#define STATUS_INVALID_PARAMETER_6 ((NTSTATUS)0xC00000F4L)
#define STATUS_INVALID_PARAMETER_7 ((NTSTATUS)0xC00000F5L)
#define STATUS_INVALID_PARAMETER_8 ((NTSTATUS)0xC00000F6L)

/* ==========================================================================================
 * Lists (ntdef.h)
 * ======================================================================================== */

typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

typedef struct _SLIST_ENTRY {
    EXALLOC_ALIGNAS(16) struct _SLIST_ENTRY *Next;
} SLIST_ENTRY, *PSLIST_ENTRY;

/* x64 SLIST_HEADER. exalloc keeps its own list state elsewhere: Alignment's low 16 bits
 * mirror the cached-entry count (what ExQueryDepthSList reads) and Region holds the list's
 * handle. Code must not write either. */
typedef union _SLIST_HEADER {
    EXALLOC_ANONYMOUS struct {
        ULONGLONG Alignment;
        ULONGLONG Region;
    };
    EXALLOC_ALIGNAS(16) ULONGLONG Words[2];
} SLIST_HEADER, *PSLIST_HEADER;

/* ==========================================================================================
 * Pool types and modifiers (wdm.h)
 * ======================================================================================== */

typedef enum _POOL_TYPE {
    NonPagedPool = 0,
    NonPagedPoolExecute = NonPagedPool,
    PagedPool = 1,
    NonPagedPoolMustSucceed = NonPagedPool + 2,
    DontUseThisType = 3,
    NonPagedPoolCacheAligned = NonPagedPool + 4,
    PagedPoolCacheAligned = 5,
    NonPagedPoolCacheAlignedMustS = NonPagedPool + 6,
    MaxPoolType = 7,
    NonPagedPoolBase = 0,
    NonPagedPoolBaseMustSucceed = NonPagedPoolBase + 2,
    NonPagedPoolBaseCacheAligned = NonPagedPoolBase + 4,
    NonPagedPoolBaseCacheAlignedMustS = NonPagedPoolBase + 6,
    NonPagedPoolSession = 32,
    PagedPoolSession = NonPagedPoolSession + 1,
    NonPagedPoolMustSucceedSession = PagedPoolSession + 1,
    DontUseThisTypeSession = NonPagedPoolMustSucceedSession + 1,
    NonPagedPoolCacheAlignedSession = DontUseThisTypeSession + 1,
    PagedPoolCacheAlignedSession = NonPagedPoolCacheAlignedSession + 1,
    NonPagedPoolCacheAlignedMustSSession = PagedPoolCacheAlignedSession + 1,
    NonPagedPoolNx = 512,
    NonPagedPoolNxCacheAligned = NonPagedPoolNx + 4,
    NonPagedPoolSessionNx = NonPagedPoolNx + 32
} POOL_TYPE;

#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8
#define POOL_RAISE_IF_ALLOCATION_FAILURE 16
#define POOL_COLD_ALLOCATION 256
#define POOL_NX_ALLOCATION 512
#define POOL_ZERO_ALLOCATION 1024

/* ==========================================================================================
 * Lookaside lists (wdm.h)
 * ======================================================================================== */

struct _LOOKASIDE_LIST_EX;

typedef PVOID (*PALLOCATE_FUNCTION)(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
typedef VOID (*PFREE_FUNCTION)(PVOID Buffer);
typedef PVOID (*PALLOCATE_FUNCTION_EX)(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                       struct _LOOKASIDE_LIST_EX *Lookaside);
typedef VOID (*PFREE_FUNCTION_EX)(PVOID Buffer, struct _LOOKASIDE_LIST_EX *Lookaside);

/* GENERAL_LOOKASIDE's fields, as in wdm.h (x64 offsets in the comments). */
#define EXALLOC_GENERAL_LOOKASIDE_LAYOUT                                                        \
    EXALLOC_ANONYMOUS union {                                                                   \
        SLIST_HEADER ListHead;           /* 0x00 */                                             \
        SINGLE_LIST_ENTRY SingleListHead;                                                       \
    };                                                                                          \
    USHORT Depth;                        /* 0x10 */                                             \
    USHORT MaximumDepth;                 /* 0x12 */                                             \
    ULONG TotalAllocates;                /* 0x14 */                                             \
    EXALLOC_ANONYMOUS union {                                                                   \
        ULONG AllocateMisses;            /* 0x18 */                                             \
        ULONG AllocateHits;                                                                     \
    };                                                                                          \
    ULONG TotalFrees;                    /* 0x1C */                                             \
    EXALLOC_ANONYMOUS union {                                                                   \
        ULONG FreeMisses;                /* 0x20 */                                             \
        ULONG FreeHits;                                                                         \
    };                                                                                          \
    POOL_TYPE Type;                      /* 0x24 */                                             \
    ULONG Tag;                           /* 0x28 */                                             \
    ULONG Size;                          /* 0x2C */                                             \
    EXALLOC_ANONYMOUS union {                                                                   \
        PALLOCATE_FUNCTION_EX AllocateEx; /* 0x30 */                                            \
        PALLOCATE_FUNCTION Allocate;                                                            \
    };                                                                                          \
    EXALLOC_ANONYMOUS union {                                                                   \
        PFREE_FUNCTION_EX FreeEx;        /* 0x38 */                                             \
        PFREE_FUNCTION Free;                                                                    \
    };                                                                                          \
    LIST_ENTRY ListEntry;                /* 0x40 */                                             \
    ULONG LastTotalAllocates;            /* 0x50 */                                             \
    EXALLOC_ANONYMOUS union {                                                                   \
        ULONG LastAllocateMisses;        /* 0x54 */                                             \
        ULONG LastAllocateHits;                                                                 \
    };                                                                                          \
    ULONG Future[2];                     /* 0x58 */

typedef struct EXALLOC_CACHE_ALIGNED_TYPE _GENERAL_LOOKASIDE {
    EXALLOC_CACHE_ALIGNED_FIRST EXALLOC_GENERAL_LOOKASIDE_LAYOUT
} GENERAL_LOOKASIDE, *PGENERAL_LOOKASIDE;

typedef struct _GENERAL_LOOKASIDE_POOL {
    EXALLOC_GENERAL_LOOKASIDE_LAYOUT
} GENERAL_LOOKASIDE_POOL, *PGENERAL_LOOKASIDE_POOL;

typedef struct _NPAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} NPAGED_LOOKASIDE_LIST, *PNPAGED_LOOKASIDE_LIST;

typedef struct _PAGED_LOOKASIDE_LIST {
    GENERAL_LOOKASIDE L;
} PAGED_LOOKASIDE_LIST, *PPAGED_LOOKASIDE_LIST;

typedef struct _LOOKASIDE_LIST_EX {
    GENERAL_LOOKASIDE_POOL L;
} LOOKASIDE_LIST_EX, *PLOOKASIDE_LIST_EX;

#ifndef RTL_SIZEOF_THROUGH_FIELD
#define RTL_SIZEOF_THROUGH_FIELD(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#endif
#define LOOKASIDE_MINIMUM_BLOCK_SIZE (RTL_SIZEOF_THROUGH_FIELD(SLIST_ENTRY, Next))

#define EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL 0x00000001UL
#define EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE 0x00000002UL
#define EX_MAXIMUM_LOOKASIDE_DEPTH_BASE 256
#define EX_MAXIMUM_LOOKASIDE_DEPTH_LIMIT 1024

EXA_API VOID ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                             PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth);
EXA_API PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside);
EXA_API VOID ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry);
EXA_API VOID ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside);

EXA_API VOID ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                            PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth);
EXA_API PVOID ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside);
EXA_API VOID ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry);
EXA_API VOID ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside);

EXA_API NTSTATUS ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
                                             PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags, SIZE_T Size,
                                             ULONG Tag, USHORT Depth);
EXA_API PVOID ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);
EXA_API VOID ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry);
EXA_API VOID ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);
EXA_API VOID ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside);

/* Current number of cached entries, as NT's ExQueryDepthSList reads it from the header. */
EXA_API USHORT ExQueryDepthSList(PSLIST_HEADER SListHead);

/* ------------------------------------------------------------------------------------------
 * Inline lookaside fast path (opt-in: define EXA_NT_INLINE_LOOKASIDE before including this
 * header; docs/lookaside.md#inline)
 *
 * wdm.h defines the lookaside allocate and free routines as FORCEINLINE functions, so a hit
 * costs no call. With EXA_NT_INLINE_LOOKASIDE the six NT allocate/free names become macros
 * over static inline functions that pop from or push to the calling thread's cache for the
 * list, exactly as the library's own fast path does, and call the library (exported
 * functions below) on a miss, a full cache, a NULL entry, an IRQL at or above the list's gate,
 * or when the thread's memo names another list. The three initialisers first pass the
 * header's inline-ABI version to exa_nt_inline_abi_check, and every miss passes it too: a
 * library with another inline ABI bug-checks 0xC4/0x1015 (p2 the header's version, p3 the
 * library's) instead of letting the inline code misread its structures.
 *
 * The inline ABI (version EXA_NT_INLINE_ABI_VERSION): the list handle in ListHead.Region; the
 * gate byte in ListHead.Alignment (EXA_NT_INLINE_GATE_BYTE); the thread block exa_nt_inline_tls (an
 * initial-exec thread-local the library exports); and, in the thread cache the block names,
 * the fields at the EXA_NT_INLINE_CACHE_* offsets. The library asserts these at compile time.
 *
 * Memory ordering: the inline code touches only memory its own thread owns (its thread block
 * and its cache, which other threads change only under the list lock while the owner is not
 * inside a fast path). The owner's busy flag follows the library's handshake with a flush:
 * a relaxed store of 1, a compiler-only fence, the memo check, the operation, a release store
 * of 0; the flusher's process-wide barrier supplies the rest (docs/lookaside.md#concurrency).
 * These are the only atomic operations in a public header, spelled with the GCC/Clang
 * builtins (C99, C11 and C++17 alike), so the path needs GCC or Clang on an ELF target.
 * A translation unit built with AddressSanitizer or ThreadSanitizer keeps the macros but
 * calls the library every time (the library's checks must see every block).
 * ---------------------------------------------------------------------------------------- */

enum exa_nt_inline_abi_e {
    EXA_NT_INLINE_ABI_VERSION = 1,
    EXA_NT_INLINE_GATE_BYTE = 2,           /* uint8_t at this byte of ListHead.Alignment (little
                                            * endian: bits 16-23): a copy of the list's gate;
                                            * the fast path runs while IRQL < gate, and 0 (a
                                            * list without handle, deleted, or at the verifier
                                            * level) sends every call to the library */
    EXA_NT_INLINE_CACHE_N = 8,             /* uint32_t: blocks in the cache's array */
    EXA_NT_INLINE_CACHE_QUOTA = 12,        /* uint32_t: a free caches while n < quota */
    EXA_NT_INLINE_CACHE_LOW = 24,          /* uint32_t: an allocate pops while n > low */
    EXA_NT_INLINE_CACHE_FAST_FREES = 104,  /* uint64_t: frees made by the fast paths */
    EXA_NT_INLINE_CACHE_MAG = 152          /* void *[]: the cached blocks, newest at n - 1 */
};

/* The calling thread's block (the library's first fields of its hot thread-locals). */
typedef struct exa_nt_inline_tls_s {
    uint8_t irql;      /* the thread's IRQL */
    uint32_t busy;     /* 1 while the thread is inside a fast path */
    void *list;        /* the list the thread used last (its handle), or NULL */
    void *cache;       /* the thread's cache for that list */
} exa_nt_inline_tls_t;

/* 0 (STATUS_SUCCESS) when the library implements inline ABI `header_version`; otherwise the
 * bug check 0xC4/0x1015 and, should a handler return, EXA_STATUS_BUGCHECK. */
EXA_API NTSTATUS exa_nt_inline_abi_check(ULONG header_version);
/* The out-of-line routines the inline path calls: `ex` 1 for LOOKASIDE_LIST_EX, 0 for the
 * classic lists; `header_version` as above (checked on every call). */
EXA_API PVOID exa_nt_inline_allocate(PVOID lookaside, ULONG ex, ULONG header_version);
EXA_API VOID exa_nt_inline_free(PVOID lookaside, PVOID entry, ULONG ex, ULONG header_version);

#if defined(EXA_NT_INLINE_LOOKASIDE)
#if !defined(__GNUC__) || defined(_WIN32) || !defined(__ELF__) || !defined(__BYTE_ORDER__) || \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "EXA_NT_INLINE_LOOKASIDE needs GCC or Clang on a little-endian ELF target; leave it undefined to call the exported routines"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EXA_NT_INLINE_HITS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EXA_NT_INLINE_HITS 0
#endif
#endif
#ifndef EXA_NT_INLINE_HITS
#define EXA_NT_INLINE_HITS 1
#endif

#if defined(__cplusplus)
#define EXA_NT_INLINE_THREAD thread_local
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define EXA_NT_INLINE_THREAD _Thread_local
#else
#define EXA_NT_INLINE_THREAD __thread
#endif

EXA_API extern EXA_NT_INLINE_THREAD exa_nt_inline_tls_t exa_nt_inline_tls
    __attribute__((tls_model("initial-exec")));

#include "exalloc_nt_atomic.h"

#define EXA_NT_INLINE_FIELD(base, offset, type) (*(type *)(void *)((char *)(base) + (offset)))

/* Enters the calling thread's cache for the list at `g`: 1, with the thread's busy flag set,
 * when the fast path may use it (the thread's IRQL is below the list's gate and the cache is
 * this list's); 0, with the flag clear, when the call must go to the library. */
static inline __attribute__((always_inline)) int exa_nt_inline_enter(PGENERAL_LOOKASIDE_POOL g, exa_nt_inline_tls_t *t) {
    if (!__builtin_expect(t->irql < EXA_NT_ATOMIC_LOAD_RELAXED((uint8_t *)&g->ListHead.Alignment + EXA_NT_INLINE_GATE_BYTE), 1))
        return 0;
    EXA_NT_ATOMIC_STORE_RELAXED(&t->busy, 1u);
    EXA_NT_ATOMIC_COMPILER_FENCE();
    if (__builtin_expect(EXA_NT_ATOMIC_LOAD_RELAXED(&t->list) == (void *)(uintptr_t)g->ListHead.Region, 1)) return 1;
    EXA_NT_ATOMIC_STORE_RELEASE(&t->busy, 0u);
    return 0;
}

static inline __attribute__((always_inline)) PVOID exa_nt_inline_pop(PVOID lookaside, ULONG ex) {
#if EXA_NT_INLINE_HITS
    exa_nt_inline_tls_t *t = &exa_nt_inline_tls;
    if (exa_nt_inline_enter((PGENERAL_LOOKASIDE_POOL)lookaside, t)) {
        char *c = (char *)t->cache;
        uint32_t n = EXA_NT_ATOMIC_LOAD_RELAXED(&EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_N, uint32_t));
        PVOID b = NULL;
        if (__builtin_expect(n > EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_LOW, uint32_t), 1)) {
            b = (&EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_MAG, PVOID))[n - 1];
            /* not counted here: the library derives fast allocates from n */
            EXA_NT_ATOMIC_STORE_RELAXED(&EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_N, uint32_t), n - 1);
        }
        EXA_NT_ATOMIC_STORE_RELEASE(&t->busy, 0u);
        if (b != NULL) return b;
    }
#endif
    return exa_nt_inline_allocate(lookaside, ex, EXA_NT_INLINE_ABI_VERSION);
}

static inline __attribute__((always_inline)) VOID exa_nt_inline_push(PVOID lookaside, PVOID entry, ULONG ex) {
#if EXA_NT_INLINE_HITS
    exa_nt_inline_tls_t *t = &exa_nt_inline_tls;
    if (__builtin_expect(entry != NULL, 1) && exa_nt_inline_enter((PGENERAL_LOOKASIDE_POOL)lookaside, t)) {
        char *c = (char *)t->cache;
        uint32_t n = EXA_NT_ATOMIC_LOAD_RELAXED(&EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_N, uint32_t));
        int pushed = __builtin_expect(n < EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_QUOTA, uint32_t), 1);
        if (pushed) {
            *(PVOID *)entry = NULL; /* NT overwrites the first word with the SList link */
            (&EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_MAG, PVOID))[n] = entry;
            EXA_NT_ATOMIC_STORE_RELAXED(&EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_N, uint32_t), n + 1);
            /* a plain increment: only this thread writes it (one instruction on x86-64) */
            EXA_NT_INLINE_FIELD(c, EXA_NT_INLINE_CACHE_FAST_FREES, uint64_t)++;
        }
        EXA_NT_ATOMIC_STORE_RELEASE(&t->busy, 0u);
        if (pushed) return;
    }
#endif
    exa_nt_inline_free(lookaside, entry, ex, EXA_NT_INLINE_ABI_VERSION);
}

static inline PVOID exa_nt_inline_npaged_allocate(PNPAGED_LOOKASIDE_LIST l) { return exa_nt_inline_pop(l, 0); }
static inline VOID exa_nt_inline_npaged_free(PNPAGED_LOOKASIDE_LIST l, PVOID e) { exa_nt_inline_push(l, e, 0); }
static inline PVOID exa_nt_inline_paged_allocate(PPAGED_LOOKASIDE_LIST l) { return exa_nt_inline_pop(l, 0); }
static inline VOID exa_nt_inline_paged_free(PPAGED_LOOKASIDE_LIST l, PVOID e) { exa_nt_inline_push(l, e, 0); }
static inline PVOID exa_nt_inline_ex_allocate(PLOOKASIDE_LIST_EX l) { return exa_nt_inline_pop(l, 1); }
static inline VOID exa_nt_inline_ex_free(PLOOKASIDE_LIST_EX l, PVOID e) { exa_nt_inline_push(l, e, 1); }

static inline VOID exa_nt_inline_npaged_init(PNPAGED_LOOKASIDE_LIST l, PALLOCATE_FUNCTION a, PFREE_FUNCTION f, ULONG flags,
                                             SIZE_T size, ULONG tag, USHORT depth) {
    if (exa_nt_inline_abi_check(EXA_NT_INLINE_ABI_VERSION) == 0) ExInitializeNPagedLookasideList(l, a, f, flags, size, tag, depth);
}
static inline VOID exa_nt_inline_paged_init(PPAGED_LOOKASIDE_LIST l, PALLOCATE_FUNCTION a, PFREE_FUNCTION f, ULONG flags,
                                            SIZE_T size, ULONG tag, USHORT depth) {
    if (exa_nt_inline_abi_check(EXA_NT_INLINE_ABI_VERSION) == 0) ExInitializePagedLookasideList(l, a, f, flags, size, tag, depth);
}
static inline NTSTATUS exa_nt_inline_ex_init(PLOOKASIDE_LIST_EX l, PALLOCATE_FUNCTION_EX a, PFREE_FUNCTION_EX f,
                                             POOL_TYPE type, ULONG flags, SIZE_T size, ULONG tag, USHORT depth) {
    NTSTATUS st = exa_nt_inline_abi_check(EXA_NT_INLINE_ABI_VERSION);
    return st == 0 ? ExInitializeLookasideListEx(l, a, f, type, flags, size, tag, depth) : st;
}

/* Function-like macros: the names still denote the exported functions when not called
 * (a function pointer taken with &ExAllocateFromNPagedLookasideList, say). */
#define ExInitializeNPagedLookasideList(l, a, f, flags, size, tag, depth) \
    exa_nt_inline_npaged_init(l, a, f, flags, size, tag, depth)
#define ExInitializePagedLookasideList(l, a, f, flags, size, tag, depth) \
    exa_nt_inline_paged_init(l, a, f, flags, size, tag, depth)
#define ExInitializeLookasideListEx(l, a, f, type, flags, size, tag, depth) \
    exa_nt_inline_ex_init(l, a, f, type, flags, size, tag, depth)
#define ExAllocateFromNPagedLookasideList(l) exa_nt_inline_npaged_allocate(l)
#define ExFreeToNPagedLookasideList(l, e) exa_nt_inline_npaged_free(l, e)
#define ExAllocateFromPagedLookasideList(l) exa_nt_inline_paged_allocate(l)
#define ExFreeToPagedLookasideList(l, e) exa_nt_inline_paged_free(l, e)
#define ExAllocateFromLookasideListEx(l) exa_nt_inline_ex_allocate(l)
#define ExFreeToLookasideListEx(l, e) exa_nt_inline_ex_free(l, e)
#endif /* EXA_NT_INLINE_LOOKASIDE */

/* ==========================================================================================
 * Bug check (ntddk.h)
 * ======================================================================================== */

DECLSPEC_NORETURN EXA_API VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1,
                                            ULONG_PTR BugCheckParameter2, ULONG_PTR BugCheckParameter3,
                                            ULONG_PTR BugCheckParameter4);
DECLSPEC_NORETURN EXA_API VOID KeBugCheck(ULONG BugCheckCode);

/* ==========================================================================================
 * IRQL (wdm.h, x64 values). Per thread in exalloc; see exalloc.h "IRQL".
 * ======================================================================================== */

#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define CLOCK_LEVEL 13
#define IPI_LEVEL 14
#define POWER_LEVEL 14
#define PROFILE_LEVEL 15
#define HIGH_LEVEL 15

EXA_API KIRQL KeGetCurrentIrql(VOID);
/* Raise to NewIrql (>= current, else bug check 0x09); returns the previous IRQL. */
EXA_API KIRQL KfRaiseIrql(KIRQL NewIrql);
#define KeRaiseIrql(a, b) *(b) = KfRaiseIrql(a)
EXA_API KIRQL KeRaiseIrqlToDpcLevel(VOID);
/* Lower to NewIrql (<= current, else bug check 0x0A). */
EXA_API VOID KeLowerIrql(KIRQL NewIrql);

/* ==========================================================================================
 * Spin locks (wdm.h). See exalloc.h "Spin locks" for the checks and their codes.
 * ======================================================================================== */

typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;

EXA_API VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
/* x64 wdm.h: KeAcquireSpinLock is a macro over KeAcquireSpinLockRaiseToDpc. */
EXA_API KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
#define KeAcquireSpinLock(SpinLock, OldIrql) *(OldIrql) = KeAcquireSpinLockRaiseToDpc(SpinLock)
EXA_API VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
EXA_API VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
EXA_API VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
EXA_API BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
EXA_API BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock);

/* In-stack queued spin locks: x64 layouts (KLOCK_QUEUE_HANDLE is 24 bytes; exalloc.h's
 * exa_queued_lock_handle_t starts with the same 17 bytes and pads to a cache line). */
typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;
    PKSPIN_LOCK volatile Lock;  /* the lock's address | LOCK_QUEUE_WAIT / LOCK_QUEUE_OWNER */
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

#define LOCK_QUEUE_WAIT 1
#define LOCK_QUEUE_WAIT_BIT 0
#define LOCK_QUEUE_OWNER 2
#define LOCK_QUEUE_OWNER_BIT 1

EXA_API VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
EXA_API VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle);
EXA_API VOID KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
EXA_API VOID KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle);

/* ==========================================================================================
 * Interlocked singly linked lists (wdm.h): the list operation under the caller's spin lock,
 * callable at any IRQL (exalloc raises the thread's IRQL to HIGH_LEVEL for the duration, its
 * stand-in for NT's "interrupts disabled"). Every user of the lock must use only these.
 * ======================================================================================== */

EXA_API PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock);
/* Returns the previous first entry. */
EXA_API PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY ListEntry,
                                                      PKSPIN_LOCK Lock);

/* ==========================================================================================
 * Zones (ntddk.h; obsolete since the Windows 2000 DDK). See exalloc.h "Zones": exa_zone_t is
 * ZONE_HEADER and exa_zone_segment_header_t is ZONE_SEGMENT_HEADER, field for field. NT's
 * header macros/inlines are static inline functions over the exported routines, with NT's
 * behaviour, quirks included: after an extension ExIsObjectInFirstZoneSegment tests the
 * newest segment with the combined length (exa_zone_contains is the correct test).
 * ======================================================================================== */

typedef struct _ZONE_SEGMENT_HEADER {
    SINGLE_LIST_ENTRY SegmentList;
    PVOID Reserved;
} ZONE_SEGMENT_HEADER, *PZONE_SEGMENT_HEADER;

typedef struct _ZONE_HEADER {
    SINGLE_LIST_ENTRY FreeList;
    SINGLE_LIST_ENTRY SegmentList;
    ULONG BlockSize;
    ULONG TotalSegmentSize;
} ZONE_HEADER, *PZONE_HEADER;

EXA_API NTSTATUS ExInitializeZone(PZONE_HEADER Zone, ULONG BlockSize, PVOID InitialSegment, ULONG InitialSegmentSize);
EXA_API NTSTATUS ExExtendZone(PZONE_HEADER Zone, PVOID Segment, ULONG SegmentSize);
EXA_API NTSTATUS ExInterlockedExtendZone(PZONE_HEADER Zone, PVOID Segment, ULONG SegmentSize, PKSPIN_LOCK Lock);

static inline exa_zone_t *exa_nt_zone(PZONE_HEADER Zone) { return (exa_zone_t *)(void *)Zone; }

static inline PVOID ExAllocateFromZone(PZONE_HEADER Zone) { return exa_zone_allocate(exa_nt_zone(Zone)); }

/* Returns the previous head: NULL means the zone had been full. */
static inline PVOID ExFreeToZone(PZONE_HEADER Zone, PVOID Block) { return exa_zone_free(exa_nt_zone(Zone), Block); }

static inline BOOLEAN ExIsFullZone(PZONE_HEADER Zone) { return exa_zone_is_full(exa_nt_zone(Zone)) ? TRUE : FALSE; }

/* NT's macros are ExInterlockedPop/PushEntryList on &Zone->FreeList; the zone routines do
 * exactly that, and also know the block size (AddressSanitizer builds poison free blocks). */
static inline PVOID ExInterlockedAllocateFromZone(PZONE_HEADER Zone, PKSPIN_LOCK Lock) {
    return exa_zone_allocate_interlocked(exa_nt_zone(Zone), Lock);
}

static inline PVOID ExInterlockedFreeToZone(PZONE_HEADER Zone, PVOID Block, PKSPIN_LOCK Lock) {
    return exa_zone_free_interlocked(exa_nt_zone(Zone), Block, Lock);
}

/* NT's macro, literally: SegmentList.Next <= Object < SegmentList.Next + TotalSegmentSize. */
static inline BOOLEAN ExIsObjectInFirstZoneSegment(PZONE_HEADER Zone, PVOID Object) {
    return exa_zone_in_first_segment(exa_nt_zone(Zone), Object) ? TRUE : FALSE;
}

/* ==========================================================================================
 * Pool (wdm.h / ntifs.h): ExAllocatePool family, docs/pool.md. Every routine is an
 * exported function, the ...Zero / ...Uninitialized wrappers included (wdm.h has them as
 * inline functions; they pass POOL_ZERO_ALLOCATION natively here). "Raise" is exalloc's:
 * NULL plus exa_last_status and the raise handler (exalloc.h). ExFreePool(NULL) and
 * ExFreePoolWithTag(NULL, ...) are bug check 0xC2/0x46, as a bad address is on NT.
 * ======================================================================================== */

typedef ULONGLONG ULONG64, *PULONG64;
typedef void *HANDLE;

#define PROTECTED_POOL 0x80000000

typedef ULONG64 POOL_FLAGS;

#define POOL_FLAG_REQUIRED_START 0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA 0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_SESSION 0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED 0x0000000000000008ULL
#define POOL_FLAG_RESERVED1 0x0000000000000010ULL
#define POOL_FLAG_RAISE_ON_FAILURE 0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE 0x0000000000000080ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL
#define POOL_FLAG_RESERVED2 0x0000000000000200ULL
#define POOL_FLAG_RESERVED3 0x0000000000000400ULL
#define POOL_FLAG_LAST_REQUIRED POOL_FLAG_RESERVED3
#define POOL_FLAG_REQUIRED_END 0x0000000080000000ULL
#define POOL_FLAG_OPTIONAL_START 0x0000000100000000ULL
#define POOL_FLAG_SPECIAL_POOL 0x0000000100000000ULL
#define POOL_FLAG_LAST_OPTIONAL POOL_FLAG_SPECIAL_POOL
#define POOL_FLAG_OPTIONAL_END 0x8000000000000000ULL

typedef enum _EX_POOL_PRIORITY {
    LowPoolPriority,
    LowPoolPrioritySpecialPoolOverrun = 8,
    LowPoolPrioritySpecialPoolUnderrun = 9,
    NormalPoolPriority = 16,
    NormalPoolPrioritySpecialPoolOverrun = 24,
    NormalPoolPrioritySpecialPoolUnderrun = 25,
    HighPoolPriority = 32,
    HighPoolPrioritySpecialPoolOverrun = 40,
    HighPoolPrioritySpecialPoolUnderrun = 41
} EX_POOL_PRIORITY;

typedef enum POOL_EXTENDED_PARAMETER_TYPE {
    PoolExtendedParameterInvalidType = 0,
    PoolExtendedParameterPriority,
    PoolExtendedParameterSecurePool,
    PoolExtendedParameterNumaNode,
    PoolExtendedParameterMax
} POOL_EXTENDED_PARAMETER_TYPE, *PPOOL_EXTENDED_PARAMETER_TYPE;

#define POOL_EXTENDED_PARAMETER_TYPE_BITS 8
#define POOL_EXTENDED_PARAMETER_REQUIRED_FIELD_BITS 1
#define POOL_EXTENDED_PARAMETER_RESERVED_BITS (64 - POOL_EXTENDED_PARAMETER_TYPE_BITS - POOL_EXTENDED_PARAMETER_REQUIRED_FIELD_BITS)

#define SECURE_POOL_FLAGS_NONE 0x0
#define SECURE_POOL_FLAGS_FREEABLE 0x1
#define SECURE_POOL_FLAGS_MODIFIABLE 0x2

typedef struct _POOL_EXTENDED_PARAMS_SECURE_POOL {
    HANDLE SecurePoolHandle;
    PVOID Buffer;
    ULONG_PTR Cookie;
    ULONG SecurePoolFlags;
} POOL_EXTENDED_PARAMS_SECURE_POOL;

typedef ULONG POOL_NODE_REQUIREMENT;
#define MM_ANY_NODE_OK 0x80000000

EXALLOC_ANONYMOUS typedef struct _POOL_EXTENDED_PARAMETER {
    EXALLOC_ANONYMOUS struct {
        ULONG64 Type : POOL_EXTENDED_PARAMETER_TYPE_BITS;
        ULONG64 Optional : POOL_EXTENDED_PARAMETER_REQUIRED_FIELD_BITS;
        ULONG64 Reserved : POOL_EXTENDED_PARAMETER_RESERVED_BITS;
    };
    EXALLOC_ANONYMOUS union {
        ULONG64 Reserved2;
        PVOID Reserved3;
        EX_POOL_PRIORITY Priority;
        POOL_EXTENDED_PARAMS_SECURE_POOL *SecurePoolParams;
        POOL_NODE_REQUIREMENT PreferredNode;
    };
} POOL_EXTENDED_PARAMETER, *PPOOL_EXTENDED_PARAMETER;

typedef const POOL_EXTENDED_PARAMETER *PCPOOL_EXTENDED_PARAMETER;

EXA_API PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
EXA_API PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
EXA_API PVOID ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
EXA_API PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
EXA_API PVOID ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                            EX_POOL_PRIORITY Priority);
EXA_API PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
EXA_API PVOID ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                              PCPOOL_EXTENDED_PARAMETER ExtendedParameters, ULONG ExtendedParametersCount);
EXA_API PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
EXA_API PVOID ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
EXA_API PVOID ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
EXA_API PVOID ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
EXA_API PVOID ExAllocatePoolPriorityZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                         EX_POOL_PRIORITY Priority);
EXA_API PVOID ExAllocatePoolPriorityUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                                  EX_POOL_PRIORITY Priority);
EXA_API VOID ExFreePool(PVOID P);
EXA_API VOID ExFreePoolWithTag(PVOID P, ULONG Tag);
/* ntifs.h: bytes usable in the block (small: block size - header; big: whole pages), and
 * whether it carries a quota charge. 0 / FALSE for a pointer that is not a live block. */
EXA_API SIZE_T ExQueryPoolBlockSize(PVOID PoolBlock, PBOOLEAN QuotaCharged);

/* ==========================================================================================
 * Memory manager (wdm.h / ntddk.h): docs/mm.md
 * ======================================================================================== */

typedef enum _MM_SYSTEM_SIZE { MmSmallSystem, MmMediumSystem, MmLargeSystem } MM_SYSTEMSIZE;

EXA_API MM_SYSTEMSIZE MmQuerySystemSize(VOID);
EXA_API BOOLEAN MmIsThisAnNtAsSystem(VOID);

/* ==========================================================================================
 * Driver Verifier (wdm.h): exalloc.h, "Checking levels and the Driver Verifier emulation"
 * ======================================================================================== */

#define DRIVER_VERIFIER_SPECIAL_POOLING 0x0001
#define DRIVER_VERIFIER_FORCE_IRQL_CHECKING 0x0002
#define DRIVER_VERIFIER_INJECT_ALLOCATION_FAILURES 0x0004
#ifndef STATUS_NOT_SUPPORTED
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BBL)
#endif

/* STATUS_SUCCESS at the verifier level, with *VerifierFlags: SPECIAL_POOLING when the
 * configuration selects requests for the special pool, FORCE_IRQL_CHECKING (IRQL rules are
 * always checked), INJECT_ALLOCATION_FAILURES when the low-resources simulation is on;
 * STATUS_NOT_SUPPORTED (and 0) at the other levels. */
EXA_API NTSTATUS MmIsVerifierEnabled(PULONG VerifierFlags);

#ifdef __cplusplus
}
#endif

#endif /* EXALLOC_NT_H */
