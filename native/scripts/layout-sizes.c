/* The jextract bindings' struct layouts, checked against a target's C compiler at compile time.
 *
 * EXA_BINDING_LAYOUTS names a file of EXA_LAYOUT(tag, size, align) and EXA_FIELD(tag, member,
 * offset, size) lines written by BindingLayouts.java from the bindings; every line becomes static
 * assertions, so the file compiles for a target exactly when that target gives each public struct
 * of exalloc.h the bindings' size and member offsets and sizes. native/scripts/layout-check.sh
 * compiles it for each target (no run, no emulator needed).
 *
 * Alignment: jextract does not carry an _Alignas on a member into the layout, so the bindings
 * state 8 for exa_queued_lock_handle_t where C says 64 (the Java API allocates that struct with
 * exa_cache_line_size() alignment itself). What is checked is that C's alignment is a multiple of
 * the bindings': memory the bindings align is never under-aligned for a member. */
#include <stddef.h>

#include "exalloc.h"

#define EXA_LAYOUT(tag, size, align)                                                              \
    _Static_assert(sizeof(struct tag) == (size), "sizeof(struct " #tag ") != " #size " (bindings)"); \
    _Static_assert(_Alignof(struct tag) % (align) == 0,                                           \
                   "_Alignof(struct " #tag ") is not a multiple of " #align " (bindings)");
#define EXA_FIELD(tag, member, offset, size)                                                      \
    _Static_assert(offsetof(struct tag, member) == (offset),                                      \
                   "offsetof(struct " #tag ", " #member ") != " #offset " (bindings)");           \
    _Static_assert(sizeof(((struct tag *)0)->member) == (size),                                   \
                   "sizeof(struct " #tag "." #member ") != " #size " (bindings)");

#include EXA_BINDING_LAYOUTS

/* ISO C wants at least one declaration in a translation unit beyond static assertions. */
int exa_layout_sizes_checked(void);
