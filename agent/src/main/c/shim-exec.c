/*
 * corral-shim exec: a new process in a running container (corral exec).
 *
 *   corral-shim exec CONFIG INIT_PID MONITOR_PID [-e NAME=VALUE]... [-w DIR] [-u USER[:GROUP]] -- CMD [ARG]...
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
        apply_rlimits();
        set_credentials();
        /* After the credential change, which clears it: this process must not outlive the one the agent holds. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (chdir(cfg.cwd) < 0)
            fail_errno(errno, "chdir %s", cfg.cwd);
        exec_command(1, 2); /* setsid: its own process group, which the kill below reaches */
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
