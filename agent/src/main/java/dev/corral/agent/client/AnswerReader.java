package dev.corral.agent.client;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads one HTTP/1.x answer from a connection: the status line (skipping 1xx interim answers), the headers, and the
 * body framed by Content-Length, chunked transfer-encoding or the end of the connection. The status line and headers
 * together are limited to 64 KiB. A closed channel surfaces as the channel's own exception; the
 * {@link HttpTransport.Exchange} around it turns that into a timeout where its deadline closed it.
 */
final class AnswerReader {

    private static final int BUFFER_BYTES = 16 * 1024;
    private static final int MAX_HEAD_BYTES = 64 * 1024;

    private enum Framing { NONE, LENGTH, CHUNKED, EOF }

    private final ReadableByteChannel channel;
    private final String method;
    /** Received bytes not yet consumed, in read mode. */
    private final ByteBuffer in = ByteBuffer.allocate(BUFFER_BYTES).flip();
    final Map<String, List<String>> headers = new LinkedHashMap<>();
    int status;
    private Framing framing;
    private long length;
    /** LENGTH: bytes still to come; CHUNKED: bytes left of the current chunk. */
    private long remaining;
    private boolean chunkCrlfPending;
    boolean ended;
    private int headBytes;

    AnswerReader(ReadableByteChannel channel, String method) {
        this.channel = channel;
        this.method = method;
    }

    /** The status line and headers; then the body is read with {@link #next()}. */
    void readHead() throws IOException {
        while (true) {
            String line = line(true);
            if (line == null) {
                throw new EOFException("the connection closed before an answer");
            }
            // "HTTP/1.1 200 OK"
            if (!line.startsWith("HTTP/1.") || line.length() < 12 || line.charAt(8) != ' '
                    || (line.length() > 12 && line.charAt(12) != ' ')) {
                throw new IOException("not an HTTP/1.x status line: " + abbreviate(line));
            }
            try {
                status = Integer.parseInt(line.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("not an HTTP/1.x status line: " + abbreviate(line));
            }
            headers.clear();
            readHeaders(headers);
            if (status >= 200 || status == 101) {
                break;
            }
            // 1xx: an interim answer; the final one follows
        }
        framing = framing();
    }

    private void readHeaders(Map<String, List<String>> into) throws IOException {
        String last = null;
        while (true) {
            String line = line(false);
            if (line.isEmpty()) {
                return;
            }
            if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && last != null) { // obsolete folding
                List<String> values = into.get(last);
                values.set(values.size() - 1, (values.get(values.size() - 1) + " " + line.strip()).strip());
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException("not a header line: " + abbreviate(line));
            }
            last = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            into.computeIfAbsent(last, k -> new ArrayList<>()).add(line.substring(colon + 1).strip());
        }
    }

    private Framing framing() throws IOException {
        if (method.equals("HEAD") || status == 204 || status == 304 || status < 200) {
            return Framing.NONE;
        }
        List<String> te = headers.get("transfer-encoding");
        if (te != null && !te.isEmpty()) {
            String codings = String.join(",", te).toLowerCase(Locale.ROOT);
            String[] parts = codings.split(",");
            return parts[parts.length - 1].strip().equals("chunked") ? Framing.CHUNKED : Framing.EOF;
        }
        List<String> cl = headers.get("content-length");
        if (cl != null && !cl.isEmpty()) {
            long n = -1;
            for (String v : String.join(",", cl).split(",")) {
                long m;
                try {
                    m = Long.parseLong(v.strip());
                } catch (NumberFormatException e) {
                    m = -1;
                }
                if (m < 0 || (n >= 0 && m != n)) {
                    throw new IOException("invalid Content-Length: " + abbreviate(String.join(",", cl)));
                }
                n = m;
            }
            length = n;
            remaining = n;
            return n == 0 ? Framing.NONE : Framing.LENGTH;
        }
        return Framing.EOF;
    }

    /** The next piece of the body (never empty), or null at its end. */
    byte[] next() throws IOException {
        if (ended) {
            return null;
        }
        switch (framing) {
            case NONE -> {
                return end();
            }
            case LENGTH -> {
                if (remaining == 0) {
                    return end();
                }
                if (!in.hasRemaining() && fill() < 0) {
                    throw new EOFException("the answer ended after " + (length - remaining) + " of its " + length
                            + " bytes");
                }
                byte[] b = take((int) Math.min(remaining, in.remaining()));
                remaining -= b.length;
                return b;
            }
            case EOF -> {
                if (!in.hasRemaining() && fill() < 0) {
                    return end();
                }
                return take(in.remaining());
            }
            default -> {
                return nextChunked();
            }
        }
    }

    private byte[] nextChunked() throws IOException {
        if (remaining == 0) {
            if (chunkCrlfPending) {
                String crlf = line(false);
                if (!crlf.isEmpty()) {
                    throw new IOException("a chunk is longer than its size said");
                }
                chunkCrlfPending = false;
            }
            String sizeLine = line(false);
            int semi = sizeLine.indexOf(';');
            String hex = (semi < 0 ? sizeLine : sizeLine.substring(0, semi)).strip();
            long size;
            try {
                size = hex.isEmpty() || hex.length() > 15 ? -1 : Long.parseLong(hex, 16);
            } catch (NumberFormatException e) {
                size = -1;
            }
            if (size < 0) {
                throw new IOException("not a chunk size: " + abbreviate(sizeLine));
            }
            if (size == 0) {
                readHeaders(new LinkedHashMap<>()); // trailers, up to the blank line
                return end();
            }
            remaining = size;
        }
        if (!in.hasRemaining() && fill() < 0) {
            throw new EOFException("the answer ended inside a chunk");
        }
        byte[] b = take((int) Math.min(remaining, in.remaining()));
        remaining -= b.length;
        chunkCrlfPending = remaining == 0;
        return b;
    }

    private byte[] end() {
        ended = true;
        return null;
    }

    private byte[] take(int n) {
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    /** Reads more from the connection into {@code in}; -1 at its end. */
    private int fill() throws IOException {
        in.compact();
        try {
            int n;
            do {
                n = channel.read(in);
            } while (n == 0);
            return n;
        } finally {
            in.flip();
        }
    }

    /**
     * A line without its CRLF (or LF), as ISO-8859-1; a line, and the status line and headers together, are
     * limited to 64 KiB. At the end of the connection: null when {@code eofOk} and nothing was read, else an EOFException.
     */
    private String line(boolean eofOk) throws IOException {
        ByteArrayOutputStream partial = null;
        while (true) {
            for (int i = in.position(); i < in.limit(); i++) {
                if (in.get(i) == '\n') {
                    int len = i - in.position();
                    count(len + 1);
                    byte[] b = take(len);
                    in.get(); // the LF
                    if (partial != null) {
                        partial.write(b, 0, b.length);
                        b = partial.toByteArray();
                    }
                    int end = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
                    return new String(b, 0, end, StandardCharsets.ISO_8859_1);
                }
            }
            if (in.hasRemaining()) {
                if (partial == null) {
                    partial = new ByteArrayOutputStream();
                }
                count(in.remaining());
                byte[] b = take(in.remaining());
                partial.write(b, 0, b.length);
                if (partial.size() > MAX_HEAD_BYTES) {
                    throw new IOException("a line of the answer is over " + MAX_HEAD_BYTES + " bytes");
                }
            }
            if (fill() < 0) {
                if (eofOk && partial == null) {
                    return null;
                }
                throw new EOFException("the connection closed in the middle of a line");
            }
        }
    }

    private void count(int n) throws IOException {
        headBytes += n;
        if (headBytes > MAX_HEAD_BYTES && framing == null) {
            throw new IOException("the answer's head is over " + MAX_HEAD_BYTES + " bytes");
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }
}
