/* exalloc - native core
 * pool/mm.c: MmQuerySystemSize and MmIsThisAnNtAsSystem (docs/mm.md), and the host facts
 * behind them.
 *
 * NT computes both once, at memory-manager initialisation, from the number of physical
 * pages P (4 KiB) and the registry's ProductType, of which it keeps the first two
 * characters ("Wi" WinNt = workstation; "La" LanmanNt and "Se" ServerNt, and anything
 * else, = server). In this order, thresholds inclusive:
 *
 *     P <= 13 MiB          small
 *     P <= 19 MiB          small
 *     otherwise            medium
 *     P >= 32 MiB and workstation  -> large
 *     P >= 64 MiB and server       -> large
 *
 * Here P is the host's physical memory / 4096 (or the configured override), the product
 * type "WinNt" unless configured; the pair is computed on first use and on every
 * exa_mm_configure, and published as one word so that readers never see half of it. */
#include "pool/pool.h"

#include <string.h>

enum {
    EXA_MIB_PAGES = (1 << 20) / EXA_PAGE_SIZE,
    EXA_MM_COMPUTED = 0x100,  /* bit set once the word holds a result */
    EXA_MM_SERVER = 0x10      /* bit: a server product type */
};

static exa_atomic(uint32_t) exa_mm_word;  /* size | SERVER | COMPUTED, 0 = not yet */

static uint32_t exa_mm_compute(exa_u64 physical_bytes, const char *product_type) {
    exa_u64 pages = physical_bytes / EXA_PAGE_SIZE;
    int workstation = product_type[0] == 'W' && product_type[1] == 'i';
    uint32_t size;
    if (pages <= 13 * (exa_u64)EXA_MIB_PAGES) size = EXA_MM_SMALL_SYSTEM;
    else if (pages <= 19 * (exa_u64)EXA_MIB_PAGES) size = EXA_MM_SMALL_SYSTEM;
    else size = EXA_MM_MEDIUM_SYSTEM;
    if (pages >= 32 * (exa_u64)EXA_MIB_PAGES && workstation) size = EXA_MM_LARGE_SYSTEM;
    if (pages >= 64 * (exa_u64)EXA_MIB_PAGES && !workstation) size = EXA_MM_LARGE_SYSTEM;
    return size | (workstation ? 0u : (uint32_t)EXA_MM_SERVER) | EXA_MM_COMPUTED;
}

static uint32_t exa_mm(void) {
    uint32_t w = exa_atomic_load_acquire(&exa_mm_word);
    if (exa_likely(w != 0)) return w;
    w = exa_mm_compute(_exa_os_physical_memory(), "WinNt");
    uint32_t expected = 0;
    if (!exa_atomic_cas_strong_acq_rel(&exa_mm_word, &expected, w)) w = expected; /* configured meanwhile */
    return w;
}

int32_t exa_mm_query_system_size(void) { return (int32_t)(exa_mm() & 0x3u); }

int32_t exa_mm_is_nt_as_system(void) { return (exa_mm() & EXA_MM_SERVER) ? 1 : 0; }

exa_status_t exa_mm_configure(exa_u64 physical_bytes, const char *product_type) {
    /* Only two characters count, as in NT; a shorter string is padded with NULs. */
    char two[2] = {0, 0};
    if (product_type == NULL) product_type = "WinNt";
    two[0] = product_type[0];
    if (two[0] != 0) two[1] = product_type[1];
    if (physical_bytes == 0) physical_bytes = _exa_os_physical_memory();
    exa_atomic_store_release(&exa_mm_word, exa_mm_compute(physical_bytes, two));
    return EXA_STATUS_SUCCESS;
}

uint32_t exa_numa_node_count(void) { return _exa_os_numa_node_count(); }
