/* corral-shim: init: cgroups, namespaces' setup, credentials, and the command's exec. */
#include "corral-shim.h"

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

void set_credentials(void)
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

_Noreturn void exec_command(int out_fd, int err_fd)
{
    if (role != ROLE_EXEC)
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

    /* fd 0 is already /dev/null (the monitor's), or for corral exec the agent's pipe, or a terminal made the
     * controlling one of this new session. */
    if (exec_tty_fd >= 0 && (dup2(exec_tty_fd, 0) < 0 || ioctl(0, TIOCSCTTY, 0) < 0))
        fail_errno(errno, "make the pseudo-terminal the controlling one");
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
        exec_errno = errno;
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
            exec_errno = errno;
            fail_errno(errno, "exec %s", buf);
        }
    next:
        if (!*end)
            break;
        p = end;
    }
    exec_errno = err;
    fail_errno(err, "exec %s", prog);
}

/* ------------------------------------------------------------------------------------------------ */
/* Init                                                                                              */

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* The signals init forwards, plus SIGCHLD: blocked in init from its first instruction (the monitor
 * blocks them around clone), so one sent during the setup is queued and forwarded, not lost. (A PID 1
 * drops signals it neither handles nor blocks.) */
void init_sigset(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
        sigaddset(set, forwarded[i]);
    sigaddset(set, SIGCHLD);
}

_Noreturn void run_init(int out_fd, int err_fd, int sync_fd)
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
    if (cfg.user) /* the container's own files, after pivot_root */
        resolve_user(cfg.user);
    if (tty_send_fd >= 0) { /* -t: its devpts is mounted; the terminal is the command's stdin, stdout, stderr */
        int slave = tty_open(tty_send_fd);
        tty_send_fd = -1;
        close(out_fd);
        close(err_fd);
        out_fd = err_fd = exec_tty_fd = slave;
    }
    apply_rlimits();
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
