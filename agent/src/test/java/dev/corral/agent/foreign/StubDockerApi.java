package dev.corral.agent.foreign;

import dev.corral.agent.server.Futures;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Docker Engine API on a unix socket answering {@code /containers/{id}/json} with recorded inspect bodies
 * (404 for other ids) and holding {@code /events} open; counts the inspects per id. With {@code silent} it
 * accepts connections and never answers: a hung runtime.
 */
final class StubDockerApi implements AutoCloseable {

    final Map<String, AtomicInteger> inspects = new ConcurrentHashMap<>();
    final AtomicInteger eventStreams = new AtomicInteger();
    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;

    StubDockerApi(Path socket, Map<String, JsonObject> recorded, boolean silent) throws Exception {
        // encoded here: Jackson's first use loads its classes, seconds on a loaded host, not on the stub's loop
        Map<String, String> bodies = new java.util.HashMap<>();
        recorded.forEach((id, body) -> bodies.put(id, body.encode()));
        String notFound = new JsonObject().put("message", "No such container").encode();
        server = Futures.get(vertx.createHttpServer().requestHandler(req -> {
            if (silent) {
                return;
            }
            String path = req.path();
            if (path.startsWith("/events")) {
                eventStreams.incrementAndGet();
                req.response().setChunked(true).putHeader("content-type", "application/json").setStatusCode(200);
                req.response().writeHead();
                return;
            }
            if (path.startsWith("/containers/") && path.endsWith("/json")) {
                String id = path.substring("/containers/".length(), path.length() - "/json".length());
                inspects.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
                String body = bodies.get(id);
                if (body != null) {
                    req.response().putHeader("content-type", "application/json").end(body);
                    return;
                }
                req.response().setStatusCode(404).putHeader("content-type", "application/json").end(notFound);
                return;
            }
            req.response().setStatusCode(404).end();
        }).listen(SocketAddress.domainSocketAddress(socket.toString())), Duration.ofSeconds(30));
    }

    int inspectsOf(String id) {
        AtomicInteger n = inspects.get(id);
        return n == null ? 0 : n.get();
    }

    @Override
    public void close() throws Exception {
        Futures.get(vertx.close(), Duration.ofSeconds(10));
    }
}
