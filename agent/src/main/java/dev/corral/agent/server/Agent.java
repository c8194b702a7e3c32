package dev.corral.agent.server;

import dev.corral.agent.api.ApiRoutes;
import dev.corral.agent.api.ApiToken;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.Version;
import dev.corral.agent.foreign.DockerApi;
import dev.corral.agent.foreign.ForeignContainers;
import dev.corral.agent.foreign.ForeignRoutes;
import dev.corral.agent.policy.PolicyLoop;
import dev.corral.agent.policy.PolicySource;
import dev.corral.agent.runtime.ContainerEvent;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.web.WebPage;
import dev.corral.agent.web.WebRoutes;
import dev.corral.exporter.Exporter;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.metrics.ContainerNames;
import dev.corral.exporter.naming.CgroupOrigin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
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
    private final WebPage web;
    private final ForeignContainers foreign;

    private SelfMetrics self; // set once by start()

    private Agent(Vertx vertx, ContainerRuntime runtime, Exporter exporter, HttpServer http, HttpServer socket,
                  PolicyLoop policy, WebPage web, ForeignContainers foreign) {
        this.foreign = foreign;
        this.vertx = vertx;
        this.runtime = runtime;
        this.exporter = exporter;
        this.http = http;
        this.socket = socket;
        this.policy = policy;
        this.web = web;
    }

    public static Agent start(AgentOptions options) throws IOException {
        ContainerRuntime runtime = openRuntime(options.runtime());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        SelfMetrics self = new SelfMetrics(registry);
        ContainerNames own = runtime == null ? ContainerNames.NONE : runtime::nameOfCgroup;
        // Netty 4.2 registers its allocator's JFR events at the first buffer it allocates, on an event loop:
        // measured 3.4 s of a blocked loop (the first runtime lookup, or the first scrape) on a loaded host
        if (System.getProperty("io.netty.jfr.enabled") == null) {
            System.setProperty("io.netty.jfr.enabled", "false");
        }
        // JFR caught a fresh agent's event loop initialising, at its first Docker lookup, Netty's buffer allocators
        // (NetClientImpl.connectInternal2: ByteBufAllocator.DEFAULT, Vert.x's pooled one, jctools queues) and
        // Vert.x's JSON codec (the first inspect's body: Jackson's ObjectMapper, DatabindCodec): class init that
        // is seconds of a blocked loop on a loaded host. Paid here, on the main thread, before anything connects.
        io.vertx.core.buffer.Buffer.buffer(1);
        new io.vertx.core.json.JsonObject("{}");
        // The blocked-thread checker woke every second to look at every thread; every 10 s still names a blocked loop
        // (the warning's threshold, 2 s, is its own), at a tenth of an idle agent's wake-ups.
        Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setBlockedThreadCheckInterval(10_000));
        List<DockerApi> apis = runtimeApis(vertx, options.foreign());
        for (DockerApi api : apis) { // the cost of naming: one lookup per container, not one per cycle
            io.micrometer.core.instrument.FunctionCounter.builder("corral.foreign.lookups", api, DockerApi::lookups)
                    .description("Container lookups asked of another runtime's API (inspects)")
                    .tag("runtime", api.runtime()).register(registry);
        }
        ForeignContainers foreign = new ForeignContainers(vertx, own, apis, options.foreign().labelKeys());
        Exporter exporter;
        try {
            exporter = Exporter.start(options.exporter(), registry, foreign, Version.current());
        } catch (IOException | RuntimeException e) {
            foreign.close();
            self.close();
            if (runtime != null) {
                runtime.close();
            }
            closeQuietly(vertx);
            throw e;
        }
        exporter.collector().addListener(foreign);
        foreign.start();
        // The first render loads and compiles the whole /metrics path: measured 11.6 s for a fresh agent's first
        // scrape on a loaded 2-core host (load 28; ~1 s for the next ones), which is what made a Docker container
        // seem to take ~3 s to be named. Paid here, before serving, not by the first scrape.
        exporter.metricsPage().render();
        // Limits are read every few cycles: show the agent's own changes at the next one. "started" too: a cgroup
        // found by inotify between its mkdir and the runtime's writes was read half made (an empty v1 cpuset).
        if (runtime != null) {
            NetworkRateMetrics.register(registry, runtime);
            runtime.addListener(e -> {
                if (e.type() == ContainerEvent.Type.LIMITS_UPDATED || e.type() == ContainerEvent.Type.STARTED) {
                    exporter.collector().limitsChanged();
                }
            });
        }
        Duration interval = options.exporter().interval();
        HttpServer http = null;
        HttpServer socket = null;
        PolicyLoop policy = null;
        WebPage web = null;
        try {
            policy = startPolicy(options, runtime, registry, foreignSource(foreign));
            if (policy != null) {
                exporter.collector().addListener(policy);
            }
            ApiRoutes api = runtime == null ? null : new ApiRoutes(vertx, runtime, exporter, interval);
            ApiToken token = runtime == null ? null : ApiToken.loadOrCreate(options.runtime().tokenFile());
            web = new WebPage(vertx, exporter, registry, foreign, runtime, api == null ? null : api.events(), policy,
                    interval.toMillis(), options.exporter().paths().procRoot());
            exporter.collector().addListener(web);
            Router routes = HttpRoutes.router(vertx, registry, exporter, interval,
                    api == null ? null : withForeign(api.router(), foreign, exporter), token);
            WebRoutes.addTo(routes, web); // read-only, like /metrics: on the open listener only
            http = listen(vertx, routes, SocketAddress.inetSocketAddress(options.httpPort(),
                    options.httpHost()), options.httpHost() + ":" + options.httpPort());
            if (api != null) {
                Path path = options.runtime().socket();
                UnixSocket.prepare(path);
                socket = listen(vertx, HttpRoutes.router(vertx, registry, exporter, interval,
                        withForeign(api.router(), foreign, exporter), null),
                        SocketAddress.domainSocketAddress(path.toString()), path.toString());
                UnixSocket.secure(path);
            }
            Agent agent = new Agent(vertx, runtime, exporter, http, socket, policy, web, foreign);
            agent.self = self;
            return agent;
        } catch (Exception e) {
            if (policy != null) {
                policy.close();
            }
            if (web != null) {
                web.close();
            }
            closeQuietly(http);
            closeQuietly(socket);
            exporter.close();
            foreign.close();
            if (runtime != null) {
                runtime.close();
            }
            closeQuietly(vertx);
            self.close();
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    private static List<DockerApi> runtimeApis(Vertx vertx, AgentOptions.ForeignOptions options) {
        List<DockerApi> apis = new java.util.ArrayList<>();
        if (options.dockerSocket() != null) {
            apis.add(new DockerApi(vertx, CgroupOrigin.DOCKER, options.dockerSocket(), options.deadline()));
        }
        if (options.podmanSocket() != null) {
            apis.add(new DockerApi(vertx, CgroupOrigin.PODMAN, options.podmanSocket(), options.deadline()));
        }
        return apis;
    }

    private static Router withForeign(Router api, ForeignContainers foreign, Exporter exporter) {
        ForeignRoutes.addTo(api, foreign, exporter);
        return api;
    }

    /** What the agent knows about containers other runtimes started. */
    public ForeignContainers foreign() {
        return foreign;
    }

    /** What the policy classes see of other runtimes' containers: identity and every runtime label. */
    private static dev.corral.agent.policy.ForeignSource foreignSource(ForeignContainers foreign) {
        return snapshot -> foreign.list(snapshot).stream().map(l -> new dev.corral.agent.policy.ForeignSource.Subject(
                l.cgroup(), l.runtime(), l.identity().name(), l.identity().image(), l.identity().namespace(),
                foreign.runtimeLabels(l.cgroup()))).toList();
    }

    private static PolicyLoop startPolicy(AgentOptions options, ContainerRuntime runtime,
                                          PrometheusMeterRegistry registry,
                                          dev.corral.agent.policy.ForeignSource foreign) throws IOException {
        if (runtime == null || options.policy() == null) {
            return null;
        }
        Path file = options.policy().file();
        try {
            return PolicyLoop.start(runtime, file == null ? PolicySource.embedded() : PolicySource.file(file),
                    options.policy().dryRun(), options.exporter().paths().procRoot(), registry, foreign);
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
            // HTTP/1.1 only, no h2c upgrade (on by default in Vert.x): Prometheus and the CLI speak 1.1, and a JDK
            // client that upgraded a scrape connection to h2c once waited forever on a /metrics answer (CI, an
            // idle server, no bytes in flight either way) that a new connection got at once
            HttpServerOptions http1 = new HttpServerOptions().setHttp2ClearTextEnabled(false);
            return Futures.get(vertx.createHttpServer(http1).requestHandler(router).listen(address),
                    Duration.ofSeconds(30));
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
        if (self != null) {
            self.close();
        }
        if (policy != null) {
            policy.close();
        }
        closeQuietly(http);
        closeQuietly(socket);
        exporter.close();
        web.close(); // after the collector: it hands every snapshot to the page
        foreign.close();
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
