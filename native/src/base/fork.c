/* exalloc - native core
 * base/fork.c: fork safety (docs/conventions.md#fork). A process that forks while other
 * threads are inside the library would give the child locks held by threads that do not
 * exist there, and per-thread caches that nobody will ever return. Each file that owns a
 * lock or a thread registers a handler here at load (base/base.h, exa_fork_handler_t); one
 * pthread_atfork registration (through the platform contract) runs them all:
 *
 *   prepare   every handler's prepare, highest rank first: the forking thread ends up
 *             holding every library lock, so no other thread is inside a locked section
 *             when the address space is copied;
 *   parent    every handler's parent, lowest rank first: the locks are released;
 *   child     every handler's child, lowest rank first: the locks are made free, the state
 *             the other threads left (their lookaside thread caches, the background
 *             threads' flags) is repaired, and the child continues with one thread.
 *
 * Handlers are registered from load-time functions, before any thread can fork through
 * the library's code, and never change afterwards: the table needs no lock. */
#include "base/base.h"

enum { EXA_FORK_MAX = 24 };

static const exa_fork_handler_t *exa_fork_table[EXA_FORK_MAX];  /* ascending rank */
static uint32_t exa_fork_count;

void _exa_fork_register(const exa_fork_handler_t *h) {
    if (exa_fork_count == EXA_FORK_MAX) {
        static const char full[] = "exalloc: fork handler table full (EXA_FORK_MAX)\n";
        _exa_os_write_stderr(full, sizeof full - 1);
        _exa_os_abort();
    }
    uint32_t i = exa_fork_count++;
    while (i > 0 && exa_fork_table[i - 1]->rank > h->rank) {
        exa_fork_table[i] = exa_fork_table[i - 1];
        i--;
    }
    exa_fork_table[i] = h;
}

static void exa_fork_prepare(void) {
    for (uint32_t i = exa_fork_count; i-- > 0;)
        if (exa_fork_table[i]->prepare != NULL) exa_fork_table[i]->prepare();
}

static void exa_fork_parent(void) {
    for (uint32_t i = 0; i < exa_fork_count; i++)
        if (exa_fork_table[i]->parent != NULL) exa_fork_table[i]->parent();
}

static void exa_fork_child(void) {
    for (uint32_t i = 0; i < exa_fork_count; i++)
        if (exa_fork_table[i]->child != NULL) exa_fork_table[i]->child();
}

EXA_ON_LOAD(exa_fork_load) {
    if (_exa_os_at_fork(exa_fork_prepare, exa_fork_parent, exa_fork_child) != 0) {
        static const char failed[] = "exalloc: could not register the fork handlers\n";
        _exa_os_write_stderr(failed, sizeof failed - 1);
    }
}
