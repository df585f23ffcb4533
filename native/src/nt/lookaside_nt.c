/* exalloc - native core
 * lookaside_nt.c: NT's lookaside routines (exalloc_nt.h) over the modern lists.
 *
 * The caller's NPAGED_LOOKASIDE_LIST / PAGED_LOOKASIDE_LIST / LOOKASIDE_LIST_EX keeps NT's
 * public fields: Type, Tag, Size, Allocate/Free (or the Ex forms) are set at initialisation
 * as NT sets them; Depth, MaximumDepth and the four counters are written back by the core on
 * every slow path and on flush/delete (so they lag the exact figures by at most the
 * operations each thread made since its last batch transfer). ListHead.Region holds the
 * list's handle; ListHead.Alignment's low 16 bits the cached-entry count. */
#include "base/base.h"
#include "exalloc_nt.h"
#include "lookaside/lookaside.h"
#include "lookaside/list.h" /* the inline ABI's offsets (asserted below) */
#include "pool/pool.h"
#include "verifier/verifier.h" /* the verifier's registry of live lists */

#include <string.h>

_Static_assert(sizeof(ULONG) == 4 && sizeof(LONG) == 4 && sizeof(USHORT) == 2, "LLP64 integer sizes");
_Static_assert(sizeof(SIZE_T) == sizeof(void *), "SIZE_T is pointer-sized");

/* Defaults NT puts in the Allocate/Free fields (ExAllocatePoolWithTag / ExFreePool). */
static PVOID exa_nt_default_allocate(POOL_TYPE type, SIZE_T size, ULONG tag) {
    return _exa_pool_allocate((int32_t)type, (uint64_t)size, tag);
}
static VOID exa_nt_default_free(PVOID block) { _exa_pool_free(block); }
static PVOID exa_nt_default_allocate_ex(POOL_TYPE type, SIZE_T size, ULONG tag, PLOOKASIDE_LIST_EX list) {
    (void)list;
    return _exa_pool_allocate((int32_t)type, (uint64_t)size, tag);
}
static VOID exa_nt_default_free_ex(PVOID block, PLOOKASIDE_LIST_EX list) {
    (void)list;
    _exa_pool_free(block);
}

/* All three NT structs start with the GENERAL_LOOKASIDE fields, at the same offsets. */
_Static_assert(offsetof(NPAGED_LOOKASIDE_LIST, L.Depth) == offsetof(LOOKASIDE_LIST_EX, L.Depth), "same layout");
_Static_assert(offsetof(NPAGED_LOOKASIDE_LIST, L.Future) == offsetof(LOOKASIDE_LIST_EX, L.Future), "same layout");
typedef GENERAL_LOOKASIDE_POOL exa_nt_fields_t;

static exa_nt_fields_t *exa_nt_fields(void *owner) { return (exa_nt_fields_t *)owner; }

static void exa_nt_publish(void *owner, const exa_lookaside_stats_t *s, uint8_t gate) {
    exa_nt_fields_t *f = exa_nt_fields(owner);
    f->Depth = (USHORT)s->depth;
    f->MaximumDepth = (USHORT)s->maximum_depth;
    f->TotalAllocates = (ULONG)s->total_allocates;
    f->AllocateMisses = (ULONG)s->allocate_misses;
    f->TotalFrees = (ULONG)s->total_frees;
    f->FreeMisses = (ULONG)s->free_misses;
    /* Alignment: bits 0-15 the cached-entry count (ExQueryDepthSList), bits 16-23 the list's
     * gate for the inline fast path (EXA_NT_INLINE_GATE_BYTE), the rest 0. */
    f->ListHead.Alignment = (ULONGLONG)gate << 16 | (s->current_depth & 0xFFFFu);
}

static void *exa_nt_classic_allocate(void *owner, int32_t type, exa_u64 size, uint32_t tag) {
    return exa_nt_fields(owner)->Allocate((POOL_TYPE)type, (SIZE_T)size, tag);
}
static void exa_nt_classic_free(void *owner, void *block) { exa_nt_fields(owner)->Free(block); }
static void *exa_nt_ex_allocate(void *owner, int32_t type, exa_u64 size, uint32_t tag) {
    return exa_nt_fields(owner)->AllocateEx((POOL_TYPE)type, (SIZE_T)size, tag, (PLOOKASIDE_LIST_EX)owner);
}
static void exa_nt_ex_free(void *owner, void *block) { exa_nt_fields(owner)->FreeEx(block, (PLOOKASIDE_LIST_EX)owner); }

static int exa_nt_classic_from_pool(void *owner) { return exa_nt_fields(owner)->Allocate == exa_nt_default_allocate; }
static int exa_nt_ex_from_pool(void *owner) { return exa_nt_fields(owner)->AllocateEx == exa_nt_default_allocate_ex; }

static const exa_lookaside_hooks_t exa_nt_classic_hooks = {exa_nt_classic_allocate, exa_nt_classic_free, exa_nt_publish,
                                                           exa_nt_classic_from_pool};
static const exa_lookaside_hooks_t exa_nt_ex_hooks = {exa_nt_ex_allocate, exa_nt_ex_free, exa_nt_publish,
                                                      exa_nt_ex_from_pool};

static exa_lookaside_t *exa_nt_handle(void *owner) { return (exa_lookaside_t *)(uintptr_t)exa_nt_fields(owner)->ListHead.Region; }

/* NT's field values. */
static void exa_nt_fill(exa_nt_fields_t *f, int32_t type, ULONG tag, ULONG size, USHORT depth, USHORT maximum_depth) {
    f->ListHead.Alignment = 0;
    f->ListHead.Region = 0;
    f->Depth = depth;
    f->MaximumDepth = maximum_depth;
    f->TotalAllocates = f->AllocateMisses = f->TotalFrees = f->FreeMisses = 0;
    f->LastTotalAllocates = f->LastAllocateMisses = 0;
    f->Future[0] = f->Future[1] = 0;
    f->Type = (POOL_TYPE)type;
    f->Tag = tag;
    f->Size = size;
    f->ListEntry.Flink = f->ListEntry.Blink = &f->ListEntry;
}

/* A list whose Size does not fit NT's 32-bit field (docs/lookaside.md#init): Size, Depth and
 * MaximumDepth 0 and no core list, so every allocate fails (exa_nt_refused) instead of handing
 * out blocks of the truncated size. A classic (VOID) initialiser reports it at the verifier
 * level as 0xC4/0x1010 too; ExInitializeLookasideListEx returns STATUS_INVALID_PARAMETER. */
static NTSTATUS exa_nt_init_oversize(void *owner, int32_t type, ULONG tag, SIZE_T size, int report) {
    exa_nt_fill(exa_nt_fields(owner), type, tag, 0, 0, 0);
    _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
    if (report && (_exa_verifier_state() & EXA_VBIT_VERIFIER)) {
        _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_OVERSIZE,
                      (uintptr_t)owner, (uint64_t)size, 0);
    }
    return EXA_STATUS_INVALID_PARAMETER;
}

/* Common initialisation: NT's field values, then the core list. When the core list cannot be
 * created (no memory for it) Region stays 0 and every operation goes straight to the
 * callbacks, so nothing is lost. */
static NTSTATUS exa_nt_init(void *owner, const exa_lookaside_hooks_t *hooks, int32_t type, int32_t core_type, ULONG tag,
                            SIZE_T size, uint32_t maximum_depth) {
    exa_nt_fields_t *f = exa_nt_fields(owner);
    if (!_exa_verifier_lookaside_init(owner, size)) return EXA_STATUS_BUGCHECK; /* verifier level: 0xC4/0xCA */
    if ((exa_u64)size > UINT32_MAX) return exa_nt_init_oversize(owner, type, tag, size, 1);
    if (size < EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE) size = EXA_LOOKASIDE_MINIMUM_BLOCK_SIZE;
    exa_nt_fill(f, type, tag, (ULONG)size, EXA_LOOKASIDE_INITIAL_DEPTH, (USHORT)maximum_depth);
    exa_lookaside_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.tag = tag;
    cfg.pool_type = core_type;
    cfg.maximum_depth = maximum_depth;
    exa_lookaside_t *l = NULL;
    NTSTATUS st = _exa_lookaside_create(&cfg, hooks, owner, &l);
    if (NT_SUCCESS(st)) f->ListHead.Region = (ULONGLONG)(uintptr_t)l;
    return st;
}

static void exa_nt_classic_init(void *owner, int32_t base, PALLOCATE_FUNCTION allocate, PFREE_FUNCTION free,
                                ULONG flags, SIZE_T size, ULONG tag) {
    exa_nt_fields_t *f = exa_nt_fields(owner);
    f->Allocate = allocate != NULL ? allocate : exa_nt_default_allocate;
    f->Free = free != NULL ? free : exa_nt_default_free;
    /* NT: Type = base | Flags, exactly as given. The core gets the flags it understands
     * (NX means nothing for paged pool). The Depth argument is ignored, as on NT. */
    int32_t core = base | (int32_t)(flags & (POOL_RAISE_IF_ALLOCATION_FAILURE | POOL_ZERO_ALLOCATION));
    if (base == NonPagedPool && (flags & POOL_NX_ALLOCATION)) core |= NonPagedPoolNx;
    (void)exa_nt_init(owner, &exa_nt_classic_hooks, base | (int32_t)flags, core, tag, size, EXA_LOOKASIDE_DEFAULT_MAXIMUM_DEPTH);
}

/* A list initialised with a Size above 4 GiB - 1 (Size 0): every allocate fails. */
static exa_cold PVOID exa_nt_refused(void) {
    _exa_note_status(EXA_STATUS_INVALID_PARAMETER);
    return NULL;
}

static PVOID exa_nt_allocate(void *owner) {
    exa_lookaside_t *l = exa_nt_handle(owner);
    if (exa_likely(l != NULL)) return exa_lookaside_allocate(l);
    exa_nt_fields_t *f = exa_nt_fields(owner);
    if (f->Size == 0) return exa_nt_refused();
    return f->Allocate(f->Type, f->Size, f->Tag);
}

static VOID exa_nt_free(void *owner, PVOID entry, int ex) {
    exa_lookaside_t *l = exa_nt_handle(owner);
    if (exa_likely(l != NULL)) {
        (void)exa_lookaside_free(l, entry); /* a refused free (IRQL) was reported by the bug check */
        return;
    }
    if (ex) exa_nt_fields(owner)->FreeEx(entry, (PLOOKASIDE_LIST_EX)owner);
    else exa_nt_fields(owner)->Free(entry);
}

static VOID exa_nt_delete(void *owner) {
    if (!_exa_verifier_lookaside_delete(owner)) return; /* verifier level: 0xC4/0xCB */
    exa_lookaside_t *l = exa_nt_handle(owner);
    if (l == NULL) return;
    (void)exa_lookaside_delete(l);
    exa_nt_fields(owner)->ListHead.Region = 0;
    exa_nt_fields(owner)->ListHead.Alignment = 0;
}

/* ---------------------------------------------------------------------------------------
 * Classic non-paged and paged lists
 * ------------------------------------------------------------------------------------- */

VOID ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
                                     ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) {
    (void)Depth;
    exa_nt_classic_init(Lookaside, NonPagedPool, Allocate, Free, Flags, Size, Tag);
}
PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) { return exa_nt_allocate(Lookaside); }
VOID ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) { exa_nt_free(Lookaside, Entry, 0); }
VOID ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) { exa_nt_delete(Lookaside); }

VOID ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
                                    ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) {
    (void)Depth;
    exa_nt_classic_init(Lookaside, PagedPool, Allocate, Free, Flags, Size, Tag);
}
PVOID ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) { return exa_nt_allocate(Lookaside); }
VOID ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) { exa_nt_free(Lookaside, Entry, 0); }
VOID ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) { exa_nt_delete(Lookaside); }

/* ---------------------------------------------------------------------------------------
 * LOOKASIDE_LIST_EX
 * ------------------------------------------------------------------------------------- */

NTSTATUS ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate, PFREE_FUNCTION_EX Free,
                                     POOL_TYPE PoolType, ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) {
    if (Lookaside == NULL) return STATUS_INVALID_PARAMETER_1;
    if (!_exa_pool_type_is_valid_for_lookaside((int32_t)PoolType)) return STATUS_INVALID_PARAMETER_4;
    const ULONG both = EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL | EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE;
    if ((Flags & ~both) != 0 || (Flags & both) == both) return STATUS_INVALID_PARAMETER_5;
    uint32_t maximum = Depth == 0 ? EX_MAXIMUM_LOOKASIDE_DEPTH_BASE : Depth;
    if (maximum < EX_MAXIMUM_LOOKASIDE_DEPTH_BASE || maximum > EX_MAXIMUM_LOOKASIDE_DEPTH_LIMIT)
        return STATUS_INVALID_PARAMETER_8;
    int32_t type = (int32_t)PoolType;
    if (Flags & EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL) type |= POOL_RAISE_IF_ALLOCATION_FAILURE;
    if (Flags & EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE) type |= POOL_QUOTA_FAIL_INSTEAD_OF_RAISE;
    Lookaside->L.AllocateEx = Allocate != NULL ? Allocate : exa_nt_default_allocate_ex;
    Lookaside->L.FreeEx = Free != NULL ? Free : exa_nt_default_free_ex;
    /* The status says it: no verifier report, no registration (a failed list is not deleted). */
    if ((exa_u64)Size > UINT32_MAX) return exa_nt_init_oversize(Lookaside, type, Tag, Size, 0);
    return exa_nt_init(Lookaside, &exa_nt_ex_hooks, type, type, Tag, Size, maximum);
}

PVOID ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
    exa_lookaside_t *l = exa_nt_handle(Lookaside);
    if (exa_likely(l != NULL)) return exa_lookaside_allocate(l);
    if (Lookaside->L.Size == 0) return exa_nt_refused();
    return Lookaside->L.AllocateEx(Lookaside->L.Type, Lookaside->L.Size, Lookaside->L.Tag, Lookaside);
}
VOID ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry) { exa_nt_free(Lookaside, Entry, 1); }
VOID ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
    exa_lookaside_t *l = exa_nt_handle(Lookaside);
    if (l != NULL) (void)exa_lookaside_flush(l);
}
VOID ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) { exa_nt_delete(Lookaside); }

/* ---------------------------------------------------------------------------------------
 * The inline fast path's ABI (exalloc_nt.h, EXA_NT_INLINE_LOOKASIDE; docs/lookaside.md#inline):
 * what code compiled with it reads and writes, at the offsets the header names.
 * ------------------------------------------------------------------------------------- */

_Static_assert(offsetof(GENERAL_LOOKASIDE_POOL, ListHead.Region) == 8, "the handle's place");
_Static_assert(offsetof(GENERAL_LOOKASIDE_POOL, ListHead.Alignment) == 0, "the gate copy's word");
_Static_assert(offsetof(exa_tcache_t, xn) == EXA_NT_INLINE_CACHE_N && sizeof(exa_atomic(uint32_t)) == 4, "inline ABI: n");
_Static_assert(offsetof(exa_tcache_t, quota) == EXA_NT_INLINE_CACHE_QUOTA, "inline ABI: quota");
_Static_assert(offsetof(exa_tcache_t, low) == EXA_NT_INLINE_CACHE_LOW, "inline ABI: low");
_Static_assert(offsetof(exa_tcache_t, xfast_frees) == EXA_NT_INLINE_CACHE_FAST_FREES && sizeof(exa_atomic(exa_u64)) == 8,
               "inline ABI: fast frees");
_Static_assert(offsetof(exa_tcache_t, mag) == EXA_NT_INLINE_CACHE_MAG, "inline ABI: the cached blocks");
_Static_assert(offsetof(exa_tls_block_t, irql) == offsetof(exa_nt_inline_tls_t, irql), "inline ABI: IRQL");
_Static_assert(offsetof(exa_tls_block_t, la_busy) == offsetof(exa_nt_inline_tls_t, busy) &&
                   sizeof(exa_atomic(uint32_t)) == sizeof(uint32_t),
               "inline ABI: busy");
_Static_assert(offsetof(exa_tls_block_t, la_list) == offsetof(exa_nt_inline_tls_t, list) &&
                   sizeof(exa_atomic(void *)) == sizeof(void *),
               "inline ABI: memo list");
_Static_assert(offsetof(exa_tls_block_t, la_tc) == offsetof(exa_nt_inline_tls_t, cache), "inline ABI: memo cache");
_Static_assert(sizeof(exa_tls_block_t) >= sizeof(exa_nt_inline_tls_t), "inline ABI: the block");

static exa_cold NTSTATUS exa_nt_inline_mismatch(ULONG header_version) {
    _exa_bugcheck(EXA_BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, EXA_VERIFIER_LOOKASIDE_INLINE_ABI, header_version,
                  EXA_NT_INLINE_ABI_VERSION, 0);
    return EXA_STATUS_BUGCHECK;
}

NTSTATUS exa_nt_inline_abi_check(ULONG header_version) {
    if (exa_likely(header_version == EXA_NT_INLINE_ABI_VERSION)) return STATUS_SUCCESS;
    return exa_nt_inline_mismatch(header_version);
}

PVOID exa_nt_inline_allocate(PVOID lookaside, ULONG ex, ULONG header_version) {
    if (exa_unlikely(header_version != EXA_NT_INLINE_ABI_VERSION)) {
        (void)exa_nt_inline_mismatch(header_version);
        return NULL;
    }
    return ex ? ExAllocateFromLookasideListEx(lookaside) : exa_nt_allocate(lookaside);
}

VOID exa_nt_inline_free(PVOID lookaside, PVOID entry, ULONG ex, ULONG header_version) {
    if (exa_unlikely(header_version != EXA_NT_INLINE_ABI_VERSION)) {
        (void)exa_nt_inline_mismatch(header_version); /* the block stays with the caller */
        return;
    }
    exa_nt_free(lookaside, entry, ex != 0);
}

USHORT ExQueryDepthSList(PSLIST_HEADER SListHead) { return (USHORT)(SListHead->Alignment & 0xFFFFu); }

/* ---------------------------------------------------------------------------------------
 * Bug check
 * ------------------------------------------------------------------------------------- */

VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4) {
    _exa_bugcheck(BugCheckCode, P1, P2, P3, P4);
    /* KeBugCheckEx never returns: a handler that did return is overruled. */
    exa_bugcheck_abort(BugCheckCode, P1, P2, P3, P4, NULL);
    _exa_os_abort();
}

VOID KeBugCheck(ULONG BugCheckCode) { KeBugCheckEx(BugCheckCode, 0, 0, 0, 0); }
