/*
 * raw-reader: the "raw reader" baseline for the Corral collector benchmark (docs/benchmarks.md).
 *
 * It opens, for every cgroup, exactly the accounting files that the agent's V1CgroupReader opens on a v1 or
 * hybrid host (same names, same hierarchies, files that do not exist are skipped), keeps the descriptors open,
 * and every cycle preads at offset 0 the files the agent reads in a cycle (cpuacct.stat only when
 * cpuacct.usage_user is missing; the blkio sources in the agent's fallback order until one lists a device),
 * parsing every number in each buffer so the reads are not dead code. With --read-all it preads every open
 * file instead.
 *
 * Like the agent since round 4, user and system CPU come from cpuacct.stat (not cpuacct.usage_user and _sys) and
 * swap from memory.stat (memory.memsw.usage_in_bytes is not opened); --round3 reads the agent's earlier set.
 *
 * Like the agent since "limits every 10 cycles": cpuacct.stat and the plain throttle files are opened only
 * where the kernel lacks the newer files, and the 7 limit files (memory/memsw/soft limits, cfs quota and
 * period, shares, pids.max) are not kept open but opened, read and closed on the first cycle and every
 * --limits-every cycles (default 10, LimitsRefresh.CYCLES). --legacy keeps all 28 files open and reads the
 * limits every cycle, as the agent did before. Past the open-file budget (soft limit raised to the hard one,
 * minus 1,024, as the agent's KernelFile) files are opened per read, as the agent does.
 *
 * It prints the user+system CPU time (getrusage) and wall time of each cycle, then a summary line.
 *
 *   gcc -O2 -o raw-reader raw-reader.c
 *   raw-reader --root /corral-bench-100 [--cycles 30] [--interval-ms 1000 | --back-to-back] [--quiet]
 *   raw-reader /corral-bench-100/c1 /corral-bench-100/c2 ...      (explicit cgroup paths)
 *
 * Hierarchies are found in /proc/self/mountinfo: the v1 mounts holding cpu, cpuacct, memory, blkio and pids,
 * and the cgroup2 mount (PSI files). --root walks every one of them below the given cgroup path and reads the
 * union of the cgroups found, root included, as the agent's --cgroup-root does.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { H_CPUACCT, H_CPU, H_MEMORY, H_BLKIO, H_PIDS, H_UNIFIED, H_COUNT };
static const char *controller_names[H_COUNT] = {"cpuacct", "cpu", "memory", "blkio", "pids", NULL};
static char *mount_point[H_COUNT];
static char *mount_root[H_COUNT];

/* The agent's file lists (V1CgroupReader, BlkioFiles, PressureFiles), in the same order. */
static const char *cpuacct_files[] = {"cpuacct.usage", "cpuacct.usage_user", "cpuacct.usage_sys", "cpuacct.stat"};
static const char *cpu_files[] = {"cpu.stat", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares"};
static const char *memory_files[] = {"memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt",
    "memory.stat", "memory.oom_control", "memory.memsw.usage_in_bytes", "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes"};
static const char *blkio_files[] = {
    "blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive",
    "blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive",
    "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive",
    "blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"};
static const char *pids_files[] = {"pids.current", "pids.max"};
static const char *pressure_files[] = {"cpu.pressure", "memory.pressure", "io.pressure"};

#define N_CPUACCT 4
#define N_CPU 4
#define N_MEMORY 9
#define N_BLKIO 8
#define N_PIDS 2
#define N_PRESSURE 3

/* A file: fd >= 0 kept open; PER_READ opened for each read (path set); ABSENT does not exist. */
enum { ABSENT = -1, PER_READ = -2 };
struct kfile {
    int fd;
    char *path;
};

struct cgroup {
    char *path;
    struct kfile cpuacct[N_CPUACCT], cpu[N_CPU], memory[N_MEMORY], blkio[N_BLKIO], pids[N_PIDS],
        pressure[N_PRESSURE];
    int blkio_chosen; /* -1 until a source lists a device, as in BlkioFiles */
};

static struct cgroup *cgroups;
static size_t n_cgroups, cap_cgroups;
static long files_open, files_per_read, reads_this_cycle, budget;
static int read_all, legacy, round3, limits_every = 10, limits_due;
static char buf[64 * 1024];
static volatile uint64_t checksum; /* keeps the parsing alive */

static void die(const char *what) {
    perror(what);
    exit(2);
}

static char *xstrdup(const char *s) {
    char *p = strdup(s);
    if (!p) die("strdup");
    return p;
}

/* ---- hierarchies from mountinfo ---- */

static int has_option(const char *opts, const char *name) {
    size_t n = strlen(name);
    for (const char *p = opts; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static void find_mounts(void) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) die("/proc/self/mountinfo");
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *fields[32];
        int n = 0;
        for (char *tok = strtok(line, " \n"); tok && n < 32; tok = strtok(NULL, " \n")) fields[n++] = tok;
        int dash = -1;
        for (int i = 6; i < n; i++) {
            if (strcmp(fields[i], "-") == 0) { dash = i; break; }
        }
        if (dash < 0 || dash + 3 >= n) continue;
        const char *fstype = fields[dash + 1], *super = fields[dash + 3];
        if (strcmp(fstype, "cgroup2") == 0) {
            if (!mount_point[H_UNIFIED] || strlen(fields[3]) < strlen(mount_root[H_UNIFIED])) {
                mount_point[H_UNIFIED] = xstrdup(fields[4]);
                mount_root[H_UNIFIED] = xstrdup(fields[3]);
            }
        } else if (strcmp(fstype, "cgroup") == 0) {
            for (int h = 0; h < H_UNIFIED; h++) {
                if (has_option(super, controller_names[h])
                        && (!mount_point[h] || strlen(fields[3]) < strlen(mount_root[h]))) {
                    mount_point[h] = xstrdup(fields[4]);
                    mount_root[h] = xstrdup(fields[3]);
                }
            }
        }
    }
    fclose(f);
}

/* The directory of a cgroup path in hierarchy h, or 0 when it lies outside the mount. */
static int dir_of(int h, const char *cgpath, char *out, size_t size) {
    if (!mount_point[h]) return 0;
    const char *root = mount_root[h];
    size_t rl = strlen(root);
    const char *rel;
    if (strcmp(root, "/") == 0) {
        rel = cgpath;
    } else if (strncmp(cgpath, root, rl) == 0 && (cgpath[rl] == '/' || cgpath[rl] == 0)) {
        rel = cgpath + rl;
    } else {
        return 0;
    }
    snprintf(out, size, "%s%s", mount_point[h], strcmp(rel, "/") == 0 ? "" : rel);
    return 1;
}

/* ---- the cgroup list ---- */

static void add_cgroup(const char *path) {
    for (size_t i = 0; i < n_cgroups; i++) {
        if (strcmp(cgroups[i].path, path) == 0) return;
    }
    if (n_cgroups == cap_cgroups) {
        cap_cgroups = cap_cgroups ? cap_cgroups * 2 : 256;
        cgroups = realloc(cgroups, cap_cgroups * sizeof *cgroups);
        if (!cgroups) die("realloc");
    }
    memset(&cgroups[n_cgroups], 0, sizeof cgroups[n_cgroups]);
    cgroups[n_cgroups++].path = xstrdup(path);
}

static void walk(const char *dir, const char *cgpath) {
    add_cgroup(cgpath);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char sub[4096], subpath[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        snprintf(subpath, sizeof subpath, "%s/%s", strcmp(cgpath, "/") == 0 ? "" : cgpath, e->d_name);
        walk(sub, subpath);
    }
    closedir(d);
}

/* ---- opening ---- */

/* Opens names[from..to) of a set; keep: 1 kept open (within the budget), 0 opened per read. */
static void open_range(int h, const char *cgpath, const char **names, int from, int to, struct kfile *f, int keep) {
    char dir[4096], file[4200];
    struct stat st;
    for (int i = from; i < to; i++) f[i].fd = ABSENT;
    if (!dir_of(h, cgpath, dir, sizeof dir) || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return;
    for (int i = from; i < to; i++) {
        snprintf(file, sizeof file, "%s/%s", dir, names[i]);
        if (!keep || files_open >= budget) {
            if (access(file, F_OK) == 0) {
                f[i].fd = PER_READ;
                f[i].path = xstrdup(file);
                files_per_read++;
            }
            continue;
        }
        f[i].fd = open(file, O_RDONLY | O_CLOEXEC);
        if (f[i].fd >= 0) {
            files_open++;
        } else if (errno != ENOENT) {
            fprintf(stderr, "raw-reader: %s: %s (after %ld open files)\n", file, strerror(errno), files_open);
            exit(3);
        }
    }
}

static void open_cgroup(struct cgroup *c) {
    /* kept open: counters; per read (unless --legacy): limits; only where needed: the old-kernel fallbacks */
    if (round3 || legacy) { /* usage_user and usage_sys; cpuacct.stat only on kernels without them */
        open_range(H_CPUACCT, c->path, cpuacct_files, 0, 3, c->cpuacct, 1);
        if (legacy || c->cpuacct[1].fd == ABSENT) open_range(H_CPUACCT, c->path, cpuacct_files, 3, 4, c->cpuacct, 1);
        else c->cpuacct[3].fd = ABSENT;
    } else { /* the agent since round 4: usage and cpuacct.stat */
        open_range(H_CPUACCT, c->path, cpuacct_files, 0, 1, c->cpuacct, 1);
        open_range(H_CPUACCT, c->path, cpuacct_files, 3, 4, c->cpuacct, 1);
        c->cpuacct[1].fd = c->cpuacct[2].fd = ABSENT;
    }
    open_range(H_CPU, c->path, cpu_files, 0, 1, c->cpu, 1);
    open_range(H_CPU, c->path, cpu_files, 1, N_CPU, c->cpu, legacy);
    open_range(H_MEMORY, c->path, memory_files, 0, round3 || legacy ? 6 : 5, c->memory, 1);
    if (!round3 && !legacy) c->memory[5].fd = ABSENT; /* swap comes from memory.stat's total_swap */
    open_range(H_MEMORY, c->path, memory_files, 6, N_MEMORY, c->memory, legacy);
    open_range(H_BLKIO, c->path, blkio_files, 0, 6, c->blkio, 1);
    if (legacy || c->blkio[4].fd == ABSENT) open_range(H_BLKIO, c->path, blkio_files, 6, 8, c->blkio, 1);
    else c->blkio[6].fd = c->blkio[7].fd = ABSENT;
    open_range(H_PIDS, c->path, pids_files, 0, 1, c->pids, 1);
    open_range(H_PIDS, c->path, pids_files, 1, 2, c->pids, legacy);
    open_range(H_UNIFIED, c->path, pressure_files, 0, N_PRESSURE, c->pressure, 1);
    c->blkio_chosen = -1;
}

/* ---- reading ---- */

/* preads fd at offset 0 and adds up every decimal number in it; returns the byte count, -1 if absent. */
static ssize_t read_parse(struct kfile *f, int *has_device_line) {
    if (f->fd == ABSENT) return -1;
    ssize_t n;
    if (f->fd == PER_READ) {
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        n = pread(fd, buf, sizeof buf, 0);
        close(fd);
    } else {
        n = pread(f->fd, buf, sizeof buf, 0);
    }
    reads_this_cycle++;
    if (n < 0) return -1;
    uint64_t sum = 0, v = 0;
    int in_number = 0;
    for (ssize_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(buf[i] - '0');
        if (d < 10) {
            v = v * 10 + d;
            in_number = 1;
        } else {
            if (in_number) sum += v;
            if (buf[i] == ':' && has_device_line) *has_device_line = 1;
            v = 0;
            in_number = 0;
        }
    }
    if (in_number) sum += v;
    checksum += sum;
    return n;
}

static void read_blkio(struct cgroup *c) {
    if (c->blkio_chosen >= 0) {
        read_parse(&c->blkio[2 * c->blkio_chosen], NULL);
        read_parse(&c->blkio[2 * c->blkio_chosen + 1], NULL);
        return;
    }
    for (int s = 0; s < N_BLKIO / 2; s++) {
        if (c->blkio[2 * s].fd == ABSENT) continue;
        /* plain throttle files: fallback for kernels without the recursive ones only */
        if (s == N_BLKIO / 2 - 1 && c->blkio[2 * (s - 1)].fd != ABSENT) break;
        int device = 0;
        read_parse(&c->blkio[2 * s], &device);
        read_parse(&c->blkio[2 * s + 1], &device);
        if (device) {
            c->blkio_chosen = s;
            return;
        }
    }
}

static void read_cgroup(struct cgroup *c) {
    if (read_all) {
        struct kfile *sets[] = {c->cpuacct, c->cpu, c->memory, c->blkio, c->pids, c->pressure};
        int sizes[] = {N_CPUACCT, N_CPU, N_MEMORY, N_BLKIO, N_PIDS, N_PRESSURE};
        for (int s = 0; s < 6; s++)
            for (int i = 0; i < sizes[s]; i++) read_parse(&sets[s][i], NULL);
        return;
    }
    /* the agent's order: cpu, memory, blkio, limits (when due), pids, pressure */
    read_parse(&c->cpuacct[0], NULL);
    read_parse(&c->cpuacct[1], NULL);
    read_parse(&c->cpuacct[2], NULL);
    if (c->cpuacct[1].fd == ABSENT) read_parse(&c->cpuacct[3], NULL);
    read_parse(&c->cpu[0], NULL);
    if (read_parse(&c->memory[0], NULL) >= 0) {
        read_parse(&c->memory[3], NULL); /* stat */
        read_parse(&c->memory[4], NULL); /* oom_control */
        read_parse(&c->memory[5], NULL); /* memsw.usage */
        read_parse(&c->memory[1], NULL); /* max_usage */
        read_parse(&c->memory[2], NULL); /* failcnt */
    }
    read_blkio(c);
    if (legacy || limits_due) {
        read_parse(&c->memory[6], NULL);
        read_parse(&c->memory[7], NULL);
        read_parse(&c->memory[8], NULL);
        read_parse(&c->cpu[1], NULL);
        read_parse(&c->cpu[2], NULL);
        read_parse(&c->cpu[3], NULL);
        read_parse(&c->pids[1], NULL);
    }
    read_parse(&c->pids[0], NULL);
    read_parse(&c->pressure[0], NULL);
    read_parse(&c->pressure[1], NULL);
    read_parse(&c->pressure[2], NULL);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double sys_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double mono_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void) {
    fprintf(stderr, "usage: raw-reader (--root CGROUP_PATH | CGROUP_PATH...) [--cycles N] "
                    "[--interval-ms MS | --back-to-back] [--read-all] [--limits-every N | --legacy] [--round3] [--quiet]\n");
    exit(1);
}

int main(int argc, char **argv) {
    const char *root = NULL;
    long cycles = 30, interval_ms = 1000;
    int quiet = 0;
    find_mounts();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) root = argv[++i];
        else if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc) cycles = atol(argv[++i]);
        else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc) interval_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--back-to-back") == 0) interval_ms = 0;
        else if (strcmp(argv[i], "--read-all") == 0) read_all = 1;
        else if (strcmp(argv[i], "--legacy") == 0) legacy = 1;
        else if (strcmp(argv[i], "--round3") == 0) round3 = 1;
        else if (strcmp(argv[i], "--limits-every") == 0 && i + 1 < argc) limits_every = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else if (argv[i][0] == '/') add_cgroup(argv[i]);
        else usage();
    }
    if (root) {
        for (int h = 0; h < H_COUNT; h++) {
            char dir[4096];
            if (dir_of(h, root, dir, sizeof dir)) walk(dir, root);
        }
    }
    if (n_cgroups == 0 || cycles < 1 || limits_every < 1) usage();
    struct rlimit rl; /* as the JVM does at start: soft limit up to the hard one; then the agent's budget */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        budget = (long)rl.rlim_cur - 1024 > 64 ? (long)rl.rlim_cur - 1024 : 64;
    }

    double t0 = cpu_seconds();
    for (size_t i = 0; i < n_cgroups; i++) open_cgroup(&cgroups[i]);
    double open_cpu = cpu_seconds() - t0;

    double *cpu = calloc(cycles, sizeof *cpu), *wall = calloc(cycles, sizeof *wall);
    long reads = 0;
    double run_cpu0 = cpu_seconds(), run_sys0 = sys_seconds(), run_wall0 = mono_seconds();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long k = 0; k < cycles; k++) {
        reads_this_cycle = 0;
        limits_due = k % limits_every == 0;
        double c0 = cpu_seconds(), w0 = mono_seconds();
        for (size_t i = 0; i < n_cgroups; i++) read_cgroup(&cgroups[i]);
        wall[k] = mono_seconds() - w0;
        cpu[k] = cpu_seconds() - c0;
        reads = reads_this_cycle;
        if (!quiet) {
            printf("cycle %ld cpu_us=%.1f wall_us=%.1f reads=%ld\n", k + 1, cpu[k] * 1e6, wall[k] * 1e6, reads);
            fflush(stdout);
        }
        if (interval_ms > 0 && k + 1 < cycles) {
            next.tv_nsec += (interval_ms % 1000) * 1000000L;
            next.tv_sec += interval_ms / 1000 + next.tv_nsec / 1000000000L;
            next.tv_nsec %= 1000000000L;
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
    }
    double run_cpu = cpu_seconds() - run_cpu0, run_sys = sys_seconds() - run_sys0, run_wall = mono_seconds() - run_wall0;
    double cpu_sum = 0, wall_sum = 0;
    for (long k = 0; k < cycles; k++) { cpu_sum += cpu[k]; wall_sum += wall[k]; }
    qsort(cpu, cycles, sizeof *cpu, cmp_double);
    qsort(wall, cycles, sizeof *wall, cmp_double);
    printf("summary cgroups=%zu files_open=%ld files_per_read=%ld reads_per_cycle=%ld cycles=%ld open_cpu_ms=%.2f "
           "cycle_cpu_us_mean=%.1f cycle_cpu_us_median=%.1f cycle_wall_us_mean=%.1f cycle_wall_us_median=%.1f "
           "process_cpu_s=%.4f process_sys_s=%.4f elapsed_s=%.2f checksum=%llu\n",
           n_cgroups, files_open, files_per_read, reads, cycles, open_cpu * 1e3, cpu_sum / cycles * 1e6, cpu[cycles / 2] * 1e6,
           wall_sum / cycles * 1e6, wall[cycles / 2] * 1e6, run_cpu, run_sys, run_wall, (unsigned long long)checksum);
    return 0;
}
