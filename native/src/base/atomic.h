/* exalloc - native core
 * atomic.h: the only place atomics are spelled. C11 <stdatomic.h> behind macros that carry
 * the memory order in their name, so that the set of orders in use stays visible and
 * greppable (mimalloc's convention). Fields touched atomically are named with an `x`
 * prefix (xbusy, xgen) so a plain access stands out in review.
 *
 * Only three atomic types are used: uint32_t, uint64_t and uintptr_t (and pointers). */
#ifndef EXA_INTERNAL_ATOMIC_H
#define EXA_INTERNAL_ATOMIC_H

#include "base/arch.h"

#include <stdatomic.h>
#include <stdint.h>

#define exa_atomic(T) _Atomic(T)

#define exa_atomic_load_relaxed(p)        atomic_load_explicit((p), memory_order_relaxed)
#define exa_atomic_load_acquire(p)        atomic_load_explicit((p), memory_order_acquire)
#define exa_atomic_load_seq_cst(p)        atomic_load_explicit((p), memory_order_seq_cst)
#define exa_atomic_store_relaxed(p, v)    atomic_store_explicit((p), (v), memory_order_relaxed)
#define exa_atomic_store_release(p, v)    atomic_store_explicit((p), (v), memory_order_release)
#define exa_atomic_store_seq_cst(p, v)    atomic_store_explicit((p), (v), memory_order_seq_cst)
#define exa_atomic_exchange_acquire(p, v) atomic_exchange_explicit((p), (v), memory_order_acquire)
#define exa_atomic_exchange_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define exa_atomic_cas_strong_acquire(p, expected, desired) \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acquire, memory_order_relaxed)
#define exa_atomic_cas_strong_release(p, expected, desired) \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_release, memory_order_relaxed)
#define exa_atomic_cas_strong_acq_rel(p, expected, desired) \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel, memory_order_acquire)
#define exa_atomic_fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define exa_atomic_fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)

/* Owner-only counter bump: the owner thread is the only writer, other threads only read.
 * A relaxed load + relaxed store compiles to a plain increment but keeps readers race-free. */
#define exa_atomic_owner_inc(p) exa_atomic_store_relaxed((p), exa_atomic_load_relaxed(p) + 1)

/* Owner-only add to a 64-bit counter: one add instruction where arch.h has it
 * (EXA_ARCH_OWNER_ADD), else the relaxed load + store. */
#if EXA_ARCH_OWNER_ADD
#  define exa_atomic_owner_add_u64(p, v) exa_arch_owner_add_u64((p), (v))
#else
#  define exa_atomic_owner_add_u64(p, v) exa_atomic_store_relaxed((p), exa_atomic_load_relaxed(p) + (v))
#endif

#define exa_atomic_fence_seq_cst()   atomic_thread_fence(memory_order_seq_cst)
#define exa_atomic_compiler_fence()  atomic_signal_fence(memory_order_seq_cst)

/* A caller-owned plain machine word (KSPIN_LOCK is a ULONG_PTR in the caller's memory, not
 * an _Atomic object; so are the pointer fields of a caller's queue entry or zone header).
 * _Atomic(uintptr_t) has the representation of uintptr_t, and of a data pointer, on every
 * compiler we target; this cast is the one place that relies on it. */
#define exa_atomic_word(p) ((exa_atomic(uintptr_t) *)(void *)(p))

#endif /* EXA_INTERNAL_ATOMIC_H */
