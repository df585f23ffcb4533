/* exalloc - native core
 * arch.h: the CPU contract. Everything that depends on the target architecture or the
 * compiler's spelling of an attribute lives here and nowhere else: the cache-line size,
 * the spin-wait hint, alignment and branch-hint macros, sanitizer detection.
 * Core files test none of __x86_64__, __aarch64__, _WIN32 themselves. */
#ifndef EXA_INTERNAL_ARCH_H
#define EXA_INTERNAL_ARCH_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------
 * Cache line: 64 bytes on x86-64 and on most AArch64 Linux parts; 128 on Apple arm64,
 * whose L2 works in 128-byte lines (adjacent-line prefetch makes 64 false sharing-prone).
 * ------------------------------------------------------------------------------------- */
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#  define EXA_CACHE_LINE 64
#  define EXA_ARCH_NAME "x86_64"
#elif defined(__aarch64__) || defined(_M_ARM64)
#  if defined(__APPLE__)
#    define EXA_CACHE_LINE 128
#  else
#    define EXA_CACHE_LINE 64
#  endif
#  define EXA_ARCH_NAME "aarch64"
#elif defined(__riscv) || defined(__powerpc64__)
#  define EXA_CACHE_LINE 64
#  define EXA_ARCH_NAME "other64"
#else
#  error "exalloc: unsupported architecture: add its cache-line size and spin hint to arch.h"
#endif

#if EXA_CACHE_LINE != 64 && EXA_CACHE_LINE != 128
#  error "exalloc: EXA_CACHE_LINE must be 64 or 128"
#endif

/* ---------------------------------------------------------------------------------------
 * Compiler attributes, spelled once.
 * ------------------------------------------------------------------------------------- */
#define exa_cache_aligned _Alignas(EXA_CACHE_LINE)
#define exa_likely(x)     __builtin_expect(!!(x), 1)
#define exa_unlikely(x)   __builtin_expect(!!(x), 0)
#define exa_noinline      __attribute__((noinline))
#define exa_cold          __attribute__((cold, noinline))
#define exa_inline        static inline __attribute__((always_inline))
#define exa_noreturn      _Noreturn
#define exa_unused        __attribute__((unused))
/* A function run when the library is loaded, before any caller can reach it: how a higher
 * floor registers its hooks in the ground floor's table (base/hooks.h, native/LAYERS.md).
 * Usage: EXA_ON_LOAD(name) { ...body... } */
#define EXA_ON_LOAD(name) __attribute__((constructor)) static void name(void)
/* Thread-locals read on hot paths: the initial-exec model is a plain %fs-relative load
 * instead of a __tls_get_addr call; glibc reserves static TLS for dlopen'ed libraries. */
#define exa_thread_local  _Thread_local __attribute__((tls_model("initial-exec")))

/* Sanitizer builds: TSan does not model process-wide barriers (membarrier), ASan wants to
 * know about our caches. Detected here so the core can ask EXA_TSAN / EXA_ASAN. */
#if defined(__SANITIZE_THREAD__)
#  define EXA_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define EXA_TSAN 1
#  endif
#endif
#ifndef EXA_TSAN
#  define EXA_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define EXA_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define EXA_ASAN 1
#  endif
#endif
#ifndef EXA_ASAN
#  define EXA_ASAN 0
#endif

/* ---------------------------------------------------------------------------------------
 * Single-writer counter add in one instruction (base/atomic.h, exa_atomic_owner_add). On
 * x86-64 an aligned 8-byte `add` to memory is one write that other cores' loads see whole,
 * so a counter only its owner writes may be bumped with it (no lock prefix: there is no
 * other writer) while readers load it with relaxed atomics. Elsewhere, and under TSan
 * (which must see the write), the portable relaxed load + store.
 * ------------------------------------------------------------------------------------- */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !EXA_TSAN
#  define EXA_ARCH_OWNER_ADD 1
#  define exa_arch_owner_add_u64(p, v) \
    __asm__("addq %1, %0" : "+m"(*(uint64_t *)(void *)(p)) : "er"((uint64_t)(v)))
#else
#  define EXA_ARCH_OWNER_ADD 0
#endif

/* ---------------------------------------------------------------------------------------
 * Spin-wait hint: tells the core that this is a busy-wait loop (saves power, frees the
 * sibling hyper-thread, avoids the memory-order flush on loop exit).
 * ------------------------------------------------------------------------------------- */
exa_inline void exa_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("isb" ::: "memory");
#elif defined(__riscv)
    __asm__ __volatile__(".insn i 0x0F, 0, x0, x0, 0x010" ::: "memory"); /* pause */
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* ---------------------------------------------------------------------------------------
 * Bit scans (the pool's free-list bitmaps and segment page masks). x must be non-zero.
 * ------------------------------------------------------------------------------------- */
exa_inline unsigned exa_ctz64(uint64_t x) { return (unsigned)__builtin_ctzll(x); }
exa_inline unsigned exa_popcount64(uint64_t x) { return (unsigned)__builtin_popcountll(x); }

#endif /* EXA_INTERNAL_ARCH_H */
