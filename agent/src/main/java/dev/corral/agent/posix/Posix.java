package dev.corral.agent.posix;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import jnr.constants.platform.Errno;
import jnr.constants.platform.OpenFlags;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The few system calls the JDK does not expose with their errno, through jnr-posix. Fails fast when the
 * native backend is not loaded, instead of jnr's silent pure-Java fallback that cannot do any of this.
 */
public final class Posix {

    private static final Posix INSTANCE = new Posix();

    private final POSIX posix;
    private final Libc libc = jnr.ffi.LibraryLoader.create(Libc.class).load("c");

    /** libc calls jnr-posix does not wrap. */
    public interface Libc {
        int mknod(String path, int mode, long dev);

        int rmdir(String path);

        int lsetxattr(String path, String name, byte[] value, long size, int flags);

        long lgetxattr(String path, String name, byte[] value, long size);
    }

    private Posix() {
        POSIX p = POSIXFactory.getNativePOSIX();
        if (p == null || !p.isNative()) {
            throw new IllegalStateException("jnr-posix could not load its native backend (jffi); Corral needs it "
                    + "for signals and cgroup writes");
        }
        this.posix = p;
    }

    public static Posix get() {
        return INSTANCE;
    }

    /**
     * Writes {@code value} to a kernel file in exactly one write(2), as cgroup files expect.
     *
     * @return 0 on success, else the errno
     */
    public int writeOnce(Path file, String value) {
        int fd = posix.open(file.toString(), OpenFlags.O_WRONLY.intValue() | OpenFlags.O_CLOEXEC.intValue(), 0);
        if (fd < 0) {
            return posix.errno();
        }
        try {
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            int n = posix.write(fd, bytes, bytes.length);
            if (n < 0) {
                return posix.errno();
            }
            return n == bytes.length ? 0 : Errno.EIO.intValue();
        } finally {
            posix.close(fd);
        }
    }

    /** rmdir(2) (the JDK's delete stats the path first); returns 0 or the errno. */
    public int rmdir(Path dir) {
        return libc.rmdir(dir.toString()) == 0 ? 0 : libcErrno(); // jnr-posix's rmdir throws instead
    }

    /** kill(2); returns 0 or the errno (ESRCH when the process is gone). */
    public int kill(long pid, int signal) {
        int r = posix.kill(pid, signal);
        return r == 0 ? 0 : posix.errno();
    }

    /** mknod(2); returns 0 or the errno. */
    public int mknod(Path path, int mode, long dev) {
        return libc.mknod(path.toString(), mode, dev) == 0 ? 0 : libcErrno();
    }

    /** lsetxattr(2) (trusted.* names need CAP_SYS_ADMIN, which Java's attribute views cannot set); 0 or the errno. */
    public int setXattr(Path path, String name, byte[] value) {
        return libc.lsetxattr(path.toString(), name, value, value.length, 0) == 0 ? 0 : libcErrno();
    }

    /** lgetxattr(2): the value (up to 4 KiB), or null when the file has no such attribute or it cannot be read. */
    public byte[] getXattr(Path path, String name) {
        byte[] buf = new byte[4096];
        long n = libc.lgetxattr(path.toString(), name, buf, buf.length);
        return n < 0 ? null : java.util.Arrays.copyOf(buf, (int) n);
    }

    /** lchown(2): the link itself, never its target; 0 or the errno. */
    public int lchown(Path path, long uid, long gid) {
        return posix.lchown(path.toString(), (int) uid, (int) gid) == 0 ? 0 : posix.errno();
    }

    /** chmod(2) with the setuid, setgid and sticky bits that PosixFilePermission cannot express; 0 or the errno. */
    public int chmod(Path path, int mode) {
        return posix.chmod(path.toString(), mode) == 0 ? 0 : posix.errno();
    }

    private int libcErrno() {
        return jnr.ffi.LastError.getLastError(jnr.ffi.Runtime.getRuntime(libc));
    }

    public String strerror(int errno) {
        return posix.strerror(errno);
    }

    public static String errnoName(int errno) {
        Errno e = Errno.valueOf(errno);
        return e == null ? "errno " + errno : e.name();
    }
}
