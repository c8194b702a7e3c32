package dev.corral.exporter.metrics;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable byte array the exposition is written into: ASCII and UTF-8, no per-call allocation. */
final class TextOut {

    private byte[] bytes;
    private int size;

    TextOut(int capacity) {
        bytes = new byte[Math.max(capacity, 256)];
    }

    int size() {
        return size;
    }

    byte[] bytes() {
        return bytes;
    }

    void reset() {
        size = 0;
    }

    private void ensure(int more) {
        if (size + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(size + more, bytes.length + (bytes.length >> 1)));
        }
    }

    void write(byte b) {
        ensure(1);
        bytes[size++] = b;
    }

    void write(byte[] b) {
        write(b, 0, b.length);
    }

    void write(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, bytes, size, len);
        size += len;
    }

    /** Writes a string known to be ASCII (numbers from Double.toString, names). */
    @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int) copies the low bytes: right for ASCII
    void writeAscii(String s) {
        ensure(s.length());
        s.getBytes(0, s.length(), bytes, size);
        size += s.length();
    }

    /** A non-negative long in decimal. */
    void writeDigits(long v) {
        int digits = 1;
        for (long t = v; t >= 10; t /= 10) {
            digits++;
        }
        ensure(digits);
        int end = size + digits;
        for (int i = end - 1; i >= size; i--) {
            bytes[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        size = end;
    }

    /**
     * A label value as the text format escapes it (backslash, double quote and line feed), UTF-8 encoded, as
     * client_java's TextFormatUtil.writeEscapedString writes it.
     */
    void writeEscaped(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' || c == '"') {
                ensure(2);
                bytes[size++] = '\\';
                bytes[size++] = (byte) c;
            } else if (c == '\n') {
                ensure(2);
                bytes[size++] = '\\';
                bytes[size++] = 'n';
            } else if (c < 0x80) {
                ensure(1);
                bytes[size++] = (byte) c;
            } else { // rare: encode the rest of the string through the JDK (surrogate pairs included)
                writeEscapedSlow(s.substring(i));
                return;
            }
        }
    }

    private void writeEscapedSlow(String s) {
        String escaped = s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
        write(escaped.getBytes(StandardCharsets.UTF_8));
    }
}
