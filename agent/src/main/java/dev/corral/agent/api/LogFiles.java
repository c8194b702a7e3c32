package dev.corral.agent.api;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a container's log file incrementally, following rotation (x.log is renamed to x.log.1 and a new x.log
 * starts: a file shorter than the position read so far is new).
 */
final class LogFiles {

    private static final int CHUNK = 64 * 1024;

    private final Path file;
    private long position;

    LogFiles(Path file) {
        this.file = file;
    }

    /** Starts so that the next read returns the last {@code lines} lines (all when negative). */
    void tail(int lines) throws IOException {
        if (lines < 0 || !Files.exists(file)) {
            position = 0;
            return;
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long pos = raf.length();
            int newlines = 0;
            // Skip the final newline, then count back.
            long scan = pos - 1;
            while (scan >= 0) {
                raf.seek(scan);
                if (raf.read() == '\n' && scan != pos - 1 && ++newlines == lines) {
                    break;
                }
                scan--;
            }
            position = lines == 0 ? pos : Math.max(0, scan + 1);
        }
    }

    /** What was written since the last read (at most 64 KiB at a time); empty when nothing new. */
    byte[] next() throws IOException {
        if (!Files.exists(file)) {
            return new byte[0];
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            if (length < position) {
                position = 0;
            }
            int n = (int) Math.min(CHUNK, length - position);
            byte[] out = new byte[n];
            raf.seek(position);
            raf.readFully(out);
            position += n;
            return out;
        }
    }
}
