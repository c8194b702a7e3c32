/*
 * corral-shim cp: a container's files as a tar stream, both ways (corral cp; Docker's GET/PUT archive).
 *
 *   corral-shim cp stat|get|put PATH ROOT_OPTIONS [--name NAME] [--keep-owner] [--uid-map|--gid-map "IN OUT N"]...
 *
 * ROOT_OPTIONS say where the container's root is:
 *   --pid INIT MONITOR       a running container: /proc/INIT/root, once INIT is checked to be MONITOR's child
 *   --rootfs DIR             a stopped one: DIR, or with --lower L... [--upper U --work W] the container's overlay
 *                            mounted on DIR in a private mount namespace of this process (gone when it exits)
 *   --bind ro|rw SRC TARGET  (with --rootfs, repeatable) a stopped container's bind mount (-v) put back in that
 *                            namespace, so that cp sees its volumes as Docker's does: TARGET is resolved in the root
 *                            (RESOLVE_IN_ROOT: a symlink there cannot point the mount out of it) and SRC mounted on
 *                            that very file through its descriptor; a TARGET not in the root is left out (the
 *                            container never ran to make it)
 *
 * stat prints "MODE SIZE MTIME" (MODE octal st_mode) and, on a second line, a symlink's target. get writes a tar
 * of PATH to stdout, its top entry named NAME (PATH's last component by default). put reads a tar on stdin and
 * extracts it into PATH, an existing directory; owners are the container's root, or the archive's with
 * --keep-owner (Docker's cp -a), mapped through the container's uid/gid maps.
 *
 * Confinement: every path is resolved by openat2(2) with RESOLVE_IN_ROOT against a descriptor of the container's
 * root, so ".." and absolute symlinks stop at that root (they would reach the host's through /proc/PID/root with
 * an ordinary open), and RESOLVE_NO_MAGICLINKS refuses /proc/N/root-like links out of it. Below a resolved
 * directory, every step is one component opened with O_NOFOLLOW relative to its parent's descriptor, and a symlink
 * found there is copied as a symlink, never followed: a container that swaps a directory for a symlink while a
 * copy runs makes it fail, not escape. Done here, not in the agent's Java: the JDK resolves paths from the host's
 * root, and has no openat2.
 *
 * Exit 0; else one line on stderr and 2 (PATH not found), 3 (the request cannot be done: not a directory, a
 * directory over a file, a bad archive) or 1 (anything else).
 */
#include "corral-shim.h"
#include <dirent.h>
#include <linux/openat2.h>
#include <sys/sysmacros.h>

#define CP_NOT_FOUND 2
#define CP_BAD 3

static int root_fd = -1;
static int keep_owner;
static struct strv uid_map, gid_map;

__attribute__((format(printf, 2, 3))) static _Noreturn void cp_fail(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dprintf(2, "%s\n", msg);
    _exit(code);
}

/* ------------------------------------------------------------------------------------------------ */
/* Paths, confined to the container's root                                                          */

static int in_root(const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd;
    do
        fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);
    return fd;
}

/* Splits PATH into its directory (resolved in the root) and last component, stat'd without following it. */
static int split(const char *path, char *base, size_t base_size, struct stat *st)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path[0] ? path : "/") >= (int)sizeof dir)
        cp_fail(CP_BAD, "path too long: %s", path);
    int trailing = 0;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') {
        dir[--len] = 0;
        trailing = 1;
    }
    char *slash = strrchr(dir, '/');
    const char *last = slash ? slash + 1 : dir;
    if (strcmp(dir, "/") == 0 || strcmp(last, "..") == 0) {
        snprintf(base, base_size, ".");
    } else {
        snprintf(base, base_size, "%s", last);
        if (slash == dir)
            dir[1] = 0;
        else if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, ".");
    }
    int dfd = in_root(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            cp_fail(CP_NOT_FOUND, "Could not find the file %s in container", path);
        cp_fail(1, "%s: %s", path, strerror(errno));
    }
    if (fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            cp_fail(CP_NOT_FOUND, "Could not find the file %s in container", path);
        cp_fail(1, "%s: %s", path, strerror(errno));
    }
    if (trailing && !S_ISDIR(st->st_mode))
        cp_fail(CP_BAD, "%s: not a directory", path);
    return dfd;
}

/* An id through a map of "IN OUT N" lines: to the host (in->out) or back. Unmapped: -1. */
static long map_id(const struct strv *m, long id, int to_host)
{
    if (m->n == 0)
        return id;
    for (size_t i = 0; i < m->n; i++) {
        long in, out, n;
        if (sscanf(m->v[i], "%ld %ld %ld", &in, &out, &n) != 3)
            continue;
        long from = to_host ? in : out, to = to_host ? out : in;
        if (id >= from && id < from + n)
            return to + (id - from);
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------------ */
/* get: a ustar writer, pax headers for long names, big sizes and ids                                */

static void out_all(const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(1, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            cp_fail(1, "write the archive: %s", n < 0 ? strerror(errno) : "short write");
        p += n;
        len -= (size_t)n;
    }
}

static void octal(char *field, size_t size, unsigned long long v)
{
    /* size-1 digits and a NUL; callers keep v in range (pax headers carry what is not) */
    field[size - 1] = 0;
    for (size_t i = size - 1; i-- > 0; v >>= 3)
        field[i] = (char)('0' + (v & 7));
}

static void pad_out(unsigned long long size)
{
    static const char zeros[512];
    if (size % 512)
        out_all(zeros, 512 - size % 512);
}

static void pax_record(char *buf, size_t *len, size_t cap, const char *key, const char *value)
{
    size_t body = strlen(key) + strlen(value) + 3; /* " key=value\n" */
    size_t n = body + 1;
    while (n != body + (size_t)snprintf(NULL, 0, "%zu", n))
        n = body + (size_t)snprintf(NULL, 0, "%zu", n);
    if (*len + n >= cap)
        cp_fail(1, "archive header too long for %s", value);
    *len += (size_t)snprintf(buf + *len, cap - *len, "%zu %s=%s\n", n, key, value);
}

static void header(const char *name, const struct stat *st, char type, const char *link, unsigned long long size)
{
    char h[512];
    memset(h, 0, sizeof h);
    static char pax[2 * PATH_MAX + 256];
    size_t plen = 0;
    long uid = map_id(&uid_map, (long)st->st_uid, 0), gid = map_id(&gid_map, (long)st->st_gid, 0);
    if (uid < 0)
        uid = 65534;
    if (gid < 0)
        gid = 65534;
    if (strlen(name) > 99)
        pax_record(pax, &plen, sizeof pax, "path", name);
    if (link && strlen(link) > 99)
        pax_record(pax, &plen, sizeof pax, "linkpath", link);
    char num[32];
    if (size > 077777777777ULL) {
        snprintf(num, sizeof num, "%llu", size);
        pax_record(pax, &plen, sizeof pax, "size", num);
    }
    if (uid > 07777777) {
        snprintf(num, sizeof num, "%ld", uid);
        pax_record(pax, &plen, sizeof pax, "uid", num);
    }
    if (gid > 07777777) {
        snprintf(num, sizeof num, "%ld", gid);
        pax_record(pax, &plen, sizeof pax, "gid", num);
    }
    if (plen) {
        char ph[512];
        memset(ph, 0, sizeof ph);
        snprintf(ph, 100, "PaxHeaders/%.80s", name);
        octal(ph + 100, 8, 0644);
        octal(ph + 108, 8, 0);
        octal(ph + 116, 8, 0);
        octal(ph + 124, 12, plen);
        octal(ph + 136, 12, (unsigned long long)st->st_mtime);
        ph[156] = 'x';
        memcpy(ph + 257, "ustar", 6);
        memcpy(ph + 263, "00", 2);
        memset(ph + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
            sum += (unsigned char)ph[i];
        snprintf(ph + 148, 8, "%06o", sum);
        out_all(ph, 512);
        out_all(pax, plen);
        pad_out(plen);
    }
    memcpy(h, name, strlen(name) > 100 ? 100 : strlen(name));
    octal(h + 100, 8, st->st_mode & 07777);
    octal(h + 108, 8, uid > 07777777 ? 0 : (unsigned long long)uid);
    octal(h + 116, 8, gid > 07777777 ? 0 : (unsigned long long)gid);
    octal(h + 124, 12, size > 077777777777ULL ? 0 : size);
    octal(h + 136, 12, st->st_mtime < 0 ? 0 : (unsigned long long)st->st_mtime);
    h[156] = type;
    if (link)
        memcpy(h + 157, link, strlen(link) > 100 ? 100 : strlen(link));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    if (type == '3' || type == '4') {
        octal(h + 329, 8, major(st->st_rdev));
        octal(h + 337, 8, minor(st->st_rdev));
    }
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    out_all(h, 512);
}

/* Writes BASE (in the directory DFD) as NAME, and below it when a directory. Nothing is followed. */
static void emit(int dfd, const char *base, const char *name)
{
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return; /* gone while copying */
        cp_fail(1, "%s: %s", name, strerror(errno));
    }
    if (S_ISREG(st.st_mode)) {
        int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        struct stat now;
        if (fd < 0 || fstat(fd, &now) < 0 || !S_ISREG(now.st_mode))
            cp_fail(1, "%s: %s", name, fd < 0 ? strerror(errno) : "changed while copying");
        header(name, &now, '0', NULL, (unsigned long long)now.st_size);
        static char buf[65536];
        unsigned long long left = (unsigned long long)now.st_size;
        while (left > 0) {
            ssize_t n = read(fd, buf, left < sizeof buf ? left : sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                cp_fail(1, "read %s: %s", name, strerror(errno));
            if (n == 0) { /* shrunk while copying: the header said more */
                memset(buf, 0, sizeof buf);
                n = (ssize_t)(left < sizeof buf ? left : sizeof buf);
            }
            out_all(buf, (size_t)n);
            left -= (unsigned long long)n;
        }
        pad_out((unsigned long long)now.st_size);
        close(fd);
    } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dfd, base, target, sizeof target - 1);
        if (n < 0)
            cp_fail(1, "readlink %s: %s", name, strerror(errno));
        target[n] = 0;
        header(name, &st, '2', target, 0);
    } else if (S_ISDIR(st.st_mode)) {
        int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            cp_fail(1, "open %s: %s", name, strerror(errno));
        char dname[PATH_MAX + 2];
        if (snprintf(dname, sizeof dname, "%s/", name) >= (int)sizeof dname)
            cp_fail(1, "%s: path too long", name);
        header(dname, &st, '5', NULL, 0);
        DIR *d = fdopendir(fd);
        if (!d)
            cp_fail(1, "read %s: %s", name, strerror(errno));
        struct dirent *e;
        while ((errno = 0, e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[PATH_MAX];
            if (snprintf(child, sizeof child, "%s%s", dname, e->d_name) >= (int)sizeof child)
                cp_fail(1, "%s/%s: path too long", name, e->d_name);
            emit(dirfd(d), e->d_name, child);
        }
        if (errno)
            cp_fail(1, "read %s: %s", name, strerror(errno));
        closedir(d);
    } else if (S_ISFIFO(st.st_mode)) {
        header(name, &st, '6', NULL, 0);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        header(name, &st, S_ISCHR(st.st_mode) ? '3' : '4', NULL, 0);
    } /* sockets: tar has no type for them, as GNU tar skips them */
}

/* ------------------------------------------------------------------------------------------------ */
/* put: a tar reader (ustar, pax 'x', GNU long names), extracting below one directory               */

static void in_full(void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(0, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            cp_fail(CP_BAD, "the archive is truncated");
        p += n;
        len -= (size_t)n;
    }
}

static void skip_in(unsigned long long len)
{
    char buf[4096];
    while (len > 0) {
        size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
        in_full(buf, n);
        len -= n;
    }
}

static unsigned long long number(const char *f, size_t size)
{
    unsigned long long v = 0;
    if ((unsigned char)f[0] & 0x80) { /* base-256 */
        for (size_t i = 0; i < size; i++)
            v = (v << 8) | (unsigned char)(i == 0 ? f[0] & 0x7f : f[i]);
        return v;
    }
    size_t i = 0;
    while (i < size && (f[i] == ' ' || f[i] == 0))
        i++;
    for (; i < size && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (unsigned long long)(f[i] - '0');
    return v;
}

/* The entry's name made relative and checked: no ".." (Docker refuses such an archive as a breakout). */
static int clean_name(const char *raw, char *out, size_t size)
{
    size_t len = 0;
    out[0] = 0;
    const char *p = raw;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (len + n + 2 > size)
                return -1;
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            out[len] = 0;
        }
        p += n;
    }
    return 0;
}

/* The directory holding DEST/NAME's last component, made (0755) where missing; the component in base. */
static int parent_of_entry(const char *dest, const char *name, char *base, size_t base_size)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dest, name);
    char *slash = strrchr(path, '/');
    snprintf(base, base_size, "%s", slash + 1);
    *slash = 0;
    int fd = in_root(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    /* Make the missing ones, each in its parent (resolved in the root again: a symlink on the way stays inside). */
    fd = in_root(dest, O_RDONLY | O_DIRECTORY);
    char rest[PATH_MAX], acc[PATH_MAX * 2];
    snprintf(rest, sizeof rest, "%s", name);
    snprintf(acc, sizeof acc, "%s", dest);
    char *r = strrchr(rest, '/');
    if (r)
        *r = 0;
    else
        rest[0] = 0;
    for (char *comp = strtok(rest, "/"); fd >= 0 && comp; comp = strtok(NULL, "/")) {
        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
            close(fd);
            return -1;
        }
        size_t len = strlen(acc);
        snprintf(acc + len, sizeof acc - len, "/%s", comp);
        close(fd);
        fd = in_root(acc, O_RDONLY | O_DIRECTORY);
    }
    return fd;
}

static void owner(int fd, const char *base, int flags, long a_uid, long a_gid, const char *name)
{
    long uid = map_id(&uid_map, keep_owner ? a_uid : 0, 1), gid = map_id(&gid_map, keep_owner ? a_gid : 0, 1);
    if (uid < 0 || gid < 0)
        cp_fail(CP_BAD, "%s: owner %ld:%ld is not mapped in the container", name, a_uid, a_gid);
    if (fchownat(fd, base, (uid_t)uid, (gid_t)gid, flags) < 0)
        cp_fail(1, "chown %s: %s", name, strerror(errno));
}

static void extract(const char *dest)
{
    struct stat st;
    char dbase[PATH_MAX];
    int dd = split(dest, dbase, sizeof dbase, &st);
    if (!S_ISDIR(st.st_mode))
        cp_fail(CP_BAD, "extraction point is not a directory: %s", dest);
    close(dd);
    static char long_name[PATH_MAX], long_link[PATH_MAX];
    long_name[0] = long_link[0] = 0;
    long long pax_size = -1, pax_uid = -1, pax_gid = -1;
    for (;;) {
        char h[512];
        in_full(h, sizeof h);
        int zero = 1;
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            return;
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
            sum += i >= 148 && i < 156 ? ' ' : (unsigned char)h[i];
        if (sum != number(h + 148, 8))
            cp_fail(CP_BAD, "the archive is not a tar (bad header checksum)");
        char type = h[156];
        unsigned long long size = pax_size >= 0 ? (unsigned long long)pax_size : number(h + 124, 12);
        if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
            size = number(h + 124, 12);
            if (type == 'g') {
                skip_in(size + (512 - size % 512) % 512);
                continue;
            }
            if (size >= 1 << 20)
                cp_fail(CP_BAD, "the archive has an extended header over 1 MiB");
            char *data = malloc(size + 1);
            if (!data)
                cp_fail(1, "out of memory");
            in_full(data, size);
            data[size] = 0;
            skip_in((512 - size % 512) % 512);
            if (type == 'L' || type == 'K') {
                snprintf(type == 'L' ? long_name : long_link, PATH_MAX, "%s", data);
            } else {
                for (char *p = data; p < data + size;) {
                    char *sp = strchr(p, ' ');
                    long n = strtol(p, NULL, 10);
                    if (!sp || n <= 0 || p + n > data + size)
                        cp_fail(CP_BAD, "the archive has a bad pax header");
                    char *kv = sp + 1, *eq = memchr(kv, '=', (size_t)(p + n - kv));
                    p[n - 1] = 0;
                    if (eq) {
                        *eq = 0;
                        if (strcmp(kv, "path") == 0)
                            snprintf(long_name, PATH_MAX, "%s", eq + 1);
                        else if (strcmp(kv, "linkpath") == 0)
                            snprintf(long_link, PATH_MAX, "%s", eq + 1);
                        else if (strcmp(kv, "size") == 0)
                            pax_size = atoll(eq + 1);
                        else if (strcmp(kv, "uid") == 0)
                            pax_uid = atoll(eq + 1);
                        else if (strcmp(kv, "gid") == 0)
                            pax_gid = atoll(eq + 1);
                    }
                    p += n;
                }
            }
            free(data);
            continue;
        }
        char raw[PATH_MAX + 160], link[PATH_MAX];
        if (long_name[0])
            snprintf(raw, sizeof raw, "%s", long_name);
        else if (h[345] && memcmp(h + 257, "ustar", 5) == 0)
            snprintf(raw, sizeof raw, "%.155s/%.100s", h + 345, h);
        else
            snprintf(raw, sizeof raw, "%.100s", h);
        if (long_link[0])
            snprintf(link, sizeof link, "%s", long_link);
        else
            snprintf(link, sizeof link, "%.100s", h + 157);
        long a_uid = pax_uid >= 0 ? (long)pax_uid : (long)number(h + 108, 8);
        long a_gid = pax_gid >= 0 ? (long)pax_gid : (long)number(h + 116, 8);
        mode_t mode = (mode_t)number(h + 100, 8) & 07777;
        time_t mtime = (time_t)number(h + 136, 12);
        long_name[0] = long_link[0] = 0;
        pax_size = pax_uid = pax_gid = -1;
        unsigned long long data_left = (type == '0' || type == 0 || type == '7') ? size : 0;

        char name[PATH_MAX];
        if (clean_name(raw, name, sizeof name) < 0)
            cp_fail(CP_BAD, "the archive entry %s leaves the destination (..)", raw);
        if (!name[0]) { /* the destination itself */
            skip_in(size + (512 - size % 512) % 512);
            continue;
        }
        if (type == '3' || type == '4')
            cp_fail(CP_BAD, "the archive entry %s is a device node: not copied into a container", name);
        char base[NAME_MAX + 1];
        int pfd = parent_of_entry(dest, name, base, sizeof base);
        if (pfd < 0)
            cp_fail(1, "%s: %s", name, strerror(errno));
        struct stat old;
        int exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
        int is_dir = type == '5';
        if (exists && S_ISDIR(old.st_mode) && !is_dir)
            cp_fail(CP_BAD, "cannot overwrite directory \"%s\" with non-directory", name);
        if (exists && !S_ISDIR(old.st_mode) && is_dir)
            cp_fail(CP_BAD, "cannot overwrite non-directory \"%s\" with directory", name);
        if (exists && !is_dir && unlinkat(pfd, base, 0) < 0)
            cp_fail(1, "remove %s: %s", name, strerror(errno));
        struct timespec times[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
        if (type == '0' || type == 0 || type == '7') {
            int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
            if (fd < 0)
                cp_fail(1, "create %s: %s", name, strerror(errno));
            char buf[65536];
            while (data_left > 0) {
                size_t n = data_left < sizeof buf ? (size_t)data_left : sizeof buf;
                in_full(buf, n);
                const char *p = buf;
                for (size_t left = n; left > 0;) {
                    ssize_t w = write(fd, p, left);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w < 0)
                        cp_fail(1, "write %s: %s", name, strerror(errno));
                    p += w;
                    left -= (size_t)w;
                }
                data_left -= n;
            }
            owner(fd, "", AT_EMPTY_PATH, a_uid, a_gid, name);
            if (fchmod(fd, mode) < 0 || futimens(fd, times) < 0)
                cp_fail(1, "chmod %s: %s", name, strerror(errno));
            close(fd);
            skip_in((512 - size % 512) % 512);
        } else if (is_dir) {
            if (!exists && mkdirat(pfd, base, 0700) < 0)
                cp_fail(1, "mkdir %s: %s", name, strerror(errno));
            int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0)
                cp_fail(1, "open %s: %s", name, strerror(errno));
            owner(fd, "", AT_EMPTY_PATH, a_uid, a_gid, name);
            if (fchmod(fd, mode) < 0)
                cp_fail(1, "chmod %s: %s", name, strerror(errno));
            close(fd);
            skip_in(size + (512 - size % 512) % 512);
        } else if (type == '2') {
            if (symlinkat(link, pfd, base) < 0)
                cp_fail(1, "symlink %s: %s", name, strerror(errno));
            owner(pfd, base, AT_SYMLINK_NOFOLLOW, a_uid, a_gid, name);
            utimensat(pfd, base, times, AT_SYMLINK_NOFOLLOW);
            skip_in(size + (512 - size % 512) % 512);
        } else if (type == '1') {
            char target[PATH_MAX], tbase[NAME_MAX + 1];
            if (clean_name(link, target, sizeof target) < 0 || !target[0])
                cp_fail(CP_BAD, "the archive's hard link %s -> %s leaves the destination", name, link);
            int tfd = parent_of_entry(dest, target, tbase, sizeof tbase);
            if (tfd < 0 || linkat(tfd, tbase, pfd, base, 0) < 0) /* no AT_SYMLINK_FOLLOW: a symlink is linked */
                cp_fail(1, "link %s -> %s: %s", name, link, strerror(errno));
            close(tfd);
            skip_in(size + (512 - size % 512) % 512);
        } else if (type == '6') {
            if (mknodat(pfd, base, S_IFIFO | mode, 0) < 0)
                cp_fail(1, "mkfifo %s: %s", name, strerror(errno));
            owner(pfd, base, AT_SYMLINK_NOFOLLOW, a_uid, a_gid, name);
            skip_in(size + (512 - size % 512) % 512);
        } else {
            skip_in(size + (512 - size % 512) % 512); /* other types: skipped, as tar does */
        }
        close(pfd);
    }
}

/* ------------------------------------------------------------------------------------------------ */

/* Mounts SRC on TARGET of the root (resolved in it), read-only when asked, in this process's mount namespace. */
static void bind_in_root(const char *src, const char *target, int ro)
{
    int fd = in_root(target, O_PATH);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return;
        cp_fail(1, "the mount point %s: %s", target, strerror(errno));
    }
    char at[64];
    snprintf(at, sizeof at, "/proc/self/fd/%d", fd); /* the resolved file itself, not a path walked again */
    if (mount(src, at, NULL, MS_BIND | MS_REC, NULL) < 0)
        cp_fail(1, "mount %s on %s: %s", src, target, strerror(errno));
    close(fd);
    if (!ro)
        return;
    fd = in_root(target, O_PATH); /* now the mount's root */
    if (fd < 0)
        cp_fail(1, "the mount point %s: %s", target, strerror(errno));
    struct corral_mount_attr attr = {.attr_set = CORRAL_MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
        snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
        if (errno != ENOSYS || mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
            cp_fail(1, "make %s read-only: %s", target, strerror(errno));
    }
    close(fd);
}

int cp_main(int argc, char **argv)
{
    if (argc < 2)
        cp_fail(1, "usage: corral-shim cp stat|get|put PATH (--pid INIT MONITOR | --rootfs DIR [--lower L]... "
                   "[--upper U --work W] [--bind ro|rw SRC TARGET]...) [--name NAME] [--keep-owner] "
                   "[--uid-map|--gid-map \"IN OUT N\"]...");
    const char *mode = argv[0], *path = argv[1], *name = NULL, *rootfs = NULL;
    unsigned long long init = 0, monitor = 0;
    struct strv lower = {0}, binds = {0}; /* binds: "ro"/"rw", SRC, TARGET, ... */
    const char *upper = NULL, *work = NULL;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--keep-owner") == 0) {
            keep_owner = 1;
            continue;
        }
        if (i + 1 >= argc)
            cp_fail(1, "%s: no value", o);
        const char *v = argv[++i];
        struct strv *list = strcmp(o, "--lower") == 0     ? &lower
                            : strcmp(o, "--uid-map") == 0 ? &uid_map
                            : strcmp(o, "--gid-map") == 0 ? &gid_map
                                                          : NULL;
        if (list) {
            list->v = realloc(list->v, (list->n + 2) * sizeof *list->v);
            if (!list->v)
                cp_fail(1, "out of memory");
            list->v[list->n++] = (char *)v;
            list->v[list->n] = NULL;
        } else if (strcmp(o, "--bind") == 0 && i + 2 < argc) {
            if (strcmp(v, "ro") != 0 && strcmp(v, "rw") != 0)
                cp_fail(1, "--bind: ro or rw, not %s", v);
            binds.v = realloc(binds.v, (binds.n + 4) * sizeof *binds.v);
            if (!binds.v)
                cp_fail(1, "out of memory");
            binds.v[binds.n++] = (char *)v;
            binds.v[binds.n++] = argv[++i];
            binds.v[binds.n++] = argv[++i];
            binds.v[binds.n] = NULL;
        } else if (strcmp(o, "--pid") == 0 && i + 1 < argc) {
            if (parse_ull(v, INT32_MAX, &init) < 0 || parse_ull(argv[++i], INT32_MAX, &monitor) < 0 || init < 2)
                cp_fail(1, "--pid: not pids");
        } else if (strcmp(o, "--rootfs") == 0) {
            rootfs = v;
        } else if (strcmp(o, "--upper") == 0) {
            upper = v;
        } else if (strcmp(o, "--work") == 0) {
            work = v;
        } else if (strcmp(o, "--name") == 0) {
            name = v;
        } else {
            cp_fail(1, "unknown option %s", o);
        }
    }
    umask(0); /* the archive's modes, as given */
    if (init) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/%llu", init);
        int pfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 || parent_of(pfd) != (long)monitor)
            cp_fail(1, "the container is not running (its init is gone)");
        root_fd = openat(pfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 || parent_of(pfd) != (long)monitor)
            cp_fail(1, "the container is not running (its init is gone)");
        close(pfd);
    } else if (rootfs) {
        /* the overlay and the binds in a mount namespace of our own: nothing is left mounted on the host */
        if ((lower.n || binds.n) && (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0))
            cp_fail(1, "private mount namespace: %s", strerror(errno));
        if (lower.n) {
            cfg.rootfs = rootfs;
            cfg.overlay_lower = lower;
            cfg.overlay_upper = upper;
            cfg.overlay_work = work;
            mount_overlay();
        }
        root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC); /* after the unshare: lookups see our mounts */
        if (root_fd < 0)
            cp_fail(1, "open the container's root %s: %s", rootfs, strerror(errno));
        /* read-only for stat and get (nothing there writes); for put, as the container has it */
        for (size_t i = 0; i + 2 < binds.n; i += 3)
            bind_in_root(binds.v[i + 1], binds.v[i + 2], strcmp(mode, "put") != 0 || strcmp(binds.v[i], "ro") == 0);
    } else {
        cp_fail(1, "--pid or --rootfs is needed");
    }

    struct stat st;
    char base[PATH_MAX];
    if (strcmp(mode, "stat") == 0) {
        int dfd = split(path, base, sizeof base, &st);
        printf("%o %lld %lld\n", (unsigned)st.st_mode, (long long)st.st_size, (long long)st.st_mtime);
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(dfd, base, target, sizeof target - 1);
            if (n >= 0)
                printf("%.*s\n", (int)n, target);
        }
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(mode, "get") == 0) {
        int dfd = split(path, base, sizeof base, &st);
        emit(dfd, base, name ? name : base);
        char end[1024];
        memset(end, 0, sizeof end);
        out_all(end, sizeof end);
        return 0;
    }
    if (strcmp(mode, "put") == 0) {
        extract(path);
        return 0;
    }
    cp_fail(1, "unknown mode %s (stat, get or put)", mode);
}
