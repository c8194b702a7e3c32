/* corral-shim: the monitor: clones init, writes the id maps, pumps the logs, writes the exit file. */
#include "corral-shim.h"

/* ------------------------------------------------------------------------------------------------ */
/* Monitor: logs                                                                                     */

struct log {
    const char *name; /* "stdout.log" */
    int pipe_fd;      /* read end, -1 at EOF */
    int file_fd;
    long long size;
    int idx_fd;       /* the time index, see log_index */
    long long idx_size, idx_last_ns;
};

static int log_dir_fd = -1;
static int exit_dir_fd = -1;
static const char *exit_name;

/*
 * The time index beside each log ("stdout.log.idx", for corral logs --since/--until/-t): one 16-byte record
 * (int64 offset in the log where a chunk read from the pipe starts, int64 Unix time in ns when it was read, both
 * little-endian) per chunk, only when at least 1 ms passed since the last record: the lines of a chunk, and of the
 * chunks of one millisecond, share its time. It rotates with its log, and a log also rotates once its index reaches
 * a quarter of the log's maximum size (at least 4 KiB), so a writer of tiny chunks cannot make it outgrow that.
 */
static void log_index_open(struct log *l, int flags)
{
    char idx[NAME_MAX];
    snprintf(idx, sizeof idx, "%s.idx", l->name);
    l->idx_fd = openat(log_dir_fd, idx, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | flags, 0644);
    struct stat st;
    l->idx_size = l->idx_fd >= 0 && fstat(l->idx_fd, &st) == 0 ? st.st_size : 0;
    l->idx_last_ns = 0;
}

static void log_index(struct log *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (l->idx_fd < 0 || ns - l->idx_last_ns < 1000000)
        return;
    int64_t rec[2] = {l->size, ns}; /* x86-64 and arm64: little-endian already */
    write_all(l->idx_fd, rec, sizeof rec);
    l->idx_size += (long long)sizeof rec;
    l->idx_last_ns = ns;
}

static void log_open(struct log *l)
{
    l->file_fd = openat(log_dir_fd, l->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
    if (l->file_fd < 0)
        fail_errno(errno, "open %s/%s", cfg.log_dir, l->name);
    struct stat st;
    l->size = fstat(l->file_fd, &st) == 0 ? st.st_size : 0;
    log_index_open(l, 0);
}

static void log_rotate(struct log *l)
{
    char from[PATH_MAX], to[PATH_MAX];
    close(l->file_fd);
    l->file_fd = -1;
    if (l->idx_fd >= 0)
        close(l->idx_fd);
    if (cfg.log_max_files <= 1) {
        l->file_fd = openat(log_dir_fd, l->name, O_WRONLY | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        l->size = 0;
        log_index_open(l, O_TRUNC);
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
        /* x.log.N.idx beside x.log.N */
        char from_idx[PATH_MAX + 8], to_idx[PATH_MAX + 8];
        snprintf(from_idx, sizeof from_idx, "%s.idx", from);
        snprintf(to_idx, sizeof to_idx, "%s.idx", to);
        renameat(log_dir_fd, from_idx, log_dir_fd, to_idx);
    }
    l->file_fd = openat(log_dir_fd, l->name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
    l->size = 0;
    log_index_open(l, O_TRUNC);
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
    /* Rotate before a chunk that would overflow the file (or its index); a chunk is never split. */
    long long idx_max = cfg.log_max_bytes / 4 > 4096 ? cfg.log_max_bytes / 4 : 4096;
    if (l->size > 0 && (l->size + n > cfg.log_max_bytes || l->idx_size + 16 > idx_max))
        log_rotate(l);
    log_index(l);
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
    snprintf(tmp, sizeof tmp, "%s.tmp", exit_name);
    int fd = openat(exit_dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return;
    write_all(fd, json, (size_t)len);
    /* Renamed before the fsyncs, which then wait off the agent's path (the rename is what it watches for; a file
     * fsync is ~2 ms here). A machine crash between the rename and the fsync may leave the file empty, which the
     * agent reads as "exit status unknown": what a crash before the rename leaves too. */
    if (renameat(exit_dir_fd, tmp, exit_dir_fd, exit_name) < 0) {
        close(fd);
        return;
    }
    fsync(fd);
    close(fd);
    fsync(exit_dir_fd);
}

/* The exit file's directory, held from the start: a rename of the container moves it (corral rename). */
static void open_exit_dir(void)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", cfg.exit_file);
    char *slash = strrchr(dir, '/');
    exit_name = strrchr(cfg.exit_file, '/') ? strrchr(cfg.exit_file, '/') + 1 : cfg.exit_file;
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    exit_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (exit_dir_fd < 0)
        fail_errno(errno, "open the exit file's directory %s", dir);
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

/* --network container:NAME: the monitor enters the network namespace of NAME's init, as long as that pid is still
 * the child of NAME's monitor (a pid the kernel reused is refused, as corral exec does), so that init is cloned
 * into it; the monitor's own netns is returned (an fd), to go back to after the clone. Before any namespace or
 * process is made: a failure here leaves nothing. */
static int enter_joined_netns(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%llu", cfg.net_join_init);
    int pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 || parent_of(pfd) != (long)cfg.net_join_monitor)
        fail_msg("network: the container whose network is joined is not running (its init is gone)");
    int target = openat(pfd, "ns/net", O_RDONLY | O_CLOEXEC);
    if (target < 0)
        fail_errno(errno, "network: open the joined container's network namespace");
    if (parent_of(pfd) != (long)cfg.net_join_monitor) /* still the same init once its netns is held */
        fail_msg("network: the container whose network is joined is not running (its init is gone)");
    close(pfd);
    int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own < 0)
        fail_errno(errno, "network: open the monitor's network namespace");
    if (setns(target, CLONE_NEWNET) < 0)
        fail_errno(errno, "network: join the network namespace of the joined container");
    close(target);
    return own;
}

_Noreturn void run_monitor(int report_w)
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

    struct log logs[2] = {{"stdout.log", -1, -1, 0, -1, 0, 0}, {"stderr.log", -1, -1, 0, -1, 0, 0}};
    int out_w = devnull, err_w = devnull;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    if (cfg.exit_file)
        open_exit_dir();
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

    int stdin_r = stdin_open();
    int tty_sp[2];
    tty_pair(tty_sp);
    int own_net = -1;
    if (cfg.net_join_init)
        own_net = enter_joined_netns();

    sigset_t init_set, old_set;
    init_sigset(&init_set);
    sigprocmask(SIG_BLOCK, &init_set, &old_set);
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)cfg.clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0)
        fail_errno(errno, "clone init");
    if (pid == 0) {
        if (own_net >= 0)
            close(own_net);
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
        if (exit_dir_fd >= 0)
            close(exit_dir_fd);
        stdin_child(stdin_r);
        if (tty_sp[0] >= 0) {
            close(tty_sp[0]);
            tty_send_fd = tty_sp[1];
        }
        for (int i = 0; i < 2; i++) {
            if (logs[i].file_fd >= 0)
                close(logs[i].file_fd);
            if (logs[i].idx_fd >= 0)
                close(logs[i].idx_fd);
        }
        run_init(out_w, err_w, syncp[0]);
    }
    init_pid = pid;
    if (own_net >= 0) { /* init is in the joined netns: the monitor goes back to its own */
        if (setns(own_net, CLONE_NEWNET) < 0)
            fail_errno(errno, "return to the monitor's network namespace");
        close(own_net);
    }
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
    if (stdin_r >= 0)
        close(stdin_r);
    if (tty_sp[1] >= 0)
        close(tty_sp[1]);
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
        struct pollfd pfd[6];
        int np = 0, idx_stdin = -1, idx_status = -1, idx_chld = -1, idx_log[2] = {-1, -1}, idx_tty = -1;
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
        if (stdin_poll(&pfd[np])) /* never what keeps the monitor alive */
            idx_stdin = np++;
        if (tty_sp[0] >= 0) {
            idx_tty = np;
            pfd[np++] = (struct pollfd){.fd = tty_sp[0], .events = POLLIN};
        }
        if (poll(pfd, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++)
            if (idx_log[i] >= 0 && pfd[idx_log[i]].revents)
                log_pump(&logs[i]);
        if (idx_stdin >= 0 && pfd[idx_stdin].revents)
            stdin_ready();
        if (idx_tty >= 0 && pfd[idx_tty].revents) { /* -t: the terminal's master replaces the stdout pipe */
            int master = tty_receive(tty_sp[0]);
            close(tty_sp[0]);
            tty_sp[0] = -1;
            if (master >= 0) {
                if (logs[0].pipe_fd >= 0)
                    close(logs[0].pipe_fd);
                logs[0].pipe_fd = master;
            }
        }
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
    stdin_end();
    if (cfg.exit_file)
        write_exit_file(have_cmd_status ? cmd_status : init_status, finished_ms);
    _exit(0);
}
