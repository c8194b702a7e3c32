package dev.corral.agent.server;

import dev.corral.agent.api.ApiRoutes;
import dev.corral.agent.api.ApiToken;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cli.Version;
import dev.corral.agent.policy.PolicyLoop;
import dev.corral.agent.policy.PolicySource;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.exporter.Exporter;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.metrics.ContainerNames;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The running daemon: the container runtime, the exporter's collector thread and the Vert.x HTTP server. */
public final class Agent implements AutoCloseable {

    private final Vertx vertx;
    private final ContainerRuntime runtime;
    private final Exporter exporter;
    private final HttpServer http;
    private final HttpServer socket;
    private final PolicyLoop policy;

    private Agent(Vertx vertx, ContainerRuntime runtime, Exporter exporter, HttpServer http, HttpServer socket,
                  PolicyLoop policy) {
        this.vertx = vertx;
        this.runtime = runtime;
        this.exporter = exporter;
        this.http = http;
        this.socket = socket;
        this.policy = policy;
    }

    public static Agent start(AgentOptions options) throws IOException {
        ContainerRuntime runtime = openRuntime(options.runtime());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ContainerNames names = runtime == null ? ContainerNames.NONE : runtime::nameOfCgroup;
        Exporter exporter;
        try {
            exporter = Exporter.start(options.exporter(), registry, names, Version.current());
        } catch (IOException | RuntimeException e) {
            if (runtime != null) {
                runtime.close();
            }
            throw e;
        }
        // Limits are read every few cycles: show the agent's own changes at the next one. "started" too: a cgroup
        // found by inotify between its mkdir and the runtime's writes was read half made (an empty v1 cpuset).
        if (runtime != null) {
            runtime.addListener(e -> {
                if (e.type().equals("limits-updated") || e.type().equals("started")) {
                    exporter.collector().limitsChanged();
                }
            });
        }
        Vertx vertx = Vertx.vertx();
        Duration interval = options.exporter().interval();
        HttpServer http = null;
        HttpServer socket = null;
        PolicyLoop policy = null;
        try {
            policy = startPolicy(options, runtime, registry);
            if (policy != null) {
                exporter.collector().addListener(policy);
            }
            ApiRoutes api = runtime == null ? null : new ApiRoutes(vertx, runtime, exporter, interval);
            ApiToken token = runtime == null ? null : ApiToken.loadOrCreate(options.runtime().tokenFile());
            http = listen(vertx, HttpRoutes.router(vertx, registry, exporter, interval,
                    api == null ? null : api.router(), token), SocketAddress.inetSocketAddress(options.httpPort(),
                    options.httpHost()), options.httpHost() + ":" + options.httpPort());
            if (api != null) {
                Path path = options.runtime().socket();
                UnixSocket.prepare(path);
                socket = listen(vertx, HttpRoutes.router(vertx, registry, exporter, interval, api.router(), null),
                        SocketAddress.domainSocketAddress(path.toString()), path.toString());
                UnixSocket.secure(path);
            }
            return new Agent(vertx, runtime, exporter, http, socket, policy);
        } catch (Exception e) {
            if (policy != null) {
                policy.close();
            }
            closeQuietly(http);
            closeQuietly(socket);
            exporter.close();
            if (runtime != null) {
                runtime.close();
            }
            closeQuietly(vertx);
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    private static PolicyLoop startPolicy(AgentOptions options, ContainerRuntime runtime,
                                          PrometheusMeterRegistry registry) throws IOException {
        if (runtime == null || options.policy() == null) {
            return null;
        }
        Path file = options.policy().file();
        try {
            return PolicyLoop.start(runtime, file == null ? PolicySource.embedded() : PolicySource.file(file),
                    options.policy().dryRun(), options.exporter().paths().procRoot(), registry);
        } catch (dev.corral.policies.file.PolicyException e) {
            throw new IOException("invalid policy: " + e.getMessage(), e);
        }
    }

    /** The policy loop, absent when the agent runs no policy. */
    public Optional<PolicyLoop> policy() {
        return Optional.ofNullable(policy);
    }

    private static HttpServer listen(Vertx vertx, Router router, SocketAddress address, String where)
            throws IOException {
        try {
            return Futures.get(vertx.createHttpServer().requestHandler(router).listen(address), Duration.ofSeconds(30));
        } catch (Exception e) {
            throw new IOException("cannot listen on " + where + ": " + e.getMessage(), e);
        }
    }

    private static ContainerRuntime openRuntime(AgentOptions.RuntimeOptions options) throws IOException {
        if (options == null) {
            return null;
        }
        CgroupDriver driver = CgroupDriver.forLayout(CgroupLayoutDetector.detectSystem(), options.cgroupParent());
        try {
            // What no container may see: a bind may not expose them, a host root has them masked.
            return ContainerRuntime.open(options.stateDir(), driver, protectedPaths(options),
                    options.allowUnrestrictedDevices(), options.network());
        } catch (CgroupException e) {
            throw new IOException("cannot set up the container cgroup " + options.cgroupParent() + ": "
                    + e.getMessage() + " (run as root, or pass --monitor-only)", e);
        }
    }

    /**
     * The state dir, the socket's directory (a mask over the socket itself would fall when a restarted agent
     * replaces it; the socket itself only when it lies right under "/") and the token file.
     */
    static List<Path> protectedPaths(AgentOptions.RuntimeOptions options) {
        Path socketDir = options.socket().getParent();
        return java.util.stream.Stream.of(options.stateDir(), socketDir == null || socketDir.getParent() == null
                        ? options.socket() : socketDir, options.tokenFile())
                .map(p -> p.toAbsolutePath().normalize()).distinct().toList();
    }

    /** The container runtime, absent when the agent only observes. */
    public Optional<ContainerRuntime> runtime() {
        return Optional.ofNullable(runtime);
    }

    public int httpPort() {
        return http.actualPort();
    }

    public Exporter exporter() {
        return exporter;
    }

    @Override
    public void close() {
        if (policy != null) {
            policy.close();
        }
        closeQuietly(http);
        closeQuietly(socket);
        exporter.close();
        if (runtime != null) {
            runtime.close(); // containers keep running: their monitors outlive the agent
        }
        closeQuietly(vertx);
    }

    private static void closeQuietly(HttpServer server) {
        if (server != null) {
            try {
                Futures.get(server.close(), Duration.ofSeconds(10));
            } catch (Exception e) {
                // closing anyway
            }
        }
    }

    private static void closeQuietly(Vertx vertx) {
        try {
            Futures.get(vertx.close(), Duration.ofSeconds(10));
        } catch (Exception e) {
            // nothing more to release; the process is stopping
        }
    }
}
