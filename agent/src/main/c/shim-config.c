/* corral-shim: the config file (NUL-separated key/value records) into cfg, validated. */
#include "corral-shim.h"

struct config cfg;

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

int parse_ull(const char *s, unsigned long long max, unsigned long long *out)
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

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},     {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},         {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

static int parse_rlim(const char *s, rlim_t *out)
{
    unsigned long long v;
    if (strcmp(s, "unlimited") == 0 || strcmp(s, "-1") == 0) {
        *out = RLIM_INFINITY;
        return 0;
    }
    if (parse_ull(s, (unsigned long long)RLIM_INFINITY - 1, &v) < 0)
        return -1;
    *out = (rlim_t)v;
    return 0;
}

/* "NAME SOFT HARD": Docker's --ulimit names, each value a number, "unlimited" or -1. */
static void parse_rlimit(const char *v)
{
    char name[32], soft[32], hard[32], extra;
    if (sscanf(v, "%31s %31s %31s %c", name, soft, hard, &extra) != 3)
        fail_config("rlimit: expected \"NAME SOFT HARD\": \"%s\"", v);
    struct rlimit_entry e;
    e.resource = -1;
    for (size_t i = 0; i < sizeof rlimit_names / sizeof *rlimit_names; i++)
        if (strcmp(rlimit_names[i].name, name) == 0)
            e.resource = rlimit_names[i].resource;
    if (e.resource < 0)
        fail_config("rlimit: unknown resource \"%s\"", name);
    if (parse_rlim(soft, &e.limit.rlim_cur) < 0 || parse_rlim(hard, &e.limit.rlim_max) < 0)
        fail_config("rlimit: not a number, unlimited or -1: \"%s\"", v);
    if (e.limit.rlim_cur > e.limit.rlim_max)
        fail_config("rlimit: the soft limit is over the hard one: \"%s\"", v);
    for (size_t i = 0; i < cfg.n_rlimits; i++)
        if (cfg.rlimits[i].resource == e.resource)
            fail_config("rlimit: %s given more than once", name);
    cfg.rlimits = realloc(cfg.rlimits, (cfg.n_rlimits + 1) * sizeof *cfg.rlimits);
    if (!cfg.rlimits)
        fail_errno(ENOMEM, "config");
    cfg.rlimits[cfg.n_rlimits++] = e;
}

/* In init (or an exec) before the command: inherited across its exec. */
void apply_rlimits(void)
{
    for (size_t i = 0; i < cfg.n_rlimits; i++) {
        struct rlimit_entry *e = &cfg.rlimits[i];
        if (setrlimit(e->resource, &e->limit) < 0) {
            const char *name = "?";
            for (size_t k = 0; k < sizeof rlimit_names / sizeof *rlimit_names; k++)
                if (rlimit_names[k].resource == e->resource)
                    name = rlimit_names[k].name;
            fail_errno(errno, "ulimit %s (raising a hard limit needs CAP_SYS_RESOURCE)", name);
        }
    }
}

void parse_config(const char *path)
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
        } else if (strcmp(key, "stdin_socket") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.stdin_socket, v);
        } else if (strcmp(key, "stdin_once") == 0) {
            cfg.stdin_once = (int)parse_number(key, v, 1);
        } else if (strcmp(key, "stdin_resize_only") == 0) {
            cfg.stdin_resize_only = (int)parse_number(key, v, 1);
        } else if (strcmp(key, "tty") == 0) {
            cfg.tty = (int)parse_number(key, v, 1);
        } else if (strcmp(key, "tty_rows") == 0) {
            cfg.tty_rows = (int)parse_number(key, v, 65535);
        } else if (strcmp(key, "tty_cols") == 0) {
            cfg.tty_cols = (int)parse_number(key, v, 65535);
        } else if (strcmp(key, "exit_file") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.exit_file, v);
        } else if (strcmp(key, "device_cgroup") == 0) {
            require_absolute(key, v);
            set_once(key, &cfg.device_cgroup, v);
        } else if (strcmp(key, "device_rule") == 0) {
            strv_push(&cfg.device_rule, v);
        } else if (strcmp(key, "user") == 0) {
            if (!v[0] || v[0] == ':')
                fail_config("user: expected USER[:GROUP]: \"%s\"", v);
            set_once(key, &cfg.user, v);
        } else if (strcmp(key, "rlimit") == 0) {
            parse_rlimit(v);
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
        } else if (strcmp(key, "net_join") == 0) {
            /* "INIT_PID MONITOR_PID" of the container whose network namespace this one joins */
            char *sp = strchr(v, ' ');
            if (cfg.net_join_init)
                fail_config("net_join: given twice");
            if (!sp)
                fail_config("net_join: expected \"INIT_PID MONITOR_PID\": \"%s\"", v);
            *sp = 0;
            int bad = parse_ull(v, INT32_MAX, &cfg.net_join_init) < 0 ||
                      parse_ull(sp + 1, INT32_MAX, &cfg.net_join_monitor) < 0 || cfg.net_join_init < 2 ||
                      cfg.net_join_monitor < 2;
            *sp = ' ';
            if (bad)
                fail_config("net_join: expected \"INIT_PID MONITOR_PID\": \"%s\"", v);
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
    if (cfg.net_join_init && (net || (cfg.clone_flags & CLONE_NEWNET)))
        fail_config("net_join joins another container's network namespace: no \"ns net\", no net_veth");
    if (!cfg.cwd)
        cfg.cwd = "/";
}
