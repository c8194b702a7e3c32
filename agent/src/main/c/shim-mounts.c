/* corral-shim: init's mounts: the rootfs (bind, overlay or the host's root), /proc, /dev, /sys, the
 * container's mounts, masked and read-only paths, pivot_root. */
#include "corral-shim.h"

/* ------------------------------------------------------------------------------------------------ */
/* Init: mounts                                                                                      */

static char *in_root(const char *path)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *b = bufs[next++ & 3];
    const char *root = cfg.rootfs ? cfg.rootfs : "";
    /* rootfs "/" would give "//x", harmless */
    if ((size_t)snprintf(b, PATH_MAX, "%s%s", root, path) >= PATH_MAX)
        fail_errno(ENAMETOOLONG, "path %s%s", root, path);
    return b;
}

static void mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    size_t len = strlen(tmp);
    while (len > 1 && tmp[len - 1] == '/')
        tmp[--len] = 0;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, mode) < 0 && errno != EEXIST)
                fail_errno(errno, "mkdir %s", tmp);
            *p = '/';
        }
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        fail_errno(errno, "mkdir %s", tmp);
}

static void ensure_dir(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return;
    mkdir_p(path, 0755);
}

static void ensure_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        ensure_dir(parent);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        fail_errno(errno, "create mount point %s", path);
    close(fd);
}

/* The flags a bind remount must keep (the kernel refuses to clear locked ones in a user namespace). */
static unsigned long kept_mount_flags(const char *path)
{
    struct statvfs s;
    unsigned long f = 0;
    if (statvfs(path, &s) < 0)
        return 0;
    if (s.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (s.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (s.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (s.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (s.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (s.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

static void remount_ro(const char *path, unsigned long extra);

/* Read-only for the mount at path and every mount under it (Linux >= 5.12), else for the top one. */
static void remount_ro_rec(const char *path)
{
    struct corral_mount_attr attr = {.attr_set = CORRAL_MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) == 0)
        return;
    if (errno != ENOSYS)
        fail_errno(errno, "make %s read-only", path);
    remount_ro(path, 0);
}

static void remount_ro(const char *path, unsigned long extra)
{
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | extra | kept_mount_flags(path);
    if (mount(NULL, path, NULL, flags, NULL) < 0)
        fail_errno(errno, "remount %s read-only", path);
}

static void xmount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
                   const char *what)
{
    if (mount(src, dst, type, flags, data) < 0)
        fail_errno(errno, "mount %s on %s", what, dst);
}

static void setup_dev(void)
{
    static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
    char *dev = in_root("/dev");
    ensure_dir(dev);
    xmount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "tmpfs");
    char path[PATH_MAX], src[32];
    for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, devs[i]);
        snprintf(src, sizeof src, "/dev/%s", devs[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0)
            fail_errno(errno, "create %s", path);
        close(fd);
        xmount(src, path, NULL, MS_BIND, NULL, src);
    }
    snprintf(path, sizeof path, "%s/pts", dev);
    if (mkdir(path, 0755) < 0)
        fail_errno(errno, "mkdir %s", path);
    xmount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", "devpts");
    snprintf(path, sizeof path, "%s/shm", dev);
    if (mkdir(path, 01777) < 0)
        fail_errno(errno, "mkdir %s", path);
    xmount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", "tmpfs");
    static const char *const links[][2] = {
        {"pts/ptmx", "ptmx"},         {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, links[i][1]);
        if (symlink(links[i][0], path) < 0)
            fail_errno(errno, "symlink %s", path);
    }
}

/* Appends path to the overlay option string with ',' ':' and '\\' escaped, as overlayfs parses them. */
static size_t append_escaped(char *buf, size_t len, size_t cap, const char *path)
{
    for (const char *p = path; *p; p++) {
        if (len + 3 >= cap)
            return cap;
        if (*p == ',' || *p == ':' || *p == '\\')
            buf[len++] = '\\';
        buf[len++] = *p;
    }
    buf[len] = 0;
    return len;
}

/* The image's root on the mount point, in this (the container's) mount namespace: overlayfs with the layers
 * as lower dirs (top first) and the container's upper/work dirs; read-only without an upper dir. overlayfs
 * needs two lower dirs without an upper one, so one lower dir alone is bind-mounted read-only instead. */
void mount_overlay(void)
{
    if (cfg.overlay_lower.n == 1 && !cfg.overlay_upper) {
        xmount(cfg.overlay_lower.v[0], cfg.rootfs, NULL, MS_BIND | MS_REC, NULL, cfg.overlay_lower.v[0]);
        remount_ro(cfg.rootfs, 0);
        return;
    }
    /* The kernel takes at most a page of mount options. */
    static char opts[4096];
    size_t cap = sizeof opts, len = (size_t)snprintf(opts, cap, "lowerdir=");
    for (size_t i = 0; i < cfg.overlay_lower.n && len < cap; i++) {
        if (i > 0 && len + 1 < cap) {
            opts[len++] = ':';
            opts[len] = 0;
        }
        len = append_escaped(opts, len, cap, cfg.overlay_lower.v[i]);
    }
    if (cfg.overlay_upper && len < cap) {
        len += (size_t)snprintf(opts + len, cap - len, ",upperdir=");
        if (len < cap)
            len = append_escaped(opts, len, cap, cfg.overlay_upper);
        if (len < cap)
            len += (size_t)snprintf(opts + len, cap - len, ",workdir=");
        if (len < cap)
            len = append_escaped(opts, len, cap, cfg.overlay_work);
    }
    if (len >= cap - 1)
        fail_errno(E2BIG, "overlay: the options for %zu layers are over the kernel's %zu bytes (fewer layers, or a "
                   "shorter state dir path)", cfg.overlay_lower.n, cap - 1);
    if (mount("overlay", cfg.rootfs, "overlay", cfg.overlay_upper ? 0 : MS_RDONLY, opts) < 0)
        fail_errno(errno, "mount overlay on %s", cfg.rootfs);
}

/* The host's root, bound recursively on the mount point. Its /proc, /sys and /dev are detached: the container
 * gets its own below (where a user namespace locks them, the container's are mounted over them). With
 * readonly_rootfs every mount in it turns read-only at once, before any of the container's own mounts exist;
 * a kernel that cannot do that recursively (before 5.12) refuses rather than leave a submount writable. */
static void mount_host_root(void)
{
    xmount("/", cfg.rootfs, NULL, MS_BIND | MS_REC, NULL, "/");
    static const char *const kernel[] = {"/proc", "/sys", "/dev"};
    for (size_t i = 0; i < sizeof kernel / sizeof *kernel; i++)
        umount2(in_root(kernel[i]), MNT_DETACH);
    if (cfg.readonly_rootfs) {
        struct corral_mount_attr attr = {.attr_set = CORRAL_MOUNT_ATTR_RDONLY};
        if (syscall(SYS_mount_setattr, AT_FDCWD, cfg.rootfs, AT_RECURSIVE, &attr, sizeof attr) < 0)
            fail_errno(errno, "make the host's root read-only%s", errno == ENOSYS ? " (needs Linux 5.12)" : "");
    }
}

void setup_mounts(void)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail_errno(errno, "make / private");
    int newpid = cfg.clone_flags & CLONE_NEWPID;
    if (cfg.rootfs) {
        if (cfg.host_root)
            mount_host_root();
        else if (cfg.overlay_lower.n)
            mount_overlay();
        else if (mount(cfg.rootfs, cfg.rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
            fail_errno(errno, "bind rootfs %s", cfg.rootfs);
        char *proc = in_root("/proc");
        ensure_dir(proc);
        xmount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc");
        setup_dev();
        char *sys = in_root("/sys");
        ensure_dir(sys);
        if (cfg.clone_flags & CLONE_NEWNET) {
            xmount("sysfs", sys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, "sysfs");
        } else {
            /* Not recursive: the host's cgroup and other mounts under /sys stay out. */
            xmount("/sys", sys, NULL, MS_BIND, NULL, "/sys");
            remount_ro(sys, 0);
        }
    } else if (newpid) {
        xmount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc");
    }

    for (size_t i = 0; i < cfg.n_mounts; i++) {
        struct mount_entry *m = &cfg.mounts[i];
        char *dst = in_root(m->dest);
        if (m->type == MOUNT_BIND) {
            struct stat st;
            if (stat(m->source, &st) < 0)
                fail_errno(errno, "bind mount source %s", m->source);
            if (S_ISDIR(st.st_mode))
                ensure_dir(dst);
            else
                ensure_file(dst);
            xmount(m->source, dst, NULL, MS_BIND | (m->rec ? MS_REC : 0), NULL, m->source);
            if (m->ro && m->rec)
                remount_ro_rec(dst);
            if ((m->ro && !m->rec) || m->flags) {
                unsigned long f = MS_BIND | MS_REMOUNT | (m->ro ? MS_RDONLY : 0) | m->flags | kept_mount_flags(dst);
                if (mount(NULL, dst, NULL, f, NULL) < 0)
                    fail_errno(errno, "remount %s%s", dst, m->ro ? " read-only" : "");
            }
        } else {
            ensure_dir(dst);
            xmount(m->source[0] ? m->source : "tmpfs", dst, "tmpfs", m->flags | (m->ro ? MS_RDONLY : 0), m->data,
                   "tmpfs");
        }
    }

    for (size_t i = 0; i < cfg.mask_path.n; i++) {
        char *p = in_root(cfg.mask_path.v[i]);
        struct stat st;
        if (stat(p, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            fail_errno(errno, "mask %s", p);
        }
        if (S_ISDIR(st.st_mode))
            xmount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", "tmpfs");
        else
            xmount("/dev/null", p, NULL, MS_BIND, NULL, "/dev/null");
    }

    for (size_t i = 0; i < cfg.readonly_path.n; i++) {
        char *p = in_root(cfg.readonly_path.v[i]);
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            fail_errno(errno, "bind %s", p);
        }
        remount_ro_rec(p);
    }

    if (cfg.rootfs) {
        if (chdir(cfg.rootfs) < 0)
            fail_errno(errno, "chdir %s", cfg.rootfs);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
            fail_errno(errno, "pivot_root %s", cfg.rootfs);
        if (umount2(".", MNT_DETACH) < 0)
            fail_errno(errno, "detach the old root");
        if (chdir("/") < 0)
            fail_errno(errno, "chdir /");
    }
    if (cfg.readonly_rootfs)
        remount_ro("/", 0);
}
