/*
 * corral-shim: launches one container for the Corral agent.
 *
 *   corral-shim run CONFIG_FILE
 *   corral-shim spawner                  (the agent's: config paths on stdin, one answer line each)
 *   corral-shim devices-probe RULE...   (exit 0 if this kernel loads the cgroup v2 device filter)
 *
 * See docs/design.md, "Act: launching containers", for the contract. Processes:
 *
 *   caller     the spawner (one per agent, a config path per line on stdin) or `corral-shim run`: forks
 *              the monitor, waits on the report pipe for the outcome, answers "init=<pid> monitor=<pid>"
 *              or the failure (after the monitor and init are gone). The spawner reaps its monitors as
 *              they exit; `run` exits and leaves the monitor to be reparented.
 *   monitor    reads and validates the config, attaches the device filter; setsid; creates the log pipes,
 *              clone()s init into the new namespaces, writes the user namespace maps, pumps the logs with
 *              rotation, waits for init and writes the exit file atomically.
 *   init       joins the cgroups first, then hostname, mounts, pivot_root, loopback, credentials;
 *              then, by default (as Docker without --init), becomes the command itself: the command
 *              is PID 1 of its pid namespace and the only process the container starts with. With
 *              "init 1" (Docker's --init) it forks the command, forwards signals to it, reaps every
 *              zombie, reports the command's wait status to the monitor and exits mirroring it.
 *   command    setsid, default signals, stdio = /dev/null + log pipes, PATH lookup, execve.
 *
 * Pipes between them (all O_CLOEXEC):
 *   report  -> caller         lines "P<init pid>" (monitor, after clone), "F" (init, about to fork the
 *                             command), "E<step>: <error>" (whoever fails). The monitor closes its end
 *                             after "P", init after the fork, the command at its exec: so EOF after
 *                             "P" and "F" without "E" means the command exec'd, with no extra wake-up
 *                             of init or the monitor on the launch path.
 *   status  init -> monitor   records: 'F' about to fork (or, without init, exec) the command, 'E' the
 *                             launch failed (the caller was told), 'S' the command's wait status (with
 *                             init only; without, the monitor's own wait status of the command is it)
 *   sync    monitor -> init   one byte once uid_map/gid_map are written and eth0 is made (user namespace or
 *                             bridge network only)
 *   execerr command -> init   one byte if the exec failed; EOF alone means it succeeded
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/capability.h>

#include "corral-net.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define CORRAL_MOUNT_ATTR_RDONLY 0x1
struct corral_mount_attr { /* struct mount_attr of linux/mount.h, which clashes with sys/mount.h */
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MSG_MAX 480

/* ------------------------------------------------------------------------------------------------ */
/* Config                                                                                            */

struct strv {
    char **v;
    size_t n, cap;
};

enum mount_type { MOUNT_BIND, MOUNT_TMPFS };

struct mount_entry {
    enum mount_type type;
    char *source, *dest, *data;
    int ro, rec;
    unsigned long flags; /* MS_NOSUID, MS_NODEV, MS_NOEXEC */
};

struct config {
    const char *path;
    struct strv arg, env, cgroup_procs, mask_path, readonly_path, uid_map, gid_map, overlay_lower;
    struct mount_entry *mounts;
    size_t n_mounts;
    const char *cwd, *hostname, *rootfs, *log_dir, *exit_file, *overlay_upper, *overlay_work;
    int clone_flags;   /* CLONE_NEW* passed to clone(2) */
    int ns_cgroup;     /* unshare(CLONE_NEWCGROUP) after joining the cgroups */
    int readonly_rootfs, no_new_privs, host_root;
    int init;          /* run corral-init as PID 1 around the command (Docker's --init) */
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t n_groups;
    int have_groups;
    uint64_t caps;
    int last_cap; /* /proc/sys/kernel/cap_last_cap */
    long long log_max_bytes;
    int log_max_files;
    const char *device_cgroup; /* cgroup v2: attach the device filter built from device_rule here */
    struct strv device_rule;
    /* bridge networking (corral-net.c): the host end's name, its bridge, eth0's MAC, address/prefix, gateway */
    const char *net_veth, *net_bridge, *net_mac, *net_address, *net_gateway;
};

static struct config cfg;

/* ------------------------------------------------------------------------------------------------ */
/* Failure reporting: every role reports "step: strerror" its own way.                               */

enum role { ROLE_CALLER, ROLE_MONITOR, ROLE_INIT, ROLE_COMMAND };
static enum role role = ROLE_CALLER;
static int report_fd = -1;  /* write end of the report pipe to the caller, while this role has one */
static int status_fd = -1;  /* init: write end of the status pipe to the monitor */
static int execerr_fd = -1; /* command: write end of the exec error pipe to init */
static pid_t init_pid = -1; /* monitor: killed and reaped on failure */

struct status_rec {
    int type; /* 'F' forking the command, 'E' launch failed, 'S' wait status */
    int status;
};

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void send_status(int type, int status)
{
    struct status_rec r = {.type = type, .status = status};
    write_all(status_fd, &r, sizeof r);
}

/* One line to the caller (one write: atomic, as it is shorter than PIPE_BUF). */
static void report(char type, const char *text)
{
    char line[MSG_MAX + 4];
    int n = snprintf(line, sizeof line, "%c%s\n", type, text ? text : "");
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    for (int i = 1; i < n - 1; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    line[n - 1] = '\n';
    if (report_fd >= 0)
        write_all(report_fd, line, (size_t)n);
}

static _Noreturn void fail_msg(const char *msg)
{
    switch (role) {
    case ROLE_CALLER: /* not reached: the caller reports its own failures (start_container) */
        fprintf(stderr, "corral-shim: %s\n", msg);
        exit(1);
    case ROLE_MONITOR:
        if (init_pid > 0) {
            kill(init_pid, SIGKILL);
            while (waitpid(init_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        report('E', msg);
        _exit(1);
    case ROLE_INIT:
        report('E', msg);
        send_status('E', 0);
        _exit(1);
    case ROLE_COMMAND:
        report('E', msg);
        if (execerr_fd >= 0)
            write_all(execerr_fd, "E", 1);
        if (status_fd >= 0) /* without init: the command is init, and tells the monitor itself */
            send_status('E', 0);
        _exit(127);
    }
    _exit(1);
}

/* "step: strerror(err)", the step formatted from fmt. */
__attribute__((format(printf, 2, 3))) static _Noreturn void fail_errno(int err, const char *fmt, ...)
{
    char step[MSG_MAX], msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(step, sizeof step, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%.380s: %s", step, strerror(err));
    fail_msg(msg);
}

__attribute__((format(printf, 1, 2))) static _Noreturn void fail_config(const char *fmt, ...)
{
    char detail[MSG_MAX], msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "config %.200s: %.260s", cfg.path, detail);
    fail_msg(msg);
}

/* ------------------------------------------------------------------------------------------------ */
/* Config parsing                                                                                    */

static void strv_push(struct strv *s, char *v)
{
    if (s->n + 1 >= s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            fail_errno(ENOMEM, "config");
    }
    s->v[s->n++] = v;
    s->v[s->n] = NULL;
}

static int parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static unsigned long long parse_number(const char *key, const char *s, unsigned long long max)
{
    unsigned long long v;
    if (parse_ull(s, max, &v) < 0)
        fail_config("%s: not a number in range: \"%s\"", key, s);
    return v;
}

static int read_cap_last_cap(void)
{
    char buf[16];
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CAP_LAST_CAP;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return CAP_LAST_CAP;
    buf[n] = 0;
    int v = atoi(buf);
    return v > 0 && v < 64 ? v : CAP_LAST_CAP;
}

static void require_absolute(const char *key, const char *v)
{
    if (v[0] != '/')
        fail_config("%s: not an absolute path: \"%s\"", key, v);
}

static void set_once(const char *key, const char **slot, const char *v)
{
    if (*slot)
        fail_config("%s: given more than once", key);
    *slot = v;
}

static void parse_map(const char *key, const char *v)
{
    /* INSIDE OUTSIDE COUNT */
    char tmp[128];
    unsigned long long a, b, c;
    if (strlen(v) >= sizeof tmp)
        fail_config("%s: malformed \"%s\"", key, v);
    strcpy(tmp, v);
    char *save = NULL, *f[4];
    int n = 0;
    for (char *t = strtok_r(tmp, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 3)
            fail_config("%s: expected \"INSIDE OUTSIDE COUNT\": \"%s\"", key, v);
        f[n++] = t;
    }
    if (n != 3 || parse_ull(f[0], UINT32_MAX, &a) || parse_ull(f[1], UINT32_MAX, &b) ||
        parse_ull(f[2], UINT32_MAX, &c) || c == 0)
        fail_config("%s: expected \"INSIDE OUTSIDE COUNT\": \"%s\"", key, v);
}

/* The options both bind and tmpfs mounts take as mount(2) flags; returns 0 for any other. */
static int mount_flag_option(const char *o, struct mount_entry *m)
{
    if (strcmp(o, "ro") == 0)
        m->ro = 1;
    else if (strcmp(o, "rw") == 0)
        m->ro = 0;
    else if (strcmp(o, "nosuid") == 0)
        m->flags |= MS_NOSUID;
    else if (strcmp(o, "nodev") == 0)
        m->flags |= MS_NODEV;
    else if (strcmp(o, "noexec") == 0)
        m->flags |= MS_NOEXEC;
    else
        return 0;
    return 1;
}

static void parse_mount(char *v)
{
    const char *orig = strdup(v);
    char *f[4];
    int n = 0;
    char *p = v;
    f[n++] = p;
    for (; *p; p++) {
        if (*p == '\t') {
            if (n == 4)
                fail_config("mount: expected \"TYPE\\tSOURCE\\tDEST\\tOPTIONS\": \"%s\"", orig);
            *p = 0;
            f[n++] = p + 1;
        }
    }
    if (n != 4)
        fail_config("mount: expected \"TYPE\\tSOURCE\\tDEST\\tOPTIONS\": \"%s\"", orig);
    struct mount_entry m;
    memset(&m, 0, sizeof m);
    m.source = f[1];
    m.dest = f[2];
    m.data = f[3];
    if (m.dest[0] != '/')
        fail_config("mount: destination not an absolute path: \"%s\"", m.dest);
    if (strcmp(f[0], "bind") == 0) {
        m.type = MOUNT_BIND;
        if (m.source[0] != '/')
            fail_config("mount: bind source not an absolute path: \"%s\"", m.source);
        char *opts = strdup(f[3]), *save = NULL;
        for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
            if (strcmp(o, "rec") == 0 || strcmp(o, "rbind") == 0)
                m.rec = 1;
            else if (!mount_flag_option(o, &m))
                fail_config("mount: unknown bind option \"%s\" in \"%s\"", o, orig);
        }
        free(opts);
    } else if (strcmp(f[0], "tmpfs") == 0) {
        /* Mount flags (ro, nosuid, ...) are flags for mount(2), not tmpfs data: the kernel ignores
         * them there. The rest (size=, mode=, ...) is passed as data. */
        m.type = MOUNT_TMPFS;
        m.flags = MS_NOSUID | MS_NODEV;
        char *opts = strdup(f[3]), *save = NULL;
        m.data = calloc(1, strlen(f[3]) + 1);
        if (!opts || !m.data)
            fail_errno(ENOMEM, "config");
        for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
            if (strcmp(o, "exec") == 0)
                m.flags &= ~(unsigned long)MS_NOEXEC;
            else if (!mount_flag_option(o, &m)) {
                if (m.data[0])
                    strcat(m.data, ",");
                strcat(m.data, o);
            }
        }
        free(opts);
    } else {
        fail_config("mount: unknown type \"%s\" (bind or tmpfs)", f[0]);
    }
    cfg.mounts = realloc(cfg.mounts, (cfg.n_mounts + 1) * sizeof *cfg.mounts);
    if (!cfg.mounts)
        fail_errno(ENOMEM, "config");
    cfg.mounts[cfg.n_mounts++] = m;
    free((void *)orig);
}

static void parse_groups(char *v)
{
    if (cfg.have_groups)
        fail_config("groups: given more than once");
    cfg.have_groups = 1;
    if (!*v)
        return;
    char *save = NULL;
    for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        cfg.groups = realloc(cfg.groups, (cfg.n_groups + 1) * sizeof *cfg.groups);
        if (!cfg.groups)
            fail_errno(ENOMEM, "config");
        cfg.groups[cfg.n_groups++] = (gid_t)parse_number("groups", t, UINT32_MAX - 1);
    }
}

static void parse_config(const char *path)
{
    cfg.path = path;
    cfg.no_new_privs = 1;
    cfg.log_max_bytes = 10LL * 1024 * 1024;
    cfg.log_max_files = 3;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_errno(errno, "read config %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        fail_errno(errno, "read config %s", path);
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        fail_errno(ENOMEM, "read config %s", path);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (!buf)
                fail_errno(ENOMEM, "read config %s", path);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail_errno(errno, "read config %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (len > 0 && buf[len - 1] != 0)
        fail_config("truncated: the last record does not end with NUL");
    buf[len] = 0;

    int last_cap = cfg.last_cap = read_cap_last_cap();
    int have_uid = 0, have_gid = 0, have_nnp = 0, have_rro = 0, have_host_root = 0, have_lmb = 0, have_lmf = 0;
    size_t i = 0;
    while (i < len) {
        char *key = buf + i;
        i += strlen(key) + 1;
        if (i >= len)
            fail_config("key \"%s\" has no value", key);
        char *v = buf + i;
        i += strlen(v) + 1;

        if (strcmp(key, "arg") == 0) {
            strv_push(&cfg.arg, v);
        } else if (strcmp(key, "env") == 0) {
            if (!strchr(v, '=') || v[0] == '=')
                fail_config("env: expected NAME=value: \"%s\"", v);
            strv_push(&cfg.env, v);
        } else if (strcmp(key, "cwd") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.cwd, v);
        } else if (strcmp(key, "hostname") == 0) {
            if (strlen(v) > 64)
                fail_config("hostname: longer than 64 bytes");
            set_once(key, &cfg.hostname, v);
        } else if (strcmp(key, "ns") == 0) {
            int f;
            if (strcmp(v, "pid") == 0)
                f = CLONE_NEWPID;
            else if (strcmp(v, "mount") == 0)
                f = CLONE_NEWNS;
            else if (strcmp(v, "uts") == 0)
                f = CLONE_NEWUTS;
            else if (strcmp(v, "ipc") == 0)
                f = CLONE_NEWIPC;
            else if (strcmp(v, "net") == 0)
                f = CLONE_NEWNET;
            else if (strcmp(v, "user") == 0)
                f = CLONE_NEWUSER;
            else if (strcmp(v, "cgroup") == 0) {
                cfg.ns_cgroup = 1;
                continue;
            } else
                fail_config("ns: unknown namespace \"%s\" (pid, mount, uts, ipc, net, user, cgroup)", v);
            cfg.clone_flags |= f;
        } else if (strcmp(key, "cgroup_procs") == 0) {
            require_absolute(key, v);
            strv_push(&cfg.cgroup_procs, v);
        } else if (strcmp(key, "rootfs") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.rootfs, v);
        } else if (strcmp(key, "overlay_lower") == 0) {
            require_absolute(key, v);
            strv_push(&cfg.overlay_lower, v);
        } else if (strcmp(key, "overlay_upper") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.overlay_upper, v);
        } else if (strcmp(key, "overlay_work") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.overlay_work, v);
        } else if (strcmp(key, "readonly_rootfs") == 0) {
            if (have_rro++)
                fail_config("%s: given more than once", key);
            cfg.readonly_rootfs = (int)parse_number(key, v, 1);
        } else if (strcmp(key, "host_root") == 0) {
            if (have_host_root++)
                fail_config("%s: given more than once", key);
            cfg.host_root = (int)parse_number(key, v, 1);
        } else if (strcmp(key, "mount") == 0) {
            parse_mount(v);
        } else if (strcmp(key, "mask_path") == 0) {
            require_absolute(key, v);
            strv_push(&cfg.mask_path, v);
        } else if (strcmp(key, "readonly_path") == 0) {
            require_absolute(key, v);
            strv_push(&cfg.readonly_path, v);
        } else if (strcmp(key, "uid_map") == 0) {
            parse_map(key, v);
            strv_push(&cfg.uid_map, v);
        } else if (strcmp(key, "gid_map") == 0) {
            parse_map(key, v);
            strv_push(&cfg.gid_map, v);
        } else if (strcmp(key, "uid") == 0) {
            if (have_uid++)
                fail_config("%s: given more than once", key);
            cfg.uid = (uid_t)parse_number(key, v, UINT32_MAX - 1);
        } else if (strcmp(key, "gid") == 0) {
            if (have_gid++)
                fail_config("%s: given more than once", key);
            cfg.gid = (gid_t)parse_number(key, v, UINT32_MAX - 1);
        } else if (strcmp(key, "groups") == 0) {
            parse_groups(v);
        } else if (strcmp(key, "cap") == 0) {
            unsigned long long c;
            if (parse_ull(v, 63, &c) < 0 || (int)c > last_cap)
                fail_config("cap: not a capability number in 0..%d: \"%s\"", last_cap, v);
            cfg.caps |= 1ULL << c;
        } else if (strcmp(key, "init") == 0) {
            cfg.init = (int)parse_number(key, v, 1);
        } else if (strcmp(key, "no_new_privs") == 0) {
            if (have_nnp++)
                fail_config("%s: given more than once", key);
            cfg.no_new_privs = (int)parse_number(key, v, 1);
        } else if (strcmp(key, "log_dir") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.log_dir, v);
        } else if (strcmp(key, "log_max_bytes") == 0) {
            if (have_lmb++)
                fail_config("%s: given more than once", key);
            cfg.log_max_bytes = (long long)parse_number(key, v, LLONG_MAX);
            if (cfg.log_max_bytes < 1)
                fail_config("%s: must be at least 1", key);
        } else if (strcmp(key, "log_max_files") == 0) {
            if (have_lmf++)
                fail_config("%s: given more than once", key);
            cfg.log_max_files = (int)parse_number(key, v, 1000);
            if (cfg.log_max_files < 1)
                fail_config("%s: must be at least 1", key);
        } else if (strcmp(key, "exit_file") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.exit_file, v);
        } else if (strcmp(key, "device_cgroup") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.device_cgroup, v);
        } else if (strcmp(key, "device_rule") == 0) {
            strv_push(&cfg.device_rule, v);
        } else if (strcmp(key, "net_veth") == 0) {
            if (strlen(v) == 0 || strlen(v) >= IFNAMSIZ)
                fail_config("net_veth: not an interface name: \"%s\"", v);
            set_once(key, &cfg.net_veth, v);
        } else if (strcmp(key, "net_bridge") == 0) {
            set_once(key, &cfg.net_bridge, v);
        } else if (strcmp(key, "net_mac") == 0) {
            set_once(key, &cfg.net_mac, v);
        } else if (strcmp(key, "net_address") == 0) {
            set_once(key, &cfg.net_address, v);
        } else if (strcmp(key, "net_gateway") == 0) {
            set_once(key, &cfg.net_gateway, v);
        } else {
            fail_config("unknown key \"%s\"", key);
        }
    }

    if (cfg.arg.n == 0)
        fail_config("missing arg (the command)");
    if (cfg.arg.v[0][0] == 0)
        fail_config("arg: the first arg (the program) is empty");
    int mnt = cfg.clone_flags & CLONE_NEWNS;
    if (!mnt && (cfg.rootfs || cfg.readonly_rootfs || cfg.n_mounts || cfg.mask_path.n || cfg.readonly_path.n))
        fail_config("rootfs, readonly_rootfs, mount, mask_path and readonly_path need \"ns mount\"");
    if (cfg.host_root && (!cfg.rootfs || cfg.overlay_lower.n))
        fail_config("host_root needs rootfs (the mount point) and no overlay");
    if ((cfg.overlay_lower.n || cfg.overlay_upper || cfg.overlay_work) && !cfg.rootfs)
        fail_config("overlay_lower, overlay_upper and overlay_work need rootfs (the mount point)");
    if ((cfg.overlay_upper || cfg.overlay_work) && cfg.overlay_lower.n == 0)
        fail_config("overlay_upper and overlay_work need overlay_lower");
    if (!cfg.overlay_upper != !cfg.overlay_work)
        fail_config("overlay_upper and overlay_work go together");
    if (cfg.hostname && !(cfg.clone_flags & CLONE_NEWUTS))
        fail_config("hostname needs \"ns uts\"");
    int user = cfg.clone_flags & CLONE_NEWUSER;
    if (user && (cfg.uid_map.n == 0 || cfg.gid_map.n == 0))
        fail_config("\"ns user\" needs uid_map and gid_map");
    if (!user && (cfg.uid_map.n || cfg.gid_map.n))
        fail_config("uid_map and gid_map need \"ns user\"");
    int net = !!cfg.net_veth + !!cfg.net_bridge + !!cfg.net_mac + !!cfg.net_address + !!cfg.net_gateway;
    if (net != 0 && net != 5)
        fail_config("net_veth, net_bridge, net_mac, net_address and net_gateway go together");
    if (net && !(cfg.clone_flags & CLONE_NEWNET))
        fail_config("net_veth needs \"ns net\"");
    if (!cfg.cwd)
        cfg.cwd = "/";
}

/* ------------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                     */

static void xpipe(int fds[2], const char *what)
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        fail_errno(errno, "pipe %s", what);
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = write(fd, data, len);
    while (n < 0 && errno == EINTR);
    int err = errno;
    close(fd);
    if (n < 0) {
        errno = err;
        return -1;
    }
    if ((size_t)n != len) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static void close_fds_from(unsigned int first, unsigned int last)
{
    if (first > last)
        return;
    if (syscall(SYS_close_range, first, last, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (long fd = first; fd < max && fd <= (long)last; fd++)
        close((int)fd);
}

/* ------------------------------------------------------------------------------------------------ */
/* Init: mounts                                                                                      */

static char *in_root(const char *path)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *b = bufs[next++ & 3];
    const char *root = cfg.rootfs ? cfg.rootfs : "";
    /* rootfs "/" would give "//x", harmless */
    if ((size_t)snprintf(b, PATH_MAX, "%s%s", root, path) >= PATH_MAX)
        fail_errno(ENAMETOOLONG, "path %s%s", root, path);
    return b;
}

static void mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    size_t len = strlen(tmp);
    while (len > 1 && tmp[len - 1] == '/')
        tmp[--len] = 0;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, mode) < 0 && errno != EEXIST)
                fail_errno(errno, "mkdir %s", tmp);
            *p = '/';
        }
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        fail_errno(errno, "mkdir %s", tmp);
}

static void ensure_dir(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return;
    mkdir_p(path, 0755);
}

static void ensure_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        ensure_dir(parent);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        fail_errno(errno, "create mount point %s", path);
    close(fd);
}

/* The flags a bind remount must keep (the kernel refuses to clear locked ones in a user namespace). */
static unsigned long kept_mount_flags(const char *path)
{
    struct statvfs s;
    unsigned long f = 0;
    if (statvfs(path, &s) < 0)
        return 0;
    if (s.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (s.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (s.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (s.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (s.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (s.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

static void remount_ro(const char *path, unsigned long extra);

/* Read-only for the mount at path and every mount under it (Linux >= 5.12), else for the top one. */
static void remount_ro_rec(const char *path)
{
    struct corral_mount_attr attr = {.attr_set = CORRAL_MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) == 0)
        return;
    if (errno != ENOSYS)
        fail_errno(errno, "make %s read-only", path);
    remount_ro(path, 0);
}

static void remount_ro(const char *path, unsigned long extra)
{
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | extra | kept_mount_flags(path);
    if (mount(NULL, path, NULL, flags, NULL) < 0)
        fail_errno(errno, "remount %s read-only", path);
}

static void xmount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
                   const char *what)
{
    if (mount(src, dst, type, flags, data) < 0)
        fail_errno(errno, "mount %s on %s", what, dst);
}

static void setup_dev(void)
{
    static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
    char *dev = in_root("/dev");
    ensure_dir(dev);
    xmount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "tmpfs");
    char path[PATH_MAX], src[32];
    for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, devs[i]);
        snprintf(src, sizeof src, "/dev/%s", devs[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0)
            fail_errno(errno, "create %s", path);
        close(fd);
        xmount(src, path, NULL, MS_BIND, NULL, src);
    }
    snprintf(path, sizeof path, "%s/pts", dev);
    if (mkdir(path, 0755) < 0)
        fail_errno(errno, "mkdir %s", path);
    xmount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", "devpts");
    snprintf(path, sizeof path, "%s/shm", dev);
    if (mkdir(path, 01777) < 0)
        fail_errno(errno, "mkdir %s", path);
    xmount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", "tmpfs");
    static const char *const links[][2] = {
        {"pts/ptmx", "ptmx"},         {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, links[i][1]);
        if (symlink(links[i][0], path) < 0)
            fail_errno(errno, "symlink %s", path);
    }
}

/* Appends path to the overlay option string with ',' ':' and '\\' escaped, as overlayfs parses them. */
static size_t append_escaped(char *buf, size_t len, size_t cap, const char *path)
{
    for (const char *p = path; *p; p++) {
        if (len + 3 >= cap)
            return cap;
        if (*p == ',' || *p == ':' || *p == '\\')
            buf[len++] = '\\';
        buf[len++] = *p;
    }
    buf[len] = 0;
    return len;
}

/* The image's root on the mount point, in this (the container's) mount namespace: overlayfs with the layers
 * as lower dirs (top first) and the container's upper/work dirs; read-only without an upper dir. overlayfs
 * needs two lower dirs without an upper one, so one lower dir alone is bind-mounted read-only instead. */
static void mount_overlay(void)
{
    if (cfg.overlay_lower.n == 1 && !cfg.overlay_upper) {
        xmount(cfg.overlay_lower.v[0], cfg.rootfs, NULL, MS_BIND | MS_REC, NULL, cfg.overlay_lower.v[0]);
        remount_ro(cfg.rootfs, 0);
        return;
    }
    /* The kernel takes at most a page of mount options. */
    static char opts[4096];
    size_t cap = sizeof opts, len = (size_t)snprintf(opts, cap, "lowerdir=");
    for (size_t i = 0; i < cfg.overlay_lower.n && len < cap; i++) {
        if (i > 0 && len + 1 < cap) {
            opts[len++] = ':';
            opts[len] = 0;
        }
        len = append_escaped(opts, len, cap, cfg.overlay_lower.v[i]);
    }
    if (cfg.overlay_upper && len < cap) {
        len += (size_t)snprintf(opts + len, cap - len, ",upperdir=");
        if (len < cap)
            len = append_escaped(opts, len, cap, cfg.overlay_upper);
        if (len < cap)
            len += (size_t)snprintf(opts + len, cap - len, ",workdir=");
        if (len < cap)
            len = append_escaped(opts, len, cap, cfg.overlay_work);
    }
    if (len >= cap - 1)
        fail_errno(E2BIG, "overlay: the options for %zu layers are over the kernel's %zu bytes (fewer layers, or a "
                   "shorter state dir path)", cfg.overlay_lower.n, cap - 1);
    if (mount("overlay", cfg.rootfs, "overlay", cfg.overlay_upper ? 0 : MS_RDONLY, opts) < 0)
        fail_errno(errno, "mount overlay on %s", cfg.rootfs);
}

/* The host's root, bound recursively on the mount point. Its /proc, /sys and /dev are detached: the container
 * gets its own below (where a user namespace locks them, the container's are mounted over them). With
 * readonly_rootfs every mount in it turns read-only at once, before any of the container's own mounts exist;
 * a kernel that cannot do that recursively (before 5.12) refuses rather than leave a submount writable. */
static void mount_host_root(void)
{
    xmount("/", cfg.rootfs, NULL, MS_BIND | MS_REC, NULL, "/");
    static const char *const kernel[] = {"/proc", "/sys", "/dev"};
    for (size_t i = 0; i < sizeof kernel / sizeof *kernel; i++)
        umount2(in_root(kernel[i]), MNT_DETACH);
    if (cfg.readonly_rootfs) {
        struct corral_mount_attr attr = {.attr_set = CORRAL_MOUNT_ATTR_RDONLY};
        if (syscall(SYS_mount_setattr, AT_FDCWD, cfg.rootfs, AT_RECURSIVE, &attr, sizeof attr) < 0)
            fail_errno(errno, "make the host's root read-only%s", errno == ENOSYS ? " (needs Linux 5.12)" : "");
    }
}

static void setup_mounts(void)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail_errno(errno, "make / private");
    int newpid = cfg.clone_flags & CLONE_NEWPID;
    if (cfg.rootfs) {
        if (cfg.host_root)
            mount_host_root();
        else if (cfg.overlay_lower.n)
            mount_overlay();
        else if (mount(cfg.rootfs, cfg.rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
            fail_errno(errno, "bind rootfs %s", cfg.rootfs);
        char *proc = in_root("/proc");
        ensure_dir(proc);
        xmount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc");
        setup_dev();
        char *sys = in_root("/sys");
        ensure_dir(sys);
        if (cfg.clone_flags & CLONE_NEWNET) {
            xmount("sysfs", sys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, "sysfs");
        } else {
            /* Not recursive: the host's cgroup and other mounts under /sys stay out. */
            xmount("/sys", sys, NULL, MS_BIND, NULL, "/sys");
            remount_ro(sys, 0);
        }
    } else if (newpid) {
        xmount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc");
    }

    for (size_t i = 0; i < cfg.n_mounts; i++) {
        struct mount_entry *m = &cfg.mounts[i];
        char *dst = in_root(m->dest);
        if (m->type == MOUNT_BIND) {
            struct stat st;
            if (stat(m->source, &st) < 0)
                fail_errno(errno, "bind mount source %s", m->source);
            if (S_ISDIR(st.st_mode))
                ensure_dir(dst);
            else
                ensure_file(dst);
            xmount(m->source, dst, NULL, MS_BIND | (m->rec ? MS_REC : 0), NULL, m->source);
            if (m->ro && m->rec)
                remount_ro_rec(dst);
            if ((m->ro && !m->rec) || m->flags) {
                unsigned long f = MS_BIND | MS_REMOUNT | (m->ro ? MS_RDONLY : 0) | m->flags | kept_mount_flags(dst);
                if (mount(NULL, dst, NULL, f, NULL) < 0)
                    fail_errno(errno, "remount %s%s", dst, m->ro ? " read-only" : "");
            }
        } else {
            ensure_dir(dst);
            xmount(m->source[0] ? m->source : "tmpfs", dst, "tmpfs", m->flags | (m->ro ? MS_RDONLY : 0), m->data,
                   "tmpfs");
        }
    }

    for (size_t i = 0; i < cfg.mask_path.n; i++) {
        char *p = in_root(cfg.mask_path.v[i]);
        struct stat st;
        if (stat(p, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            fail_errno(errno, "mask %s", p);
        }
        if (S_ISDIR(st.st_mode))
            xmount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", "tmpfs");
        else
            xmount("/dev/null", p, NULL, MS_BIND, NULL, "/dev/null");
    }

    for (size_t i = 0; i < cfg.readonly_path.n; i++) {
        char *p = in_root(cfg.readonly_path.v[i]);
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            fail_errno(errno, "bind %s", p);
        }
        remount_ro_rec(p);
    }

    if (cfg.rootfs) {
        if (chdir(cfg.rootfs) < 0)
            fail_errno(errno, "chdir %s", cfg.rootfs);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
            fail_errno(errno, "pivot_root %s", cfg.rootfs);
        if (umount2(".", MNT_DETACH) < 0)
            fail_errno(errno, "detach the old root");
        if (chdir("/") < 0)
            fail_errno(errno, "chdir /");
    }
    if (cfg.readonly_rootfs)
        remount_ro("/", 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Init: network, credentials                                                                        */

static void loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        fail_errno(errno, "loopback: socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        fail_errno(errno, "loopback: get flags of lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        fail_errno(errno, "loopback: bring lo up");
    close(s);
}

static void set_credentials(void)
{
    int last_cap = cfg.last_cap;
    /* The bounding set first: dropping needs CAP_SETPCAP in the effective set, lost at setuid. */
    for (int c = 0; c <= last_cap; c++)
        if (!(cfg.caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            fail_errno(errno, "drop capability %d from the bounding set", c);

    int userns = cfg.clone_flags & CLONE_NEWUSER;
    /* In a user namespace with setgroups denied, supplementary groups cannot be changed. */
    if (cfg.n_groups || !userns)
        if (setgroups(cfg.n_groups, cfg.groups) < 0)
            fail_errno(errno, "setgroups");
    if (setresgid(cfg.gid, cfg.gid, cfg.gid) < 0)
        fail_errno(errno, "setgid %u", (unsigned)cfg.gid);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        fail_errno(errno, "prctl PR_SET_KEEPCAPS");
    if (setresuid(cfg.uid, cfg.uid, cfg.uid) < 0)
        fail_errno(errno, "setuid %u", (unsigned)cfg.uid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        fail_errno(errno, "prctl PR_SET_KEEPCAPS");

    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (int i = 0; i < 2; i++) {
        uint32_t word = (uint32_t)(cfg.caps >> (32 * i));
        data[i].effective = data[i].permitted = data[i].inheritable = word;
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail_errno(errno, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        fail_errno(errno, "clear ambient capabilities");
    for (int c = 0; c <= last_cap; c++)
        if ((cfg.caps & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 &&
            errno != EPERM && errno != EINVAL)
            fail_errno(errno, "raise ambient capability %d", c);
    if (cfg.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail_errno(errno, "prctl PR_SET_NO_NEW_PRIVS");
}

/* ------------------------------------------------------------------------------------------------ */
/* The command                                                                                       */

static const char *env_path(void)
{
    for (size_t i = 0; i < cfg.env.n; i++)
        if (strncmp(cfg.env.v[i], "PATH=", 5) == 0)
            return cfg.env.v[i] + 5;
    return DEFAULT_PATH;
}

static _Noreturn void exec_command(int out_fd, int err_fd)
{
    role = ROLE_COMMAND;
    if (setsid() < 0)
        fail_errno(errno, "setsid");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* fd 0 is already /dev/null (the monitor's). */
    if (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        fail_errno(errno, "dup2 log pipes");
    /* Keep only 0, 1, 2 and the (close-on-exec) report, exec error and status pipes. */
    int keep[3] = {report_fd, execerr_fd, status_fd};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (keep[j] < keep[i]) {
                int t = keep[i];
                keep[i] = keep[j];
                keep[j] = t;
            }
    unsigned int next = 3;
    for (int i = 0; i < 3; i++) {
        if (keep[i] < (int)next)
            continue;
        close_fds_from(next, (unsigned)keep[i] - 1);
        next = (unsigned)keep[i] + 1;
    }
    close_fds_from(next, ~0U);

    const char *prog = cfg.arg.v[0];
    char **envp = cfg.env.v;
    static char *empty_env[] = {NULL};
    if (!envp)
        envp = empty_env;
    if (strchr(prog, '/')) {
        execve(prog, cfg.arg.v, envp);
        fail_errno(errno, "exec %s", prog);
    }
    const char *path = env_path();
    int err = ENOENT;
    char buf[PATH_MAX];
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dlen = (size_t)(end - p);
        if (dlen == 0) {
            snprintf(buf, sizeof buf, "%s", prog);
        } else if (dlen + 1 + strlen(prog) < sizeof buf) {
            memcpy(buf, p, dlen);
            buf[dlen] = '/';
            strcpy(buf + dlen + 1, prog);
        } else {
            goto next;
        }
        execve(buf, cfg.arg.v, envp);
        switch (errno) {
        case ENOENT:
        case ENOTDIR:
        case ESTALE:
        case ENODEV:
        case ETIMEDOUT:
            break;
        case EACCES:
            err = EACCES;
            break;
        default:
            fail_errno(errno, "exec %s", buf);
        }
    next:
        if (!*end)
            break;
        p = end;
    }
    fail_errno(err, "exec %s", prog);
}

/* ------------------------------------------------------------------------------------------------ */
/* Init                                                                                              */

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* The signals init forwards, plus SIGCHLD: blocked in init from its first instruction (the monitor
 * blocks them around clone), so one sent during the setup is queued and forwarded, not lost. (A PID 1
 * drops signals it neither handles nor blocks.) */
static void init_sigset(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
        sigaddset(set, forwarded[i]);
    sigaddset(set, SIGCHLD);
}

static _Noreturn void run_init(int out_fd, int err_fd, int sync_fd)
{
    role = ROLE_INIT;
    prctl(PR_SET_NAME, "corral-init", 0, 0, 0);

    /* 1. Cgroups, before anything else. */
    for (size_t i = 0; i < cfg.cgroup_procs.n; i++)
        if (write_file(cfg.cgroup_procs.v[i], "0", 1) < 0)
            fail_errno(errno, "join cgroup %s", cfg.cgroup_procs.v[i]);

    /* 2. The monitor writes uid_map/gid_map, then one byte. */
    if (sync_fd >= 0) {
        char c;
        ssize_t n;
        do
            n = read(sync_fd, &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            _exit(1); /* the monitor failed and reports it */
        close(sync_fd);
        /* Become the namespace's root (mapped) before the rest of the setup. */
        if ((cfg.clone_flags & CLONE_NEWUSER) && setresgid(0, 0, 0) < 0)
            fail_errno(errno, "setgid 0 in the user namespace");
        if ((cfg.clone_flags & CLONE_NEWUSER) && setresuid(0, 0, 0) < 0)
            fail_errno(errno, "setuid 0 in the user namespace");
    }

    if (cfg.ns_cgroup && unshare(CLONE_NEWCGROUP) < 0)
        fail_errno(errno, "unshare cgroup namespace");
    if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0)
        fail_errno(errno, "sethostname %s", cfg.hostname);
    if (cfg.clone_flags & CLONE_NEWNS)
        setup_mounts();
    if (cfg.clone_flags & CLONE_NEWNET)
        loopback_up();
    if (cfg.net_veth) { /* the monitor made eth0 before the sync byte */
        char msg[MSG_MAX];
        if (net_setup_eth0(cfg.net_address, cfg.net_gateway, msg, sizeof msg) < 0)
            fail_msg(msg);
    }
    if (cfg.init && !(cfg.clone_flags & CLONE_NEWPID))
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); /* still reap the command's orphans */
    set_credentials();
    if (chdir(cfg.cwd) < 0)
        fail_errno(errno, "chdir %s", cfg.cwd);

    sigset_t set;
    init_sigset(&set); /* already blocked since clone */

    if (!cfg.init) {
        /* The command is PID 1 itself: its signals are its own business (a PID 1 ignores those it has no
         * handler for, as in Docker without --init; the agent's stop ends with SIGKILL). The status pipe
         * closes at the exec; a failed exec reports 'E' on it (fail_msg). */
        send_status('F', 0);
        report('F', NULL);
        exec_command(out_fd, err_fd);
    }

    int ep[2];
    xpipe(ep, "exec status");
    /* From here the caller reports success unless the command reports a failed exec. */
    send_status('F', 0);
    report('F', NULL);
    pid_t cmd = fork();
    if (cmd < 0)
        fail_errno(errno, "fork the command");
    if (cmd == 0) {
        close(ep[0]);
        close(status_fd);
        status_fd = -1;
        execerr_fd = ep[1];
        exec_command(out_fd, err_fd);
    }
    close(report_fd);
    report_fd = -1;
    close(ep[1]);
    close(out_fd);
    close(err_fd);

    char c;
    ssize_t n = read_full(ep[0], &c, 1);
    close(ep[0]);
    if (n > 0) {
        /* The command told the caller why; tell the monitor the launch failed. */
        while (waitpid(cmd, NULL, 0) < 0 && errno == EINTR)
            ;
        send_status('E', 0);
        _exit(1);
    }

    int cmd_status = 0;
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            int st, done = 0;
            pid_t p;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == cmd) {
                    cmd_status = st;
                    done = 1;
                }
            if (done)
                break;
        } else {
            kill(cmd, sig);
        }
    }
    send_status('S', cmd_status);
    if (WIFEXITED(cmd_status))
        _exit(WEXITSTATUS(cmd_status));
    _exit(128 + WTERMSIG(cmd_status));
}

/* ------------------------------------------------------------------------------------------------ */
/* Monitor: logs                                                                                     */

struct log {
    const char *name; /* "stdout.log" */
    int pipe_fd;      /* read end, -1 at EOF */
    int file_fd;
    long long size;
};

static int log_dir_fd = -1;

static void log_open(struct log *l)
{
    l->file_fd = openat(log_dir_fd, l->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
    if (l->file_fd < 0)
        fail_errno(errno, "open %s/%s", cfg.log_dir, l->name);
    struct stat st;
    l->size = fstat(l->file_fd, &st) == 0 ? st.st_size : 0;
}

static void log_rotate(struct log *l)
{
    char from[PATH_MAX], to[PATH_MAX];
    close(l->file_fd);
    l->file_fd = -1;
    if (cfg.log_max_files <= 1) {
        l->file_fd = openat(log_dir_fd, l->name, O_WRONLY | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        l->size = 0;
        return;
    }
    /* x.log.(N-2) -> x.log.(N-1), ..., x.log -> x.log.1: N files in all. */
    for (int i = cfg.log_max_files - 2; i >= 0; i--) {
        if (i == 0)
            snprintf(from, sizeof from, "%s", l->name);
        else
            snprintf(from, sizeof from, "%s.%d", l->name, i);
        snprintf(to, sizeof to, "%s.%d", l->name, i + 1);
        renameat(log_dir_fd, from, log_dir_fd, to);
    }
    l->file_fd = openat(log_dir_fd, l->name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
    l->size = 0;
}

static void log_pump(struct log *l)
{
    static char buf[65536];
    ssize_t n = read(l->pipe_fd, buf, sizeof buf);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        n = 0;
    }
    if (n == 0) {
        close(l->pipe_fd);
        l->pipe_fd = -1;
        return;
    }
    /* Rotate before a chunk that would overflow the file; a chunk is never split. */
    if (l->size > 0 && l->size + n > cfg.log_max_bytes)
        log_rotate(l);
    if (l->file_fd >= 0)
        write_all(l->file_fd, buf, (size_t)n);
    l->size += n;
}

/* ------------------------------------------------------------------------------------------------ */
/* Monitor                                                                                           */

static void write_exit_file(int status, long long finished_ms)
{
    int code, sig;
    if (WIFSIGNALED(status)) {
        sig = WTERMSIG(status);
        code = 128 + sig;
    } else {
        sig = 0;
        code = WEXITSTATUS(status);
    }
    char json[128], tmp[PATH_MAX];
    int len = snprintf(json, sizeof json, "{\"exitCode\":%d,\"signal\":%d,\"finishedAtMillis\":%lld}\n", code, sig,
                       finished_ms);
    snprintf(tmp, sizeof tmp, "%s.tmp", cfg.exit_file);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return;
    write_all(fd, json, (size_t)len);
    /* Renamed before the fsyncs, which then wait off the agent's path (the rename is what it watches for; a file
     * fsync is ~2 ms here). A machine crash between the rename and the fsync may leave the file empty, which the
     * agent reads as "exit status unknown": what a crash before the rename leaves too. */
    if (rename(tmp, cfg.exit_file) < 0) {
        close(fd);
        return;
    }
    fsync(fd);
    close(fd);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", cfg.exit_file);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

static void write_id_maps(pid_t pid)
{
    char path[64], buf[4096];
    size_t len = 0;
    for (int which = 0; which < 2; which++) {
        struct strv *m = which == 0 ? &cfg.uid_map : &cfg.gid_map;
        const char *name = which == 0 ? "uid_map" : "gid_map";
        if (which == 1 && cfg.n_groups == 0) {
            snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
            if (write_file(path, "deny", 4) < 0)
                fail_errno(errno, "write %s", path);
        }
        len = 0;
        for (size_t i = 0; i < m->n; i++) {
            int n = snprintf(buf + len, sizeof buf - len, "%s\n", m->v[i]);
            if (n < 0 || (size_t)n >= sizeof buf - len)
                fail_errno(E2BIG, "write %s", name);
            len += (size_t)n;
        }
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
        if (write_file(path, buf, len) < 0)
            fail_errno(errno, "write %s", path);
    }
}

static long long now_millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Noreturn void run_monitor(int report_w)
{
    role = ROLE_MONITOR;
    report_fd = report_w;
    /* Nothing the caller leaked may outlive it through us: keep only stdio and the report pipe. */
    if (report_w > 3)
        close_fds_from(3, (unsigned)report_w - 1);
    close_fds_from((unsigned)report_w + 1, ~0U);
    if (setsid() < 0)
        fail_errno(errno, "setsid");
    prctl(PR_SET_NAME, "corral-shim", 0, 0, 0);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        fail_errno(errno, "open /dev/null");
    if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
        fail_errno(errno, "dup2 /dev/null");
    if (chdir("/") < 0)
        fail_errno(errno, "chdir /");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    struct log logs[2] = {{"stdout.log", -1, -1, 0}, {"stderr.log", -1, -1, 0}};
    int out_w = devnull, err_w = devnull;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    if (cfg.log_dir) {
        log_dir_fd = open(cfg.log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (log_dir_fd < 0)
            fail_errno(errno, "open log_dir %s", cfg.log_dir);
        log_open(&logs[0]);
        log_open(&logs[1]);
        xpipe(out_p, "stdout");
        xpipe(err_p, "stderr");
        logs[0].pipe_fd = out_p[0];
        logs[1].pipe_fd = err_p[0];
        out_w = out_p[1];
        err_w = err_p[1];
    }

    int sp[2], syncp[2] = {-1, -1};
    xpipe(sp, "status");
    if ((cfg.clone_flags & CLONE_NEWUSER) || cfg.net_veth)
        xpipe(syncp, "user namespace or network sync");

    sigset_t init_set, old_set;
    init_sigset(&init_set);
    sigprocmask(SIG_BLOCK, &init_set, &old_set);
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)cfg.clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0)
        fail_errno(errno, "clone init");
    if (pid == 0) {
        /* init: keep the report and status write ends, the log write ends and the sync read end. */
        close(sp[0]);
        status_fd = sp[1];
        if (syncp[1] >= 0)
            close(syncp[1]);
        if (out_p[0] >= 0) {
            close(out_p[0]);
            close(err_p[0]);
        }
        if (log_dir_fd >= 0)
            close(log_dir_fd);
        for (int i = 0; i < 2; i++)
            if (logs[i].file_fd >= 0)
                close(logs[i].file_fd);
        run_init(out_w, err_w, syncp[0]);
    }
    init_pid = pid;
    /* SIGCHLD stays blocked, for the signalfd that tells when init exits (without corral-init the status
     * pipe closes at the command's exec, long before). */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_SETMASK, &old_set, NULL);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int chld_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (chld_fd < 0)
        fail_errno(errno, "signalfd");
    close(sp[1]);
    if (out_p[1] >= 0) {
        close(out_p[1]);
        close(err_p[1]);
    }
    if (syncp[0] >= 0) {
        close(syncp[0]);
        if (cfg.clone_flags & CLONE_NEWUSER)
            write_id_maps(pid);
    }
    if (cfg.net_veth) {
        char msg[MSG_MAX];
        if (net_make_veth(cfg.net_veth, cfg.net_bridge, cfg.net_mac, pid, msg, sizeof msg) < 0)
            fail_msg(msg); /* kills init: its netns, and with it anything made, goes */
    }
    char pidbuf[16];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
    report('P', pidbuf);
    close(report_fd);
    report_fd = -1;
    if (syncp[1] >= 0) {
        if (write(syncp[1], "1", 1) != 1) {
            kill(pid, SIGKILL); /* cannot happen: init waits for this byte */
        }
        close(syncp[1]);
    }

    /* From here the caller hears from init and the command only. The launch succeeded if init
     * reached the fork ('F') and nobody reported a failure ('E'). */
    int status_open = 1, forked = 0, failed = 0, have_cmd_status = 0, cmd_status = 0, init_status = 0;
    int reaped = 0;
    long long finished_ms = 0;
    struct status_rec rec;
    for (;;) {
        struct pollfd pfd[4];
        int np = 0, idx_status = -1, idx_chld = -1, idx_log[2] = {-1, -1};
        if (status_open) {
            idx_status = np;
            pfd[np++] = (struct pollfd){.fd = sp[0], .events = POLLIN};
        } else if (!reaped) {
            idx_chld = np;
            pfd[np++] = (struct pollfd){.fd = chld_fd, .events = POLLIN};
        }
        for (int i = 0; i < 2; i++)
            if (logs[i].pipe_fd >= 0) {
                idx_log[i] = np;
                pfd[np++] = (struct pollfd){.fd = logs[i].pipe_fd, .events = POLLIN};
            }
        if (np == 0)
            break;
        if (poll(pfd, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++)
            if (idx_log[i] >= 0 && pfd[idx_log[i]].revents)
                log_pump(&logs[i]);
        if (idx_status >= 0 && pfd[idx_status].revents) {
            ssize_t n = read_full(sp[0], &rec, sizeof rec);
            if (n == (ssize_t)sizeof rec) {
                if (rec.type == 'F') {
                    forked = 1;
                } else if (rec.type == 'E') {
                    failed = 1;
                } else if (rec.type == 'S') {
                    have_cmd_status = 1;
                    cmd_status = rec.status;
                }
            } else {
                /* EOF: init is gone (or going), or, without corral-init, the command exec'd. */
                status_open = 0;
                close(sp[0]);
                if (failed || !forked || cfg.init) {
                    while (waitpid(pid, &init_status, 0) < 0 && errno == EINTR)
                        ;
                    reaped = 1;
                    finished_ms = now_millis();
                    init_pid = -1;
                }
                if (failed)
                    _exit(1); /* the caller has the message */
                if (!forked) /* init died before the fork without a word: tell the caller how */
                    _exit(WIFSIGNALED(init_status) ? 64 + WTERMSIG(init_status) : 2);
            }
        }
        if (!status_open && !reaped) {
            struct signalfd_siginfo si;
            while (read(chld_fd, &si, sizeof si) > 0)
                ;
            if (waitpid(pid, &init_status, WNOHANG) == pid) {
                reaped = 1;
                finished_ms = now_millis();
                init_pid = -1;
            }
        }
        (void)idx_chld;
    }
    if (cfg.exit_file)
        write_exit_file(have_cmd_status ? cmd_status : init_status, finished_ms);
    _exit(0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Device filter (cgroup v2)                                                                         */

/*
 * cgroup v2 has no devices controller: as runc and crun do, a BPF_PROG_TYPE_CGROUP_DEVICE program attached
 * to the container's cgroup decides every open/mknod of a device node. It is built from the agent's rules
 * ("c 1:3 rwm", the v1 devices.allow syntax, from DeviceRules.DEFAULT), allows what one of them matches and
 * denies the rest. It stays attached for the cgroup's life (an agent restart reloads nothing) and goes with
 * its rmdir.
 */
#define DEVF_MAX_RULES 256
#define DEVF_MAX_INSNS (6 + DEVF_MAX_RULES * 8 + 2)

struct dev_rule {
    int type;          /* BPF_DEVCG_DEV_BLOCK or _CHAR, 0 for 'a' (any) */
    long major, minor; /* -1 for '*' */
    int access;        /* BPF_DEVCG_ACC_* */
};

static struct bpf_insn devf_insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

/* "T MAJ:MIN ACC" with T in a/b/c, MAJ and MIN a number or '*', ACC a non-empty subset of "rwm". */
static int parse_dev_rule(const char *s, struct dev_rule *r)
{
    const char *p = s;
    if (*p == 'a')
        r->type = 0;
    else if (*p == 'b')
        r->type = BPF_DEVCG_DEV_BLOCK;
    else if (*p == 'c')
        r->type = BPF_DEVCG_DEV_CHAR;
    else
        return -1;
    p++;
    if (*p != ' ')
        return -1;
    p++;
    long *num[2] = {&r->major, &r->minor};
    for (int k = 0; k < 2; k++) {
        if (*p == '*') {
            *num[k] = -1;
            p++;
        } else {
            if (*p < '0' || *p > '9')
                return -1;
            char *end;
            errno = 0;
            unsigned long v = strtoul(p, &end, 10);
            if (errno || v > INT32_MAX) /* compared as a sign-extended 32-bit immediate */
                return -1;
            *num[k] = (long)v;
            p = end;
        }
        if (*p++ != (k == 0 ? ':' : ' '))
            return -1;
    }
    r->access = 0;
    for (; *p; p++) {
        int a = *p == 'r' ? BPF_DEVCG_ACC_READ : *p == 'w' ? BPF_DEVCG_ACC_WRITE : *p == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
        if (!a || (r->access & a))
            return -1;
        r->access |= a;
    }
    return r->access ? 0 : -1;
}

/* The program: one block per rule that jumps to the next block on the first mismatch, else returns 1. */
static size_t devf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *prog)
{
    size_t k = 0;
    /* r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx) */
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
    prog[k++] = devf_insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
    prog[k++] = devf_insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
    for (size_t i = 0; i < n; i++) {
        const struct dev_rule *r = &rules[i];
        size_t jumps[4], nj = 0;
        if (r->type) {
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, r->type);
        }
        if (r->access != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
            /* every requested access must be in the rule's: (access & rule) == access */
            prog[k++] = devf_insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
            prog[k++] = devf_insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, r->access);
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
        }
        if (r->major >= 0) {
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major);
        }
        if (r->minor >= 0) {
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor);
        }
        prog[k++] = devf_insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
        prog[k++] = devf_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (size_t j = 0; j < nj; j++)
            prog[jumps[j]].off = (int16_t)(k - jumps[j] - 1);
    }
    prog[k++] = devf_insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
    prog[k++] = devf_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    return k;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/*
 * Loads the program for the rules; returns its fd, or -1 with msg set. The verifier's log is read only
 * after a failure (a second load with a log buffer), since the log costs time on every launch otherwise.
 */
static int devf_load(char *const *rule_text, size_t n, char *msg, size_t msg_size)
{
    static struct dev_rule rules[DEVF_MAX_RULES];
    static struct bpf_insn prog[DEVF_MAX_INSNS];
    if (n > DEVF_MAX_RULES) {
        snprintf(msg, msg_size, "more than %d device rules", DEVF_MAX_RULES);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (parse_dev_rule(rule_text[i], &rules[i]) < 0) {
            snprintf(msg, msg_size, "device rule \"%.100s\": expected \"TYPE MAJOR:MINOR ACCESS\" "
                     "(a/b/c, a number or *, some of rwm)", rule_text[i]);
            return -1;
        }
    size_t len = devf_build(rules, n, prog);
    for (int with_log = 0; with_log < 2; with_log++) {
        static char log[8192];
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)prog;
        attr.insn_cnt = (uint32_t)len;
        /* No GPL-only helper is called: any license string loads; the program is the project's own code. */
        attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
        if (with_log) {
            log[0] = 0;
            attr.log_buf = (uint64_t)(uintptr_t)log;
            attr.log_size = sizeof log;
            attr.log_level = 1;
        }
        int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0)
            return fd;
        int err = errno;
        if (with_log || (err != EINVAL && err != EACCES)) {
            for (char *c = log; *c; c++)
                if (*c == '\n')
                    *c = ' ';
            snprintf(msg, msg_size, "load the BPF device program (cgroup v2 device control; kernel 4.15 or "
                     "later, CAP_SYS_ADMIN or CAP_BPF): %s%s%.120s", strerror(err), with_log && log[0] ? ": " : "",
                     with_log ? log : "");
            return -1;
        }
    }
    return -1;
}

/*
 * Attaches the program to the cgroup directory, replacing what an earlier start of the same container
 * attached (an exited container keeps its cgroup): the new one is attached first and the old ones detached
 * after, so the cgroup is never without a filter. BPF_F_ALLOW_MULTI lets a program on an ancestor (systemd's,
 * say) stay in force too: every attached program must allow an access.
 */
static int devf_attach(int prog_fd, const char *cgroup_dir, char *msg, size_t msg_size)
{
    int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) {
        snprintf(msg, msg_size, "open %.300s: %s", cgroup_dir, strerror(errno));
        return -1;
    }
    uint32_t old[64], n_old = 64;
    union bpf_attr q;
    memset(&q, 0, sizeof q);
    q.query.target_fd = (uint32_t)cg;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uint64_t)(uintptr_t)old;
    q.query.prog_cnt = n_old;
    if (sys_bpf(BPF_PROG_QUERY, &q) < 0) {
        snprintf(msg, msg_size, "query the device programs of %.300s: %s", cgroup_dir, strerror(errno));
        close(cg);
        return -1;
    }
    n_old = q.query.prog_cnt < 64 ? q.query.prog_cnt : 64;

    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)cg;
    a.attach_bpf_fd = (uint32_t)prog_fd;
    a.attach_type = BPF_CGROUP_DEVICE;
    a.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) {
        snprintf(msg, msg_size, "attach the BPF device program to %.300s: %s", cgroup_dir, strerror(errno));
        close(cg);
        return -1;
    }
    for (uint32_t i = 0; i < n_old; i++) {
        union bpf_attr g;
        memset(&g, 0, sizeof g);
        g.prog_id = old[i];
        int fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
        if (fd < 0)
            continue; /* gone meanwhile */
        union bpf_attr d;
        memset(&d, 0, sizeof d);
        d.target_fd = (uint32_t)cg;
        d.attach_bpf_fd = (uint32_t)fd;
        d.attach_type = BPF_CGROUP_DEVICE;
        int rc = (int)sys_bpf(BPF_PROG_DETACH, &d);
        int err = errno;
        close(fd);
        if (rc < 0 && err != ENOENT) {
            snprintf(msg, msg_size, "detach the earlier device program %u from %.300s: %s", old[i], cgroup_dir,
                     strerror(err));
            close(cg);
            return -1;
        }
    }
    close(cg);
    return 0;
}

/* Monitor, before init joins the cgroup: the container's first exec already runs under the filter. */
static void device_filter_apply(void)
{
    if (!cfg.device_cgroup)
        return;
    char msg[MSG_MAX - 20];
    int fd = devf_load(cfg.device_rule.v, cfg.device_rule.n, msg, sizeof msg);
    if (fd < 0 || devf_attach(fd, cfg.device_cgroup, msg, sizeof msg) < 0) {
        char full[MSG_MAX];
        snprintf(full, sizeof full, "devices: %s", msg);
        fail_msg(full);
    }
    close(fd); /* the attachment holds the program */
}

/* "corral-shim devices-probe RULE...": can this kernel load the program? Prints why not, exit 1. */
static int devices_probe(int n, char **rules)
{
    char msg[MSG_MAX];
    int fd = devf_load(rules, (size_t)n, msg, sizeof msg);
    if (fd < 0) {
        fprintf(stderr, "corral-shim: devices: %s\n", msg);
        return 1;
    }
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Caller: the spawner, or `corral-shim run`                                                          */

static int one_shot(const char *config);
static int spawner(void);

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "devices-probe") == 0)
        return devices_probe(argc - 2, argv + 2);
    int run = argc == 3 && strcmp(argv[1], "run") == 0;
    if (!run && !(argc == 2 && strcmp(argv[1], "spawner") == 0)) {
        fprintf(stderr, "corral-shim: usage: corral-shim run CONFIG_FILE | corral-shim spawner | "
                "corral-shim devices-probe RULE...\n");
        return 1;
    }
    /* Whatever the caller left us: fds 0-2 open (so no pipe lands there), default SIGCHLD (waitable
     * children), nothing blocked. */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            return 1;
    signal(SIGCHLD, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    return run ? one_shot(argv[2]) : spawner();
}

/*
 * Forks the monitor for CONFIG and reads the report pipe to EOF (every holder of its write end has exec'd,
 * closed it, or died). Success: 0, "init=N monitor=M" in out, the monitor left running (the caller reaps it
 * when it exits). Failure: -1, the reason in out, the monitor reaped (it exits once init is reaped), so nothing
 * is left behind. Never exits the calling process: the spawner outlives every failed launch.
 */
static int start_container(const char *config, char *out, size_t out_size)
{
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) < 0) {
        snprintf(out, out_size, "pipe report: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t mon = fork();
    if (mon < 0) {
        snprintf(out, out_size, "fork monitor: %s", strerror(errno));
        close(rp[0]);
        close(rp[1]);
        return -1;
    }
    if (mon == 0) {
        /* The monitor: from here every failure is an "E" line on the report pipe and _exit. */
        role = ROLE_MONITOR;
        report_fd = rp[1];
        close(rp[0]);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the spawner blocks SIGCHLD for its signalfd */
        /* The caller's stdin and stdout (the agent's pipes to the spawner) must not stay open here. */
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
            fail_errno(errno, "open /dev/null");
        close(devnull);
        parse_config(config);
        device_filter_apply();
        run_monitor(rp[1]);
    }
    close(rp[1]);

    char buf[4096], err[MSG_MAX + 4] = "";
    size_t len = 0;
    int init = 0, forked = 0;
    for (;;) {
        ssize_t n = read(rp[0], buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            *nl = 0;
            if (buf[0] == 'P')
                init = atoi(buf + 1);
            else if (buf[0] == 'F')
                forked = 1;
            else if (buf[0] == 'E' && !err[0])
                snprintf(err, sizeof err, "%.*s", (int)sizeof err - 1, buf + 1);
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len + 1);
        }
        if (len == sizeof buf - 1)
            len = 0; /* an overlong line: cannot happen */
    }
    close(rp[0]);
    if (!err[0] && init > 0 && forked) {
        snprintf(out, out_size, "init=%d monitor=%d", init, (int)mon);
        return 0;
    }
    int st;
    while (waitpid(mon, &st, 0) < 0 && errno == EINTR)
        ;
    if (err[0])
        snprintf(out, out_size, "%s", err);
    else if (WIFSIGNALED(st))
        snprintf(out, out_size, "monitor: killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else if (WEXITSTATUS(st) > 64)
        snprintf(out, out_size, "init: killed by signal %d (%s) before the exec", WEXITSTATUS(st) - 64,
                 strsignal(WEXITSTATUS(st) - 64));
    else
        snprintf(out, out_size, "init: exited before the exec (monitor status %d)", WEXITSTATUS(st));
    return -1;
}

/* `corral-shim run CONFIG`: one launch; the monitor outlives this process (it is reparented when we exit). */
static int one_shot(const char *config)
{
    char out[MSG_MAX + 64];
    if (start_container(config, out, sizeof out) < 0) {
        fprintf(stderr, "corral-shim: %s\n", out);
        return 1;
    }
    printf("%s\n", out);
    return 0;
}

/* Reaps every monitor that has exited (the spawner's children are monitors only). */
static void reap_monitors(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/*
 * Spawner mode: the agent starts one early and sends it config paths, one per line on stdin; for each it forks
 * the monitor and answers one line on stdout, "OK init=N monitor=M" or "ERR <reason>". A JVM pays for every
 * descriptor it has open when it spawns a process (the agent keeps thousands of cgroup files open), so
 * launching from this small process instead is what keeps a container start in milliseconds.
 *
 * The monitors are its children: a SIGCHLD (through a signalfd, polled with stdin) reaps each one as it exits,
 * so no zombie stays (the agent takes a monitor pid that is still there for a live container). They do not
 * depend on it: when the spawner exits (EOF on stdin, the agent gone) they are reparented and run on.
 */
static int spawner(void)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        fprintf(stderr, "corral-shim: spawner: signalfd: %s\n", strerror(errno));
        return 1;
    }
    char line[PATH_MAX + 2];
    size_t len = 0;
    int discarding = 0; /* the rest of an overlong line */
    for (;;) {
        char *nl = memchr(line, '\n', len);
        if (nl) {
            *nl = 0;
            if (!discarding) {
                char out[MSG_MAX + 64];
                int ok = start_container(line, out, sizeof out) == 0;
                printf("%s %s\n", ok ? "OK" : "ERR", out);
                fflush(stdout);
            }
            discarding = 0;
            len -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, len);
            continue;
        }
        if (len == sizeof line) {
            if (!discarding) {
                printf("ERR config path longer than %d bytes\n", PATH_MAX);
                fflush(stdout);
            }
            discarding = 1;
            len = 0;
        }
        struct pollfd pfd[2] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "corral-shim: spawner: poll: %s\n", strerror(errno));
            return 1;
        }
        if (pfd[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
            reap_monitors();
        }
        if (pfd[0].revents) {
            ssize_t n = read(0, line + len, sizeof line - len);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                return 0; /* EOF: the agent closed us; running monitors are reparented */
            len += (size_t)n;
        }
    }
}
