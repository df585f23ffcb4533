/* exalloc - native core
 * pool/big.c: the big-allocation table: striped open-addressing hash tables keyed by the
 * allocation's address (pool/core.h).
 */
#include "pool/core.h"

exa_big_stripe_t _exa_big_table[EXA_BIG_STRIPES];

/* Stripe lock held. The slot of va, or NULL. */
exa_big_t *_exa_big_find(exa_big_stripe_t *st, uintptr_t va) {
    if (st->capacity == 0) return NULL;
    for (uint32_t i = exa_big_home(va, st->capacity);; i = (i + 1) & (st->capacity - 1)) {
        if (st->slots[i].va == va) return &st->slots[i];
        if (st->slots[i].va == 0) return NULL;
    }
}

static void exa_big_place(exa_big_t *slots, uint32_t capacity, const exa_big_t *e) {
    uint32_t i = exa_big_home(e->va, capacity);
    while (slots[i].va != 0) i = (i + 1) & (capacity - 1);
    slots[i] = *e;
}

/* 1 when recorded, 0 when the table could not grow. */
int _exa_big_insert(const exa_big_t *e) {
    exa_big_stripe_t *st = exa_big_stripe(e->va);
    _exa_lock(&st->lock);
    if ((st->count + 1) * 4 > st->capacity * 3) {
        uint32_t cap = st->capacity ? st->capacity * 2 : 64;
        exa_big_t *grown = _exa_os_alloc_aligned(sizeof(exa_big_t) * cap, sizeof(void *));
        if (grown == NULL) {
            _exa_unlock(&st->lock);
            return 0;
        }
        memset(grown, 0, sizeof(exa_big_t) * cap);
        for (uint32_t i = 0; i < st->capacity; i++)
            if (st->slots[i].va != 0) exa_big_place(grown, cap, &st->slots[i]);
        _exa_os_free_aligned(st->slots);
        st->slots = grown;
        st->capacity = cap;
    }
    exa_big_place(st->slots, st->capacity, e);
    st->count++;
    _exa_unlock(&st->lock);
    return 1;
}

/* Stripe lock held: delete a slot (backward-shift deletion keeps probe chains whole). */
void _exa_big_delete(exa_big_stripe_t *st, exa_big_t *slot) {
    uint32_t mask = st->capacity - 1, hole = (uint32_t)(slot - st->slots);
    for (uint32_t i = (hole + 1) & mask; st->slots[i].va != 0; i = (i + 1) & mask) {
        uint32_t home = exa_big_home(st->slots[i].va, st->capacity);
        /* Move entry i into the hole unless its home lies cyclically in (hole, i]. */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            st->slots[hole] = st->slots[i];
            hole = i;
        }
    }
    st->slots[hole].va = 0;
    st->count--;
}

/* A copy of va's record; 0 when there is none. */
int _exa_big_lookup(uintptr_t va, exa_big_t *out) {
    exa_big_stripe_t *st = exa_big_stripe(va);
    _exa_lock(&st->lock);
    exa_big_t *e = _exa_big_find(st, va);
    if (e != NULL) *out = *e;
    _exa_unlock(&st->lock);
    return e != NULL;
}

/* Fork (base/fork.c): every stripe is held across fork; the child frees them again. */
static void exa_big_fork_prepare(void) {
    for (uint32_t i = 0; i < EXA_BIG_STRIPES; i++) _exa_lock(&_exa_big_table[i].lock);
}
static void exa_big_fork_parent(void) {
    for (uint32_t i = EXA_BIG_STRIPES; i-- > 0;) _exa_unlock(&_exa_big_table[i].lock);
}
static void exa_big_fork_child(void) {
    for (uint32_t i = 0; i < EXA_BIG_STRIPES; i++) _exa_lock_reset(&_exa_big_table[i].lock);
}
static const exa_fork_handler_t exa_big_fork = {EXA_FORK_RANK_BIG, exa_big_fork_prepare, exa_big_fork_parent,
                                                exa_big_fork_child};
EXA_ON_LOAD(exa_big_fork_load) { _exa_fork_register(&exa_big_fork); }
