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
 * shorter than the buffer is the whole file.
 *
 * <p>Kept-open files are budgeted below the process's open-file limit (about 18 per cgroup on a v1 host; limit
 * files are opened per read, see LimitsRefresh): past the budget a file is opened for each read instead, slower but
 * correct, and the agent keeps descriptors for its sockets and the processes it starts.
 */
public final class KernelFile implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(KernelFile.class);
    private static final int RESERVED = 1024;
    private static final long BUDGET = budget();
    private static final AtomicInteger KEPT = new AtomicInteger();
    private static volatile boolean warned;

    private final Path path;
    private final FileChannel channel;

    private KernelFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
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
        if (channel != null) {
            readInto(channel, buffer);
            return;
        }
        try (FileChannel once = FileChannel.open(path, StandardOpenOption.READ)) {
            readInto(once, buffer);
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
        if (channel != null) {
            KEPT.decrementAndGet();
            channel.close();
        }
    }
}
