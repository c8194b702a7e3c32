package dev.corral.agent.runtime;

import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecParser;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.testing.Workloads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A runtime on a temporary state dir under a {@code /corral-test-*} parent cgroup. {@link #close()} removes
 * every container (killing what runs), the parent cgroup and the state dir, also when a test failed.
 */
final class RuntimeFixture implements AutoCloseable {

    final CgroupLayout layout;
    final String parent;
    final Path stateDir;
    ContainerRuntime runtime;

    RuntimeFixture() throws Exception {
        this("corral-test-state");
    }

    /** @param statePrefix the state dir's name prefix (to test paths with odd characters) */
    RuntimeFixture(String statePrefix) throws Exception {
        layout = CgroupLayoutDetector.detectSystem();
        Workloads.expectLayout(layout);
        parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        stateDir = Files.createTempDirectory(statePrefix);
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
        Hierarchy h = layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2 ? layout.unified().orElseThrow()
                : layout.hierarchyOf(v1Controller).orElseThrow();
        return h.dirOf(parent + "/" + name).orElseThrow();
    }

    String stdout(String name) throws IOException {
        Path log = runtime.logDir(name).resolve("stdout.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    String stderr(String name) throws IOException {
        Path log = runtime.logDir(name).resolve("stderr.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() throws Exception {
        try {
            for (ContainerRecord r : runtime.list()) {
                try {
                    runtime.remove(r.name(), true);
                } catch (ContainerException e) {
                    System.err.println("cleanup of " + r.name() + " failed: " + e.getMessage());
                }
            }
            runtime.driver().removeParentIfEmpty();
        } finally {
            runtime.close();
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

    static Duration seconds(long s) {
        return Duration.ofSeconds(s);
    }
}
