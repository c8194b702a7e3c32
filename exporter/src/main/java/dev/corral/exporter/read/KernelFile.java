package dev.corral.exporter.read;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A cgroup or proc file kept open and re-read with {@code pread} at offset 0, so a collection cycle costs one
 * syscall per file and no open/close. Kernel seq files return everything that fits in one read, so a read
 * shorter than the buffer is the whole file.
 */
public final class KernelFile implements Closeable {

    private final Path path;
    private final FileChannel channel;

    private KernelFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** Opens the file, or returns null when it does not exist (controller or feature absent). */
    public static KernelFile openIfPresent(Path path) throws IOException {
        try {
            return new KernelFile(path, FileChannel.open(path, StandardOpenOption.READ));
        } catch (NoSuchFileException e) {
            return null;
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
        while (true) {
            ByteBuffer view = buffer.clearView();
            int n = channel.read(view, 0);
            if (n < view.capacity()) {
                buffer.setLength(Math.max(n, 0));
                return;
            }
            buffer.grow();
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
