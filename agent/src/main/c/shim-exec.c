/*
 * corral-shim exec: a new process in a running container (corral exec).
 *
 *   corral-shim exec CONFIG INIT_PID MONITOR_PID [-e NAME=VALUE]... [-w DIR] [-u USER[:GROUP]] [-t ROWSxCOLS]
 *                    -- CMD [ARG]...
 *
 * CONFIG is the container's own launch config: the exec joins the namespaces init was cloned into (through
 * /proc/INIT_PID/ns, once INIT_PID is checked to be the child of MONITOR_PID, so a reused pid is refused) and
 * the container's cgroups (so it counts against its limits and its device rules apply), and runs with the
 * container's capabilities, no_new_privs, credentials, env and working dir; -e adds to or replaces the env, -w and
 * -u replace the working dir and user (a name is resolved in the container's /etc/passwd). Masked and read-only
 * paths are mounts of the container's mount namespace: joining it applies them.
 *
 * This process joins the cgroups and namespaces, forks the command (the first process that is in the container's
 * pid namespace), waits for it and exits with its status (128+signal if killed by one). Stdio is passed through.
 * SIGTERM, SIGINT or SIGHUP to this process (the agent, when the client went away) kill the command's process
 * group; the command also gets SIGKILL if this process dies. Failures: one line "corral exec: ..." on stderr and
 * exit 125 (the exec could not be set up), 126 (the command cannot be invoked) or 127 (not found), as Docker.
 *
 * -t: the command gets a pseudo-terminal of the container's own devpts instance (its /dev/ptmx, opened once this
 * process is in its mount namespace and root, as runc does), as its controlling terminal on stdin, stdout and
 * stderr, owned by its user, ROWSxCOLS in size. This process relays: the terminal's output to stdout, and stdin,
 * which is then a stream of frames with Docker's 8-byte header (type, 3 zero bytes, length, big-endian): type 0
 * data for the terminal, type 4 a resize (4 bytes: rows and columns, 16 bits each, big-endian; the kernel sends the
 * foreground process group SIGWINCH). The end of stdin is not passed on (a terminal has no end of input; Ctrl-D
 * is a byte like any other).
 */
#include "corral-shim.h"

static void env_set(const char *kv)
{
    size_t name_len = (size_t)(strchr(kv, '=') - kv);
    for (size_t i = 0; i < cfg.env.n; i++)
        if (strncmp(cfg.env.v[i], kv, name_len + 1) == 0) {
            cfg.env.v[i] = (char *)kv;
            return;
        }
    cfg.env.n++; /* strv_push is the parser's: grow by hand */
    cfg.env.v = realloc(cfg.env.v, (cfg.env.n + 1) * sizeof *cfg.env.v);
    if (!cfg.env.v)
        fail_errno(ENOMEM, "env");
    cfg.env.v[cfg.env.n - 1] = (char *)kv;
    cfg.env.v[cfg.env.n] = NULL;
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#define FRAME_DATA 0
#define FRAME_RESIZE 4

static int set_size(int fd, unsigned rows, unsigned cols)
{
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    return ioctl(fd, TIOCSWINSZ, &ws);
}

/* Writes all of buf to the (non-blocking) terminal master; while it is full, its output is moved on, so a command
 * that writes without reading its input cannot wedge the two. */
static void to_terminal(int master, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(master, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return; /* the terminal is gone: the rest is dropped, as a closed pipe's would be */
        struct pollfd p = {.fd = master, .events = POLLOUT | POLLIN};
        if (poll(&p, 1, 1000) > 0 && (p.revents & POLLIN)) {
            char out[4096];
            ssize_t r = read(master, out, sizeof out);
            if (r > 0)
                write_all(1, out, (size_t)r);
        }
    }
}

/* The stdin frames (see the top): fed in pieces as they come, a frame's data passed on as it arrives. */
struct frames {
    unsigned char head[8];
    size_t head_got;
    uint32_t left;
    unsigned char resize[4];
};

/* Returns -1 (with a message on stderr) for a stream that is not frames. */
static int feed_frames(struct frames *f, int master, const char *buf, size_t len)
{
    while (len > 0) {
        if (f->head_got < 8) {
            size_t n = 8 - f->head_got < len ? 8 - f->head_got : len;
            memcpy(f->head + f->head_got, buf, n);
            f->head_got += n;
            buf += n;
            len -= n;
            if (f->head_got < 8)
                return 0;
            f->left = (uint32_t)f->head[4] << 24 | (uint32_t)f->head[5] << 16 | (uint32_t)f->head[6] << 8 | f->head[7];
            if ((f->head[0] != FRAME_DATA && f->head[0] != FRAME_RESIZE) || (f->head[0] == FRAME_RESIZE && f->left != 4)) {
                dprintf(2, "corral exec: a stdin frame of type %d and %u bytes\n", f->head[0], f->left);
                return -1;
            }
            if (f->left == 0)
                f->head_got = 0;
            continue;
        }
        size_t n = f->left < len ? f->left : len;
        if (f->head[0] == FRAME_DATA)
            to_terminal(master, buf, n);
        else
            memcpy(f->resize + (4 - f->left), buf, n);
        buf += n;
        len -= n;
        f->left -= (uint32_t)n;
        if (f->left == 0) {
            if (f->head[0] == FRAME_RESIZE)
                set_size(master, (unsigned)f->resize[0] << 8 | f->resize[1], (unsigned)f->resize[2] << 8 | f->resize[3]);
            f->head_got = 0;
        }
    }
    return 0;
}

/* Moves what the terminal wrote to stdout; -1 once it has nothing more (EIO: no process holds its other side). */
static int from_terminal(int master)
{
    char buf[16384];
    ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) {
        write_all(1, buf, (size_t)n);
        return 0;
    }
    return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* The relay of -t until the command exits (see the top); returns its wait status. */
static int relay_terminal(int master, pid_t cmd, const sigset_t *set)
{
    int sfd = signalfd(-1, set, SFD_CLOEXEC);
    if (sfd < 0) {
        kill(-cmd, SIGKILL);
        kill(cmd, SIGKILL);
        fail_errno(errno, "signalfd");
    }
    struct frames f = {0};
    int in_open = 1, st = 0;
    for (;;) {
        struct pollfd p[3] = {{.fd = sfd, .events = POLLIN}, {.fd = master, .events = POLLIN},
                              {.fd = in_open ? 0 : -1, .events = POLLIN}};
        if (poll(p, 3, -1) < 0)
            continue;
        if (p[1].revents)
            from_terminal(master);
        if (p[2].revents) {
            char buf[16384];
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0 && !(n < 0 && errno == EINTR))
                in_open = 0;
            else if (n > 0 && feed_frames(&f, master, buf, (size_t)n) < 0) {
                in_open = 0;
                kill(-cmd, SIGKILL);
                kill(cmd, SIGKILL);
            }
        }
        if (p[0].revents) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) != sizeof si)
                continue;
            if (si.ssi_signo != SIGCHLD) {
                kill(-cmd, SIGKILL);
                kill(cmd, SIGKILL);
                continue;
            }
            if (waitpid(cmd, &st, WNOHANG) == cmd)
                break;
        }
    }
    /* What the command wrote last; bounded, as a process it left behind may hold the terminal open. */
    for (int i = 0; i < 256; i++) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, i == 0 ? 50 : 10) <= 0 || from_terminal(master) < 0)
            break;
    }
    return st;
}

static const struct {
    int flag;
    const char *name;
} namespaces[] = {
    /* user first: its capabilities are what joining the others it owns takes; mnt last, as it changes the root
     * (and /proc) this process sees */
    {CLONE_NEWUSER, "user"}, {CLONE_NEWIPC, "ipc"},       {CLONE_NEWUTS, "uts"}, {CLONE_NEWNET, "net"},
    {CLONE_NEWPID, "pid"},   {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWNS, "mnt"},
};
#define N_NS (sizeof namespaces / sizeof *namespaces)

int exec_main(int argc, char **argv)
{
    role = ROLE_EXEC;
    if (argc < 5) {
        fail_msg("usage: corral-shim exec CONFIG INIT_PID MONITOR_PID [-e NAME=VALUE]... [-w DIR] "
                 "[-u USER[:GROUP]] -- CMD [ARG]...");
    }
    parse_config(argv[0]);
    unsigned long long init, monitor;
    if (parse_ull(argv[1], INT32_MAX, &init) < 0 || parse_ull(argv[2], INT32_MAX, &monitor) < 0 || init < 2)
        fail_msg("INIT_PID and MONITOR_PID: not pids");
    const char *user = NULL;
    int tty = 0;
    unsigned long long rows = 0, cols = 0;
    int i = 3;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (i + 1 >= argc)
            fail_msg("an option without its value");
        const char *o = argv[i], *v = argv[++i];
        if (strcmp(o, "-e") == 0) {
            if (!strchr(v, '=') || v[0] == '=')
                fail_config("exec -e: expected NAME=value: \"%s\"", v);
            env_set(v);
        } else if (strcmp(o, "-w") == 0) {
            if (v[0] != '/')
                fail_config("exec -w: not an absolute path: \"%s\"", v);
            cfg.cwd = v;
        } else if (strcmp(o, "-u") == 0) {
            user = v;
        } else if (strcmp(o, "-t") == 0) {
            char r[16], *x = strchr(v, 'x');
            if (!x || (size_t)(x - v) >= sizeof r)
                fail_config("exec -t: expected ROWSxCOLS: \"%s\"", v);
            memcpy(r, v, (size_t)(x - v));
            r[x - v] = 0;
            if (parse_ull(r, 65535, &rows) < 0 || parse_ull(x + 1, 65535, &cols) < 0)
                fail_config("exec -t: expected ROWSxCOLS: \"%s\"", v);
            tty = 1;
        } else {
            fail_config("exec: unknown option \"%s\"", o);
        }
    }
    if (i + 1 >= argc || argv[i + 1][0] == 0)
        fail_msg("no command given");
    cfg.arg.v = argv + i + 1;
    cfg.arg.n = (size_t)(argc - i - 1);

    /* The container's init, as long as it is the monitor's child: a pid the kernel reused is not joined. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%llu", init);
    int pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 || parent_of(pfd) != (long)monitor)
        fail_msg("the container is not running (its init is gone)");
    int ns_fd[N_NS];
    for (size_t k = 0; k < N_NS; k++) {
        ns_fd[k] = -1;
        int wanted = namespaces[k].flag == CLONE_NEWCGROUP ? cfg.ns_cgroup : cfg.clone_flags & namespaces[k].flag;
        if (!wanted)
            continue;
        snprintf(path, sizeof path, "ns/%s", namespaces[k].name);
        ns_fd[k] = openat(pfd, path, O_RDONLY | O_CLOEXEC);
        if (ns_fd[k] < 0)
            fail_errno(errno, "open the container's %s namespace", namespaces[k].name);
    }
    /* Its root, entered after the setns below: joining a mount namespace puts a process at the namespace's own
     * root, which is the container's pivoted root only when the runtime itself was not chrooted (in the v2 guest
     * it is: the exec then saw the guest's /). As nsenter --root does. */
    int root_fd = -1;
    if (cfg.clone_flags & CLONE_NEWNS) {
        root_fd = openat(pfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
            fail_errno(errno, "open the container's root");
    }
    /* Still the same init once its namespaces are held. */
    if (parent_of(pfd) != (long)monitor)
        fail_msg("the container is not running (its init is gone)");
    close(pfd);

    /* The cgroups first, by their host paths (before the mount and cgroup namespaces hide them). */
    for (size_t k = 0; k < cfg.cgroup_procs.n; k++)
        if (write_file(cfg.cgroup_procs.v[k], "0", 1) < 0)
            fail_errno(errno, "join cgroup %s", cfg.cgroup_procs.v[k]);
    for (size_t k = 0; k < N_NS; k++) {
        if (ns_fd[k] < 0)
            continue;
        if (setns(ns_fd[k], namespaces[k].flag) < 0)
            fail_errno(errno, "join the container's %s namespace", namespaces[k].name);
        close(ns_fd[k]);
    }
    if (root_fd >= 0) {
        if (fchdir(root_fd) < 0 || chroot(".") < 0)
            fail_errno(errno, "enter the container's root");
        close(root_fd);
    }

    /* The terminal, from the container's own devpts instance (its /dev/ptmx links to pts/ptmx). */
    int master = -1, slave = -1;
    if (tty) {
        int unlock = 0;
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
            fail_errno(errno, "open the container's /dev/ptmx");
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
            fail_errno(errno, "unlock the pseudo-terminal");
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
            fail_errno(errno, "open the pseudo-terminal's peer");
        if ((rows || cols) && set_size(master, (unsigned)rows, (unsigned)cols) < 0)
            fail_errno(errno, "set the terminal's size");
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    }

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t cmd = fork(); /* the first process in the container's pid namespace */
    if (cmd < 0)
        fail_errno(errno, "fork");
    if (cmd == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (user || cfg.user)
            resolve_user(user ? user : cfg.user);
        if (tty) {
            close(master);
            if (fchown(slave, cfg.uid, (gid_t)-1) < 0) /* as a login's terminal: its user's (for mesg, write) */
                fail_errno(errno, "chown the terminal");
            exec_tty_fd = slave;
        }
        apply_rlimits();
        set_credentials();
        /* After the credential change, which clears it: this process must not outlive the one the agent holds. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (chdir(cfg.cwd) < 0)
            fail_errno(errno, "chdir %s", cfg.cwd);
        /* setsid: its own process group, which the kill below reaches (and, with -t, the terminal's session) */
        exec_command(tty ? slave : 1, tty ? slave : 2);
    }
    if (tty) {
        close(slave);
        int st = relay_terminal(master, cmd, &set);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(-cmd, SIGKILL);
            kill(cmd, SIGKILL); /* before its setsid */
            continue;
        }
        int st;
        pid_t p = waitpid(cmd, &st, WNOHANG);
        if (p == cmd)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
}
