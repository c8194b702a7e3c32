package dev.corral.agent.api;

import dev.corral.agent.client.HttpTransport;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.server.Futures;
import dev.corral.agent.testing.TestParent;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.HostPaths;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real agent with its runtime: temp state dir, a /corral-test-* cgroup parent, an API socket in the state
 * dir. {@link #close()} removes every container and cgroup it made, also after a failed test.
 */
final class AgentFixture implements AutoCloseable {

    record Response(int status, String body, String contentType) {
    }

    final TestParent dirs;
    final Path stateDir;
    final String parent;
    Agent agent;
    final Vertx vertx = Vertx.vertx();
    private final AgentOptions options;

    AgentFixture() throws Exception {
        this(null, false, false);
    }

    /**
     * An agent running a policy: {@code policyJson} is written to {@code <state>/policy.json} (null: the embedded
     * default).
     */
    AgentFixture(String policyJson, boolean dryRun) throws Exception {
        this(policyJson, dryRun, true);
    }

    private AgentFixture(String policyJson, boolean dryRun, boolean withPolicy) throws Exception {
        dirs = new TestParent("corral-test-api");
        stateDir = dirs.stateDir;
        parent = dirs.path;
        ExporterConfig exporter = new ExporterConfig(HostPaths.system(), List.of(parent), Duration.ofMillis(200),
                Duration.ofMinutes(5), 1);
        if (policyJson != null) {
            Files.writeString(policyFile(), policyJson);
        }
        AgentOptions.PolicyOptions policy = withPolicy
                ? new AgentOptions.PolicyOptions(policyJson == null ? null : policyFile(), dryRun) : null;
        options = new AgentOptions("127.0.0.1", 0, exporter, AgentOptions.RuntimeOptions.in(stateDir, parent), policy);
        try {
            agent = Agent.start(options);
        } catch (Exception e) {
            dirs.abandon();
            Futures.get(vertx.close(), Duration.ofSeconds(10));
            throw e;
        }
    }

    /** Stops the agent (its containers keep running, as after SIGTERM) and starts a new one on the same state. */
    void restart() throws Exception {
        agent.close();
        agent = Agent.start(options);
    }

    Path policyFile() {
        return stateDir.resolve("policy.json");
    }

    /**
     * Replaces the policy file whole, by a rename, as a config tool should: written in place, a reload polled
     * between the truncation and the write reads an empty file and publishes a policy-rejected of its own.
     */
    void replacePolicy(String policyJson) throws java.io.IOException {
        Path next = stateDir.resolve("policy.json.next");
        Files.writeString(next, policyJson);
        Files.move(next, policyFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    Path socket() {
        return stateDir.resolve("corral.sock");
    }

    String token() throws Exception {
        return Files.readString(stateDir.resolve("api-token")).strip();
    }

    /** The unix socket's client, e.g. for a stream (no token needed). */
    HttpTransport unixTransport() {
        return HttpTransport.unix(socket());
    }

    /** A request over the unix socket (no token needed). */
    Response unix(HttpMethod method, String uri, String body) throws Exception {
        return send(unixTransport(), method, uri, body);
    }

    /** A request over TCP, with the bearer token when {@code token} is not null. */
    Response tcp(HttpMethod method, String uri, String body, String token) throws Exception {
        return send(HttpTransport.tcp("127.0.0.1", agent.httpPort(), token), method, uri, body);
    }

    private Response send(HttpTransport http, HttpMethod method, String uri, String body) throws Exception {
        try {
            HttpTransport.Response r = http.request(method.name(), uri,
                    body == null ? null : body.getBytes(StandardCharsets.UTF_8), "application/json",
                    Duration.ofSeconds(60));
            return new Response(r.status(), r.bodyText(), r.header("content-type"));
        } catch (SocketTimeoutException e) {
            // The agent runs in this JVM: its threads tell where the request is stuck.
            Thread.getAllStackTraces().forEach((t, st) -> {
                StringBuilder b = new StringBuilder("THREAD " + t.getName() + " " + t.getState() + "\n");
                for (StackTraceElement el : st) {
                    b.append("    at ").append(el).append('\n');
                }
                System.out.println(b);
            });
            throw new AssertionError("no answer within 60 s to " + method.name() + " " + uri + " "
                    + (body == null ? "" : body.substring(0, Math.min(200, body.length()))), e);
        }
    }

    Path parentFile(String v1Controller, String file) {
        return dirs.cgroupDir(null, v1Controller).resolve(file);
    }

    Path cgroupFile(String container, String v1Controller, String file) {
        return dirs.cgroupDir(container, v1Controller).resolve(file);
    }

    /** The container's cgroup directories that exist, in every hierarchy (one on v2). */
    List<Path> cgroupDirs(String container) {
        return dirs.layout.hierarchies().stream().map(h -> h.dirOf(parent + "/" + container))
                .flatMap(java.util.Optional::stream).filter(Files::isDirectory).toList();
    }

    boolean v2() {
        return dirs.v2();
    }

    @Override
    public void close() throws Exception {
        try {
            TestParent.removeContainers(agent.runtime().orElseThrow());
        } finally {
            agent.close();
            Futures.get(vertx.close(), Duration.ofSeconds(10));
        }
        dirs.close();
    }
}
