package dev.corral.agent.testing;

import dev.corral.agent.image.Trees;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.testing.Workloads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * What every test that runs containers stands on: a {@code /corral-test-*} parent cgroup (so a leak is easy to
 * find) and a temporary state dir, and their cleanup. {@link #close()} fails the test if the parent is left in
 * any hierarchy.
 */
public final class TestParent implements AutoCloseable {

    public final CgroupLayout layout;
    /** The parent cgroup, e.g. {@code /corral-test-1a2b3c4d}. */
    public final String path;
    public final Path stateDir;

    /** @param statePrefix the state dir's name prefix (e.g. to test paths with odd characters) */
    public TestParent(String statePrefix) throws IOException {
        layout = CgroupLayoutDetector.detectSystem();
        Workloads.expectLayout(layout);
        path = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        stateDir = Files.createTempDirectory(statePrefix);
    }

    public boolean v2() {
        return layout.mode() == CgroupMode.V2;
    }

    /** A container's cgroup dir (the parent's when {@code container} is null): on v1 in the controller's hierarchy. */
    public Path cgroupDir(String container, String v1Controller) {
        Hierarchy h = v2() ? layout.unified().orElseThrow() : layout.hierarchyOf(v1Controller).orElseThrow();
        return h.dirOf(container == null ? path : path + "/" + container).orElseThrow();
    }

    /** CPU time a container used (v1 cpuacct.usage, v2 cpu.stat usage_usec), in nanoseconds, read straight from the kernel. */
    public long cpuUsageNanos(String container) throws IOException {
        if (v2()) {
            return cpuStat(container, "usage_usec") * 1000;
        }
        return Long.parseLong(Files.readString(cgroupDir(container, "cpuacct").resolve("cpuacct.usage")).strip());
    }

    /** Periods in which the kernel throttled a container at its CFS quota (cpu.stat nr_throttled). */
    public long throttledPeriods(String container) throws IOException {
        return cpuStat(container, "nr_throttled");
    }

    private long cpuStat(String container, String key) throws IOException {
        for (String line : Files.readAllLines(cgroupDir(container, "cpu").resolve("cpu.stat"))) {
            if (line.startsWith(key + " ")) {
                return Long.parseLong(line.substring(key.length() + 1).strip());
            }
        }
        throw new AssertionError("no " + key + " in cpu.stat of " + container);
    }

    /** Removes every container of {@code runtime} (killing what runs), then the parent if it is empty. */
    public static void removeContainers(ContainerRuntime runtime) throws Exception {
        for (ContainerRecord r : runtime.list()) {
            try {
                runtime.remove(r.name(), true);
            } catch (Exception e) {
                System.err.println("cleanup of " + r.name() + " failed: " + e.getMessage());
            }
        }
        runtime.driver().removeParentIfEmpty();
    }

    /** Deletes the state dir, then fails if the parent cgroup is still in any hierarchy. */
    @Override
    public void close() throws IOException {
        Trees.delete(stateDir);
        for (Hierarchy h : layout.hierarchies()) {
            Path dir = h.dirOf(path).orElseThrow();
            if (Files.exists(dir)) {
                throw new AssertionError("cgroup left behind: " + dir);
            }
        }
    }

    /** For a fixture whose setup failed: removes the (empty) parent the runtime may have made, and the state dir. */
    public void abandon() throws IOException {
        for (Hierarchy h : layout.hierarchies()) {
            Files.deleteIfExists(h.dirOf(path).orElseThrow());
        }
        Trees.delete(stateDir);
    }
}
