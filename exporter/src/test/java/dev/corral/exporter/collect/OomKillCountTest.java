package dev.corral.exporter.collect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.discovery.HostPaths;
import dev.corral.exporter.metrics.ContainerNames;
import dev.corral.exporter.metrics.SelfMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Tag;

/**
 * What the collector reports as OOM kills, on fake v2 cgroup directories whose memory.events the test writes, and
 * how long the agent's per-cgroup kill counter lives.
 */
@Tag("unit")
class OomKillCountTest {

    @TempDir
    Path mount;
    private final AtomicLong clock = new AtomicLong(1_700_000_000_000L);
    private final List<String> kills = new ArrayList<>();

    private CgroupCollector collector(CollectorStats stats) {
        CgroupLayout layout = new CgroupLayout(CgroupMode.V2,
                List.of(new Hierarchy(2, Set.of("cpu", "memory", "io", "pids"), mount, "/")), Map.of());
        return new CgroupCollector(layout, new HostPaths(mount.resolve("proc"), mount), List.of("/corral"),
                Duration.ofMinutes(5), 1, clock::get, stats);
    }

    private final CollectorStats recording = new CollectorStats() {
        @Override
        public void oomKills(String cgroupPath, long delta) {
            kills.add(cgroupPath + " +" + delta);
        }
    };

    private void cgroup(String path, long oomKills) throws IOException {
        Path dir = Files.createDirectories(mount.resolve(path.substring(1)));
        Files.writeString(dir.resolve("cgroup.procs"), "");
        Files.writeString(dir.resolve("memory.current"), "8388608\n");
        Files.writeString(dir.resolve("memory.events"),
                "low 0\nhigh 0\nmax " + (3 * oomKills) + "\noom " + oomKills + "\noom_kill " + oomKills + "\n");
    }

    private void remove(String path) throws IOException {
        Path dir = mount.resolve(path.substring(1));
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    private Snapshot cycle(CgroupCollector c) {
        clock.addAndGet(1000);
        c.rescanSoon();
        return c.collect();
    }

    @Test
    void aCgroupKilledInItsFirstIntervalCountsItsKills() throws IOException {
        cgroup("/corral", 0);
        try (CgroupCollector c = collector(recording)) {
            cycle(c);
            cgroup("/corral/tight", 1); // made, filled and OOM-killed between two cycles
            cycle(c);
            assertThat(kills).containsExactly("/corral/tight +1");
            cycle(c);
            assertThat(kills).as("counted once").containsExactly("/corral/tight +1");
            cgroup("/corral/tight", 3);
            cycle(c);
            assertThat(kills).containsExactly("/corral/tight +1", "/corral/tight +2");
        }
    }

    @Test
    void killsBeforeTheAgentsFirstCycleAreABaselineNotNewKills() throws IOException {
        cgroup("/corral", 0);
        cgroup("/corral/old", 4);
        try (CgroupCollector c = collector(recording)) {
            cycle(c);
            cycle(c);
            assertThat(kills).isEmpty();
            cgroup("/corral/old", 5);
            cycle(c);
            assertThat(kills).containsExactly("/corral/old +1");
        }
    }

    @Test
    void aCgroupMadeAgainUnderTheSameNameStartsFromZero() throws IOException {
        cgroup("/corral", 0);
        cgroup("/corral/x", 0);
        try (CgroupCollector c = collector(recording)) {
            cycle(c);
            remove("/corral/x");
            cycle(c);
            cgroup("/corral/x", 1);
            cycle(c);
            assertThat(kills).containsExactly("/corral/x +1");
        }
    }

    @Test
    void aRemovedCgroupsKillCounterGoesAfterTheRetention() throws IOException {
        cgroup("/corral", 0);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        SelfMetrics self = new SelfMetrics(registry, ContainerNames.NONE, "test", CgroupMode.V2);
        try (CgroupCollector c = collector(self)) {
            cycle(c);
            cgroup("/corral/oomed", 1);
            cycle(c);
            assertThat(registry.get("corral.oom.kills").tag("id", "/corral/oomed").counter().count()).isEqualTo(1.0);
            remove("/corral/oomed");
            cycle(c);
            clock.addAndGet(Duration.ofMinutes(4).toMillis());
            assertThat(cycle(c).recent()).containsKey("/corral/oomed");
            assertThat(registry.find("corral.oom.kills").tag("id", "/corral/oomed").counter())
                    .as("kept for the retention, like the cgroup's other counters").isNotNull();
            clock.addAndGet(Duration.ofMinutes(1).toMillis());
            assertThat(cycle(c).recent()).doesNotContainKey("/corral/oomed");
            assertThat(registry.find("corral.oom.kills").counters()).isEmpty();
        }
    }
}
