package dev.corral.agent.runtime;

import static dev.corral.exporter.testing.Await.await;

import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.testing.TestParent;
import dev.corral.exporter.discovery.CgroupLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A runtime on a temporary state dir under a {@code /corral-test-*} parent cgroup. {@link #close()} removes
 * every container (killing what runs), the parent cgroup and the state dir, also when a test failed.
 */
final class RuntimeFixture implements AutoCloseable {

    final TestParent dirs;
    final CgroupLayout layout;
    final String parent;
    final Path stateDir;
    ContainerRuntime runtime;

    RuntimeFixture() throws Exception {
        this("corral-test-state");
    }

    /** @param statePrefix the state dir's name prefix (to test paths with odd characters) */
    RuntimeFixture(String statePrefix) throws Exception {
        dirs = new TestParent(statePrefix);
        layout = dirs.layout;
        parent = dirs.path;
        stateDir = dirs.stateDir;
        runtime = open();
    }

    ContainerRuntime open() throws Exception {
        return ContainerRuntime.open(stateDir, CgroupDriver.forLayout(layout, parent), List.of(stateDir));
    }

    /** Simulates an agent that died: stops watching without touching containers, then opens a new one. */
    ContainerRuntime restart() throws Exception {
        runtime.close();
        runtime = open();
        return runtime;
    }

    static ContainerSpec spec(String json) throws Exception {
        return SpecParser.parse(json.replace('\'', '"').getBytes());
    }

    Path cgroupDir(String name, String v1Controller) {
        return dirs.cgroupDir(name, v1Controller);
    }

    String stdout(String name) throws IOException {
        Path log = runtime.logDir(name).resolve("stdout.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** Waits until the container printed {@code text} (e.g. its signal handlers are then in place). */
    void awaitStdout(String name, String text) throws Exception {
        await(() -> stdout(name).contains(text), Duration.ofSeconds(30), name + " to print " + text);
    }

    String stderr(String name) throws IOException {
        Path log = runtime.logDir(name).resolve("stderr.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() throws Exception {
        try {
            TestParent.removeContainers(runtime);
        } finally {
            runtime.close();
        }
        dirs.close();
    }

    static Duration seconds(long s) {
        return Duration.ofSeconds(s);
    }
}
