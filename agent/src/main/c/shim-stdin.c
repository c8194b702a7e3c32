/*
 * corral-shim: the container's stdin (Docker's -i, OpenStdin), held by the monitor.
 *
 * With "stdin_socket PATH" in the config the container's init (and so its command) reads a pipe whose write end the
 * monitor keeps, so that stdin stays open after the launch: the monitor listens on a unix socket at PATH (mode 0600,
 * in the container's state dir, which only the agent reaches) and copies what one connection at a time sends into
 * the pipe. When that connection ends: with "stdin_once 1" (Docker's StdinOnce, run -i without -d) the pipe is
 * closed, which is the end of the container's stdin, and the socket goes; else the next connection may come.
 * The copy goes through a buffer and a non-blocking pipe, so a container that does not read its stdin never holds
 * up the monitor's log pumping. The socket file is removed when the monitor ends.
 */
#include "corral-shim.h"

#include <sys/un.h>

static int listen_fd = -1, conn_fd = -1, pipe_w = -1;
static int sock_dir_fd = AT_FDCWD; /* the socket's directory, held: a rename of the container moves it */
static const char *sock_name;
static char buf[65536];
static size_t buf_len, buf_off;

int stdin_open(void)
{
    if (!cfg.stdin_socket)
        return -1;
    int p[2];
    xpipe(p, "stdin");
    pipe_w = p[1];
    fcntl(pipe_w, F_SETFL, fcntl(pipe_w, F_GETFL) | O_NONBLOCK);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(cfg.stdin_socket) >= sizeof addr.sun_path)
        fail_msg("stdin_socket: path too long for a unix socket");
    strcpy(addr.sun_path, cfg.stdin_socket);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd < 0)
        fail_errno(errno, "stdin socket");
    unlink(cfg.stdin_socket); /* a monitor before this one (a restart) left it */
    mode_t old = umask(077);  /* 0600 from the start: no window where another user could connect */
    int r = bind(listen_fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (r < 0 || listen(listen_fd, 4) < 0)
        fail_errno(errno, "listen on %s", cfg.stdin_socket);
    char dir[sizeof addr.sun_path];
    snprintf(dir, sizeof dir, "%s", cfg.stdin_socket);
    char *slash = strrchr(dir, '/');
    sock_name = slash ? cfg.stdin_socket + (slash - dir) + 1 : cfg.stdin_socket;
    if (slash) {
        slash[slash == dir ? 1 : 0] = 0;
        sock_dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sock_dir_fd < 0)
            fail_errno(errno, "open %s", dir);
    }
    return p[0];
}

void stdin_child(int read_end)
{
    if (read_end < 0)
        return;
    close(listen_fd);
    if (sock_dir_fd >= 0)
        close(sock_dir_fd);
    close(pipe_w);
    if (dup2(read_end, 0) < 0)
        fail_errno(errno, "dup2 stdin");
    close(read_end);
}

static void stop_listening(void)
{
    if (listen_fd >= 0) {
        close(listen_fd);
        listen_fd = -1;
        unlinkat(sock_dir_fd, sock_name, 0);
    }
}

/* The container's stdin ends: its pipe, the connection and the socket go. */
static void close_stdin(void)
{
    if (conn_fd >= 0)
        close(conn_fd);
    conn_fd = -1;
    if (pipe_w >= 0)
        close(pipe_w);
    pipe_w = -1;
    stop_listening();
}

int stdin_poll(struct pollfd *p)
{
    if (pipe_w < 0)
        return 0;
    if (buf_off < buf_len)
        *p = (struct pollfd){.fd = pipe_w, .events = POLLOUT};
    else if (conn_fd >= 0)
        *p = (struct pollfd){.fd = conn_fd, .events = POLLIN};
    else if (listen_fd >= 0)
        *p = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    else
        return 0;
    return 1;
}

void stdin_ready(void)
{
    if (pipe_w < 0)
        return;
    if (buf_off < buf_len) {
        ssize_t n = write(pipe_w, buf + buf_off, buf_len - buf_off);
        if (n > 0)
            buf_off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            close_stdin(); /* EPIPE: the container closed its stdin; what comes is dropped, as a pipe's */
        return;
    }
    if (conn_fd >= 0) {
        ssize_t n = read(conn_fd, buf, sizeof buf);
        if (n > 0) {
            buf_off = 0;
            buf_len = (size_t)n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(conn_fd);
            conn_fd = -1;
            if (cfg.stdin_once)
                close_stdin();
        }
        return;
    }
    int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0)
        conn_fd = c;
}

void stdin_end(void)
{
    stop_listening();
}
