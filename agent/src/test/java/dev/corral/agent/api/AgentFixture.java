package dev.corral.agent.api;

import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.discovery.HostPaths;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real agent with its runtime: temp state dir, a /corral-test-* cgroup parent, an API socket in the state
 * dir. {@link #close()} removes every container and cgroup it made, also after a failed test.
 */
final class AgentFixture implements AutoCloseable {

    record Response(int status, String body, String contentType) {
    }

    final Path stateDir;
    final String parent;
    final Agent agent;
    final Vertx vertx = Vertx.vertx();
    final HttpClientAgent http = vertx.createHttpClient();
    private final CgroupLayout layout;

    AgentFixture() throws Exception {
        layout = CgroupLayoutDetector.detectSystem();
        stateDir = Files.createTempDirectory("corral-test-api");
        parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        ExporterConfig exporter = new ExporterConfig(HostPaths.system(), List.of(parent), Duration.ofMillis(200),
                Duration.ofMinutes(5), 1);
        agent = Agent.start(new AgentOptions("127.0.0.1", 0, exporter,
                AgentOptions.RuntimeOptions.in(stateDir, parent)));
    }

    Path socket() {
        return stateDir.resolve("corral.sock");
    }

    String token() throws Exception {
        return Files.readString(stateDir.resolve("api-token")).strip();
    }

    /** A request over the unix socket (no token needed). */
    Response unix(HttpMethod method, String uri, String body) throws Exception {
        return send(new RequestOptions().setServer(SocketAddress.domainSocketAddress(socket().toString()))
                .setHost("localhost").setMethod(method).setURI(uri), body);
    }

    /** A request over TCP, with the bearer token when {@code token} is not null. */
    Response tcp(HttpMethod method, String uri, String body, String token) throws Exception {
        RequestOptions o = new RequestOptions().setHost("127.0.0.1").setPort(agent.httpPort()).setMethod(method)
                .setURI(uri);
        if (token != null) {
            o.putHeader("authorization", "Bearer " + token);
        }
        return send(o, body);
    }

    private Response send(RequestOptions o, String body) throws Exception {
        return http.request(o).compose(req -> body == null ? req.send() : req.send(Buffer.buffer(body)))
                .compose(resp -> resp.body().map(b -> new Response(resp.statusCode(), b.toString(),
                        resp.getHeader("content-type"))))
                .await(120, TimeUnit.SECONDS);
    }

    Path cgroupFile(String container, String v1Controller, String file) {
        Hierarchy h = layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2 ? layout.unified().orElseThrow()
                : layout.hierarchyOf(v1Controller).orElseThrow();
        return h.dirOf(parent + "/" + container).orElseThrow().resolve(file);
    }

    boolean v2() {
        return layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2;
    }

    @Override
    public void close() throws Exception {
        try {
            var runtime = agent.runtime().orElseThrow();
            for (var r : runtime.list()) {
                runtime.remove(r.name(), true);
            }
            runtime.driver().removeParentIfEmpty();
        } finally {
            agent.close();
            vertx.close().await(10, TimeUnit.SECONDS);
            try (Stream<Path> files = Files.walk(stateDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        for (Hierarchy h : layout.hierarchies()) {
            if (Files.exists(h.dirOf(parent).orElseThrow())) {
                throw new AssertionError("cgroup left behind: " + h.dirOf(parent).orElseThrow());
            }
        }
    }
}
