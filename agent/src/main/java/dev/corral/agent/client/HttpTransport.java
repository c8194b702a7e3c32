package dev.corral.agent.client;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A small blocking HTTP/1.1 client over a {@link SocketChannel}, to a unix socket or a TCP port through the same
 * code: one connection per request ({@code Connection: close}), the body of the answer framed by
 * {@code Content-Length}, chunked transfer-encoding or the end of the connection.
 *
 * <p>{@link #open} sends the request and reads the status line and headers; the body is then read from the
 * {@link Exchange}, whole ({@link Exchange#readAll()}) or piece by piece as it arrives ({@link Exchange#read()},
 * {@link Exchange#pump}). {@link Exchange#close()} may be called from any thread: a read blocked on the connection
 * then ends with a {@link ClosedChannelException}. Interrupting the reading thread closes the connection too.
 */
public final class HttpTransport {

    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final int BUFFER_BYTES = 16 * 1024;
    private static final int MAX_HEAD_BYTES = 64 * 1024;

    private final SocketAddress address;
    private final String hostHeader;
    private final String token;
    private final Duration connectTimeout;

    /**
     * @param address a {@link UnixDomainSocketAddress} or an {@link InetSocketAddress} (resolved at each connect
     *     when unresolved)
     * @param hostHeader the {@code Host} header
     * @param token sent as {@code Authorization: Bearer} when not null
     */
    public HttpTransport(SocketAddress address, String hostHeader, String token, Duration connectTimeout) {
        if (!(address instanceof UnixDomainSocketAddress) && !(address instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("not a unix socket or TCP address: " + address);
        }
        if (token != null && !printable(token)) {
            throw new IllegalArgumentException("the token holds characters a header cannot");
        }
        this.address = address;
        this.hostHeader = hostHeader;
        this.token = token;
        this.connectTimeout = connectTimeout;
    }

    public static HttpTransport unix(Path socket) {
        return new HttpTransport(UnixDomainSocketAddress.of(socket), "localhost", null, CONNECT_TIMEOUT);
    }

    /** @param token the bearer token, or null for none */
    public static HttpTransport tcp(String host, int port, String token) {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return new HttpTransport(InetSocketAddress.createUnresolved(host, port), h + ":" + port, token,
                CONNECT_TIMEOUT);
    }

    /** The daemon's address; the token is only sent over TCP. */
    public static HttpTransport of(DaemonAddress address, String token) {
        return address.isUnix() ? unix(Path.of(address.socketPath())) : tcp(address.host(), address.port(), token);
    }

    /** A whole answer. Header names are lower case. */
    public record Response(int status, Map<String, List<String>> headers, byte[] body) {
        /** The first value of this header, or null. */
        public String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Connecting failed: refused, no such socket file, permission denied, unknown host, timed out. */
    public static final class ConnectFailure extends IOException {
        ConnectFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** One request, its whole answer read. */
    public Response request(String method, String uri, byte[] body, String contentType) throws IOException {
        return request(method, uri, body, contentType, null);
    }

    /**
     * One request, its whole answer read; with a {@code timeout} (null: none), a request not answered in full by
     * then is abandoned with a {@link SocketTimeoutException}.
     */
    public Response request(String method, String uri, byte[] body, String contentType, Duration timeout)
            throws IOException {
        try (Exchange e = open(method, uri, body, contentType, timeout)) {
            return new Response(e.status(), e.headers(), e.readAll());
        }
    }

    /**
     * Connects, sends the request and reads the answer's status line and headers. The caller reads the body and
     * closes the exchange.
     *
     * @param body null for none
     * @param contentType sent with a body, when not null
     * @param timeout for the whole exchange until it is closed, or null for none (connecting has its own)
     */
    public Exchange open(String method, String uri, byte[] body, String contentType, Duration timeout)
            throws IOException {
        ByteBuffer head = head(method, uri, body == null ? -1 : body.length, contentType);
        Exchange exchange = connected(method, timeout);
        try {
            exchange.send(head, body == null ? ByteBuffer.allocate(0) : ByteBuffer.wrap(body));
            return exchange;
        } catch (IOException | RuntimeException | Error e) {
            exchange.close();
            throw e;
        }
    }

    /** As {@link #open}, with a file streamed as the body (an image archive: it never sits in memory whole). */
    public Exchange upload(String method, String uri, Path file, String contentType) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            ByteBuffer head = head(method, uri, size, contentType);
            Exchange exchange = connected(method, null);
            try {
                exchange.send(head, in, size);
                return exchange;
            } catch (IOException | RuntimeException | Error e) {
                exchange.close();
                throw e;
            }
        }
    }

    private Exchange connected(String method, Duration timeout) throws IOException {
        SocketChannel channel = address instanceof UnixDomainSocketAddress
                ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        Exchange exchange = new Exchange(channel, method);
        try {
            connect(exchange);
            if (timeout != null) {
                exchange.deadline(timeout);
            }
            return exchange;
        } catch (IOException | RuntimeException | Error e) {
            exchange.close();
            throw e;
        }
    }

    private void connect(Exchange exchange) throws IOException {
        SocketAddress target = address;
        if (target instanceof InetSocketAddress inet && inet.isUnresolved()) {
            target = new InetSocketAddress(inet.getHostString(), inet.getPort());
        }
        if (target instanceof InetSocketAddress inet && inet.isUnresolved()) {
            throw new ConnectFailure("unknown host " + inet.getHostString(), null);
        }
        AtomicBoolean settled = new AtomicBoolean();
        ScheduledFuture<?> timer = Timers.schedule(() -> {
            if (settled.compareAndSet(false, true)) {
                exchange.close();
            }
        }, connectTimeout);
        try {
            exchange.channel.connect(target);
        } catch (ClosedChannelException e) {
            if (settled.compareAndSet(false, true)) {
                throw e; // closed by an interrupt or by the caller
            }
            throw new ConnectFailure("connect timed out after " + connectTimeout.toMillis() + " ms", e);
        } catch (UnresolvedAddressException e) {
            throw new ConnectFailure("unknown host " + ((InetSocketAddress) target).getHostString(), e);
        } catch (IOException e) {
            throw new ConnectFailure(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), e);
        } finally {
            timer.cancel(false);
        }
        if (!settled.compareAndSet(false, true)) {
            throw new ConnectFailure("connect timed out after " + connectTimeout.toMillis() + " ms", null);
        }
    }

    /** @param bodyLength -1 for no body */
    private ByteBuffer head(String method, String uri, long bodyLength, String contentType) {
        if (!method.matches("[A-Z]{1,16}")) {
            throw new IllegalArgumentException("not an HTTP method: " + method);
        }
        if (!uri.startsWith("/") || !printable(uri) || uri.indexOf(' ') >= 0) {
            throw new IllegalArgumentException("not a request target: " + uri);
        }
        if (contentType != null && !printable(contentType)) {
            throw new IllegalArgumentException("not a content type: " + contentType);
        }
        StringBuilder h = new StringBuilder(256);
        h.append(method).append(' ').append(uri).append(" HTTP/1.1\r\n");
        h.append("Host: ").append(hostHeader).append("\r\n");
        h.append("User-Agent: corral\r\n");
        if (token != null) {
            h.append("Authorization: Bearer ").append(token).append("\r\n");
        }
        if (bodyLength >= 0) {
            if (contentType != null) {
                h.append("Content-Type: ").append(contentType).append("\r\n");
            }
            h.append("Content-Length: ").append(bodyLength).append("\r\n");
        } else if (method.equals("POST") || method.equals("PUT") || method.equals("PATCH")) {
            h.append("Content-Length: 0\r\n");
        }
        h.append("Connection: close\r\n\r\n");
        return ByteBuffer.wrap(h.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Visible ASCII and spaces: nothing that could end a header line. */
    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    private enum Framing { NONE, LENGTH, CHUNKED, EOF }

    /** A request sent and its answer being read; close it when done (from any thread). */
    public static final class Exchange implements Closeable {

        private final SocketChannel channel;
        private final String method;
        /** Received bytes not yet consumed, in read mode. */
        private final ByteBuffer in = ByteBuffer.allocate(BUFFER_BYTES).flip();
        private final Map<String, List<String>> headers = new LinkedHashMap<>();
        private final AtomicBoolean closed = new AtomicBoolean();
        private volatile boolean timedOut;
        private volatile Duration timeout;
        private ScheduledFuture<?> timer;
        private int status;
        private Framing framing;
        private long length;
        /** LENGTH: bytes still to come; CHUNKED: bytes left of the current chunk. */
        private long remaining;
        private boolean chunkCrlfPending;
        private boolean ended;
        private int headBytes;

        private Exchange(SocketChannel channel, String method) {
            this.channel = channel;
            this.method = method;
        }

        public int status() {
            return status;
        }

        /** Lower-case names, in the order received. */
        public Map<String, List<String>> headers() {
            return Collections.unmodifiableMap(headers);
        }

        /** The first value of this header, or null. */
        public String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /** Whether the body was read to its end. */
        public boolean ended() {
            return ended;
        }

        /** Whether {@link #close()} was called (or the timeout closed it). */
        public boolean isClosed() {
            return closed.get();
        }

        private synchronized void deadline(Duration d) {
            timeout = d;
            timer = Timers.schedule(() -> {
                if (!closed.get()) {
                    timedOut = true;
                    close();
                }
            }, d);
        }

        private void send(ByteBuffer head, ByteBuffer body) throws IOException {
            send(head, body, null, 0);
        }

        private void send(ByteBuffer head, FileChannel file, long size) throws IOException {
            send(head, ByteBuffer.allocate(0), file, size);
        }

        private void send(ByteBuffer head, ByteBuffer body, FileChannel file, long size) throws IOException {
            try {
                ByteBuffer[] out = {head, body};
                while (head.hasRemaining() || body.hasRemaining()) {
                    channel.write(out);
                }
                for (long sent = 0; sent < size; ) {
                    long n = file.transferTo(sent, size - sent, channel);
                    if (n <= 0 && file.size() < size) {
                        throw new IOException("the file shrank while it was sent");
                    }
                    sent += n;
                }
            } catch (ClosedChannelException e) {
                throw closedException(e);
            } catch (IOException e) {
                // The server may answer (e.g. 413) and close before reading a whole body: read what it said.
                try {
                    readHead();
                    return;
                } catch (IOException r) {
                    e.addSuppressed(r);
                }
                throw e;
            }
            readHead();
        }

        private void readHead() throws IOException {
            try {
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
            } catch (ClosedChannelException e) {
                throw closedException(e);
            }
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

        /**
         * The next piece of the body as it arrives (never empty), or null at its end. A piece is at most what one
         * read of the connection gave: a chunk may come in several pieces.
         */
        public byte[] read() throws IOException {
            try {
                return next();
            } catch (ClosedChannelException e) {
                throw closedException(e);
            }
        }

        private byte[] next() throws IOException {
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

        /** The rest of the body. */
        public byte[] readAll() throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (byte[] b = read(); b != null; b = read()) {
                out.write(b, 0, b.length);
            }
            return out.toByteArray();
        }

        /**
         * Hands each piece of the body to {@code onData} as it arrives, until the body ends (true) or {@code stop},
         * asked after each piece, says to stop (false; the connection is closed).
         */
        public boolean pump(Consumer<byte[]> onData, BooleanSupplier stop) throws IOException {
            for (byte[] b = read(); b != null; b = read()) {
                onData.accept(b);
                if (stop.getAsBoolean()) {
                    close();
                    return false;
                }
            }
            return true;
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

        private IOException closedException(ClosedChannelException e) {
            if (timedOut) {
                SocketTimeoutException t = new SocketTimeoutException("no complete answer within "
                        + timeout.toMillis() + " ms");
                t.initCause(e);
                return t;
            }
            return e;
        }

        /** Closes the connection; a read blocked in another thread ends with a {@link ClosedChannelException}. */
        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                synchronized (this) {
                    if (timer != null) {
                        timer.cancel(false);
                    }
                }
                try {
                    channel.close();
                } catch (IOException e) {
                    // nothing more to do
                }
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }

    /** One daemon thread for the connect and request timeouts, started on first use. */
    private static final class Timers {
        private static final ScheduledThreadPoolExecutor EXECUTOR;

        static {
            EXECUTOR = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "corral-http-timer");
                t.setDaemon(true);
                return t;
            });
            EXECUTOR.setRemoveOnCancelPolicy(true);
        }

        static ScheduledFuture<?> schedule(Runnable task, Duration after) {
            return EXECUTOR.schedule(task, after.toNanos(), TimeUnit.NANOSECONDS);
        }
    }
}
