package dev.corral.exporter.read;

import java.nio.ByteBuffer;

/** A reusable byte buffer for reading kernel files; owned by one thread. Grows when a file does not fit. */
public final class ReadBuffer {

    private byte[] bytes;
    private ByteBuffer view;
    private int length;

    public ReadBuffer(int initialCapacity) {
        bytes = new byte[initialCapacity];
        view = ByteBuffer.wrap(bytes);
    }

    public byte[] bytes() {
        return bytes;
    }

    public int length() {
        return length;
    }

    ByteBuffer clearView() {
        view.clear();
        return view;
    }

    void setLength(int length) {
        this.length = length;
    }

    void grow() {
        bytes = new byte[bytes.length * 2];
        view = ByteBuffer.wrap(bytes);
    }

    /** Test and debugging aid. */
    public String asString() {
        return new String(bytes, 0, length, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
