package dev.corral.agent.client;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The client end of an exec (the daemon's ExecRoutes has the protocol): one POST whose chunked body is our stdin
 * (when given) and whose chunked answer is the command's stdout and stderr frames, then its exit status; both flow
 * at once. Reads and writes go straight to the {@link SocketChannel} (full duplex from two threads; its stream
 * adapters would serialise them).
 */
public final class ExecStream implements Closeable {

    private static final Pattern EXIT_CODE = Pattern.compile("\"exitCode\"\\s*:\\s*(-?\\d+)");
    private static final int MAX_HEAD = 64 * 1024;

    /** Body frame types with a terminal (tty=true; ExecRoutes): its input, and a resize. */
    private static final int FRAME_DATA = 0;
    private static final int FRAME_RESIZE = 4;

    private final SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocate(64 * 1024).flip();
    private final boolean framed;

    private ExecStream(SocketChannel channel, boolean framed) {
        this.channel = channel;
        this.framed = framed;
    }

    public static ExecStream open(DaemonAddress address, String token, String uri, InputStream stdin)
            throws ApiException, DaemonUnreachableException {
        return open(address, token, uri, stdin, false);
    }

    /**
     * Connects and sends the request; a refusal (the daemon's 4xx/5xx) is its {@link ApiException}.
     *
     * @param uri the path and query, e.g. {@code /v1/containers/web/exec?cmd=sh}
     * @param stdin sent as the request body (from now on, by a daemon thread), or null for none
     * @param terminal the exec has a terminal (tty=true in {@code uri}): the body is frames, stdin's data and
     *     {@link #resize}s, and stays open without stdin
     */
    public static ExecStream open(DaemonAddress address, String token, String uri, InputStream stdin,
                                  boolean terminal) throws ApiException, DaemonUnreachableException {
        return open(address, token, uri, stdin, terminal, null);
    }

    /**
     * As {@link #open(DaemonAddress, String, String, InputStream, boolean)}, with a terminal's first size (rows,
     * columns) sent before any input, so that what was typed ahead runs at that size; null for none.
     */
    public static ExecStream open(DaemonAddress address, String token, String uri, InputStream stdin,
                                  boolean terminal, int[] size) throws ApiException, DaemonUnreachableException {
        SocketChannel ch;
        String host;
        try {
            if (address.isUnix()) {
                ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(address.socketPath()));
                host = "localhost";
            } else {
                ch = SocketChannel.open();
                ch.connect(new InetSocketAddress(address.host(), address.port()));
                host = (address.host().contains(":") ? "[" + address.host() + "]" : address.host()) + ":"
                        + address.port();
            }
        } catch (IOException e) {
            throw new DaemonUnreachableException("cannot connect to the daemon at " + where(address) + ": "
                    + e.getMessage(), e);
        }
        ExecStream s = new ExecStream(ch, terminal);
        try {
            StringBuilder head = new StringBuilder("POST ").append(uri).append(" HTTP/1.1\r\nHost: ").append(host)
                    .append(stdin != null || terminal ? "\r\nTransfer-Encoding: chunked\r\n" : "\r\nContent-Length: 0\r\n");
            if (token != null && !address.isUnix()) {
                head.append("Authorization: Bearer ").append(token).append("\r\n");
            }
            head.append("\r\n");
            s.write(ByteBuffer.wrap(head.toString().getBytes(StandardCharsets.ISO_8859_1)));
            if (terminal && size != null) {
                s.resize(size[0], size[1]);
            }
            if (stdin != null) { // at once: the daemon answers when the command writes, which may wait for input
                Thread t = new Thread(() -> s.copyStdin(stdin), "corral-exec-stdin");
                t.setDaemon(true); // a read of our stdin must not keep the CLI alive after the exit status
                t.start();
            }
            s.readAnswerHead();
            return s;
        } catch (IOException e) {
            s.close();
            throw new DaemonUnreachableException("the daemon at " + where(address) + " broke off the exec: "
                    + e.getMessage(), e);
        } catch (ApiException e) {
            s.close();
            throw e;
        }
    }

    private static String where(DaemonAddress a) {
        return a.isUnix() ? a.socketPath() : a.host() + ":" + a.port();
    }

    /** Reads the status line and headers; anything but 200 is thrown with its body as the daemon's error. */
    private void readAnswerHead() throws IOException, ApiException {
        StringBuilder head = new StringBuilder();
        while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
            if (head.length() > MAX_HEAD) {
                throw new IOException("an answer head over " + MAX_HEAD + " bytes");
            }
            head.append((char) (readByte() & 0xff));
        }
        String[] lines = head.toString().split("\r\n");
        String[] status = lines[0].split(" ", 3);
        if (status.length < 2 || !status[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP answer: " + lines[0]);
        }
        int code = Integer.parseInt(status[1]);
        if (code == 200) {
            if (!head.toString().toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked")) {
                throw new IOException("the daemon's exec answer is not chunked");
            }
            return;
        }
        int length = -1;
        for (String l : lines) {
            int colon = l.indexOf(':');
            if (colon > 0 && l.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
                length = Integer.parseInt(l.substring(colon + 1).trim());
            }
        }
        byte[] body = new byte[Math.max(0, Math.min(length, MAX_HEAD))];
        for (int i = 0; i < body.length; i++) {
            body[i] = readByte();
        }
        throw CorralClient.error(code, body);
    }

    private byte readByte() throws IOException {
        if (!in.hasRemaining()) {
            fill();
        }
        return in.get();
    }

    private void fill() throws IOException {
        in.compact();
        int n;
        try {
            n = channel.read(in);
        } finally {
            in.flip();
        }
        if (n < 0) {
            throw new IOException("the daemon closed the connection");
        }
    }

    private int chunkLeft;

    /** The next bytes of the chunked answer body. */
    private void readFully(byte[] b) throws IOException {
        int at = 0;
        while (at < b.length) {
            if (chunkLeft == 0) {
                String size = line();
                if (size.isEmpty()) { // the CRLF after a chunk's data
                    size = line();
                }
                int semi = size.indexOf(';');
                chunkLeft = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (chunkLeft == 0) {
                    throw new IOException("the answer ended");
                }
            }
            if (!in.hasRemaining()) {
                fill();
            }
            int n = Math.min(Math.min(in.remaining(), b.length - at), chunkLeft);
            in.get(b, at, n);
            at += n;
            chunkLeft -= n;
        }
    }

    private String line() throws IOException {
        StringBuilder l = new StringBuilder();
        for (;;) {
            char c = (char) (readByte() & 0xff);
            if (c == '\n') {
                return l.toString().strip();
            }
            if (l.length() > 1024) {
                throw new IOException("a chunk size line over 1024 bytes");
            }
            l.append(c);
        }
    }

    private void write(ByteBuffer b) throws IOException {
        synchronized (channel) {
            while (b.hasRemaining()) {
                channel.write(b);
            }
        }
    }

    /**
     * Streams until the exit frame and returns the command's exit status.
     *
     * @throws IOException when the connection ends without an exit status
     */
    public int run(Consumer<byte[]> out, Consumer<byte[]> err) throws IOException {
        byte[] header = new byte[8];
        for (;;) {
            try {
                readFully(header);
            } catch (IOException e) {
                throw new IOException("the daemon closed the exec stream before the command's exit status");
            }
            int type = header[0];
            int len = ByteBuffer.wrap(header, 4, 4).getInt();
            if (len < 0 || len > 16 << 20) {
                throw new IOException("a frame of " + len + " bytes from the daemon");
            }
            byte[] data = new byte[len];
            readFully(data);
            switch (type) {
                case 1 -> out.accept(data);
                case 2 -> err.accept(data);
                case 3 -> {
                    Matcher m = EXIT_CODE.matcher(new String(data, StandardCharsets.UTF_8));
                    if (!m.find()) {
                        throw new IOException("an exit frame without exitCode");
                    }
                    return Integer.parseInt(m.group(1));
                }
                default -> {
                    // a frame type this client does not know: skipped
                }
            }
        }
    }

    private void copyStdin(InputStream stdin) {
        byte[] buf = new byte[16384];
        try {
            int n;
            while ((n = stdin.read(buf)) > 0) {
                if (framed) {
                    writeChunk(ByteBuffer.allocate(8 + n).put((byte) FRAME_DATA).put(new byte[3]).putInt(n)
                            .put(buf, 0, n).flip());
                } else {
                    writeChunk(ByteBuffer.wrap(buf, 0, n));
                }
            }
            if (!framed) { // a terminal has no end of input: the body stays open for resizes
                write(ByteBuffer.wrap("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1))); // EOF: the body's end
            }
        } catch (IOException e) {
            // the connection ended: the exit status (or its absence) is the reader's to report
        }
    }

    /** Tells the exec's terminal its new size (a resize frame in the body; only for a terminal). */
    public void resize(int rows, int cols) {
        if (!framed) {
            throw new IllegalStateException("not an exec with a terminal");
        }
        try {
            writeChunk(ByteBuffer.allocate(12).put((byte) FRAME_RESIZE).put(new byte[3]).putInt(4)
                    .putShort((short) rows).putShort((short) cols).flip());
        } catch (IOException e) {
            // the connection ended: the reader reports it
        }
    }

    /** One chunk of the request body, written whole (the stdin thread and resizes share the channel). */
    private void writeChunk(ByteBuffer data) throws IOException {
        int n = data.remaining();
        byte[] size = (Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        write(ByteBuffer.allocate(size.length + n + 2).put(size).put(data).put((byte) '\r').put((byte) '\n').flip());
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
