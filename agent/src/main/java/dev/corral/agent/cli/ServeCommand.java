package dev.corral.agent.cli;

import dev.corral.agent.client.DurationConverter;
import dev.corral.agent.Version;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.CgroupPaths;
import dev.corral.exporter.discovery.HostPaths;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/** {@code corral serve}: runs the daemon until SIGTERM or SIGINT. */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Run the agent: sample the host's cgroups and serve /metrics and /healthz over HTTP.")
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--listen", paramLabel = "HOST:PORT", converter = ListenAddress.Converter.class,
            defaultValue = "127.0.0.1:9431", description = "HTTP listener for /metrics and /healthz (default: ${DEFAULT-VALUE}).")
    ListenAddress listen;

    @Option(names = "--interval", paramLabel = "DURATION", converter = DurationConverter.class,
            defaultValue = "1s", description = "Time between collection cycles (default: ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(names = "--cgroup-root", paramLabel = "PATH", defaultValue = "/",
            description = "Cgroup path whose subtree is watched; repeatable (default: the whole host).")
    List<String> cgroupRoots;

    @Option(names = "--retention", paramLabel = "DURATION", converter = DurationConverter.class,
            defaultValue = "5m", description = "How long a removed cgroup's last counters stay exported (default: ${DEFAULT-VALUE}).")
    Duration retention;

    @Option(names = "--rescan-every", paramLabel = "CYCLES", defaultValue = "60",
            description = "Also list cgroups every this many cycles; made and removed cgroups are seen at once "
                    + "through inotify (default: ${DEFAULT-VALUE}).")
    int rescanEvery;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/corral",
            description = "Where container records, logs and the launcher live (default: ${DEFAULT-VALUE}).")
    Path stateDir;

    @Option(names = "--cgroup-parent", paramLabel = "PATH", defaultValue = "/corral",
            description = "The cgroup every container is created under; the agent writes nowhere else "
                    + "(default: ${DEFAULT-VALUE}).")
    String cgroupParent;

    @Option(names = "--socket", paramLabel = "PATH", defaultValue = "/run/corral/corral.sock",
            description = "Unix socket serving the API without a token, mode 0660 (default: ${DEFAULT-VALUE}).")
    Path socket;

    @Option(names = "--token-file", paramLabel = "FILE", description = "Bearer token TCP API clients must send "
            + "(default: <state-dir>/api-token, generated on first start).")
    Path tokenFile;

    @Option(names = "--monitor-only", description = "Only observe cgroups and serve metrics: no container "
            + "runtime, no cgroup writes, no root needed.")
    boolean monitorOnly;

    @Option(names = "--policy", paramLabel = "FILE", description = "Policy file (JSON, docs/policies.md), read "
            + "again when it changes; an invalid new version keeps the old one (default: the embedded default policy).")
    Path policy;

    @Option(names = "--allow-unrestricted-devices", description = "On a cgroup v2 kernel that cannot load the BPF "
            + "device filter (before 4.15, or BPF disabled), start containers with access to every device node "
            + "(warned once at startup) instead of refusing to start them.")
    boolean allowUnrestrictedDevices;

    @Option(names = "--insecure-registry", paramLabel = "HOST[:PORT]", description = "A registry that may be pulled "
            + "from over plain HTTP (repeatable); those on 127.0.0.0/8 always may, as with Docker.")
    java.util.List<String> insecureRegistries = new java.util.ArrayList<>();

    @Option(names = "--registry-ca", paramLabel = "FILE", description = "PEM CA certificates trusted for "
            + "registries, besides the system's.")
    Path registryCa;

    @Option(names = "--policy-dry-run", description = "Make and publish every policy decision but apply none.")
    boolean policyDryRun;

    @Option(names = "--docker-socket", paramLabel = "PATH", defaultValue = "/var/run/docker.sock",
            description = "Docker's Engine API socket, asked for the names, images and labels of Docker containers "
                    + "and followed through its events; \"\" to not ask (default: ${DEFAULT-VALUE}).")
    String dockerSocket;

    @Option(names = "--podman-socket", paramLabel = "PATH", defaultValue = "/run/podman/podman.sock",
            description = "Podman's Docker-compatible API socket, used as --docker-socket is; \"\" to not ask "
                    + "(default: ${DEFAULT-VALUE}).")
    String podmanSocket;

    @Option(names = "--container-label", paramLabel = "KEY", description = "A runtime label key exported on "
            + "container_info as container_label_<KEY>; repeatable (default: none, so cardinality stays bounded).")
    List<String> containerLabels = new java.util.ArrayList<>();

    @Option(names = "--bridge", paramLabel = "NAME", defaultValue = "corral0", description = "The default network's "
            + "bridge, made with the first container on it (default: ${DEFAULT-VALUE}; nftables table inet corral).")
    String bridge;

    @Option(names = "--bridge-subnet", paramLabel = "CIDR", description = "Its IPv4 subnet (default: the first of "
            + "10.77.0.0/16, 10.78.0.0/16, ... that no route of the host overlaps).")
    String bridgeSubnet;

    @Option(names = "--default-network", paramLabel = "bridge|none|host", defaultValue = "bridge",
            description = "The network of a container whose spec names none (default: ${DEFAULT-VALUE}).")
    String defaultNetwork;

    @Override
    public Integer call() throws Exception {
        List<String> roots;
        try {
            roots = cgroupRoots.stream().map(CgroupPaths::normalize).distinct().toList();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--cgroup-root: " + e.getMessage());
        }
        if (rescanEvery < 1) {
            throw new ParameterException(spec.commandLine(), "--rescan-every must be at least 1");
        }
        for (String key : containerLabels) {
            if (key.isBlank()) {
                throw new ParameterException(spec.commandLine(), "--container-label: the label key is empty");
            }
        }
        String parent;
        try {
            parent = CgroupPaths.normalize(cgroupParent);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--cgroup-parent: " + e.getMessage());
        }
        if (parent.equals("/")) {
            throw new ParameterException(spec.commandLine(), "--cgroup-parent must not be the root cgroup");
        }
        if (!stateDir.isAbsolute()) {
            throw new ParameterException(spec.commandLine(), "--state-dir must be an absolute path");
        }
        if (policy != null) {
            try {
                dev.corral.agent.policy.PolicySource.file(policy).load();
            } catch (dev.corral.policies.file.PolicyException e) {
                throw new ParameterException(spec.commandLine(), "--policy: " + e.getMessage());
            }
        }
        dev.corral.agent.network.NetworkOptions network = networkOptions();
        ExporterConfig exporter = new ExporterConfig(HostPaths.system(), roots, interval, retention, rescanEvery);
        AgentOptions.RuntimeOptions runtime = monitorOnly ? null
                : new AgentOptions.RuntimeOptions(stateDir.normalize(), parent, socket.toAbsolutePath(),
                        tokenFile != null ? tokenFile.toAbsolutePath() : stateDir.normalize().resolve("api-token"),
                        allowUnrestrictedDevices, network);
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        AgentOptions.PolicyOptions policyOptions = new AgentOptions.PolicyOptions(
                policy == null ? null : policy.toAbsolutePath(), policyDryRun);
        AgentOptions.ForeignOptions foreign = new AgentOptions.ForeignOptions(
                dockerSocket.isEmpty() ? null : Path.of(dockerSocket).toAbsolutePath(),
                podmanSocket.isEmpty() ? null : Path.of(podmanSocket).toAbsolutePath(),
                java.util.Set.copyOf(containerLabels), Duration.ofSeconds(2));
        try {
            dev.corral.agent.image.RegistryPuller.configure(java.util.Set.copyOf(insecureRegistries), registryCa);
        } catch (java.io.IOException e) {
            throw new ParameterException(spec.commandLine(), "--registry-ca: " + e.getMessage());
        }
        try (Agent agent = Agent.start(new AgentOptions(listen.host(), listen.port(), exporter, runtime,
                policyOptions, foreign))) {
            System.err.println("corral: serving on http://" + listen.host() + ":" + agent.httpPort() + " (the web page at /, metrics at /metrics)"
                    + (runtime == null ? "" : " and the API on unix://" + runtime.socket()));
            stop.await();
            System.err.println("corral: shutting down");
        }
        return 0;
    }

    private dev.corral.agent.network.NetworkOptions networkOptions() {
        if (!bridge.matches("[a-zA-Z][a-zA-Z0-9_-]{0,14}")) {
            throw new ParameterException(spec.commandLine(), "--bridge: '" + bridge + "' is not an interface name "
                    + "(1-15 letters, digits, '_' or '-')");
        }
        if (bridgeSubnet != null) {
            try {
                dev.corral.agent.network.Subnet.parse(bridgeSubnet);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--bridge-subnet: " + e.getMessage());
            }
        }
        if (!List.of("bridge", "none", "host").contains(defaultNetwork)) {
            throw new ParameterException(spec.commandLine(), "--default-network: '" + defaultNetwork
                    + "' is not bridge, none or host");
        }
        return new dev.corral.agent.network.NetworkOptions(bridge, bridgeSubnet, defaultNetwork);
    }
}
