package dev.corral.agent.client;

import dev.corral.agent.server.Futures;
import java.time.Duration;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A scripted HTTP server on a temporary unix socket, standing in for the daemon in unit tests. */
final class FakeDaemon implements AutoCloseable {

    /** What the CLI asked: method, URI and body. */
    record Request(String method, String uri, String body) {
    }

    final Path dir;
    final Path socket;
    final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;
    private volatile Handler<HttpServerRequest> handler = req -> req.response().setStatusCode(500).end();

    FakeDaemon() throws Exception {
        dir = Files.createTempDirectory("corral-cli-test");
        socket = dir.resolve("fake.sock");
        server = Futures.get(vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
            requests.add(new Request(req.method().name(), req.uri(), b.toString()));
            handler.handle(req);
        })).listen(SocketAddress.domainSocketAddress(socket.toString())), Duration.ofSeconds(10));
    }

    void answer(Handler<HttpServerRequest> h) {
        handler = h;
    }

    /** The same status and JSON body for every request. */
    void answer(int status, String json) {
        answer(req -> req.response().setStatusCode(status).putHeader("content-type", "application/json").end(json));
    }

    String host() {
        return "unix://" + socket;
    }

    @Override
    public void close() throws Exception {
        Futures.get(server.close(), Duration.ofSeconds(10));
        Futures.get(vertx.close(), Duration.ofSeconds(10));
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
    }
}
