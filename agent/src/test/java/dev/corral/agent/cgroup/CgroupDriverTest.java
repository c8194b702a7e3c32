package dev.corral.agent.cgroup;

import static dev.corral.exporter.testing.Await.await;
import static dev.corral.exporter.testing.Await.awaitValue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.testing.TestCgroup;
import dev.corral.exporter.testing.Workloads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The v1 and v2 drivers against the real kernel (v1/hybrid here, v2 in the qemu guest). */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class CgroupDriverTest {

    private CgroupLayout layout;
    private CgroupDriver driver;
    private String parent;

    @BeforeEach
    void setUp() throws Exception {
        layout = CgroupLayoutDetector.detectSystem();
        Workloads.expectLayout(layout);
        parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        driver = CgroupDriver.forLayout(layout, parent);
        driver.ensureParent();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Hierarchy h : layout.hierarchies()) {
            Path dir = h.dirOf(parent).orElseThrow();
            if (Files.isDirectory(dir)) {
                try (var children = Files.list(dir)) {
                    for (Path child : children.filter(Files::isDirectory).toList()) {
                        String name = child.getFileName().toString();
                        ContainerCgroup cg = driver.open(name);
                        cg.killAll();
                        cg.remove();
                    }
                }
            }
        }
        driver.removeParentIfEmpty();
        for (Hierarchy h : layout.hierarchies()) {
            assertThat(h.dirOf(parent).orElseThrow()).doesNotExist();
        }
    }

    private boolean v2() {
        return layout.mode() == CgroupMode.V2;
    }

    private static String read(ContainerCgroup cg, Path file) throws Exception {
        return Files.readString(file).strip();
    }

    private Path file(ContainerCgroup cg, String v1Controller, String name) {
        Hierarchy h = v2() ? layout.unified().orElseThrow() : layout.hierarchyOf(v1Controller).orElseThrow();
        return h.dirOf(cg.path()).orElseThrow().resolve(name);
    }

    @Test
    void createAppliesEveryLimitTheKernelEnforces() throws Exception {
        String device = Workloads.writeDevice();
        String[] mm = device.split(":");
        ResourceLimits limits = new ResourceLimits(
                new ResourceLimits.Memory(64L << 20, null, null, 32L << 20),
                new ResourceLimits.Cpu(20_000L, 100_000L, 512L, null, null, null),
                new ResourceLimits.Io(null, List.of(new ResourceLimits.DeviceLimit(Integer.parseInt(mm[0]),
                        Integer.parseInt(mm[1]), null, 5L << 20, null, 100L))),
                new ResourceLimits.Pids(32L));
        ContainerCgroup cg = driver.create("c1", limits);

        assertThat(cg.path()).isEqualTo(parent + "/c1");
        if (v2()) {
            assertThat(read(cg, file(cg, "", "memory.max"))).isEqualTo(Long.toString(64L << 20));
            assertThat(read(cg, file(cg, "", "memory.low"))).isEqualTo(Long.toString(32L << 20));
            assertThat(read(cg, file(cg, "", "cpu.max"))).isEqualTo("20000 100000");
            assertThat(read(cg, file(cg, "", "cpu.weight")))
                    .isEqualTo(Long.toString(CgroupConversions.sharesToWeight(512)));
            assertThat(read(cg, file(cg, "", "io.max")))
                    .isEqualTo(device + " rbps=max wbps=" + (5L << 20) + " riops=max wiops=100");
            assertThat(read(cg, file(cg, "", "pids.max"))).isEqualTo("32");
        } else {
            assertThat(read(cg, file(cg, "memory", "memory.limit_in_bytes"))).isEqualTo(Long.toString(64L << 20));
            assertThat(read(cg, file(cg, "memory", "memory.soft_limit_in_bytes")))
                    .isEqualTo(Long.toString(32L << 20));
            assertThat(read(cg, file(cg, "cpu", "cpu.cfs_quota_us"))).isEqualTo("20000");
            assertThat(read(cg, file(cg, "cpu", "cpu.cfs_period_us"))).isEqualTo("100000");
            assertThat(read(cg, file(cg, "cpu", "cpu.shares"))).isEqualTo("512");
            assertThat(read(cg, file(cg, "blkio", "blkio.throttle.write_bps_device")))
                    .isEqualTo(device + " " + (5L << 20));
            assertThat(read(cg, file(cg, "blkio", "blkio.throttle.write_iops_device"))).isEqualTo(device + " 100");
            assertThat(read(cg, file(cg, "pids", "pids.max"))).isEqualTo("32");
            assertThat(read(cg, file(cg, "devices", "devices.list"))).contains("c 1:3 rwm").doesNotContain("a *:*");
        }
        assertThat(cg.procsFiles()).allMatch(Files::exists);
        assertThat(cg.populated()).isFalse();
    }

    @Test
    void v1DeviceRulesAreSetOnceOnTheParentAndInherited() throws Exception {
        if (v2()) {
            return; // v2 has no devices controller files (no device cgroup there yet, see README)
        }
        Path parentList = layout.hierarchyOf("devices").orElseThrow().dirOf(parent).orElseThrow()
                .resolve("devices.list");
        assertThat(Files.readString(parentList)).startsWith("c *:* m\nb *:* m\nc 1:3 rwm").doesNotContain("a *:*");
        ContainerCgroup cg = driver.create("dev1", new ResourceLimits(null, null, null, null));
        assertThat(read(cg, file(cg, "devices", "devices.list"))).isEqualTo(Files.readString(parentList).strip());
    }

    @Test
    void v1DeviceRulesAreWrittenPerContainerWhenTheParentCannotTakeThem() throws Exception {
        if (v2()) {
            return;
        }
        Path parentDir = layout.hierarchyOf("devices").orElseThrow().dirOf(parent).orElseThrow();
        // An agent restarted with containers running: the kernel refuses "deny all" on a parent with children.
        driver.removeParentIfEmpty();
        Files.createDirectory(parentDir);
        Files.createDirectory(parentDir.resolve("running"));
        try {
            driver.ensureParent();
            assertThat(Files.readString(parentDir.resolve("devices.list"))).isEqualTo("a *:* rwm\n");
            ContainerCgroup cg = driver.create("dev2", new ResourceLimits(null, null, null, null));
            assertThat(read(cg, file(cg, "devices", "devices.list"))).startsWith("c *:* m\nb *:* m\nc 1:3 rwm")
                    .doesNotContain("a *:*");
        } finally {
            Files.deleteIfExists(parentDir.resolve("running"));
        }
    }

    @Test
    void aRejectedValueRollsBackTheWholeUpdate() throws Exception {
        ContainerCgroup cg = driver.create("c2", new ResourceLimits(
                new ResourceLimits.Memory(64L << 20, null, null, null), null, null, new ResourceLimits.Pids(50L)));
        ResourceLimits bad = new ResourceLimits(new ResourceLimits.Memory(128L << 20, null, null, null),
                new ResourceLimits.Cpu(null, null, null, null, "0-4095", null), null, new ResourceLimits.Pids(10L));
        assertThatThrownBy(() -> cg.update(bad)).isInstanceOf(CgroupException.class)
                .hasMessageContaining("cpuset.cpus").hasMessageContaining("0-4095");
        String memoryFile = v2() ? "memory.max" : "memory.limit_in_bytes";
        assertThat(read(cg, file(cg, "memory", memoryFile))).isEqualTo(Long.toString(64L << 20));
        assertThat(read(cg, file(cg, "pids", "pids.max"))).isEqualTo("50");
    }

    @Test
    void aFailedCreateLeavesNothingBehind() throws Exception {
        ResourceLimits bad = new ResourceLimits(null, new ResourceLimits.Cpu(1L, 100_000L, null, null, null, null),
                null, null);
        assertThatThrownBy(() -> driver.create("c3", bad)).isInstanceOf(CgroupException.InvalidValue.class)
                .hasMessageContaining("EINVAL");
        for (Hierarchy h : layout.hierarchies()) {
            assertThat(h.dirOf(parent + "/c3").orElseThrow()).doesNotExist();
        }
        assertThatThrownBy(() -> driver.create("c3", ResourceLimits.NONE).update(new ResourceLimits(
                new ResourceLimits.Memory(-5L, null, null, null), null, null, null)))
                .isInstanceOf(CgroupException.InvalidValue.class);
    }

    @Test
    void theKernelOomKillsPastMemoryMaxAndTheDriverSeesIt() throws Exception {
        ContainerCgroup cg = driver.create("oom", new ResourceLimits(
                new ResourceLimits.Memory(32L << 20, null, v2() ? 0L : null, null), null, null, null));
        Process hog = TestCgroup.startIn(cg.procsFiles(), Workloads.allocate(96));
        assertThat(hog.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(hog.exitValue()).isEqualTo(137);
        assertThat(cg.oomKills()).isEqualTo(1);
    }

    @Test
    void freezeStopsAndKillAllEmptiesTheCgroup() throws Exception {
        ContainerCgroup cg = driver.create("fz", ResourceLimits.NONE);
        Process loop = TestCgroup.startIn(cg.procsFiles(), "/bin/sh", "-c", "sleep 1000 & sleep 1000 & "
                + "while :; do :; done");
        // the shell, its two sleeps: how soon they are there depends on the machine's load (and qemu's speed)
        awaitValue(cg::pids, pids -> pids.size() >= 3, Duration.ofSeconds(30), "the shell and its two sleeps");
        assertThat(cg.pids()).hasSize(3);
        assertThat(cg.populated()).isTrue();
        cg.freeze();
        assertThat(cg.frozen()).isTrue();
        long before = cpuTicks(loop.pid());
        Thread.sleep(300);
        assertThat(cpuTicks(loop.pid())).as("a frozen loop burns no CPU").isEqualTo(before);
        cg.thaw();
        assertThat(cg.frozen()).isFalse();
        cg.killAll();
        // the kill and the reaping are the kernel's and the JVM's reaper thread's: slow on a loaded host or in qemu
        assertThat(loop.waitFor(20, TimeUnit.SECONDS)).as("the killed loop exits").isTrue();
        await(() -> !cg.populated(), Duration.ofSeconds(20), "the killed cgroup to be unpopulated");
        assertThat(cg.pids()).isEmpty();
        cg.remove();
        assertThat(cg.exists()).isFalse();
    }

    @Test
    void removingAPopulatedCgroupIsBusy() throws Exception {
        ContainerCgroup cg = driver.create("busy", ResourceLimits.NONE);
        TestCgroup.startIn(cg.procsFiles(), "sleep", "100");
        assertThatThrownBy(cg::remove).isInstanceOf(CgroupException.Busy.class).hasMessageContaining(cg.path());
        cg.killAll();
    }

    @Test
    void unlimitedLiftsALimit() throws Exception {
        ContainerCgroup cg = driver.create("u", new ResourceLimits(null,
                new ResourceLimits.Cpu(50_000L, 100_000L, null, null, null, null), null, new ResourceLimits.Pids(5L)));
        cg.update(new ResourceLimits(null, new ResourceLimits.Cpu(Limits.UNLIMITED, null, null, null, null, null),
                null, new ResourceLimits.Pids(Limits.UNLIMITED)));
        if (v2()) {
            assertThat(read(cg, file(cg, "", "cpu.max"))).isEqualTo("max 100000");
        } else {
            assertThat(read(cg, file(cg, "cpu", "cpu.cfs_quota_us"))).isEqualTo("-1");
        }
        assertThat(read(cg, file(cg, "pids", "pids.max"))).isEqualTo("max");
    }

    private static long cpuTicks(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
