package dev.corral.agent.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.corral.agent.spec.SpecParser;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.channels.ClosedByInterruptException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A blocking client of the daemon's {@code /v1} API (docs/api.md) over a unix socket or TCP, on
 * {@link HttpTransport}: one connection per request. Calls block the calling thread; the {@code ...Async} variants
 * run the same call on one of the client's threads (a few daemon threads, started when first needed) so that
 * streams and requests can go on in parallel. {@link #close()} closes the connections still open and stops the
 * threads.
 */
public final class CorralClient implements AutoCloseable {

    private static final int THREADS = 8;

    private final DaemonAddress address;
    private final String token;
    private final HttpTransport http;
    private final Set<HttpTransport.Exchange> open = ConcurrentHashMap.newKeySet();
    private ThreadPoolExecutor executor;
    private volatile boolean closed;

    /** @param token the bearer token sent over TCP; null for none (a unix socket needs none) */
    public CorralClient(DaemonAddress address, String token) {
        this.address = address;
        this.token = token;
        this.http = HttpTransport.of(address, token);
    }

    public DaemonAddress address() {
        return address;
    }

    /** The bearer token for TCP, or null. */
    public String token() {
        return token;
    }

    /** An answer whose status was below 400. */
    public record Response(int status, String contentType, byte[] body) {
        public JsonNode json() throws ApiException {
            return parse(status, body);
        }
    }

    public JsonNode get(String uri) throws ApiException, DaemonUnreachableException {
        return send("GET", uri, null).json();
    }

    /** POST with a JSON body (null: an empty body). */
    public JsonNode post(String uri, Object body) throws ApiException, DaemonUnreachableException {
        return send("POST", uri, body).json();
    }

    public JsonNode patch(String uri, Object body) throws ApiException, DaemonUnreachableException {
        return send("PATCH", uri, body).json();
    }

    public void delete(String uri) throws ApiException, DaemonUnreachableException {
        send("DELETE", uri, null);
    }

    /**
     * One request; a status of 400 or more is thrown as the daemon's {@link ApiException}.
     *
     * @param body a JSON body: bytes as they are, another object encoded; null for none
     */
    public Response send(String method, String uri, Object body) throws ApiException, DaemonUnreachableException {
        byte[] payload;
        try {
            payload = body == null ? null : body instanceof byte[] b ? b : SpecParser.JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode the request: " + e.getMessage(), e);
        }
        HttpTransport.Exchange exchange = open(method, uri, payload);
        try {
            byte[] answer = answer(exchange);
            return new Response(exchange.status(), exchange.header("content-type"), answer);
        } finally {
            done(exchange);
        }
    }

    /** The whole answer; a status of 400 or more is thrown as the daemon's error. */
    private static byte[] answer(HttpTransport.Exchange exchange) throws ApiException {
        try {
            byte[] answer = exchange.readAll();
            if (exchange.status() >= 400) {
                throw error(exchange.status(), answer);
            }
            return answer;
        } catch (IOException e) {
            throw failed(e, "the request to the daemon failed: ");
        }
    }

    /**
     * A request whose answer's head has arrived (the daemon acknowledged it, e.g. a wait it has put in place) and
     * whose body is read later with {@link Pending#json()}. Closing it (or the client) drops the connection.
     */
    public Pending openPending(String method, String uri) throws ApiException, DaemonUnreachableException {
        return new Pending(open(method, uri, null));
    }

    /** See {@link #openPending}. */
    public final class Pending implements AutoCloseable {
        private final HttpTransport.Exchange exchange;

        private Pending(HttpTransport.Exchange exchange) {
            this.exchange = exchange;
        }

        /**
         * Blocks for the rest of the answer; a status of 400 or more is thrown as the daemon's error. The connection
         * stays open until {@link #close()}.
         */
        public JsonNode json() throws ApiException {
            byte[] answer = answer(exchange);
            return parse(exchange.status(), answer);
        }

        @Override
        public void close() {
            done(exchange);
        }
    }

    /** POST with a file streamed as the body (application/x-tar); the daemon's JSON answer. */
    public JsonNode upload(String uri, java.nio.file.Path file) throws ApiException, DaemonUnreachableException {
        return upload("POST", uri, file);
    }

    /** A request with a file streamed as the body (application/x-tar); the daemon's JSON answer (null for none). */
    public JsonNode upload(String method, String uri, java.nio.file.Path file)
            throws ApiException, DaemonUnreachableException {
        if (closed) {
            throw new ApiException(0, "the client is closed", null);
        }
        HttpTransport.Exchange exchange;
        try {
            exchange = http.upload(method, uri, file, "application/x-tar");
        } catch (HttpTransport.ConnectFailure e) {
            throw new DaemonUnreachableException("cannot connect to the Corral daemon at " + address + ": "
                    + message(e), e);
        } catch (IOException e) {
            throw failed(e, "sending " + file + " to the daemon failed: ");
        }
        open.add(exchange);
        try {
            byte[] answer = answer(exchange);
            return parse(exchange.status(), answer);
        } finally {
            done(exchange);
        }
    }

    /** {@link #send} on one of the client's threads. */
    public CompletableFuture<Response> sendAsync(String method, String uri, Object body) {
        return async(() -> send(method, uri, body));
    }

    /** A streaming GET: each piece of the body goes to {@code onData} as it arrives, until the daemon ends it. */
    public void stream(String uri, Consumer<byte[]> onData) throws ApiException, DaemonUnreachableException {
        stream(uri, onData, () -> false);
    }

    /**
     * A streaming GET, returning when the daemon ends the response. {@code onData} gets each piece of the body as it
     * arrives, on this thread; {@code stop} is asked after each piece: when it says so (e.g. the reader of our
     * output went away), the connection is closed and the call returns. A status of 400 or more is thrown as an
     * {@link ApiException}; so is an answer cut short. {@link #close()} ends it too, quietly.
     */
    public void stream(String uri, Consumer<byte[]> onData, BooleanSupplier stop)
            throws ApiException, DaemonUnreachableException {
        stream("GET", uri, null, onData, stop);
    }

    /** A streaming request with a JSON body (e.g. a pull's progress). */
    public void stream(String method, String uri, Object body, Consumer<byte[]> onData, BooleanSupplier stop)
            throws ApiException, DaemonUnreachableException {
        stream(method, uri, body, () -> { }, onData, stop);
    }

    private void stream(String method, String uri, Object body, Runnable onOpen, Consumer<byte[]> onData,
                        BooleanSupplier stop) throws ApiException, DaemonUnreachableException {
        byte[] bytes;
        try {
            bytes = body == null ? null : dev.corral.agent.spec.SpecParser.JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new ApiException(0, "cannot encode the request: " + e.getMessage(), null);
        }
        HttpTransport.Exchange exchange = open(method, uri, bytes);
        try {
            if (exchange.status() >= 400) {
                byte[] answer;
                try {
                    answer = exchange.readAll();
                } catch (IOException e) {
                    throw failed(e, "the request to the daemon failed: ");
                }
                throw error(exchange.status(), answer);
            }
            onOpen.run();
            try {
                exchange.pump(onData, stop);
            } catch (IOException e) {
                if (closed && exchange.isClosed() && !(e instanceof ClosedByInterruptException)) {
                    return; // the client was closed (e.g. run detached): not the daemon's doing
                }
                throw failed(e, "the daemon closed the connection: ");
            }
        } finally {
            done(exchange);
        }
    }

    /** {@link #stream(String, Consumer, BooleanSupplier)} on one of the client's threads. */
    public CompletableFuture<Void> streamAsync(String uri, Consumer<byte[]> onData, BooleanSupplier stop) {
        return streamAsync(uri, () -> { }, onData, stop);
    }

    /** As {@link #streamAsync(String, Consumer, BooleanSupplier)}; {@code onOpen} runs once the answer's head came. */
    public CompletableFuture<Void> streamAsync(String uri, Runnable onOpen, Consumer<byte[]> onData,
                                               BooleanSupplier stop) {
        return async(() -> {
            stream("GET", uri, null, onOpen, onData, stop);
            return null;
        });
    }

    /** Blocks for a future of this client, unwrapping the daemon's errors. */
    public <T> T await(CompletableFuture<T> future) throws ApiException, DaemonUnreachableException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, "interrupted", null);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ApiException a) {
                throw a;
            }
            if (cause instanceof DaemonUnreachableException d) {
                throw d;
            }
            throw new ApiException(0, "the request to the daemon failed: " + message(cause), null);
        }
    }

    @FunctionalInterface
    private interface Call<T> {
        T run() throws Exception;
    }

    private <T> CompletableFuture<T> async(Call<T> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            executor().execute(() -> {
                try {
                    result.complete(call.run());
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new ApiException(0, "the client is closed", null));
        }
        return result;
    }

    private synchronized ThreadPoolExecutor executor() {
        if (closed) {
            throw new RejectedExecutionException("closed");
        }
        if (executor == null) {
            AtomicInteger n = new AtomicInteger();
            executor = new ThreadPoolExecutor(THREADS, THREADS, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                    r -> {
                        Thread t = new Thread(r, "corral-client-" + n.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
            executor.allowCoreThreadTimeOut(true);
        }
        return executor;
    }

    /** Connects and sends; the answer's status and headers are read. */
    private HttpTransport.Exchange open(String method, String uri, byte[] body)
            throws ApiException, DaemonUnreachableException {
        if (closed) {
            throw new ApiException(0, "the client is closed", null);
        }
        HttpTransport.Exchange exchange;
        try {
            exchange = http.open(method, uri, body, body == null ? null : "application/json", null);
        } catch (HttpTransport.ConnectFailure e) {
            throw new DaemonUnreachableException("cannot connect to the Corral daemon at " + address + ": "
                    + message(e), e);
        } catch (IOException e) {
            throw failed(e, "the request to the daemon failed: ");
        }
        open.add(exchange);
        if (closed) { // close() ran meanwhile and did not see this one
            done(exchange);
            throw new ApiException(0, "the client is closed", null);
        }
        return exchange;
    }

    private void done(HttpTransport.Exchange exchange) {
        open.remove(exchange);
        exchange.close();
    }

    private static ApiException failed(IOException e, String what) {
        if (e instanceof ClosedByInterruptException) {
            return new ApiException(0, "interrupted", null);
        }
        return new ApiException(0, what + message(e), null);
    }

    static ApiException error(int status, byte[] body) {
        String error = null;
        String field = null;
        Integer exitCode = null;
        try {
            JsonNode n = ClientJson.read(body);
            if (n != null && n.isObject()) {
                error = n.path("error").isTextual() ? n.path("error").asText() : null;
                field = n.path("field").isTextual() ? n.path("field").asText() : null;
                exitCode = n.path("exitCode").isInt() ? n.path("exitCode").asInt() : null;
            }
        } catch (IOException e) {
            // not JSON: use the text below
        }
        if (error == null || error.isBlank()) {
            String text = new String(body, StandardCharsets.UTF_8).strip();
            int nl = text.indexOf('\n');
            text = nl < 0 ? text : text.substring(0, nl);
            if (text.length() > 200) {
                text = text.substring(0, 200) + "...";
            }
            error = "the daemon answered HTTP " + status + (text.isEmpty() ? "" : ": " + text);
        }
        return new ApiException(status, error, field, exitCode);
    }

    static JsonNode parse(int status, byte[] body) throws ApiException {
        if (body == null || body.length == 0) {
            return NullNode.getInstance();
        }
        try {
            JsonNode tree = ClientJson.read(body);
            return tree == null ? NullNode.getInstance() : tree;
        } catch (IOException e) {
            String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new ApiException(status, "the daemon's answer is not JSON: " + m, null);
        }
    }

    private static String message(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && (t.getMessage() == null || t.getMessage().isBlank())) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }

    /** A query parameter value or path segment, percent-encoded. */
    public static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Closes the connections still open (their streams end) and stops the client's threads. */
    @Override
    public void close() {
        ThreadPoolExecutor e;
        synchronized (this) {
            closed = true;
            e = executor;
            executor = null;
        }
        for (HttpTransport.Exchange exchange : open) {
            exchange.close();
        }
        if (e != null) {
            e.shutdownNow();
        }
    }
}
