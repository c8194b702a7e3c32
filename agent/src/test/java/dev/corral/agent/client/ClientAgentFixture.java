package dev.corral.agent.client;

import dev.corral.agent.image.TestImages;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.testing.TestParent;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.HostPaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A real agent, in-process, for the CLI to talk to: a temp state dir holding the API socket and token, a
 * {@code /corral-test-*} cgroup parent. {@link #close()} removes every container and cgroup it made and the state
 * dir, also after a failed test, and fails if a cgroup is left behind.
 */
final class ClientAgentFixture implements AutoCloseable {

    final TestParent dirs;
    final Path stateDir;
    final String parent;
    final Agent agent;

    ClientAgentFixture() throws Exception {
        this(null);
    }

    /** @param policyJson a policy for the agent to run (written to the state dir), or null for none */
    ClientAgentFixture(String policyJson) throws Exception {
        dirs = new TestParent("corral-test-cli");
        stateDir = dirs.stateDir;
        parent = dirs.path;
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
            dirs.abandon();
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
        return dirs.v2();
    }

    /** A container's cgroup file: on v1 in the controller's hierarchy, on v2 in the unified one. */
    Path cgroupFile(String container, String v1Controller, String file) {
        return dirs.cgroupDir(container, v1Controller).resolve(file);
    }

    /**
     * Writes the two-layer test image as an OCI archive into {@code dir} and imports it as {@code name} through the
     * CLI, against this agent.
     */
    void importTwoLayerImage(Path dir, String name) throws Exception {
        Path oci = TestImages.write(dir, "two.oci.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null, true));
        Cli.environment(Map.of("CORRAL_HOST", host()));
        try {
            Cli.ok("image", "import", oci.toString(), "--name", name);
        } finally {
            Cli.realEnvironment();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            TestParent.removeContainers(agent.runtime().orElseThrow());
        } finally {
            agent.close();
        }
        dirs.close();
    }
}
