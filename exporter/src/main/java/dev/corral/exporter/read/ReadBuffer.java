package dev.corral.exporter.read;

import java.nio.ByteBuffer;

/**
 * A reusable byte buffer for reading kernel files; owned by one thread. Grows when a file does not fit.
 *
 * <p>Files are read into a direct buffer and copied into a byte array for the parsers: the JDK's positional read
 * into a heap buffer would borrow a temporary direct buffer from a per-thread cache and copy anyway, on every
 * read (10-15 % of the collector's own CPU in the profile of docs/benchmarks.md, section 2).
 */
public final class ReadBuffer {

    private byte[] bytes;
    private ByteBuffer direct;
    private int length;

    public ReadBuffer(int initialCapacity) {
        bytes = new byte[initialCapacity];
        direct = ByteBuffer.allocateDirect(initialCapacity);
    }

    public byte[] bytes() {
        return bytes;
    }

    public int length() {
        return length;
    }

    ByteBuffer clearDirect() {
        direct.clear();
        return direct;
    }

    /** The last read put {@code n} bytes at the start of the direct buffer. */
    void copyIn(int n) {
        direct.get(0, bytes, 0, n);
        length = n;
    }

    void grow() {
        bytes = new byte[bytes.length * 2];
        direct = ByteBuffer.allocateDirect(bytes.length);
    }

    /** Test and debugging aid. */
    public String asString() {
        return new String(bytes, 0, length, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
