package dev.corral.agent.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Reads a container's log file incrementally, following rotation (x.log is renamed to x.log.1 and a new x.log
 * starts: a file shorter than the position read so far is new).
 *
 * <p>With a time window or timestamps ({@link #timed}), whole lines are given, each with the time the shim's monitor
 * read it from the container's pipe: the index beside the log (x.log.idx, written by shim-monitor.c: 16-byte
 * records, the log offset where a chunk read starts and its Unix time in ns) gives a line the time of the last
 * chunk that starts at or before it. A log without an index (written by an older shim) takes its file's mtime.
 */
final class LogFiles {

    private static final int CHUNK = 64 * 1024;
    /** Docker's RFC3339NanoFixed, in UTC. */
    static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final Path file;
    private final Path index;
    private long position;

    private boolean timed;
    private long sinceNs = Long.MIN_VALUE;
    private long untilNs = Long.MAX_VALUE;
    private boolean timestamps;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private long partialStart;
    private long[] offsets = new long[0];
    private long[] times = new long[0];
    private int records;

    LogFiles(Path file) {
        this.file = file;
        this.index = file.resolveSibling(file.getFileName() + ".idx");
    }

    /** Only lines read in [since, until) (ns since the epoch), each prefixed with its time when asked. */
    void timed(long sinceNs, long untilNs, boolean timestamps) {
        this.timed = true;
        this.sinceNs = sinceNs;
        this.untilNs = untilNs;
        this.timestamps = timestamps;
    }

    /** Starts so that the next read returns the last {@code lines} lines (all when negative). */
    void tail(int lines) throws IOException {
        if (lines < 0 || !Files.exists(file)) {
            position = 0;
            partialStart = 0;
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
            partialStart = position;
        }
    }

    /** What was written since the last read (at most 64 KiB at a time); empty when nothing new. */
    byte[] next() throws IOException {
        byte[] raw = read();
        return timed ? lines(raw, false) : raw;
    }

    /** When timed: the last line if it has no newline (the output is over); else empty. */
    byte[] rest() throws IOException {
        return timed ? lines(new byte[0], true) : new byte[0];
    }

    private byte[] read() throws IOException {
        if (!Files.exists(file)) {
            return new byte[0];
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            if (length < position) { // rotated: a new file
                position = 0;
                partial.reset();
                partialStart = 0;
                records = 0;
            }
            int n = (int) Math.min(CHUNK, length - position);
            byte[] out = new byte[n];
            raf.seek(position);
            raf.readFully(out);
            position += n;
            return out;
        }
    }

    private byte[] lines(byte[] raw, boolean flush) throws IOException {
        if (raw.length == 0 && partial.size() == 0) {
            return raw;
        }
        loadIndex();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '\n') {
                partial.write(raw, start, i + 1 - start);
                emit(out);
                start = i + 1;
            }
        }
        partial.write(raw, start, raw.length - start);
        if (flush && partial.size() > 0) {
            emit(out);
        }
        return out.toByteArray();
    }

    private void emit(ByteArrayOutputStream out) throws IOException {
        long t = timeAt(partialStart);
        if (t >= sinceNs && t < untilNs) {
            if (timestamps) {
                out.write(STAMP.format(Instant.ofEpochSecond(0, t)).getBytes(StandardCharsets.US_ASCII));
                out.write(' ');
            }
            partial.writeTo(out);
        }
        partialStart += partial.size();
        partial.reset();
    }

    /** The time of the last indexed chunk starting at or before {@code offset}. */
    private long timeAt(long offset) throws IOException {
        int lo = 0;
        int hi = records - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (offsets[mid] <= offset) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (found >= 0) {
            return times[found];
        }
        return Files.exists(file) ? Files.getLastModifiedTime(file).toInstant().getEpochSecond() * 1_000_000_000L
                + Files.getLastModifiedTime(file).toInstant().getNano() : 0;
    }

    /** Reads the index records written since the last look (the index only grows until its log rotates). */
    private void loadIndex() throws IOException {
        if (!Files.exists(index)) {
            return;
        }
        try (RandomAccessFile raf = new RandomAccessFile(index.toFile(), "r")) {
            long length = raf.length() / 16 * 16;
            if (length < (long) records * 16) {
                records = 0; // rotated
            }
            int more = (int) Math.min(Integer.MAX_VALUE / 16 - records, (length - (long) records * 16) / 16);
            if (more <= 0) {
                return;
            }
            byte[] buf = new byte[more * 16];
            raf.seek((long) records * 16);
            raf.readFully(buf);
            if (records + more > offsets.length) {
                int cap = Math.max(records + more, offsets.length * 2);
                offsets = java.util.Arrays.copyOf(offsets, cap);
                times = java.util.Arrays.copyOf(times, cap);
            }
            ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < more; i++) {
                offsets[records] = b.getLong();
                times[records] = b.getLong();
                records++;
            }
        }
    }
}
