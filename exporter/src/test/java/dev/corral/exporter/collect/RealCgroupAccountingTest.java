package dev.corral.exporter.collect;

import static dev.corral.exporter.testing.Await.awaitValue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.HostPaths;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.testing.CpuQuotaCheck;
import dev.corral.exporter.testing.TestCgroup;
import dev.corral.exporter.testing.Workloads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The collector against real cgroups and real kernel effects. Runs on this host's layout (hybrid here) and,
 * through the qemu harness, on a pure cgroup v2 kernel.
 */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class RealCgroupAccountingTest {

    private CgroupLayout layout;
    private final List<String> errors = new ArrayList<>();

    @BeforeEach
    void detect() throws Exception {
        layout = CgroupLayoutDetector.detectSystem();
        Workloads.expectLayout(layout);
    }

    private CgroupCollector collectorFor(TestCgroup cg) {
        return new CgroupCollector(layout, HostPaths.system(), List.of(cg.path()), Duration.ofMinutes(5), 1,
                System::currentTimeMillis, new CollectorStats() {
                    @Override
                    public void readError(Path file, Exception cause) {
                        errors.add(file + ": " + cause);
                    }
                });
    }

    @Test
    void cpuQuotaThrottlesABusyLoopToItsShare() throws Exception {
        try (TestCgroup cg = TestCgroup.create(); CgroupCollector collector = collectorFor(cg)) {
            cg.limitCpu(20_000, 100_000);
            cg.start(Workloads.busyLoop());
            Thread.sleep(500); // let the loop start before the measured window
            CgroupSample before = collector.collect().live().get(cg.path());
            Thread.sleep(3000);
            CgroupSample after = collector.collect().live().get(cg.path());

            double seconds = (after.timestampMillis() - before.timestampMillis()) / 1000.0;
            CpuQuotaCheck.assertHeldToQuota((after.cpu().usageNanos() - before.cpu().usageNanos()) / 1e9, seconds,
                    after.cpu().throttledPeriods() - before.cpu().throttledPeriods(), 0.2, 0.1);
            assertThat(after.cpu().throttledNanos()).isGreaterThan(0);
            assertThat(after.cpu().periods()).isGreaterThanOrEqualTo(25);
            assertThat(after.spec().cpuQuotaMicros()).isEqualTo(20_000);
            assertThat(after.spec().cpuPeriodMicros()).isEqualTo(100_000);
            assertThat(errors).isEmpty();
        }
    }

    @Test
    void anOomKillIsCountedAndOutlivesTheCgroup() throws Exception {
        CgroupCollector collector;
        String path;
        try (TestCgroup cg = TestCgroup.create()) {
            path = cg.path();
            collector = collectorFor(cg);
            cg.limitMemory(32L << 20);
            CgroupSample idle = collector.collect().live().get(path);
            assertThat(idle.memory().oomKills()).isZero();
            assertThat(idle.spec().memoryLimit()).isEqualTo(32L << 20);

            Process hog = cg.start(Workloads.allocate(96));
            assertThat(hog.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(hog.exitValue()).as("dd killed by SIGKILL").isEqualTo(128 + 9);

            CgroupSample killed = collector.collect().live().get(path);
            assertThat(killed.memory().oomKills()).isEqualTo(1);
            assertThat(killed.memory().maxUsage()).isGreaterThan(30L << 20);
        }
        Snapshot afterRemoval = collector.collect();
        assertThat(afterRemoval.live()).doesNotContainKey(path);
        assertThat(afterRemoval.recent().get(path).memory().oomKills()).isEqualTo(1);
        collector.close();
        assertThat(errors).isEmpty();
    }

    /** A limit set too low: the kill comes before the collector ever read the cgroup, and still counts. */
    @Test
    void anOomKillBeforeTheCgroupsFirstCycleIsCounted() throws Exception {
        List<String> kills = new ArrayList<>();
        try (TestCgroup parent = TestCgroup.create()) {
            CgroupCollector collector = new CgroupCollector(layout, HostPaths.system(), List.of(parent.path()),
                    Duration.ofMinutes(5), 1, System::currentTimeMillis, new CollectorStats() {
                        @Override
                        public void oomKills(String cgroupPath, long delta) {
                            kills.add(cgroupPath + " +" + delta);
                        }
                    });
            collector.collect(); // the agent's first cycle, before the container exists
            if (layout.mode() == CgroupMode.V2) {
                parent.write("", "cgroup.subtree_control", "+memory");
            }
            TestCgroup child = parent.child("tight");
            child.limitMemory(16L << 20);
            Process hog = child.start(Workloads.allocate(64));
            assertThat(hog.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(hog.exitValue()).as("dd killed by SIGKILL").isEqualTo(128 + 9);

            Snapshot first = collector.collect();
            assertThat(first.live().get(child.path()).memory().oomKills()).isEqualTo(1);
            assertThat(kills).contains(child.path() + " +1");
            collector.close();
        }
        assertThat(errors).isEmpty();
    }

    @Test
    void directWritesUnderAWriteLimitAreAccountedPerDevice() throws Exception {
        String device = Workloads.writeDevice();
        Path target = Workloads.writeTarget("corral-test-blkio-" + ProcessHandle.current().pid());
        try (TestCgroup cg = TestCgroup.create(); CgroupCollector collector = collectorFor(cg)) {
            cg.limitWriteBps(device, 4L << 20);
            long started = System.nanoTime();
            Process writer = cg.start(Workloads.directWrite(target, 6));
            assertThat(writer.waitFor(60, TimeUnit.SECONDS)).isTrue();
            double seconds = (System.nanoTime() - started) / 1e9;
            assertThat(writer.exitValue()).isZero();
            assertThat(seconds).as("6 MiB at 4 MiB/s").isGreaterThan(1.0);

            CgroupSample s = collector.collect().live().get(cg.path());
            BlkioDevice d = s.blkio().stream().filter(b -> b.device().equals(device)).findFirst().orElseThrow();
            assertThat(d.writeBytes()).isGreaterThanOrEqualTo(6L << 20);
            assertThat(d.writeOps()).isGreaterThanOrEqualTo(6);
        } finally {
            if (!target.toString().startsWith("/dev/")) {
                Files.deleteIfExists(target);
            }
        }
    }

    @Test
    void pidsAndPressureAreReadWhereTheKernelHasThem() throws Exception {
        try (TestCgroup cg = TestCgroup.create(); CgroupCollector collector = collectorFor(cg)) {
            cg.limitPids(32);
            cg.start("sleep", "30");
            // The sleeper's pages are charged as it execs: a sample taken at once (a fast JVM, a slow emulated
            // guest) can still show 0 bytes.
            CgroupSample s = awaitValue(() -> collector.collect().live().get(cg.path()),
                    sample -> sample.memory().usage() > 0, Duration.ofSeconds(20), "the sleeper's memory charged");
            assertThat(s.pids().current()).isEqualTo(1);
            assertThat(s.pids().max()).isEqualTo(32);
            // Both this host (hybrid, via the cgroup2 mount) and v2 hosts have per-cgroup PSI.
            assertThat(s.pressure()).isNotNull();
            assertThat(s.pressure().cpu().someMicros()).isGreaterThanOrEqualTo(0);
            assertThat(s.pressure().memory().fullMicros()).isGreaterThanOrEqualTo(0);
            assertThat(s.memory().usage()).isGreaterThan(0);
            assertThat(s.memory().workingSet()).isBetween(0L, s.memory().usage());
            assertThat(s.startTimeMillis()).isCloseTo(System.currentTimeMillis(), within(60_000L));
        }
    }

    @Test
    void newAndRemovedCgroupsAreNoticedWithoutErrors() throws Exception {
        try (TestCgroup parent = TestCgroup.create(); CgroupCollector collector = collectorFor(parent)) {
            assertThat(collector.collect().live()).containsOnlyKeys(parent.path());
            TestCgroup child = parent.child("a");
            assertThat(collector.collect().live()).containsOnlyKeys(parent.path(), child.path());
            child.close();
            Snapshot s = collector.collect();
            assertThat(s.live()).containsOnlyKeys(parent.path());
            assertThat(s.recent()).containsOnlyKeys(child.path());
            assertThat(errors).isEmpty();
        }
    }

    @Test
    void aCgroupRemovedBetweenRescansDisappearsWithoutErrors() throws Exception {
        try (TestCgroup parent = TestCgroup.create()) {
            CgroupCollector collector = new CgroupCollector(layout, HostPaths.system(), List.of(parent.path()),
                    Duration.ofMinutes(5), 1000, System::currentTimeMillis, new CollectorStats() {
                        @Override
                        public void readError(Path file, Exception cause) {
                            errors.add(file + ": " + cause);
                        }
                    });
            TestCgroup child = parent.child("b");
            collector.rescanSoon();
            assertThat(collector.collect().live()).containsKey(child.path());
            child.close();
            // No rescan is due: the open files themselves must report the removal.
            assertThat(collector.collect().live()).doesNotContainKey(child.path());
            assertThat(errors).isEmpty();
            collector.close();
        }
    }

    @Test
    void inotifyReportsNewCgroupsWithoutAListingEveryCycle() throws Exception {
        try (TestCgroup parent = TestCgroup.create()) {
            CgroupCollector collector = new CgroupCollector(layout, HostPaths.system(), List.of(parent.path()),
                    Duration.ofMinutes(5), 1_000_000, System::currentTimeMillis, CollectorStats.NONE);
            collector.watchForChanges();
            assertThat(collector.collect().live()).containsOnlyKeys(parent.path());
            TestCgroup child = parent.child("new");
            TestCgroup grandchild = child.child("deeper");
            Snapshot s = awaitValue(collector::collect, c -> c.live().containsKey(grandchild.path()),
                    Duration.ofSeconds(20), "the collector to find the new grandchild"); // collect(): slow in qemu
            assertThat(s.live()).containsOnlyKeys(parent.path(), child.path(), grandchild.path());
            grandchild.close();
            child.close();
            assertThat(collector.collect().live()).containsOnlyKeys(parent.path());
            collector.close();
        }
    }

    @Test
    void layoutMatchesTheKernel() {
        if (Workloads.inV2Guest()) {
            assertThat(layout.mode()).isEqualTo(CgroupMode.V2);
            assertThat(layout.unified().orElseThrow().controllers()).contains("cpu", "memory", "io", "pids");
        } else {
            assertThat(layout.hierarchies()).isNotEmpty();
        }
    }
}
