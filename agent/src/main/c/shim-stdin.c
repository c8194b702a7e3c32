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
 *
 * With "tty 1" (-t) the command's stdin, stdout and stderr are a pseudo-terminal of the container's own devpts: init
 * opens its /dev/ptmx after the mounts (as corral exec -t does) and passes the master to the monitor over a socketpair
 * (SCM_RIGHTS). The monitor pumps the master into stdout.log (one stream, as Docker's with a tty) and writes what
 * stdin.sock's clients send into it, framed as exec -t's request body: 8-byte headers (type, 3 zero bytes, big-endian
 * length), type 0 the input, type 4 a resize (rows, columns: big-endian 16 bits each) applied with TIOCSWINSZ. A
 * terminal has no end of input (that is ^D, in the data): a connection's end only detaches it, even with stdin_once.
 *
 * With "tty 1" and "stdin_resize_only 1" (-t without -i: Docker forwards a terminal's resizes regardless of -i) the
 * socket is there for the resizes alone: type 4 frames are applied and type 0 frames dropped, so that a container
 * made without -i never reads a client's input, whatever a client sends.
 */
#include "corral-shim.h"

#include <sys/un.h>

static int listen_fd = -1, conn_fd = -1, pipe_w = -1;
static int sock_dir_fd = AT_FDCWD; /* the socket's directory, held: a rename of the container moves it */
static const char *sock_name;
static char buf[65536];
static size_t buf_len, buf_off;
static unsigned char in[sizeof buf + 8]; /* -t: received frames not yet handled */
static size_t in_len;

#define FRAME_DATA 0
#define FRAME_RESIZE 4

int stdin_open(void)
{
    if (!cfg.stdin_socket)
        return -1;
    int p[2] = {-1, -1};
    if (!cfg.tty) { /* with a terminal, pipe_w is the master once init sends it */
        xpipe(p, "stdin");
        pipe_w = p[1];
        fcntl(pipe_w, F_SETFL, fcntl(pipe_w, F_GETFL) | O_NONBLOCK);
    }
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

/* -t: handles the complete frames received while nothing waits to be written; a bad frame ends the connection. */
static void take_frames(void)
{
    while (buf_off >= buf_len && in_len >= 8) {
        uint32_t len = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
        if (len > sizeof buf) {
            close(conn_fd);
            conn_fd = -1;
            in_len = 0;
            return;
        }
        if (in_len < 8 + len)
            return;
        if (in[0] == FRAME_DATA && !cfg.stdin_resize_only) {
            memcpy(buf, in + 8, len);
            buf_off = 0;
            buf_len = len;
        } else if (in[0] == FRAME_RESIZE && len == 4) {
            struct winsize ws = {.ws_row = (unsigned short)(in[8] << 8 | in[9]),
                                 .ws_col = (unsigned short)(in[10] << 8 | in[11])};
            ioctl(pipe_w, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to the terminal's foreground group */
        }
        memmove(in, in + 8 + len, in_len - 8 - len);
        in_len -= 8 + len;
    }
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
        if (cfg.tty)
            take_frames();
        return;
    }
    if (conn_fd >= 0) {
        ssize_t n = cfg.tty ? read(conn_fd, in + in_len, sizeof in - in_len) : read(conn_fd, buf, sizeof buf);
        if (n > 0 && cfg.tty) {
            in_len += (size_t)n;
            take_frames();
        } else if (n > 0) {
            buf_off = 0;
            buf_len = cfg.stdin_resize_only ? 0 : (size_t)n; /* never input without -i, even if misconfigured */
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(conn_fd);
            conn_fd = -1;
            in_len = 0;
            if (cfg.stdin_once && !cfg.tty)
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

/* ------------------------------------------------------------------------------------------------ */
/* -t: the terminal                                                                                  */

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int tty_send_fd = -1;

void tty_pair(int sp[2])
{
    sp[0] = sp[1] = -1;
    if (cfg.tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        fail_errno(errno, "socketpair for the terminal");
}

int tty_open(int send_fd)
{
    int unlock = 0;
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        fail_errno(errno, "open the container's /dev/ptmx");
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        fail_errno(errno, "unlock the pseudo-terminal");
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        fail_errno(errno, "open the pseudo-terminal's peer");
    if (fchown(slave, cfg.uid, (gid_t)-1) < 0) /* as a login's terminal: its user's */
        fail_errno(errno, "chown the terminal");
    struct winsize ws = {.ws_row = (unsigned short)cfg.tty_rows, .ws_col = (unsigned short)cfg.tty_cols};
    if ((ws.ws_row || ws.ws_col) && ioctl(slave, TIOCSWINSZ, &ws) < 0) /* before the command can ask */
        fail_errno(errno, "set the terminal's size");
    char byte = 't';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.space, .msg_controllen = sizeof u.space};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    if (sendmsg(send_fd, &msg, MSG_NOSIGNAL) != 1)
        fail_errno(errno, "pass the terminal to the monitor");
    close(master);
    close(send_fd);
    return slave;
}

int tty_receive(int fd)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.space, .msg_controllen = sizeof u.space};
    if (recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int master;
    memcpy(&master, CMSG_DATA(c), sizeof(int));
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    if (cfg.stdin_socket && pipe_w < 0 && listen_fd >= 0)
        pipe_w = fcntl(master, F_DUPFD_CLOEXEC, 0); /* its own fd: the log's may close first at the end */
    return master;
}
