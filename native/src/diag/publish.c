/* exalloc - native core
 * diag/publish.c: the live view (docs/diagnostics.md#live-view). The PoolMon rows and the lookaside lists'
 * statistics go into /dev/shm/exalloc.<pid> (layout and reader: diag/diag_shm.h), every
 * period from a small thread, or on demand. tools/exapoolmon reads it from outside.
 *
 * One writer at a time (exa_publish_lock); the file is created on first use and removed by
 * exa_publish_stop (and at exit when the thread was started). It is the user's alone (0600)
 * unless EXALLOC_PUBLISH_MODE widens it, and it is always a new file: a name somebody else
 * holds is reported, never written into. */
#include "diag/diag.h"
#include "diag/diag_shm.h"

#include <stdio.h>
#include <string.h>

static exa_spinlock_t exa_publish_lock;      /* the mapping and the writes */
static exa_shm_word_t *exa_shm;              /* the mapping, NULL until created */
static char exa_shm_name[64];
static exa_pool_tag_row_t exa_pub_tags[EXA_SHM_TAG_CAPACITY];     /* staging (publish lock) */
static exa_lookaside_stats_t exa_pub_lists[EXA_SHM_LIST_CAPACITY];

static exa_spinlock_t exa_thread_lock;       /* start/stop */
static exa_atomic(uint32_t) exa_pub_running;  /* 1 while the thread should run */
static exa_atomic(uint32_t) exa_pub_period;   /* ms */
static uintptr_t exa_pub_thread;
static uint32_t exa_pub_has_thread;
static exa_atomic(uint32_t) exa_pub_exit_registered;

static exa_atomic(uint32_t) exa_pub_said_taken;  /* the name-taken message, once */
static exa_atomic(uint32_t) exa_pub_said_mode;   /* the bad-mode message, once */

/* The file's permission bits: 0600, or what EXALLOC_PUBLISH_MODE asks for among 0600, 0640
 * and 0644 (docs/diagnostics.md#live-view). */
static uint32_t exa_publish_mode(void) {
    const char *v = _exa_os_getenv("EXALLOC_PUBLISH_MODE");
    if (v == NULL || v[0] == 0) return 0600;
    uint32_t mode = 0;
    const char *c = v;
    for (; *c >= '0' && *c <= '7' && mode <= 07777; c++) mode = mode * 8 + (uint32_t)(*c - '0');
    if (*c == 0 && (mode == 0600 || mode == 0640 || mode == 0644)) return mode;
    if (exa_atomic_exchange_acq_rel(&exa_pub_said_mode, 1u) == 0) {
        static const char msg[] = "exalloc: EXALLOC_PUBLISH_MODE must be 0600, 0640 or 0644; the live view is 0600\n";
        _exa_os_write_stderr(msg, sizeof msg - 1);
    }
    return 0600;
}

/* Publish lock held. EXA_STATUS_SUCCESS when the view exists; EXA_STATUS_UNSUCCESSFUL when
 * its name is taken (said once on stderr); EXA_STATUS_INSUFFICIENT_RESOURCES otherwise. */
static exa_status_t exa_shm_ensure(void) {
    if (exa_shm != NULL) return EXA_STATUS_SUCCESS;
    snprintf(exa_shm_name, sizeof exa_shm_name, "/exalloc.%u", _exa_os_pid());
    int why = 0;
    uint32_t owner = 0;
    exa_shm_word_t *w = _exa_os_shm_create(exa_shm_name, (size_t)exa_shm_bytes(), exa_publish_mode(), &why, &owner);
    if (w == NULL && why == EXA_OS_SHM_TAKEN) {
        /* Somebody else's file (or a link) holds the name: never write into it or remove it. */
        if (exa_atomic_exchange_acq_rel(&exa_pub_said_taken, 1u) == 0) {
            char msg[300], where[96];
            _exa_os_shm_where(exa_shm_name, where, sizeof where);
            int n = snprintf(msg, sizeof msg, "exalloc: %s exists and is not this process's (owner uid %u): live view not published\n",
                             where, (unsigned)owner);
            if (n > 0) _exa_os_write_stderr(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
        }
        return EXA_STATUS_UNSUCCESSFUL;
    }
    if (w == NULL) return EXA_STATUS_INSUFFICIENT_RESOURCES;
    exa_atomic_store_relaxed(&w[EXA_SHM_W_VERSION], (uint64_t)EXA_SHM_VERSION);
    exa_atomic_store_relaxed(&w[EXA_SHM_W_PID], (uint64_t)_exa_os_pid());
    exa_atomic_store_relaxed(&w[EXA_SHM_W_TAG_CAPACITY], (uint64_t)EXA_SHM_TAG_CAPACITY);
    exa_atomic_store_relaxed(&w[EXA_SHM_W_LIST_CAPACITY], (uint64_t)EXA_SHM_LIST_CAPACITY);
    exa_atomic_store_release(&w[EXA_SHM_W_MAGIC], EXA_SHM_MAGIC);
    exa_shm = w;
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_publish_now(void) {
    /* Gather outside the seqlock's write section (the snapshots take the pool's locks). */
    _exa_lock(&exa_publish_lock);
    exa_status_t made = exa_shm_ensure();
    if (made != EXA_STATUS_SUCCESS) {
        _exa_unlock(&exa_publish_lock);
        return made;
    }
    uint32_t tag_total = exa_pool_tag_snapshot(exa_pub_tags, EXA_SHM_TAG_CAPACITY);
    uint32_t list_total = exa_lookaside_enumerate(exa_pub_lists, EXA_SHM_LIST_CAPACITY);
    uint32_t tags = tag_total < EXA_SHM_TAG_CAPACITY ? tag_total : EXA_SHM_TAG_CAPACITY;
    uint32_t lists = list_total < EXA_SHM_LIST_CAPACITY ? list_total : EXA_SHM_LIST_CAPACITY;
    exa_shm_word_t *w = exa_shm;
    uint64_t seq = exa_atomic_load_relaxed(&w[EXA_SHM_W_SEQ]);
    exa_atomic_store_relaxed(&w[EXA_SHM_W_SEQ], seq + 1);
    /* Every store below is a release: none moves before the odd sequence number. */
    exa_atomic_store_release(&w[EXA_SHM_W_TAG_ROWS], (uint64_t)tags);
    exa_atomic_store_release(&w[EXA_SHM_W_TAG_TOTAL], (uint64_t)tag_total);
    exa_atomic_store_release(&w[EXA_SHM_W_LIST_ROWS], (uint64_t)lists);
    exa_atomic_store_release(&w[EXA_SHM_W_LIST_TOTAL], (uint64_t)list_total);
    for (uint32_t i = 0; i < tags; i++) exa_shm_put(exa_shm_tags(w) + (uint64_t)i * EXA_SHM_TAG_WORDS, &exa_pub_tags[i], EXA_SHM_TAG_WORDS);
    for (uint32_t i = 0; i < lists; i++)
        exa_shm_put(exa_shm_lists(w) + (uint64_t)i * EXA_SHM_LIST_WORDS, &exa_pub_lists[i], EXA_SHM_LIST_WORDS);
    exa_atomic_store_release(&w[EXA_SHM_W_PUBLISHES], exa_atomic_load_relaxed(&w[EXA_SHM_W_PUBLISHES]) + 1);
    exa_atomic_store_release(&w[EXA_SHM_W_TIME_NS], _exa_os_now_ns());
    exa_atomic_store_release(&w[EXA_SHM_W_PERIOD_MS],
                             (uint64_t)(exa_atomic_load_relaxed(&exa_pub_running) ? exa_atomic_load_relaxed(&exa_pub_period) : 0));
    exa_atomic_store_release(&w[EXA_SHM_W_SEQ], seq + 2);
    _exa_unlock(&exa_publish_lock);
    return EXA_STATUS_SUCCESS;
}

static void exa_publisher(void *arg) {
    (void)arg;
    while (exa_atomic_load_acquire(&exa_pub_running)) {
        (void)exa_publish_now();
        /* Sleep in short slices so that stop is prompt. */
        uint32_t period = exa_atomic_load_relaxed(&exa_pub_period);
        for (uint32_t slept = 0; slept < period && exa_atomic_load_acquire(&exa_pub_running); slept += 10)
            _exa_os_sleep_ms(period - slept < 10 ? period - slept : 10);
    }
    /* The publisher's own pool thread state (tag deltas) goes back with the thread. */
}

static void exa_publish_at_exit(void) { (void)exa_publish_stop(); }

exa_status_t exa_publish_start(uint32_t period_ms) {
    if (period_ms == 0) period_ms = 1000;
    exa_atomic_store_relaxed(&exa_pub_period, period_ms);
    _exa_lock(&exa_thread_lock);
    if (exa_pub_has_thread) {
        _exa_unlock(&exa_thread_lock);
        return EXA_STATUS_SUCCESS;
    }
    _exa_lock(&exa_publish_lock);
    exa_status_t made = exa_shm_ensure();
    _exa_unlock(&exa_publish_lock);
    if (made != EXA_STATUS_SUCCESS) {
        _exa_unlock(&exa_thread_lock);
        return made;
    }
    exa_atomic_store_release(&exa_pub_running, 1u);
    if (_exa_os_thread_start(exa_publisher, NULL, &exa_pub_thread) != 0) {
        exa_atomic_store_release(&exa_pub_running, 0u);
        _exa_unlock(&exa_thread_lock);
        return EXA_STATUS_INSUFFICIENT_RESOURCES;
    }
    exa_pub_has_thread = 1;
    _exa_unlock(&exa_thread_lock);
    if (exa_atomic_exchange_acq_rel(&exa_pub_exit_registered, 1u) == 0) (void)_exa_os_at_exit(exa_publish_at_exit);
    return EXA_STATUS_SUCCESS;
}

exa_status_t exa_publish_stop(void) {
    _exa_lock(&exa_thread_lock);
    if (exa_pub_has_thread) {
        exa_atomic_store_release(&exa_pub_running, 0u);
        _exa_os_thread_join(exa_pub_thread);
        exa_pub_has_thread = 0;
    }
    _exa_lock(&exa_publish_lock);
    if (exa_shm != NULL) {
        _exa_os_shm_unlink(exa_shm_name, exa_shm, (size_t)exa_shm_bytes());
        exa_shm = NULL;
    }
    _exa_unlock(&exa_publish_lock);
    _exa_unlock(&exa_thread_lock);
    return EXA_STATUS_SUCCESS;
}

void _exa_publish_from_env(void) {
    const char *v = _exa_os_getenv("EXALLOC_PUBLISH");
    if (v == NULL || v[0] == 0 || strcmp(v, "0") == 0) return;
    uint32_t period = 0;
    for (const char *c = v; *c >= '0' && *c <= '9'; c++) period = period * 10 + (uint32_t)(*c - '0');
    (void)exa_publish_start(period <= 1 ? 1000 : period);
}

/* Fork (base/fork.c, docs/conventions.md#fork): the thread lock, then the publish lock, are
 * held across fork (a publish in progress finishes first). The publisher thread does not
 * exist in the child, and the live view it maps is the parent's (its name carries the
 * parent's pid): the child marks the thread stopped and drops its copy of the mapping
 * without removing the name, so it neither writes the parent's view nor deletes it at exit.
 * A child that wants a view of its own calls exa_publish_start. */
static void exa_publish_fork_prepare(void) {
    _exa_lock(&exa_thread_lock);
    _exa_lock(&exa_publish_lock);
}
static void exa_publish_fork_parent(void) {
    _exa_unlock(&exa_publish_lock);
    _exa_unlock(&exa_thread_lock);
}
static void exa_publish_fork_child(void) {
    exa_atomic_store_relaxed(&exa_pub_running, 0u);
    exa_pub_has_thread = 0;
    exa_pub_thread = 0;
    if (exa_shm != NULL) {
        _exa_os_shm_detach(exa_shm, (size_t)exa_shm_bytes());
        exa_shm = NULL;
    }
    _exa_lock_reset(&exa_publish_lock);
    _exa_lock_reset(&exa_thread_lock);
}
static const exa_fork_handler_t exa_publish_fork = {EXA_FORK_RANK_PUBLISH, exa_publish_fork_prepare,
                                                    exa_publish_fork_parent, exa_publish_fork_child};
EXA_ON_LOAD(exa_publish_fork_load) { _exa_fork_register(&exa_publish_fork); }
