package dev.corral.agent.foreign;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.JsonParser;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The part of Docker's Engine API the agent reads, over the daemon's unix socket: one container's inspect and
 * the container event stream. Podman serves the same API (its Docker-compatible service), so one client reads
 * both. Unversioned paths: the daemon answers them at its own API version, and the fields read here
 * ({@code Name}, {@code Config.Image}, {@code Config.Labels}; the events' {@code Action}, {@code id}) are in
 * every version since 1.22. Never blocks: every call returns a future, each lookup with a deadline.
 */
public final class DockerApi implements AutoCloseable {

    /** The container is not known to this runtime (HTTP 404). */
    public static final class NoSuchContainer extends RuntimeException {
        NoSuchContainer(String id) {
            super("no such container: " + id, null, false, false);
        }
    }

    private final String runtime;
    private final Path socket;
    private final Duration deadline;
    private final HttpClient lookups;
    private final HttpClient events;
    /** Inspects asked (corral_foreign_lookups_total): once per container, not per cycle. */
    private final java.util.concurrent.atomic.AtomicLong inspects = new java.util.concurrent.atomic.AtomicLong();

    private static final int CLEANER_MILLIS = 30_000;

    public DockerApi(Vertx vertx, String runtime, Path socket, Duration deadline) {
        this.runtime = runtime;
        this.socket = socket;
        this.deadline = deadline;
        HttpClientOptions options = new HttpClientOptions().setDefaultHost("localhost")
                .setConnectTimeout((int) Math.max(1, deadline.toMillis()));
        // Each client's pool cleaner is a timer on the event loop, every second by default whether or not anything
        // is connected: four a second for Docker and Podman, most of an idle agent's event-loop CPU. Expired
        // connections (keep-alive, 60 s) are closed up to 30 s later instead.
        this.lookups = vertx.createHttpClient(options,
                new PoolOptions().setHttp1MaxSize(4).setCleanerPeriod(CLEANER_MILLIS));
        this.events = vertx.createHttpClient(new HttpClientOptions(options).setIdleTimeout(0),
                new PoolOptions().setHttp1MaxSize(1).setCleanerPeriod(CLEANER_MILLIS));
    }

    /** "docker" or "podman". */
    public String runtime() {
        return runtime;
    }

    public Path socket() {
        return socket;
    }

    /** How many inspects were asked so far. */
    public long lookups() {
        return inspects.get();
    }

    private RequestOptions request(String uri) {
        return new RequestOptions().setMethod(HttpMethod.GET).setServer(SocketAddress.domainSocketAddress(
                socket.toString())).setHost("localhost").setURI(uri);
    }

    /** {@code GET /containers/{id}/json}; fails with {@link NoSuchContainer} on 404, or when past the deadline. */
    public Future<JsonObject> inspect(String id) {
        inspects.incrementAndGet();
        return lookups.request(request("/containers/" + id + "/json")).compose(req -> withDeadline(req,
                req.send().compose(resp -> resp.body().map(body -> {
                    if (resp.statusCode() == 404) {
                        throw new NoSuchContainer(id);
                    }
                    if (resp.statusCode() != 200) {
                        throw new IllegalStateException(runtime + " answered " + resp.statusCode() + " for " + id);
                    }
                    return body.toJsonObject();
                }))));
    }

    /**
     * Fails {@code result} at the deadline and then resets the request, so that a runtime that never answers
     * does not keep the pool's connections (later requests would queue behind them for ever).
     */
    private <T> Future<T> withDeadline(io.vertx.core.http.HttpClientRequest req, Future<T> result) {
        return result.timeout(deadline.toMillis(), TimeUnit.MILLISECONDS).onFailure(t -> req.reset(0, t));
    }

    /**
     * {@code GET /events} for containers: every event object goes to {@code onEvent}. The future completes once
     * the stream is open (the daemon answered 200); {@code onEnd} runs once when it ends or fails afterwards.
     */
    public Future<Void> events(Handler<JsonObject> onEvent, Handler<Throwable> onEnd) {
        String filter = java.net.URLEncoder.encode("{\"type\":[\"container\"]}",
                java.nio.charset.StandardCharsets.UTF_8);
        return events.request(request("/events?filters=" + filter))
                .compose(req -> withDeadline(req, req.send()))
                .map(resp -> {
                    if (resp.statusCode() != 200) {
                        resp.request().connection().close();
                        throw new IllegalStateException(runtime + " events answered " + resp.statusCode());
                    }
                    boolean[] ended = {false};
                    Handler<Throwable> once = t -> {
                        if (!ended[0]) {
                            ended[0] = true;
                            onEnd.handle(t);
                        }
                    };
                    JsonParser parser = JsonParser.newParser(resp).objectValueMode();
                    parser.handler(e -> {
                        if (e.type() == io.vertx.core.parsetools.JsonEventType.VALUE && e.isObject()) {
                            onEvent.handle(e.objectValue());
                        }
                    });
                    parser.exceptionHandler(once);
                    resp.exceptionHandler(once); // the connection closed under the stream
                    parser.endHandler(v -> once.handle(null));
                    resp.request().connection().closeHandler(v -> once.handle(null));
                    return null;
                });
    }

    @Override
    public void close() {
        lookups.close();
        events.close();
    }
}
