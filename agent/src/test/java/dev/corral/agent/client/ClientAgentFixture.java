package dev.corral.agent.client;

import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.discovery.HostPaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A real agent, in-process, for the CLI to talk to: a temp state dir holding the API socket and token, a
 * {@code /corral-test-*} cgroup parent. {@link #close()} removes every container and cgroup it made and the state
 * dir, also after a failed test, and fails if a cgroup is left behind.
 */
final class ClientAgentFixture implements AutoCloseable {

    final Path stateDir;
    final String parent;
    final Agent agent;
    private final CgroupLayout layout;

    ClientAgentFixture() throws Exception {
        this(null);
    }

    /** @param policyJson a policy for the agent to run (written to the state dir), or null for none */
    ClientAgentFixture(String policyJson) throws Exception {
        layout = CgroupLayoutDetector.detectSystem();
        stateDir = Files.createTempDirectory("corral-test-cli");
        parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        ExporterConfig exporter = new ExporterConfig(HostPaths.system(), List.of(parent), Duration.ofMillis(200),
                Duration.ofMinutes(5), 1);
        try {
            AgentOptions.PolicyOptions policy = null;
            if (policyJson != null) {
                Path file = stateDir.resolve("policy.json");
                Files.writeString(file, policyJson);
                policy = new AgentOptions.PolicyOptions(file, false);
            }
            agent = Agent.start(new AgentOptions("127.0.0.1", 0, exporter,
                    AgentOptions.RuntimeOptions.in(stateDir, parent), policy));
        } catch (Exception e) {
            deleteStateDir();
            for (Hierarchy h : layout.hierarchies()) { // the runtime may have made the (empty) parent already
                Files.deleteIfExists(h.dirOf(parent).orElseThrow());
            }
            throw e;
        }
    }

    Path socket() {
        return stateDir.resolve("corral.sock");
    }

    String host() {
        return "unix://" + socket();
    }

    Path tokenFile() {
        return stateDir.resolve("api-token");
    }

    boolean v2() {
        return layout.mode() == CgroupMode.V2;
    }

    /** A container's cgroup file: on v1 in the controller's hierarchy, on v2 in the unified one. */
    Path cgroupFile(String container, String v1Controller, String file) {
        Hierarchy h = v2() ? layout.unified().orElseThrow() : layout.hierarchyOf(v1Controller).orElseThrow();
        return h.dirOf(parent + "/" + container).orElseThrow().resolve(file);
    }

    @Override
    public void close() throws Exception {
        try {
            var runtime = agent.runtime().orElseThrow();
            for (var r : runtime.list()) {
                try {
                    runtime.remove(r.name(), true);
                } catch (Exception e) {
                    System.err.println("cleanup of " + r.name() + " failed: " + e.getMessage());
                }
            }
            runtime.driver().removeParentIfEmpty();
        } finally {
            agent.close();
            deleteStateDir();
        }
        for (Hierarchy h : layout.hierarchies()) {
            if (Files.exists(h.dirOf(parent).orElseThrow())) {
                throw new AssertionError("cgroup left behind: " + h.dirOf(parent).orElseThrow());
            }
        }
    }

    private void deleteStateDir() throws Exception {
        try (Stream<Path> files = Files.walk(stateDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
