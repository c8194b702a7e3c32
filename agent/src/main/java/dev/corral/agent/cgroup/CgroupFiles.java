package dev.corral.agent.cgroup;

import dev.corral.agent.posix.Posix;
import dev.corral.exporter.io.KernelText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import jnr.constants.platform.Errno;

/** Reads and writes cgroup control files; every write is one write(2) and kernel errors become typed. */
final class CgroupFiles {

    private CgroupFiles() {
    }

    static void write(Path file, String value) throws CgroupException {
        int errno = Posix.get().writeOnce(file, value);
        if (errno == 0) {
            return;
        }
        String message = "write '" + value.strip() + "' to " + file + ": " + Posix.get().strerror(errno) + " ("
                + Posix.errnoName(errno) + ")";
        // v1 cpuset answers EACCES for CPUs or nodes its parent does not have: a bad value, not a permission
        boolean cpusetOutsideParent = errno == Errno.EACCES.intValue()
                && file.getFileName().toString().startsWith("cpuset.");
        if (errno == Errno.EINVAL.intValue() || errno == Errno.ERANGE.intValue() || cpusetOutsideParent) {
            throw new CgroupException.InvalidValue(message, file, value, null);
        }
        if (errno == Errno.EBUSY.intValue()) {
            throw new CgroupException.Busy(message, file, value, null);
        }
        if (errno == Errno.ENOENT.intValue()) {
            throw new CgroupException.Missing(message, file, value, null);
        }
        throw new CgroupException(message, file, value, null);
    }

    static String read(Path file) throws CgroupException {
        try {
            return KernelText.read(file).strip();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CgroupException.Missing("read " + file + ": no such file", file, null, e);
        } catch (IOException e) {
            throw new CgroupException("read " + file + ": " + e.getMessage(), file, null, e);
        }
    }

    /** The value of {@code key} in a flat-keyed file such as memory.events, or 0 when absent. */
    static long keyed(Path file, String key) throws CgroupException {
        for (String line : read(file).split("\n")) {
            if (line.startsWith(key + " ")) {
                return Long.parseLong(line.substring(key.length() + 1).trim());
            }
        }
        return 0;
    }

    static void mkdir(Path dir) throws CgroupException {
        try {
            Files.createDirectory(dir);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // already there: callers decide whether that is fine
        } catch (IOException e) {
            throw new CgroupException("create cgroup " + dir + ": " + e.getMessage(), dir, null, e);
        }
    }

    /**
     * mkdir that fails on an existing directory (one syscall: no existence check first).
     *
     * @throws CgroupException.Exists when it is there already
     */
    static void mkdirNew(Path dir) throws CgroupException {
        try {
            Files.createDirectory(dir);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new CgroupException.Exists("cgroup " + dir + " already exists", dir);
        } catch (IOException e) {
            throw new CgroupException("create cgroup " + dir + ": " + e.getMessage(), dir, null, e);
        }
    }

    /** rmdir with retries: the kernel reports EBUSY for a moment after the last task exits. */
    /** The names of the directories in {@code dir} (none when it is missing). */
    static java.util.Set<String> subdirs(Path dir) throws CgroupException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        if (!java.nio.file.Files.isDirectory(dir)) {
            return out;
        }
        try (java.nio.file.DirectoryStream<Path> ds = java.nio.file.Files.newDirectoryStream(dir,
                java.nio.file.Files::isDirectory)) {
            ds.forEach(d -> out.add(d.getFileName().toString()));
        } catch (java.io.IOException e) {
            throw new CgroupException("list " + dir + ": " + e.getMessage(), dir, null, e);
        }
        return out;
    }

    static void rmdir(Path dir) throws CgroupException {
        long deadline = System.currentTimeMillis() + 2000;
        while (true) {
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new CgroupException.Busy("remove cgroup " + dir + ": " + e.getMessage(), dir, null, e);
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new CgroupException("interrupted removing " + dir, dir, null, ie);
                }
            }
        }
    }
}
