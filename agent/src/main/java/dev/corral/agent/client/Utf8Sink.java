package dev.corral.agent.client;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Writes streamed bytes to a writer as UTF-8 text, keeping a character split across two buffers whole, and flushes
 * after each buffer so output appears as the container writes it.
 */
final class Utf8Sink implements Consumer<byte[]> {

    private final PrintWriter out;
    private final PrintStream underlying;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(0);

    /** @param underlying the process stream {@code out} ends in (System.out or System.err), if it does */
    Utf8Sink(PrintWriter out, PrintStream underlying) {
        this.out = out;
        this.underlying = underlying;
    }

    Utf8Sink(PrintWriter out) {
        this(out, null);
    }

    @Override
    public synchronized void accept(byte[] bytes) {
        out.write(decode(bytes, false));
        out.flush();
    }

    /** Decodes {@code bytes} after what an earlier call left over; {@code last} flushes an incomplete tail. */
    synchronized String decode(byte[] bytes, boolean last) {
        ByteBuffer in = ByteBuffer.allocate(pending.remaining() + bytes.length);
        in.put(pending).put(bytes).flip();
        CharBuffer chars = CharBuffer.allocate(in.remaining() + 4);
        decoder.decode(in, chars, last);
        if (last) {
            decoder.flush(chars);
            decoder.reset();
        }
        pending = in.slice();
        return chars.flip().toString();
    }

    /** The reader of our output went away (e.g. "| head"): stop streaming to it. */
    boolean broken() {
        return closed(out, underlying);
    }

    /**
     * Whether writing failed, e.g. with EPIPE. picocli's writers wrap System.out through an OutputStreamWriter, and
     * the PrintStream swallows the error, so the stream is asked too.
     */
    static boolean closed(PrintWriter out, PrintStream underlying) {
        return out.checkError() || underlying != null && underlying.checkError();
    }

    synchronized void finish() {
        out.write(decode(new byte[0], true));
        out.flush();
    }
}
