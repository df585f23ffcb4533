/* exalloc - the atomic accesses of the header-inline lookaside path (EXA_NT_INLINE_LOOKASIDE).
 *
 * exalloc_nt.h includes this file only when that macro is defined. The inline path is compiled
 * into the caller, which cannot include the library's own atomics header, so its few accesses
 * are here, in one place, over the compiler's builtins (GCC or Clang; the path is refused
 * elsewhere). Each touches memory of the calling thread's own cache, or the list's gate byte,
 * which the library writes with the same width: relaxed loads and stores, a release store that
 * ends the thread's busy window, and a compiler-only fence after the busy flag is set (the
 * flusher pairs it with a process-wide barrier, as the library's own fast path does). */
#ifndef EXALLOC_NT_ATOMIC_H
#define EXALLOC_NT_ATOMIC_H

#define EXA_NT_ATOMIC_LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define EXA_NT_ATOMIC_STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define EXA_NT_ATOMIC_STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define EXA_NT_ATOMIC_COMPILER_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#endif
