/* exalloc - native core
 * lookaside/registry.c: the registry of live lists (docs/lookaside.md#registry): its lock,
 * the chain of lists, list ids, and the slots that index each thread's table of caches
 * (lookaside/list.h). Below every other lookaside file: they all may take the registry lock.
 */
#include "lookaside/list.h"

/* ==========================================================================================
 * Registry of live lists and slot allocation
 * ======================================================================================== */

exa_spinlock_t _exa_registry_lock;
exa_lookaside_t *_exa_registry_head;
exa_lookaside_t *_exa_registry_tail;
uint32_t _exa_registry_count;
exa_u64 _exa_next_list_id = 1;
static uint32_t *exa_free_slots;       /* stack of recycled slots */
static uint32_t exa_free_slot_count;
static uint32_t exa_free_slot_capacity;
static uint32_t exa_next_slot;

/* Registry lock held. */
int _exa_slot_take(uint32_t *slot) {
    if (exa_free_slot_count > 0) {
        *slot = exa_free_slots[--exa_free_slot_count];
        return 1;
    }
    if (exa_free_slot_count == exa_free_slot_capacity) {
        uint32_t cap = exa_free_slot_capacity ? exa_free_slot_capacity * 2 : 64;
        uint32_t *grown = _exa_os_alloc_aligned(sizeof(uint32_t) * cap, sizeof(void *));
        if (grown == NULL) return 0;
        if (exa_free_slots != NULL) {
            memcpy(grown, exa_free_slots, sizeof(uint32_t) * exa_free_slot_count);
            _exa_os_free_aligned(exa_free_slots);
        }
        exa_free_slots = grown;
        exa_free_slot_capacity = cap;
    }
    *slot = exa_next_slot++;
    return 1;
}

/* Registry lock held; capacity was ensured by _exa_slot_take (count < capacity). */
void _exa_slot_release(uint32_t slot) { exa_free_slots[exa_free_slot_count++] = slot; }

static exa_lookaside_t *exa_dead_head, *exa_dead_tail;  /* oldest first, linked by reg_next */
static uint32_t exa_dead_count;

/* Registry lock held. */
void _exa_dead_push(exa_lookaside_t *l) {
    l->reg_next = NULL;
    l->reg_prev = NULL;
    if (exa_dead_tail != NULL) exa_dead_tail->reg_next = l;
    else exa_dead_head = l;
    exa_dead_tail = l;
    exa_dead_count++;
}

/* Registry lock held. */
exa_lookaside_t *_exa_dead_take(void) {
    if (exa_dead_count <= EXA_LOOKASIDE_QUARANTINE) return NULL;
    exa_lookaside_t *l = exa_dead_head;
    exa_dead_head = l->reg_next;
    if (exa_dead_head == NULL) exa_dead_tail = NULL;
    exa_dead_count--;
    return l;
}
