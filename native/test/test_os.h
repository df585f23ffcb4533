/* exalloc - C tests
 * test_os.h: what the tests need from the operating system, in one place (test_os.c
 * implements it for POSIX hosts and for Windows), so the test files need OS #ifdefs only
 * (TEST_HAVE_FORK, TEST_POSIX) around cases that exist on one kind of host.
 *
 * Child processes: on POSIX a child is a fork of the running test; on Windows, which has no
 * fork, it is a new process of the same executable started with "--exa-child <offset>", the
 * offset of the function to run from the executable's image base (the same in every process
 * of one executable), so it runs just that function, with a fresh library, as the forked
 * child would (the child functions set up what they use). Wait statuses use the POSIX
 * encoding everywhere (WIFEXITED, WEXITSTATUS, WIFSIGNALED, WTERMSIG): on Windows a child
 * that ended through abort() (the C runtime's exit code 3) reads as killed by SIGABRT, one
 * that ended on an unhandled access violation as killed by SIGSEGV. */
#ifndef EXA_TEST_OS_H
#define EXA_TEST_OS_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define TEST_HAVE_FORK 0
#  define TEST_POSIX 0
#  define WIFEXITED(s)   (((s) & 0x7f) == 0)
#  define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#  define WIFSIGNALED(s) (((s) & 0x7f) != 0)
#  define WTERMSIG(s)    ((s) & 0x7f)
#else
#  define TEST_HAVE_FORK 1
#  define TEST_POSIX 1
#  include <sys/wait.h>
#endif
#include <signal.h>

/* The host page size. */
size_t test_page_size(void);
/* Memory aligned to 16 bytes (posix_memalign; Windows x64's malloc aligns to 16); free
 * with test_free16. */
void *test_alloc16(size_t size);
void test_free16(void *p);
/* The process id. */
unsigned test_pid(void);
/* Sleep about `ms` milliseconds. */
void test_sleep_ms(unsigned ms);
/* Set (replacing) or remove an environment variable of this process (children inherit it). */
int test_setenv(const char *name, const char *value);
int test_unsetenv(const char *name);
/* An exported function of the library by name (dlsym(RTLD_DEFAULT) on POSIX, GetProcAddress
 * on exalloc.dll on Windows); NULL when the library does not export it. */
void *test_library_symbol(const char *name);
#if defined(_WIN32)
/* 1 when this host refuses to commit memory on node 0 (VirtualAllocExNuma fails). */
int test_host_refuses_node_binding(void);
#endif
/* 1 when the process runs under Wine (Windows builds; 0 elsewhere). */
int test_under_wine(void);
/* A directory for scratch files, ending in the separator ("/tmp/" or Windows' temp path). */
const char *test_temp_dir(void);

/* The live view of process `pid` (the library's shared memory: /dev/shm/exalloc.<pid> on
 * POSIX, the section Local\exalloc.<pid> on Windows). map: read-only, NULL when there is
 * none; exists: 1 or 0; mode: who may open it as a POSIX mode (0600: the user alone, 0644:
 * everyone may read; Windows reads the section's DACL: only the process's user, or that user
 * and read access for Everyone), -1 when there is no view, -2 for anything else (another
 * owner, other grants). */
void *test_view_map(unsigned pid, size_t size);
void test_view_unmap(void *view, size_t size);
int test_view_exists(unsigned pid);
int test_view_mode(unsigned pid);
/* Windows: hold the view's name for `pid` as another process would (a section of our own
 * under that name); release lets it go. NULL on POSIX, where a name is a file. */
void *test_view_hold(unsigned pid, size_t size);
void test_view_release(void *hold);

/* Windows: cap this process's committed memory at `bytes` (a job object's process memory
 * limit), 0 on success; Windows' nearest to RLIMIT_AS. Wine accepts the limit and does not
 * enforce it. -1 on POSIX (use setrlimit). */
int test_limit_commit(uint64_t bytes);

/* Scratch directories and files (output-file tests). temp_subdir: a new private directory
 * under test_temp_dir() into out; remove_dir: its entries and itself; dir_count: its
 * entries (-1 when it cannot be read). file_mode: as test_view_mode, for a file (-1 none,
 * -2 not a regular file of this user's or other grants; Windows reads the DACL and treats a
 * reparse point as "not a regular file"). hard_link: 0 on success. symlink: 0 on success,
 * 1 when the host cannot make one (why says why), -1 on other failures. same_file: 1 when
 * both names are one file. is_link: 1 for a symbolic link. */
int test_temp_subdir(char *out, size_t cap);
int test_mkdir(const char *path); /* 1 on success */
void test_remove_dir(const char *dir);
int test_dir_count(const char *dir);
int test_file_mode(const char *path);
int test_hard_link(const char *existing, const char *name);
int test_symlink(const char *target, const char *name, const char **why);
int test_same_file(const char *a, const char *b);
int test_is_link(const char *path);

/* Run this test executable again, filtered to `filter`, with the NULL-terminated list of
 * "NAME=value" settings added to its environment; its standard output goes to out (up to
 * cap - 1 bytes, NUL-terminated; out may be NULL). Returns the wait status, -1 when it could
 * not start. */
int test_run_self(const char *filter, const char *const *env, char *out, size_t cap);

/* The emulator the runner runs under: $EXA_TEST_EMULATOR, the command that runs a program of
 * this target on the host (scripts/cross-linux.sh sets "qemu-aarch64 -L <sysroot>"), or NULL
 * when the tests run natively (always NULL on Windows). A program of this target (the runner
 * itself, the exapoolmon tool) is started through it: the host kernel cannot execute it. */
const char *test_emulator(void);
/* The shell-command prefix that runs a program of this target: the emulator's command and a
 * space, or "" natively. */
const char *test_shell_prefix(void);
#if TEST_POSIX
/* Execute `exe` (NULL: this runner) with the single argument `arg`, through the emulator when
 * there is one. Returns only when the exec failed. */
void test_exec(const char *exe, const char *arg);
#endif

/* Run fn in a child process (see above) with its standard error into err; the wait status.
 * test_main.c's test_in_child is this. */
int test_os_child(void (*fn)(void), char *err, size_t cap);
/* In a child started by test_os_child on Windows: main() calls this first; it runs the
 * function and exits when argv names one, else returns. */
void test_os_child_main(int argc, char **argv);
/* Once at start: the runner's process settings (Windows: no error dialogs for crashes, so a
 * child that faults ends at once with its exception code). */
void test_os_init(const char *argv0);

#endif
