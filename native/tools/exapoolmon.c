/* exalloc - tools
 * exapoolmon: PoolMon for exalloc processes. Reads the live view a process publishes in
 * /dev/shm/exalloc.<pid> (exa_publish_start, or EXALLOC_PUBLISH=1 in its environment; the
 * layout is native/src/diag/diag_shm.h) and shows one row per tag and pool:
 *
 *   Tag Type Allocs (+n) Frees (+n) Diff (+n) Bytes (+n) Per Alloc
 *
 * sorted by bytes (keys b a f d t, or --sort=...), refreshed every second with the change
 * since the last refresh in (+n) columns (PoolMon's highlighting). --lookaside shows the
 * debugger's !lookaside view of the process's lists instead.
 *
 * Usage: exapoolmon [--once] [--lookaside] [--sort=bytes|allocs|frees|diff|tag]
 *                   [--interval=ms] [--count=n] [pid]
 * Without a pid: the only process with a live view. When stdout is not a terminal each
 * frame ends with an empty line; --count=n stops after n frames. The view must be a regular
 * file owned by the process's user (anybody can create a file of that name); it is read with
 * pread into a private copy, so a file truncated or removed meanwhile ends the tool with a
 * message. Exit status: 0, 1 on usage errors, 2 when no (or more than one) process is found,
 * 3 when the view cannot be read (or was truncated), 4 when the file is not the process's. */
#define _GNU_SOURCE 1
#include "diag/poolmon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
    SORT_BYTES = EXA_POOLMON_SORT_BYTES,
    SORT_ALLOCS = EXA_POOLMON_SORT_ALLOCS,
    SORT_FREES = EXA_POOLMON_SORT_FREES,
    SORT_DIFF = EXA_POOLMON_SORT_DIFF,
    SORT_TAG = EXA_POOLMON_SORT_TAG
};

static int sort_key = SORT_BYTES;

static int alive(long pid) { return kill((pid_t)pid, 0) == 0 || errno == EPERM; }

/* The only /dev/shm/exalloc.<pid> whose process is alive; 0 none, -1 several. */
static long find_pid(void) {
    DIR *d = opendir("/dev/shm");
    if (d == NULL) return 0;
    long found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "exalloc.", 8) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + 8, &end, 10);
        if (*end != 0 || pid <= 0 || !alive(pid)) continue;
        found = found == 0 ? pid : -1;
    }
    closedir(d);
    return found;
}

/* The view of pid, opened for reading: a regular file (not through a link) owned by the
 * process's user (the owner of /proc/<pid>); anybody could have created a file of that name.
 * -1 with *why: 2 no such file (or no such process), 3 not readable by us, 4 not the
 * process's. */
static int open_view(long pid, int *why, unsigned *file_uid, unsigned *proc_uid) {
    char path[64], proc[64];
    snprintf(path, sizeof path, "/dev/shm/exalloc.%ld", pid);
    snprintf(proc, sizeof proc, "/proc/%ld", pid);
    *why = 2;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP) *why = 4;  /* a symbolic link */
        if (errno == EACCES) *why = 3; /* another user's view, mode 0600 */
        return -1;
    }
    struct stat st, ps;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = 4;
        close(fd);
        return -1;
    }
    *file_uid = (unsigned)st.st_uid;
    if (stat(proc, &ps) != 0) {  /* no such process: a stale file */
        close(fd);
        return -1;
    }
    *proc_uid = (unsigned)ps.st_uid;
    if (ps.st_uid != st.st_uid) {
        *why = 4;
        close(fd);
        return -1;
    }
    return fd;
}

/* A private copy of the file, read with pread (a file truncated under us gives a short read,
 * never the SIGBUS a mapping would), kept only when the seqlock word was even and unchanged
 * before and after. 0 on success, -1 wrong magic or version, -2 no consistent copy, -3 the
 * file is shorter than a view. */
enum { VIEW_WORDS = EXA_SHM_HEADER_WORDS + EXA_SHM_TAG_CAPACITY * EXA_SHM_TAG_WORDS +
                    EXA_SHM_LIST_CAPACITY * EXA_SHM_LIST_WORDS };
static exa_shm_word_t view_copy[VIEW_WORDS];

static int read_seq(int fd, uint64_t *seq) {
    return pread(fd, seq, sizeof *seq, 8 * EXA_SHM_W_SEQ) == (ssize_t)sizeof *seq ? 0 : -3;
}

static int read_view(int fd, exa_shm_snapshot_t *out) {
    _Static_assert(sizeof view_copy == 8 * VIEW_WORDS, "view words are 8 bytes");
    for (int t = 0; t < 100000; t++) {
        struct stat st;
        if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < exa_shm_bytes()) return -3;
        uint64_t s1, s2;
        if (read_seq(fd, &s1) != 0) return -3;
        if (s1 & 1) continue;
        size_t want = (size_t)exa_shm_bytes(), got = 0;
        while (got < want) {
            ssize_t n = pread(fd, (char *)view_copy + got, want - got, (off_t)got);
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                return -3;
            }
            got += (size_t)n;
        }
        if (read_seq(fd, &s2) != 0) return -3;
        if (s2 != s1) continue;
        int r = exa_shm_read(view_copy, out, 1);
        if (r == -1) return -1;
        if (r == 0 && out->seq == s1) return 0;
    }
    return -2;
}

static int cmp_rows(const void *a_, const void *b_) { return exa_poolmon_row_order(a_, b_, sort_key); }

static const exa_pool_tag_row_t *find_row(const exa_shm_snapshot_t *s, uint32_t tag, int32_t pool) {
    if (s == NULL) return NULL;
    for (uint32_t i = 0; i < s->tag_rows; i++)
        if (s->tags[i].tag == tag && s->tags[i].pool == pool) return &s->tags[i];
    return NULL;
}

static void delta(char *out, size_t cap, unsigned long long now, unsigned long long before, int show) {
    if (!show || now == before) snprintf(out, cap, "%s", "");
    else if (now > before) snprintf(out, cap, "(+%llu)", now - before);
    else snprintf(out, cap, "(-%llu)", before - now);
}

static void show_tags(const exa_shm_snapshot_t *s, const exa_shm_snapshot_t *prev, int deltas) {
    static exa_pool_tag_row_t rows[EXA_SHM_TAG_CAPACITY];
    memcpy(rows, s->tags, sizeof rows[0] * s->tag_rows);
    qsort(rows, s->tag_rows, sizeof rows[0], cmp_rows);
    static const char *names[] = {"bytes", "allocs", "frees", "diff", "tag"};
    printf("exapoolmon: pid %llu  snapshot %llu  tags %u%s  sorted by %s\n", (unsigned long long)s->pid,
           (unsigned long long)s->publishes, s->tag_total, s->tag_total > s->tag_rows ? " (truncated)" : "",
           names[sort_key]);
    printf(" %-4s %-5s %12s %-9s %12s %-9s %10s %-9s %14s %-11s %10s\n", "Tag", "Type", "Allocs", "", "Frees", "",
           "Diff", "", "Bytes", "", "Per Alloc");
    for (uint32_t i = 0; i < s->tag_rows; i++) {
        const exa_pool_tag_row_t *r = &rows[i];
        const exa_pool_tag_row_t *p = find_row(prev, r->tag, r->pool);
        exa_pool_tag_row_t zero = {r->tag, r->pool, 0, 0, 0, 0, 0};
        if (p == NULL) p = &zero;
        int show = deltas && prev != NULL;
        char da[24], df[24], dd[24], db[24], t[5];
        delta(da, sizeof da, r->allocs, p->allocs, show);
        delta(df, sizeof df, r->frees, p->frees, show);
        delta(dd, sizeof dd, r->diff, p->diff, show);
        delta(db, sizeof db, r->bytes, p->bytes, show);
        exa_shm_tag_text(r->tag, t);
        printf(" %-4s %-5s %12llu %-9s %12llu %-9s %10llu %-9s %14llu %-11s %10llu\n", t,
               r->pool == EXA_POOL_KIND_PAGED ? "Paged" : "Nonp", r->allocs, da, r->frees, df, r->diff, dd, r->bytes,
               db, r->per_alloc);
    }
}

static const char *type_name(int32_t type) {
    switch (type & 0x227) {
    case EXA_NON_PAGED_POOL: return "NonPagedPool";
    case EXA_PAGED_POOL: return "PagedPool";
    case EXA_NON_PAGED_POOL_NX: return "NonPagedPoolNx";
    case EXA_NON_PAGED_POOL_CACHE_ALIGNED: return "NonPagedPoolCA";
    case EXA_PAGED_POOL_CACHE_ALIGNED: return "PagedPoolCA";
    case EXA_NON_PAGED_POOL_NX_CACHE_ALIGNED: return "NonPagedPoolNxCA";
    default: return "Other";
    }
}

static void show_lists(const exa_shm_snapshot_t *s) {
    printf("exapoolmon: pid %llu  snapshot %llu  lookaside lists %u%s\n", (unsigned long long)s->pid,
           (unsigned long long)s->publishes, s->list_total, s->list_total > s->list_rows ? " (truncated)" : "");
    printf("%6s %-4s %-16s %8s %14s %14s %7s %14s %12s %6s %6s %6s\n", "Id", "Tag", "Type", "Size", "TotalAllocates",
           "AllocateMisses", "Hit%", "TotalFrees", "FreeMisses", "Depth", "MaxDep", "CurDep");
    for (uint32_t i = 0; i < s->list_rows; i++) {
        const exa_lookaside_stats_t *l = &s->lists[i];
        char t[5];
        exa_shm_tag_text(l->tag, t);
        unsigned long long rate = l->total_allocates ? (l->total_allocates - l->allocate_misses) * 1000 / l->total_allocates : 0;
        printf("%6llu %-4s %-16s %8llu %14llu %14llu %5llu.%llu %14llu %12llu %6u %6u %6u\n", l->id, t,
               type_name(l->pool_type), l->size, l->total_allocates, l->allocate_misses, rate / 10, rate % 10,
               l->total_frees, l->free_misses, l->depth, l->maximum_depth, l->current_depth);
    }
}

static int usage(void) {
    fprintf(stderr, "usage: exapoolmon [--once] [--lookaside] [--sort=bytes|allocs|frees|diff|tag] [--interval=ms] "
                    "[--count=n] [pid]\n");
    return 1;
}

static int parse_sort(const char *v) {
    static const char *names[] = {"bytes", "allocs", "frees", "diff", "tag"};
    for (int i = 0; i < 5; i++)
        if (strcmp(v, names[i]) == 0 || (v[0] == names[i][0] && v[1] == 0)) return i;
    return -1;
}

static struct termios saved_tty;
static int tty_raw;
static void restore_tty(void) {
    if (tty_raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

int main(int argc, char **argv) {
    int once = 0, lookaside = 0;
    long pid = 0, interval = 1000, count = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--once") == 0) once = 1;
        else if (strcmp(a, "--lookaside") == 0) lookaside = 1;
        else if (strncmp(a, "--sort=", 7) == 0) {
            if ((sort_key = parse_sort(a + 7)) < 0) return usage();
        } else if (strncmp(a, "--interval=", 11) == 0) interval = strtol(a + 11, NULL, 10);
        else if (strncmp(a, "--count=", 8) == 0) count = strtol(a + 8, NULL, 10);
        else if (a[0] >= '0' && a[0] <= '9') pid = strtol(a, NULL, 10);
        else return usage();
    }
    if (interval <= 0) interval = 1000;
    if (pid == 0) {
        pid = find_pid();
        if (pid <= 0) {
            fprintf(stderr, "exapoolmon: %s (start the process with EXALLOC_PUBLISH=1 or call exa_publish_start)\n",
                    pid == 0 ? "no exalloc process publishes a live view" : "several exalloc processes: name a pid");
            return 2;
        }
    }
    int why = 0;
    unsigned file_uid = 0, proc_uid = 0;
    int fd = open_view(pid, &why, &file_uid, &proc_uid);
    if (fd < 0 && why == 4) {
        fprintf(stderr,
                "exapoolmon: /dev/shm/exalloc.%ld is not the live view of pid %ld (a link, not a file, or owned by uid %u "
                "while the process runs as uid %u): refused\n",
                pid, pid, file_uid, proc_uid);
        return 4;
    }
    if (fd < 0 && why == 3) {
        fprintf(stderr,
                "exapoolmon: /dev/shm/exalloc.%ld: permission denied (a live view is its user's alone unless the process "
                "sets EXALLOC_PUBLISH_MODE): run as the process's user\n",
                pid);
        return 3;
    }
    if (fd < 0) {
        fprintf(stderr, "exapoolmon: no live view for pid %ld (/dev/shm/exalloc.%ld)\n", pid, pid);
        return 2;
    }
    static exa_shm_snapshot_t snaps[2];
    exa_shm_snapshot_t *cur = &snaps[0], *prev = NULL;
    int interactive = !once && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (interactive && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
        struct termios raw = saved_tty;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) tty_raw = 1;
        atexit(restore_tty);
    }
    for (long n = 0; count < 0 || n < count; n++) {
        int r = read_view(fd, cur);
        if (r != 0) {
            fprintf(stderr, "exapoolmon: the live view of pid %ld %s\n", pid,
                    r == -3 ? "was truncated or removed" : "cannot be read");
            return 3;
        }
        if (interactive) printf("\033[H\033[2J");
        if (lookaside) show_lists(cur);
        else show_tags(cur, prev, !once);
        if (!interactive) printf("\n");  /* frames end with an empty line (scripts, tests) */
        fflush(stdout);
        if (once) break;
        if (!alive(pid)) {
            printf("exapoolmon: process %ld has exited\n", pid);
            break;
        }
        /* Wait, reading sort keys (b a f d t, l toggles the lookaside view, q quits). */
        for (long waited = 0; waited < interval; waited += 50) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
            char c;
            if (tty_raw && read(STDIN_FILENO, &c, 1) == 1) {
                if (c == 'q') return 0;
                if (c == 'l') lookaside = !lookaside;
                char k[2] = {c, 0};
                int s = parse_sort(k);
                if (s >= 0) sort_key = s;
                if (c == 'l' || s >= 0) break;
            }
        }
        prev = cur;
        cur = cur == &snaps[0] ? &snaps[1] : &snaps[0];
    }
    return 0;
}
