package dev.corral.agent.api;

import dev.corral.agent.ContainerException;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.runtime.Exec;
import dev.corral.agent.spec.SpecException;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/containers/{name}/exec}: a new process in a running container, its stdio streamed both ways on the
 * one request: the client's stdin as the chunked request body (with {@code stdin=true}; the body's end closes the
 * command's stdin), the command's output as the chunked answer, while the body is still coming. That works over
 * the unix socket and over TCP with the token alike, with any HTTP/1.1 client that can write and read at once (ours:
 * client/ExecStream). An HTTP upgrade, as Docker's exec, would take a GET here: Vert.x upgrades only GET and
 * CONNECT, and an exec is no GET. The answer's body is frames with Docker's 8-byte header: type (1 byte), 3 zero
 * bytes, payload length (4 bytes, big-endian): 1 stdout, 2 stderr, and last 3, the exit status as JSON
 * {@code {"exitCode":N}}. A client that goes away kills the command (its process group).
 *
 * <p>With {@code tty=true} (and the first size as {@code h} rows, {@code w} columns) the command gets a terminal in
 * the container, and the body is frames with the same header, passed to the shim as they come (shim-exec.c): 0 the
 * terminal's input (only sent with stdin=true), 4 a resize (rows, columns: 16 bits each). Resizes go in-band rather
 * than to a route of their own, as Docker's {@code /exec/{id}/resize}: no exec ids to keep and expire, the same
 * token and socket as the stream, and a resize is never applied to a session that is gone or not yet there. The
 * terminal's output is stdout frames.
 */
final class ExecRoutes {

    private static final Logger LOG = LoggerFactory.getLogger(ExecRoutes.class);
    static final String CONTENT_TYPE = "application/vnd.corral.exec-stream";
    static final int STDOUT = 1;
    static final int STDERR = 2;
    static final int EXIT = 3;
    private static final long KILL_GRACE_MILLIS = 2000;

    private final Vertx vertx;
    private final ContainerRuntime runtime;

    ExecRoutes(Vertx vertx, ContainerRuntime runtime) {
        this.vertx = vertx;
        this.runtime = runtime;
    }

    /** Before the body handler: the body is the stdin stream. */
    void addTo(Router r) {
        r.post("/containers/:name/exec").handler(this::exec);
        r.post("/containers/:name/stdin").handler(this::stdin);
    }

    /**
     * {@code POST /v1/containers/{name}/stdin}: the chunked request body to the stdin of a container created with -i,
     * through the socket its monitor holds (shim-stdin.c); the body's end is this client's end of input (with
     * StdinOnce, the container's). The answer is 200 with a chunked body that ends when the copy does.
     */
    private void stdin(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        HttpServerRequest req = ctx.request();
        req.pause();
        vertx.executeBlocking(() -> {
            java.nio.file.Path socket = runtime.stdinSocket(name);
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                ch.close();
                throw new ContainerException(ContainerException.Kind.CONFLICT, "the stdin of container '" + name
                        + "' is closed: " + e.getMessage(), e);
            }
            return ch;
        }, false).onFailure(t -> {
            req.resume();
            ApiError.fail(ctx, t);
        }).onSuccess(ch -> copyStdin(name, ch, req, ctx.response()));
    }

    private static void copyStdin(String name, SocketChannel ch, HttpServerRequest req, HttpServerResponse response) {
        ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "corral-stdin-" + name);
            t.setDaemon(true);
            return t;
        });
        Runnable close = () -> {
            try {
                ch.close();
            } catch (IOException e) {
                // closing anyway
            }
        };
        response.closeHandler(v -> { // the client went away: its input ends here
            if (!writer.isShutdown()) {
                writer.execute(close);
                writer.shutdown();
            }
        });
        response.setChunked(true).setStatusCode(200).putHeader("content-type", CONTENT_TYPE).writeHead();
        req.handler(buf -> {
            req.pause(); // one chunk at a time: a container that does not read holds the client back
            writer.execute(() -> {
                try {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(buf.getBytes());
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                    req.resume();
                } catch (IOException e) { // the container's stdin closed, or it exited: the rest is dropped
                    close.run();
                    req.resume();
                }
            });
        });
        req.endHandler(v -> {
            if (writer.isShutdown()) {
                return;
            }
            writer.execute(() -> {
                close.run();
                if (!response.ended() && !response.closed()) {
                    response.end();
                }
            });
            writer.shutdown();
        });
        req.resume();
    }

    private void exec(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        Exec.Request request;
        try {
            request = new Exec.Request(ctx.queryParam("cmd"), ctx.queryParam("env"),
                    ctx.queryParams().get("user"), ctx.queryParams().get("workdir"),
                    "true".equals(ctx.queryParams().get("stdin")), "true".equals(ctx.queryParams().get("tty")),
                    size(ctx, "h"), size(ctx, "w"));
        } catch (SpecException e) {
            ApiError.fail(ctx, e);
            return;
        }
        HttpServerRequest req = ctx.request();
        req.pause(); // the stdin in the body waits for the process
        vertx.executeBlocking(() -> runtime.exec(name, request), false)
                .onFailure(t -> {
                    req.resume();
                    ApiError.fail(ctx, t);
                })
                .onSuccess(p -> new Session(name, p, req, ctx.response()).start(request.writes()));
    }

    /** A terminal side from the query ({@code h} rows, {@code w} columns, as Docker's resize), 0 when absent. */
    private static int size(RoutingContext ctx, String param) throws SpecException {
        String v = ctx.queryParams().get(param);
        if (v == null) {
            return 0;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new SpecException(param, "'" + v + "' is not a number");
        }
    }

    static Buffer frame(int type, byte[] data, int len) {
        return Buffer.buffer(8 + len).appendByte((byte) type).appendBytes(new byte[3]).appendInt(len)
                .appendBytes(data, 0, len);
    }

    /** One exec's streams: a thread per output pipe, one for stdin, one that waits and sends the exit status. */
    private static final class Session {
        private final String name;
        private final Process process;
        private final HttpServerRequest request;
        private final HttpServerResponse response;
        private final ExecutorService stdin;
        private volatile boolean gone;

        Session(String name, Process process, HttpServerRequest request, HttpServerResponse response) {
            this.name = name;
            this.process = process;
            this.request = request;
            this.response = response;
            this.stdin = Executors.newSingleThreadExecutor(r -> daemon(r, "corral-exec-stdin-" + name));
        }

        void start(boolean withStdin) {
            response.closeHandler(v -> {
                if (response.ended()) {
                    return;
                }
                gone = true;
                stdin.shutdownNow();
                if (process.isAlive()) { // the client went away: the command goes too (shim-exec.c)
                    process.destroy();
                    daemon(() -> {
                        try {
                            if (!process.waitFor(KILL_GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
                                process.destroyForcibly();
                            }
                        } catch (InterruptedException e) {
                            process.destroyForcibly();
                        }
                    }, "corral-exec-kill-" + name).start();
                }
            });
            response.setChunked(true).setStatusCode(200).putHeader("content-type", CONTENT_TYPE).writeHead();
            if (withStdin) {
                request.handler(buf -> {
                    request.pause(); // one chunk at a time: a command that does not read holds the client back
                    stdin.execute(() -> {
                        try {
                            process.getOutputStream().write(buf.getBytes());
                            process.getOutputStream().flush();
                        } catch (IOException e) {
                            // the command closed its stdin or exited: the rest is dropped, as a pipe would
                        } finally {
                            request.resume();
                        }
                    });
                });
                request.endHandler(v -> stdin.execute(() -> {
                    try {
                        process.getOutputStream().close();
                    } catch (IOException e) {
                        // gone already
                    }
                }));
            }
            Thread out = daemon(() -> pump(process.getInputStream(), STDOUT), "corral-exec-stdout-" + name);
            Thread err = daemon(() -> pump(process.getErrorStream(), STDERR), "corral-exec-stderr-" + name);
            out.start();
            err.start();
            daemon(() -> finish(out, err), "corral-exec-wait-" + name).start();
            request.resume();
        }

        private static Thread daemon(Runnable r, String name) {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        }

        private void pump(InputStream in, int type) {
            byte[] buf = new byte[16384];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (!gone) {
                        send(frame(type, buf, n));
                    }
                }
            } catch (IOException e) {
                // the pipe closed
            }
        }

        /** Blocks until the frame is written: the client's pace is the command's. */
        private void send(Buffer b) {
            try {
                response.write(b).toCompletionStage().toCompletableFuture().get();
            } catch (ExecutionException e) {
                gone = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                gone = true;
            }
        }

        private void finish(Thread out, Thread err) {
            int code;
            try {
                out.join();
                err.join();
                code = process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                return;
            }
            stdin.shutdownNow();
            if (!gone) {
                byte[] json = ("{\"exitCode\":" + code + "}").getBytes(StandardCharsets.UTF_8);
                send(frame(EXIT, json, json.length));
                response.end();
            }
        }
    }
}
