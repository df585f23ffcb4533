/* exalloc - native core
 * track.h: telling AddressSanitizer about the pool's own memory (after mimalloc's track.h).
 *
 * ASan cannot see inside memory the pool maps itself: without help, a read of a freed pool
 * block, or past the requested size into a block's slack, is invisible to it. The pool
 * therefore poisons every byte a caller may not touch (the data of free and cached blocks
 * beyond their links, a block's tail past the requested size, free pages) and unpoisons
 * what it hands out. Headers are never poisoned. Without ASan both calls compile to nothing.
 *
 * Poisoning is advisory in one direction only: ASan may leave a partial 8-byte granule at
 * the start of a region unpoisoned (a missed report, never a false one). */
#ifndef EXA_INTERNAL_TRACK_H
#define EXA_INTERNAL_TRACK_H

#include "base/arch.h"

#include <stddef.h>
#include <stdint.h>

#if EXA_ASAN
#  include <sanitizer/asan_interface.h>
exa_inline void exa_track_poison(const void *p, size_t n) {
    if (n != 0) __asan_poison_memory_region(p, n);
}
exa_inline void exa_track_unpoison(const void *p, size_t n) {
    if (n != 0) __asan_unpoison_memory_region(p, n);
}
/* 1 when some byte of [p, p+n) is poisoned (a walker's test for a page that holds no
 * headers, before it reads one). */
exa_inline int exa_track_poisoned(const void *p, size_t n) {
    return n != 0 && __asan_region_is_poisoned((void *)(uintptr_t)p, n) != NULL;
}
#else
exa_inline int exa_track_poisoned(const void *p, size_t n) { (void)p, (void)n; return 0; }
exa_inline void exa_track_poison(const void *p, size_t n) { (void)p, (void)n; }
exa_inline void exa_track_unpoison(const void *p, size_t n) { (void)p, (void)n; }
#endif

#endif /* EXA_INTERNAL_TRACK_H */
