/* corral-shim.h: what the files of corral-shim share (one binary; see corral-shim.c for the processes and pipes). */
#ifndef CORRAL_SHIM_H
#define CORRAL_SHIM_H
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
#include <sys/resource.h>
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
/* Config (shim-config.c)                                                                            */

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

struct rlimit_entry {
    int resource; /* RLIMIT_* */
    struct rlimit limit;
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
    const char *user;          /* "USER[:GROUP]" resolved in the container's /etc/passwd after pivot_root */
    struct rlimit_entry *rlimits; /* setrlimit before the exec (Docker's --ulimit) */
    size_t n_rlimits;
    /* bridge networking (corral-net.c): the host end's name, its bridge, eth0's MAC, address/prefix, gateway */
    const char *net_veth, *net_bridge, *net_mac, *net_address, *net_gateway;
    /* --network container:NAME: NAME's init and monitor pids; init is cloned into that init's netns */
    unsigned long long net_join_init, net_join_monitor;
    const char *stdin_socket; /* the container's stdin: the monitor listens here (shim-stdin.c) */
    int stdin_once;           /* the end of the first connection is the end of the container's stdin */
    int stdin_resize_only;    /* -t without -i: stdin_socket applies resize frames and drops input frames */
    int tty;                  /* the command's stdin, stdout and stderr are a terminal of the container's devpts */
    int tty_rows, tty_cols;   /* that terminal's first size (Docker's ConsoleSize); 0: the kernel's 0x0 */
};

extern struct config cfg;

void parse_config(const char *path);
void apply_rlimits(void);
int parse_ull(const char *s, unsigned long long max, unsigned long long *out);

/* ------------------------------------------------------------------------------------------------ */
/* Failure reporting and small helpers (shim-util.c): every role reports "step: strerror" its own way. */

enum role { ROLE_CALLER, ROLE_MONITOR, ROLE_INIT, ROLE_COMMAND, ROLE_EXEC };
extern enum role role;
extern int report_fd;  /* write end of the report pipe to the caller, while this role has one */
extern int status_fd;  /* init: write end of the status pipe to the monitor */
extern int execerr_fd; /* command: write end of the exec error pipe to init */
extern pid_t init_pid; /* monitor: killed and reaped on failure */
/* Tests only (src/test/c/shim-unit-test.c): called with the message before the role's failure path, may longjmp out. */
extern void (*fail_hook)(const char *msg);
extern int exec_errno; /* the command's failed execve: 127 (not found) or 126 (cannot invoke) for corral exec */
extern int exec_tty_fd; /* corral exec -t: the command's terminal, made its controlling one by exec_command */

struct status_rec {
    int type; /* 'F' forking the command, 'E' launch failed, 'S' wait status */
    int status;
};

void write_all(int fd, const void *buf, size_t len);
void send_status(int type, int status);
void report(char type, const char *text);
_Noreturn void fail_msg(const char *msg);
__attribute__((format(printf, 2, 3))) _Noreturn void fail_errno(int err, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) _Noreturn void fail_config(const char *fmt, ...);
void xpipe(int fds[2], const char *what);
ssize_t read_full(int fd, void *buf, size_t len);
int write_file(const char *path, const char *data, size_t len);
long parent_of(int proc_dir_fd); /* the PPid of the process whose /proc dir that is, or -1 */
void close_fds_from(unsigned int first, unsigned int last);

/* ------------------------------------------------------------------------------------------------ */
/* Init (shim-mounts.c, shim-init.c) and the monitor (shim-monitor.c)                                */

void setup_mounts(void);
void mount_overlay(void); /* cfg.overlay_* on cfg.rootfs (also corral-shim cp, for a stopped container) */
int cp_main(int argc, char **argv);
void init_sigset(sigset_t *set);
_Noreturn void run_init(int out_fd, int err_fd, int sync_fd);
void set_credentials(void);
_Noreturn void exec_command(int out_fd, int err_fd);
int exec_main(int argc, char **argv);
void resolve_user(const char *spec);
_Noreturn void run_monitor(int report_w);

/* The container's stdin, held by the monitor (shim-stdin.c) */
int stdin_open(void);          /* before the clone: the pipe's read end for init, or -1 without stdin_socket */
void stdin_child(int read_end); /* in init: that pipe becomes fd 0 */
int stdin_poll(struct pollfd *p); /* the monitor loop's fd for stdin, if any: returns 0 or 1 */
void stdin_ready(void);         /* that fd is ready */
void stdin_end(void);           /* the monitor ends: the socket file goes */
/* -t: init opens the terminal in the container and passes its master to the monitor over a socketpair */
void tty_pair(int sp[2]);       /* monitor, before the clone: {-1, -1} without cfg.tty */
int tty_open(int send_fd);      /* init, after the mounts: sends the master, returns the slave */
int tty_receive(int fd);        /* monitor: the master, or -1 (init failed before sending it) */
extern int tty_send_fd;         /* init: its end of that socketpair, -1 without cfg.tty */

/* ------------------------------------------------------------------------------------------------ */
/* Device filter, cgroup v2 (shim-devices.c)                                                         */

#define DEVF_MAX_RULES 256
#define DEVF_MAX_INSNS (6 + DEVF_MAX_RULES * 8 + 2)

struct dev_rule {
    int type;          /* BPF_DEVCG_DEV_BLOCK or _CHAR, 0 for 'a' (any) */
    long major, minor; /* -1 for '*' */
    int access;        /* BPF_DEVCG_ACC_* */
};

int parse_dev_rule(const char *s, struct dev_rule *r);
size_t devf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *prog);
int devf_load(char *const *rule_text, size_t n, char *msg, size_t msg_size);
void device_filter_apply(void);
int devices_probe(int n, char **rules);

#endif
