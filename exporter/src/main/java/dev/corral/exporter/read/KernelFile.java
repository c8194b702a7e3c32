package dev.corral.exporter.read;

import java.io.Closeable;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cgroup or proc file kept open and re-read with {@code pread} at offset 0, so a collection cycle costs one
 * syscall per file and no open/close. Kernel seq files return everything that fits in one read, so a read
 * shorter than the buffer is the whole file. Reads go through {@link NativeReads} where its library loads,
 * else through a FileChannel.
 *
 * <p>Kept-open files are budgeted below the process's open-file limit (about 16 per cgroup on a v1 host; limit
 * files are opened per read, see LimitsRefresh): past the budget a file is opened for each read instead, slower but
 * correct, and the agent keeps descriptors for its sockets and the processes it starts.
 */
public final class KernelFile implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(KernelFile.class);
    private static final int RESERVED = 1024;
    private static final long BUDGET = budget();
    private static final AtomicInteger KEPT = new AtomicInteger();
    private static volatile boolean warned;

    private static final int ENOENT = 2;

    private final Path path;
    private final FileChannel channel; // kept open, read through the JDK
    private int fd = -1;               // kept open, read through NativeReads; -1 once closed
    private boolean closed;

    private KernelFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    private KernelFile(Path path, int fd) {
        this(path, null);
        this.fd = fd;
    }

    private static long budget() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean os) {
            return Math.max(64, os.getMaxFileDescriptorCount() - RESERVED);
        }
        return 16_000;
    }

    /**
     * A file opened for each read and never kept open: for files read now and then (limits), so they cost no
     * descriptor and no kernel buffer between reads. Null when it does not exist.
     */
    public static KernelFile perRead(Path path) {
        return Files.exists(path) ? new KernelFile(path, null) : null;
    }

    /** Opens the file, or returns null when it does not exist (controller or feature absent). */
    public static KernelFile openIfPresent(Path path) throws IOException {
        if (KEPT.incrementAndGet() > BUDGET) {
            KEPT.decrementAndGet();
            if (!warned) {
                warned = true;
                LOG.warn("{} cgroup files are open, near the open-file limit: further files are opened per read "
                        + "(slower); raise the limit (ulimit -n) to keep them open", BUDGET);
            }
            return Files.exists(path) ? new KernelFile(path, null) : null;
        }
        if (NativeReads.available()) {
            int fd = NativeReads.open(path);
            if (fd >= 0) {
                return new KernelFile(path, fd);
            }
            KEPT.decrementAndGet();
            if (-fd == ENOENT) {
                return null;
            }
            throw new IOException(path + ": " + NativeReads.describe(-fd));
        }
        try {
            return new KernelFile(path, FileChannel.open(path, StandardOpenOption.READ));
        } catch (NoSuchFileException e) {
            KEPT.decrementAndGet();
            return null;
        } catch (IOException | RuntimeException e) {
            KEPT.decrementAndGet();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /**
     * Reads the whole file into {@code buffer}. Throws when the read fails, which for a cgroup file usually
     * means the cgroup was removed (ENODEV).
     */
    public void readInto(ReadBuffer buffer) throws IOException {
        if (closed) {
            throw new IOException(path + ": closed");
        }
        if (fd >= 0) {
            readInto(fd, buffer);
        } else if (channel != null) {
            readInto(channel, buffer);
        } else if (NativeReads.available()) {
            int once = NativeReads.open(path);
            if (once < 0) {
                throw new IOException(path + ": " + NativeReads.describe(-once));
            }
            try {
                readInto(once, buffer);
            } finally {
                NativeReads.close0(once);
            }
        } else {
            try (FileChannel once = FileChannel.open(path, StandardOpenOption.READ)) {
                readInto(once, buffer);
            }
        }
    }

    private void readInto(int descriptor, ReadBuffer buffer) throws IOException {
        while (true) {
            byte[] bytes = buffer.bytes();
            int n = NativeReads.pread0(descriptor, bytes, bytes.length);
            if (n < 0) {
                throw new IOException(path + ": " + NativeReads.describe(-n));
            }
            if (n < bytes.length) {
                buffer.filled(n);
                return;
            }
            buffer.grow();
        }
    }

    private static void readInto(FileChannel ch, ReadBuffer buffer) throws IOException {
        while (true) {
            ByteBuffer direct = buffer.clearDirect();
            int n = ch.read(direct, 0);
            if (n < direct.capacity()) {
                buffer.copyIn(Math.max(n, 0));
                return;
            }
            buffer.grow();
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return; // never close a descriptor number twice: it may be someone else's by then
        }
        closed = true;
        if (fd >= 0) {
            KEPT.decrementAndGet();
            NativeReads.close0(fd);
        } else if (channel != null) {
            KEPT.decrementAndGet();
            channel.close();
        }
    }
}
