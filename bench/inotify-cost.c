/*
 * inotify-cost: what noticing created and removed cgroups with inotify would cost, for comparison with the
 * agent's periodic rescan (docs/benchmarks.md, "rescan vs inotify").
 *
 *   gcc -O2 -o inotify-cost inotify-cost.c
 *   inotify-cost --root /corral-bench-scan [--churn K] [--kmem /sys/fs/cgroup/memory/corral-bench-meas-x]
 *
 * 1. Setup: walks the cgroup tree below --root in every hierarchy the agent walks (v1 cpu, cpuacct, memory,
 *    blkio, pids and the cgroup2 mount, found in /proc/self/mountinfo) and puts one watch
 *    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR) on every directory: the watches
 *    needed to see a cgroup appear or go anywhere in the subtree. Reports the count, the wall and CPU time
 *    (getrusage) of the walk plus inotify_add_watch calls, and, with --kmem DIR (a v1 memory cgroup this
 *    process has been moved into), the kernel memory charged for them (memory.kmem.usage_in_bytes delta).
 * 2. Churn: a child process makes K cgroups corral-bench-churn-<i> under --root, in every hierarchy, then
 *    removes them; this process handles the events as an agent would (on IN_CREATE of a directory: add a
 *    watch on it; on IN_DELETE of a directory: inotify_rm_watch on it, since the watch pins the removed
 *    directory's inode and the kernel would never drop it by itself) and reports its own CPU
 *    per cgroup created+removed and the delay from each mkdir to the read() that returned its event.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)
#define MAX_H 8

static char *mounts[MAX_H];
static int n_mounts;
static int ifd;
static long watches, add_calls, rm_calls;
static char **wd_path; /* wd -> directory, to resolve the events' names */
static int wd_cap;

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void find_mounts(void) {
    static const char *wanted[] = {"cpu", "cpuacct", "memory", "blkio", "pids"};
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    if (!f) { perror("mountinfo"); exit(2); }
    while (fgets(line, sizeof line, f) && n_mounts < MAX_H) {
        char *fields[32];
        int n = 0, dash = -1;
        for (char *t = strtok(line, " \n"); t && n < 32; t = strtok(NULL, " \n")) fields[n++] = t;
        for (int i = 6; i < n; i++) if (strcmp(fields[i], "-") == 0) { dash = i; break; }
        if (dash < 0 || dash + 3 >= n) continue;
        int take = strcmp(fields[dash + 1], "cgroup2") == 0;
        if (strcmp(fields[dash + 1], "cgroup") == 0) {
            char opts[1024];
            snprintf(opts, sizeof opts, ",%s,", fields[dash + 3]);
            for (int w = 0; w < 5; w++) {
                char pat[32];
                snprintf(pat, sizeof pat, ",%s,", wanted[w]);
                if (strstr(opts, pat)) take = 1;
            }
        }
        if (take) mounts[n_mounts++] = strdup(fields[4]);
    }
    fclose(f);
}

/* path -> wd, to drop the watch of a removed directory (open addressing; paths are never removed from it
 * except by tombstoning the wd to -1) */
#define HCAP (1 << 16)
static char *h_key[HCAP];
static int h_wd[HCAP];

static unsigned hash(const char *s) {
    unsigned h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h & (HCAP - 1);
}

static int *slot(const char *path, int insert) {
    for (unsigned i = hash(path);; i = (i + 1) & (HCAP - 1)) {
        if (!h_key[i]) {
            if (!insert) return NULL;
            h_key[i] = strdup(path);
            return &h_wd[i];
        }
        if (strcmp(h_key[i], path) == 0) return &h_wd[i];
    }
}

static void remember(int wd, const char *dir) {
    *slot(dir, 1) = wd;
    if (wd >= wd_cap) {
        int cap = wd_cap ? wd_cap : 1024;
        while (cap <= wd) cap *= 2;
        wd_path = realloc(wd_path, cap * sizeof *wd_path);
        memset(wd_path + wd_cap, 0, (cap - wd_cap) * sizeof *wd_path);
        wd_cap = cap;
    }
    free(wd_path[wd]);
    wd_path[wd] = strdup(dir);
}

static void watch_tree(const char *dir) {
    int wd = inotify_add_watch(ifd, dir, MASK);
    add_calls++;
    if (wd < 0) {
        if (errno == ENOENT) return; /* removed meanwhile */
        fprintf(stderr, "inotify_add_watch %s: %s (after %ld watches)\n", dir, strerror(errno), watches);
        exit(3);
    }
    watches++;
    remember(wd, dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        watch_tree(sub);
    }
    closedir(d);
}

/* Watches the kernel still holds on our inotify fd (lines "inotify wd:" of /proc/self/fdinfo/FD). */
static long kernel_watches(void) {
    char path[64], line[512];
    long n = 0;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ifd);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) n += strncmp(line, "inotify wd:", 11) == 0;
    fclose(f);
    return n;
}

static long read_long(const char *path) {
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) { if (fscanf(f, "%ld", &v) != 1) v = -1; fclose(f); }
    return v;
}

int main(int argc, char **argv) {
    const char *root = NULL, *kmem = NULL;
    int churn = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) root = argv[++i];
        else if (strcmp(argv[i], "--churn") == 0 && i + 1 < argc) churn = atoi(argv[++i]);
        else if (strcmp(argv[i], "--kmem") == 0 && i + 1 < argc) kmem = argv[++i];
        else { fprintf(stderr, "usage: inotify-cost --root CGROUP_PATH [--churn K] [--kmem MEMCG_DIR]\n"); return 1; }
    }
    if (!root || strncmp(root, "/corral-bench-", 14) != 0) {
        fprintf(stderr, "--root must be a /corral-bench-* cgroup path\n");
        return 1;
    }
    find_mounts();
    char kpath[PATH_MAX];
    long k0 = -1, k1 = -1;
    if (kmem) {
        snprintf(kpath, sizeof kpath, "%s/memory.kmem.usage_in_bytes", kmem);
        k0 = read_long(kpath);
    }

    /* 1. setup */
    double c0 = cpu_seconds(), w0 = mono();
    ifd = inotify_init1(IN_CLOEXEC);
    if (ifd < 0) { perror("inotify_init1"); return 2; }
    for (int h = 0; h < n_mounts; h++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s%s", mounts[h], root);
        watch_tree(dir);
    }
    double setup_cpu = cpu_seconds() - c0, setup_wall = mono() - w0;
    if (kmem) k1 = read_long(kpath);
    printf("hierarchies=%d watches=%ld kernel_watches=%ld setup_wall_ms=%.2f setup_cpu_ms=%.2f setup_cpu_us_per_watch=%.2f",
           n_mounts, watches, kernel_watches(), setup_wall * 1e3, setup_cpu * 1e3, setup_cpu * 1e6 / watches);
    if (kmem) printf(" kmem_bytes=%ld kmem_bytes_per_watch=%.0f", k1 - k0, (double)(k1 - k0) / watches);
    printf("\n");
    fflush(stdout);
    if (churn <= 0) return 0;

    /* 2. churn: the child makes and removes cgroups; we handle the events */
    double *made = mmap(NULL, churn * sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    double *seen = calloc(churn, sizeof(double));
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        for (int i = 0; i < churn; i++) {
            for (int h = 0; h < n_mounts; h++) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof dir, "%s%s/corral-bench-churn-%d", mounts[h], root, i);
                if (h == 0) made[i] = mono();
                if (mkdir(dir, 0755) != 0) perror(dir);
            }
            usleep(2000);
        }
        for (int i = 0; i < churn; i++) {
            for (int h = 0; h < n_mounts; h++) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof dir, "%s%s/corral-bench-churn-%d", mounts[h], root, i);
                if (rmdir(dir) != 0) perror(dir);
            }
            usleep(2000);
        }
        _exit(0);
    }
    long expect = 2L * churn * n_mounts, creates = 0, deletes = 0, ignored = 0, reads = 0;
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    double cc0 = cpu_seconds();
    while (creates + deletes < expect) {
        ssize_t n = read(ifd, buf, sizeof buf);
        double t = mono();
        reads++;
        if (n <= 0) { if (errno == EINTR) continue; perror("read"); break; }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->mask & IN_IGNORED) {
                ignored++;
                if (ev->wd < wd_cap) { free(wd_path[ev->wd]); wd_path[ev->wd] = NULL; }
            } else if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR)) {
                creates++;
                char dir[PATH_MAX];
                snprintf(dir, sizeof dir, "%s/%s", ev->wd < wd_cap && wd_path[ev->wd] ? wd_path[ev->wd] : "?",
                         ev->name);
                int wd = inotify_add_watch(ifd, dir, MASK); /* to see its children */
                add_calls++;
                if (wd >= 0) remember(wd, dir);
                int i;
                if (sscanf(ev->name, "corral-bench-churn-%d", &i) == 1 && i >= 0 && i < churn && seen[i] == 0)
                    seen[i] = t;
            } else if (ev->mask & IN_DELETE) {
                deletes++;
                /* The watch on the removed directory keeps its inode alive, so the kernel never drops it by
                 * itself (no IN_IGNORED): remove it, or watches leak. */
                char dir[PATH_MAX];
                snprintf(dir, sizeof dir, "%s/%s", ev->wd < wd_cap && wd_path[ev->wd] ? wd_path[ev->wd] : "?",
                         ev->name);
                int *w = (ev->mask & IN_ISDIR) ? slot(dir, 0) : NULL;
                if (w && *w >= 0) {
                    inotify_rm_watch(ifd, *w);
                    rm_calls++;
                    *w = -1;
                }
            }
            p += sizeof *ev + ev->len;
        }
    }
    double churn_cpu = cpu_seconds() - cc0;
    int status;
    waitpid(child, &status, 0);
    /* the IN_IGNORED of the last removals may still be queued: drain without blocking */
    fcntl(ifd, F_SETFL, O_NONBLOCK);
    for (ssize_t n; (n = read(ifd, buf, sizeof buf)) > 0;) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->mask & IN_IGNORED) ignored++;
            p += sizeof *ev + ev->len;
        }
    }
    double lat[churn];
    int nl = 0;
    for (int i = 0; i < churn; i++) if (seen[i] > 0) lat[nl++] = (seen[i] - made[i]) * 1e6;
    for (int i = 1; i < nl; i++) /* insertion sort: small */
        for (int j = i; j > 0 && lat[j - 1] > lat[j]; j--) { double x = lat[j]; lat[j] = lat[j - 1]; lat[j - 1] = x; }
    printf("churn=%d create_events=%ld delete_events=%ld ignored_events=%ld reads=%ld watch_adds=%ld "
           "watch_removes=%ld watches_held_after=%ld "
           "handler_cpu_ms=%.3f handler_cpu_us_per_cgroup=%.2f handler_cpu_us_per_event=%.3f "
           "latency_us_median=%.0f latency_us_p95=%.0f\n",
           churn, creates, deletes, ignored, reads, add_calls - watches, rm_calls, kernel_watches(), churn_cpu * 1e3,
           churn_cpu * 1e6 / churn,
           churn_cpu * 1e6 / (creates + deletes + ignored), nl ? lat[nl / 2] : -1,
           nl ? lat[(int)(nl * 0.95)] : -1);
    return 0;
}
