package dev.corral.exporter.read;

import java.nio.ByteBuffer;

/**
 * A reusable byte buffer for reading kernel files; owned by one thread. Grows when a file does not fit.
 *
 * <p>{@link NativeReads} reads straight into the byte array. Through a FileChannel, files are read into a direct
 * buffer (made on first use) and copied into the array for the parsers: the JDK's positional read into a heap
 * buffer would borrow a temporary direct buffer from a per-thread cache and copy anyway, on every read (10-15 % of
 * the collector's own CPU in the profile in docs/benchmarks.md's git history).
 */
public final class ReadBuffer {

    private byte[] bytes;
    private ByteBuffer direct;
    private int length;

    public ReadBuffer(int initialCapacity) {
        bytes = new byte[initialCapacity];
    }

    public byte[] bytes() {
        return bytes;
    }

    public int length() {
        return length;
    }

    ByteBuffer clearDirect() {
        if (direct == null || direct.capacity() != bytes.length) {
            direct = ByteBuffer.allocateDirect(bytes.length);
        }
        direct.clear();
        return direct;
    }

    /** A read put {@code n} bytes at the start of the array. */
    void filled(int n) {
        length = n;
    }

    /** The last read put {@code n} bytes at the start of the direct buffer. */
    void copyIn(int n) {
        direct.get(0, bytes, 0, n);
        length = n;
    }

    void grow() {
        bytes = new byte[bytes.length * 2];
    }

    /** Test and debugging aid. */
    public String asString() {
        return new String(bytes, 0, length, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
