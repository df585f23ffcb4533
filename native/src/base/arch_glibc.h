/* exalloc - native core
 * base/arch_glibc.h: the glibc baseline. The Linux library must load on glibc 2.17 and later,
 * whatever glibc builds it, so every C library function it imports is bound to the oldest
 * version that glibc 2.17 defines (scripts/check-glibc.sh fails on any newer one).
 *
 * Built into every object of the library with `-include` (native/pom.xml,
 * scripts/cross-linux.sh); it is not included by name and declares nothing. Its lines are
 * assembler directives, which is why its name starts with `arch`: the source rules allow
 * asm only in the arch and atomics headers.
 *
 * A newer glibc links a call to the newest version of a name (the default one, `@@`). Most
 * names the library uses never changed, so their default is already old enough; the ones
 * below changed after 2.17:
 *   - glibc 2.34 moved libpthread's and libdl's functions into libc and gave them a new
 *     version there (GLIBC_2.34), keeping the old one as well. `.symver` binds the old one,
 *     the architecture's first glibc version (GLIBC_2.2.5 on x86-64, GLIBC_2.17 on AArch64).
 *     On a glibc before 2.34 those names live in libpthread.so.0 and libdl.so.2, so the
 *     library also names both as DT_NEEDED (the link's -l:libpthread.so.0 -l:libdl.so.2
 *     under --no-as-needed); on a newer glibc they are empty stubs.
 *   - The stat family (lstat, fstat, stat, fstatat: GLIBC_2.33) was a wrapper in the
 *     static libc_nonshared.a before 2.33 and has no older shared version to bind:
 *     the platform layer calls the newfstatat system call itself (base/platform/posix.c).
 * A name not listed costs nothing; a listed name the library does not call is ignored by the
 * assembler.
 *
 * Only for glibc (musl has no symbol versions; musl lacks <gnu/libc-version.h>). */
#ifndef EXA_INTERNAL_ARCH_GLIBC_H
#define EXA_INTERNAL_ARCH_GLIBC_H

#if defined(__linux__) && defined(__has_include)
#  if __has_include(<gnu/libc-version.h>)
#    if defined(__x86_64__)
#      define EXA_GLIBC_FIRST "GLIBC_2.2.5"
#    elif defined(__aarch64__)
#      define EXA_GLIBC_FIRST "GLIBC_2.17"
#    endif
#  endif
#endif

#ifdef EXA_GLIBC_FIRST
#  define EXA_GLIBC_OLDEST(name) __asm__(".symver " #name "," #name "@" EXA_GLIBC_FIRST)
/* libpthread before glibc 2.34 */
EXA_GLIBC_OLDEST(pthread_create);
EXA_GLIBC_OLDEST(pthread_join);
EXA_GLIBC_OLDEST(pthread_detach);
EXA_GLIBC_OLDEST(pthread_once);
EXA_GLIBC_OLDEST(pthread_key_create);
EXA_GLIBC_OLDEST(pthread_key_delete);
EXA_GLIBC_OLDEST(pthread_getspecific);
EXA_GLIBC_OLDEST(pthread_setspecific);
/* libdl before glibc 2.34 */
EXA_GLIBC_OLDEST(dladdr);
EXA_GLIBC_OLDEST(dlsym);
EXA_GLIBC_OLDEST(dlopen);
EXA_GLIBC_OLDEST(dlclose);
EXA_GLIBC_OLDEST(dlerror);
#  undef EXA_GLIBC_OLDEST
#endif

#endif /* EXA_INTERNAL_ARCH_GLIBC_H */
