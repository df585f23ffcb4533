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
#define DECLSPEC_NORETURN _Noreturn
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
    _Alignas(16) struct _SLIST_ENTRY *Next;
} SLIST_ENTRY, *PSLIST_ENTRY;

/* x64 SLIST_HEADER. exalloc keeps its own list state elsewhere: Alignment's low 16 bits
 * mirror the cached-entry count (what ExQueryDepthSList reads) and Region holds the list's
 * handle. Code must not write either. */
typedef union _SLIST_HEADER {
    struct {
        ULONGLONG Alignment;
        ULONGLONG Region;
    };
    _Alignas(16) ULONGLONG Words[2];
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
    union {                                                                                     \
        SLIST_HEADER ListHead;           /* 0x00 */                                             \
        SINGLE_LIST_ENTRY SingleListHead;                                                       \
    };                                                                                          \
    USHORT Depth;                        /* 0x10 */                                             \
    USHORT MaximumDepth;                 /* 0x12 */                                             \
    ULONG TotalAllocates;                /* 0x14 */                                             \
    union {                                                                                     \
        ULONG AllocateMisses;            /* 0x18 */                                             \
        ULONG AllocateHits;                                                                     \
    };                                                                                          \
    ULONG TotalFrees;                    /* 0x1C */                                             \
    union {                                                                                     \
        ULONG FreeMisses;                /* 0x20 */                                             \
        ULONG FreeHits;                                                                         \
    };                                                                                          \
    POOL_TYPE Type;                      /* 0x24 */                                             \
    ULONG Tag;                           /* 0x28 */                                             \
    ULONG Size;                          /* 0x2C */                                             \
    union {                                                                                     \
        PALLOCATE_FUNCTION_EX AllocateEx; /* 0x30 */                                            \
        PALLOCATE_FUNCTION Allocate;                                                            \
    };                                                                                          \
    union {                                                                                     \
        PFREE_FUNCTION_EX FreeEx;        /* 0x38 */                                             \
        PFREE_FUNCTION Free;                                                                    \
    };                                                                                          \
    LIST_ENTRY ListEntry;                /* 0x40 */                                             \
    ULONG LastTotalAllocates;            /* 0x50 */                                             \
    union {                                                                                     \
        ULONG LastAllocateMisses;        /* 0x54 */                                             \
        ULONG LastAllocateHits;                                                                 \
    };                                                                                          \
    ULONG Future[2];                     /* 0x58 */

typedef struct _GENERAL_LOOKASIDE {
    _Alignas(64) EXALLOC_GENERAL_LOOKASIDE_LAYOUT
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

/* ==========================================================================================
 * Bug check (ntddk.h)
 * ======================================================================================== */

EXA_API DECLSPEC_NORETURN VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1,
                                            ULONG_PTR BugCheckParameter2, ULONG_PTR BugCheckParameter3,
                                            ULONG_PTR BugCheckParameter4);
EXA_API DECLSPEC_NORETURN VOID KeBugCheck(ULONG BugCheckCode);

/* ==========================================================================================
 * Spin locks (wdm.h shape; the IRQL-aware Ke* routines come with the IRQL model)
 * ======================================================================================== */

typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;

#ifdef __cplusplus
}
#endif

#endif /* EXALLOC_NT_H */
