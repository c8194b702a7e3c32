package dev.corral.agent.client;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
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
import java.util.Collections;
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

    static {
        // Named, the JDK's own selector provider is made at once; unnamed, the JDK first looks for another one as a
        // service on the class path, which opens the whole jar (12,000 entries, 12 ms of a client command whose
        // classes all come from the class-data-sharing archive; docs/benchmarks.md "CLI"). Linux only: elsewhere
        // the JDK's default is another class.
        String provider = "java.nio.channels.spi.SelectorProvider";
        if (System.getProperty(provider) == null && "Linux".equals(System.getProperty("os.name"))) {
            System.setProperty(provider, "sun.nio.ch.EPollSelectorProvider");
        }
    }

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
        if (target instanceof UnixDomainSocketAddress) {
            // A unix socket's connect does not wait on a network: it is made or refused at once. No timer then: its
            // thread, parked in the JDK's ForkJoinPool.managedBlock, cost a client command 5-10 ms of CPU.
            try {
                exchange.channel.connect(target);
            } catch (ClosedChannelException e) {
                throw e;
            } catch (IOException e) {
                throw new ConnectFailure(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), e);
            }
            return;
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

    /** A request sent and its answer being read; close it when done (from any thread). */
    public static final class Exchange implements Closeable {

        private final SocketChannel channel;
        private final AnswerReader answer;
        private final AtomicBoolean closed = new AtomicBoolean();
        private volatile boolean timedOut;
        private volatile Duration timeout;
        private ScheduledFuture<?> timer;

        private Exchange(SocketChannel channel, String method) {
            this.channel = channel;
            this.answer = new AnswerReader(channel, method);
        }

        public int status() {
            return answer.status;
        }

        /** Lower-case names, in the order received. */
        public Map<String, List<String>> headers() {
            return Collections.unmodifiableMap(answer.headers);
        }

        /** The first value of this header, or null. */
        public String header(String name) {
            List<String> v = answer.headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /** Whether the body was read to its end. */
        public boolean ended() {
            return answer.ended;
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
                answer.readHead();
            } catch (ClosedChannelException e) {
                throw closedException(e);
            }
        }

        /**
         * The next piece of the body as it arrives (never empty), or null at its end. A piece is at most what one
         * read of the connection gave: a chunk may come in several pieces.
         */
        public byte[] read() throws IOException {
            try {
                return answer.next();
            } catch (ClosedChannelException e) {
                throw closedException(e);
            }
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
