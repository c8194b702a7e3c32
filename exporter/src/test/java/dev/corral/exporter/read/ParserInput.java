package dev.corral.exporter.read;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** File contents as the parsers see them: bytes in a reused buffer, valid up to a length. */
final class ParserInput {

    final byte[] bytes;
    final int length;

    private ParserInput(byte[] bytes, int length) {
        this.bytes = bytes;
        this.length = length;
    }

    /** The text alone in an exactly sized array. */
    static ParserInput of(String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        return new ParserInput(b, b.length);
    }

    /**
     * The text followed by stale bytes from an earlier, longer read, as in a reused {@link ReadBuffer}: parsers
     * must stop at the length.
     */
    static ParserInput inReusedBuffer(String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        byte[] stale = "\nstale 999 8:0 Read 77 rbytes=5 total=3 max\n".getBytes(StandardCharsets.US_ASCII);
        byte[] buf = Arrays.copyOf(b, b.length + stale.length);
        System.arraycopy(stale, 0, buf, b.length, stale.length);
        return new ParserInput(buf, b.length);
    }
}
