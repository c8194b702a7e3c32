/* corral-shim: failure reporting by role, pipes and file helpers. */
#include "corral-shim.h"

/* ------------------------------------------------------------------------------------------------ */
/* Failure reporting: every role reports "step: strerror" its own way.                               */


enum role role = ROLE_CALLER;
int report_fd = -1;
int status_fd = -1;
int execerr_fd = -1;
pid_t init_pid = -1;
void (*fail_hook)(const char *msg);
int exec_errno;
int exec_tty_fd = -1;

void write_all(int fd, const void *buf, size_t len)
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

void send_status(int type, int status)
{
    struct status_rec r = {.type = type, .status = status};
    write_all(status_fd, &r, sizeof r);
}

/* One line to the caller (one write: atomic, as it is shorter than PIPE_BUF). */
void report(char type, const char *text)
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

_Noreturn void fail_msg(const char *msg)
{
    if (fail_hook)
        fail_hook(msg);
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
    case ROLE_EXEC: /* corral exec: the client reads this on the command's stderr, and Docker's exit codes */
        dprintf(2, "corral exec: %s\n", msg);
        _exit(exec_errno == 0 ? 125 : exec_errno == ENOENT || exec_errno == ENOTDIR ? 127 : 126);
    }
    _exit(1);
}

/* "step: strerror(err)", the step formatted from fmt. */
__attribute__((format(printf, 2, 3))) _Noreturn void fail_errno(int err, const char *fmt, ...)
{
    char step[MSG_MAX], msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(step, sizeof step, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%.380s: %s", step, strerror(err));
    fail_msg(msg);
}

__attribute__((format(printf, 1, 2))) _Noreturn void fail_config(const char *fmt, ...)
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
/* Small helpers                                                                                     */

void xpipe(int fds[2], const char *what)
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        fail_errno(errno, "pipe %s", what);
}

ssize_t read_full(int fd, void *buf, size_t len)
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

int write_file(const char *path, const char *data, size_t len)
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

/* The PPid of the process whose /proc dir is pfd, or -1. */
long parent_of(int pfd)
{
    int fd = openat(pfd, "status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    ssize_t n = read_full(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strstr(buf, "\nPPid:");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

void close_fds_from(unsigned int first, unsigned int last)
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
