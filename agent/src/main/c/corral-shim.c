/*
 * corral-shim: launches one container for the Corral agent.
 *
 *   corral-shim run CONFIG_FILE
 *   corral-shim spawner                  (the agent's: config paths on stdin, one answer line each)
 *   corral-shim devices-probe RULE...   (exit 0 if this kernel loads the cgroup v2 device filter)
 *   corral-shim exec CONFIG INIT_PID MONITOR_PID [OPTION]... -- CMD...   (corral exec: see shim-exec.c)
 *   corral-shim cp stat|get|put PATH OPTION...   (corral cp: a container's files as tar; see shim-cp.c)
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
#include "corral-shim.h"

/* ------------------------------------------------------------------------------------------------ */
/* Caller: the spawner, or `corral-shim run`                                                          */

static int one_shot(const char *config);
static int spawner(void);

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "devices-probe") == 0)
        return devices_probe(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "cp") == 0)
        return cp_main(argc - 2, argv + 2);
    int run = argc == 3 && strcmp(argv[1], "run") == 0;
    int exec = argc >= 2 && strcmp(argv[1], "exec") == 0;
    if (!run && !exec && !(argc == 2 && strcmp(argv[1], "spawner") == 0)) {
        fprintf(stderr, "corral-shim: usage: corral-shim run CONFIG_FILE | corral-shim spawner | "
                "corral-shim devices-probe RULE... | corral-shim exec CONFIG INIT_PID MONITOR_PID ... -- CMD...\n");
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
    if (exec)
        return exec_main(argc - 2, argv + 2);
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