package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.PidsStats;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import dev.corral.exporter.sample.SpecStats;
import dev.corral.exporter.sample.CpuSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The v2 reader on a fake cgroup directory with the files of a pure-v2 host (formats from cgroup-v2.rst). */
@Tag("unit")
class V2CgroupReaderTest {

    private static final String PATH = "/kubepods/pod1/c1";
    private static final long NOW = 1_700_000_000_000L;

    @TempDir
    Path mount;
    private Path dir;
    private CgroupLayout layout;
    private final List<String> errors = new ArrayList<>();
    private final List<CgroupReader> opened = new ArrayList<>();

    @BeforeEach
    void writeCgroup() throws IOException {
        layout = new CgroupLayout(CgroupMode.V2,
                List.of(new Hierarchy(2, Set.of("cpu", "memory", "io", "pids"), mount, "/")), Map.of());
        dir = Tree.dir(mount.resolve(PATH.substring(1)),
                "cgroup.procs", "4242\n",
                "cpu.stat", """
                        usage_usec 3316418
                        user_usec 2193014
                        system_usec 1123403
                        core_sched.force_idle_usec 0
                        nr_periods 1423
                        nr_throttled 57
                        throttled_usec 1936112
                        nr_bursts 0
                        burst_usec 0
                        """,
                "cpu.max", "50000 100000\n",
                "cpu.weight", "100\n",
                "cpu.pressure", """
                        some avg10=7.65 avg60=21.70 avg300=14.39 total=73690857
                        full avg10=0.00 avg60=0.00 avg300=0.00 total=0
                        """,
                "memory.current", "268435456\n",
                "memory.peak", "301989888\n",
                "memory.stat", FlatKeyedParserTest.V2_MEMORY_STAT,
                "memory.swap.current", "4096\n",
                "memory.swap.max", "max\n",
                "memory.max", "536870912\n",
                "memory.low", "0\n",
                "memory.high", "max\n",
                "memory.events", "low 0\nhigh 12\nmax 34\noom 2\noom_kill 1\noom_group_kill 0\n",
                "memory.pressure", """
                        some avg10=0.00 avg60=0.00 avg300=0.00 total=1784
                        full avg10=0.00 avg60=0.00 avg300=0.00 total=936
                        """,
                "io.stat", """
                        8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
                        8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021
                        """,
                "io.pressure", """
                        some avg10=0.53 avg60=1.45 avg300=0.61 total=4159832
                        full avg10=0.40 avg60=0.94 avg300=0.40 total=3247158
                        """,
                "pids.current", "7\n",
                "pids.max", "max\n");
    }

    @AfterEach
    void close() {
        opened.forEach(CgroupReader::close);
        assertThat(errors).isEmpty();
    }

    private CgroupSample read(String path) {
        CgroupReader reader = new CgroupReaders(layout).open(path);
        opened.add(reader);
        assertThat(reader.path()).isEqualTo(path);
        // a small buffer, so every file larger than it makes the buffer grow
        return reader.read(new ReadBuffer(16), NOW, (file, cause) -> errors.add(file + ": " + cause));
    }

    @Test
    void anIdleCgroupsMemoryStatPressureAndPidsAreReadAgainOnlyWhenCpuOrMemoryMove() throws IOException {
        Files.writeString(dir.resolve("memory.stat"),
                FlatKeyedParserTest.V2_MEMORY_STAT.replace("file_dirty 135168", "file_dirty 0"));
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(4096);
        ReadErrors err = (f, e) -> errors.add(f + ": " + e);
        CgroupSample first = reader.read(buf, NOW, err);
        reader.read(buf, NOW + 1, err);
        Files.writeString(dir.resolve("memory.events"), "low 0\nhigh 12\nmax 34\noom 3\noom_kill 2\n");
        Files.writeString(dir.resolve("io.pressure"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"
                + "full avg10=0.00 avg60=0.00 avg300=0.00 total=4\n");
        CgroupSample idle = reader.read(buf, NOW + 2, err);
        assertThat(idle.memory()).isEqualTo(first.memory());
        assertThat(idle.pressure()).isEqualTo(first.pressure());

        Files.writeString(dir.resolve("pids.current"), "6\n"); // one process fewer (the one OOM-killed)
        Files.writeString(dir.resolve("memory.current"), "134217728\n"); // and its memory freed
        CgroupSample moved = reader.read(buf, NOW + 3, err);
        assertThat(moved.memory().oomKills()).isEqualTo(2);
        assertThat(moved.pressure().io()).isEqualTo(new Pressure(5, 4));
        assertThat(moved.pids().current()).isEqualTo(6);
    }

    private void delete(String... names) throws IOException {
        for (String n : names) {
            Files.delete(dir.resolve(n));
        }
    }

    @Test
    void everyField() throws IOException {
        CgroupSample s = read(PATH);

        assertThat(s.path()).isEqualTo(PATH);
        assertThat(s.timestampMillis()).isEqualTo(NOW);
        assertThat(s.startTimeMillis()).isEqualTo(Tree.ctimeMillis(dir));
        assertThat(s.cpu()).isEqualTo(new CpuStats(3_316_418_000L, 2_193_014_000L, 1_123_403_000L, 1423, 57,
                1_936_112_000L));
        long usage = 268435456;
        long inactiveFile = 62914560;
        assertThat(s.memory()).isEqualTo(new MemoryStats(usage, usage - inactiveFile, 150994944, 104857600,
                20971520, 4096, 301989888, 34, 1, 12, 34));
        assertThat(s.blkio()).containsExactly(new BlkioDevice(8, 16, 1459200, 314773504, 192, 353),
                new BlkioDevice(8, 0, 90430464, 299008000, 8950, 1252));
        assertThat(s.pids()).isEqualTo(new PidsStats(7, Limits.UNLIMITED));
        assertThat(s.pressure()).isEqualTo(new PressureStats(new Pressure(73690857, 0), new Pressure(1784, 936),
                new Pressure(4159832, 3247158)));
        assertThat(s.spec()).isEqualTo(new SpecStats(536870912, Limits.UNLIMITED, 0, 50000, 100000,
                CgroupConversions.weightToShares(100)));
        assertThat(s.spec().cpuShares()).as("the default weight is the default shares").isEqualTo(1024);
    }

    @Test
    void theCpusetIsCpusetCpusEffectiveAndUnknownWhereTheControllerIsNotEnabled() throws IOException {
        assertThat(read(PATH).spec().cpus()).isNull();
        Files.writeString(dir.resolve("cpuset.cpus"), "\n"); // none asked: the parent's
        Files.writeString(dir.resolve("cpuset.cpus.effective"), "0-1\n");
        assertThat(read(PATH).spec().cpus()).isEqualTo(CpuSet.firstN(2));
    }

    @Test
    void rereadingSeesNewValues() throws IOException {
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(4096);
        assertThat(reader.read(buf, NOW, (f, e) -> errors.add(f + ": " + e)).pids().current()).isEqualTo(7);
        Files.writeString(dir.resolve("pids.current"), "12\n");
        Files.writeString(dir.resolve("memory.current"), "134217728\n"); // it ran: read fully, limits in 10 cycles
        Files.writeString(dir.resolve("cpu.max"), "max 100000\n");

        CgroupSample s = reader.read(buf, NOW + 1, (f, e) -> errors.add(f + ": " + e));
        assertThat(s.pids().current()).isEqualTo(12);
        assertThat(s.timestampMillis()).isEqualTo(NOW + 1);
        // Limits are read again only every LimitsRefresh.CYCLES cycles.
        assertThat(s.spec().cpuQuotaMicros()).isEqualTo(50_000);
        for (int cycle = 2; cycle < LimitsRefresh.CYCLES; cycle++) {
            s = reader.read(buf, NOW + cycle, (f, e) -> errors.add(f + ": " + e));
        }
        assertThat(s.spec().cpuQuotaMicros()).isEqualTo(50_000);
        s = reader.read(buf, NOW + LimitsRefresh.CYCLES, (f, e) -> errors.add(f + ": " + e));
        assertThat(s.spec().cpuQuotaMicros()).isEqualTo(Limits.UNLIMITED);
        assertThat(s.spec().cpuPeriodMicros()).isEqualTo(100_000);
    }

    @Test
    void unlimitedAndOtherWeights() throws IOException {
        Files.writeString(dir.resolve("cpu.max"), "max 100000\n");
        Files.writeString(dir.resolve("memory.max"), "max\n");
        Files.writeString(dir.resolve("memory.swap.max"), "0\n");
        Files.writeString(dir.resolve("memory.low"), "134217728\n");
        Files.writeString(dir.resolve("cpu.weight"), "39\n");
        Files.writeString(dir.resolve("pids.max"), "100\n");
        CgroupSample s = read(PATH);

        assertThat(s.spec()).isEqualTo(new SpecStats(Limits.UNLIMITED, 0, 134217728, Limits.UNLIMITED, 100000,
                CgroupConversions.weightToShares(39)));
        assertThat(CgroupConversions.sharesToWeight(s.spec().cpuShares())).isEqualTo(39);
        assertThat(s.pids()).isEqualTo(new PidsStats(7, 100));
    }

    @Test
    void workingSetIsFlooredAtZero() throws IOException {
        Files.writeString(dir.resolve("memory.current"), "1000\n"); // usage read before memory.stat moved on
        assertThat(read(PATH).memory().workingSet()).isZero();
    }

    @Test
    void memoryStatWithoutInactiveFileLeavesWorkingSetAbsent() throws IOException {
        Files.writeString(dir.resolve("memory.stat"), "anon 1\nfile 2\nfile_mapped 3\n");
        MemoryStats m = read(PATH).memory();

        assertThat(m.workingSet()).isEqualTo(Absent.VALUE);
        assertThat(m.rss()).isEqualTo(1);
        assertThat(m.cache()).isEqualTo(2);
        assertThat(m.mappedFile()).isEqualTo(3);
    }

    @Test
    void olderKernelsLackSomeFilesAndKeys() throws IOException {
        delete("memory.peak"); // before 5.19
        Files.writeString(dir.resolve("memory.events"), "low 0\nhigh 0\nmax 5\noom 1\n"); // before 4.13
        MemoryStats m = read(PATH).memory();

        assertThat(m.maxUsage()).isEqualTo(Absent.VALUE);
        assertThat(m.oomKills()).isEqualTo(Absent.VALUE);
        assertThat(m.failcnt()).isEqualTo(5);
        assertThat(m.maxEvents()).isEqualTo(5);
        assertThat(m.highEvents()).isZero();
    }

    @Test
    void missingFilesAreAbsentNeverZero() throws IOException {
        delete("memory.events", "memory.stat", "memory.swap.current", "memory.swap.max", "memory.low", "pids.max");
        CgroupSample s = read(PATH);

        assertThat(s.memory()).isEqualTo(new MemoryStats(268435456, Absent.VALUE, Absent.VALUE, Absent.VALUE,
                Absent.VALUE, Absent.VALUE, 301989888, Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE));
        assertThat(s.spec()).isEqualTo(new SpecStats(536870912, Absent.VALUE, Absent.VALUE, 50000, 100000, 1024));
        assertThat(s.pids()).isEqualTo(new PidsStats(7, Absent.VALUE));
    }

    @Test
    void controllersNotEnabledForTheCgroupAreNull() throws IOException {
        // cgroup.subtree_control of the parent without memory, io and pids: their files do not exist
        delete("memory.current", "memory.peak", "memory.stat", "memory.swap.current", "memory.swap.max",
                "memory.max", "memory.low", "memory.high", "memory.events", "io.stat", "pids.current", "pids.max");
        CgroupSample s = read(PATH);

        assertThat(s.memory()).isNull();
        assertThat(s.blkio()).isNull();
        assertThat(s.pids()).isNull();
        assertThat(s.cpu()).isNotNull();
        assertThat(s.spec()).isEqualTo(new SpecStats(Absent.VALUE, Absent.VALUE, Absent.VALUE, 50000, 100000, 1024));
    }

    @Test
    void withoutTheCpuControllerCpuStatHasOnlyUsage() throws IOException {
        Files.writeString(dir.resolve("cpu.stat"), "usage_usec 13484\nuser_usec 9000\nsystem_usec 4484\n");
        delete("cpu.max", "cpu.weight", "cpu.pressure");
        CgroupSample s = read(PATH);

        assertThat(s.cpu()).isEqualTo(new CpuStats(13_484_000, 9_000_000, 4_484_000, Absent.VALUE, Absent.VALUE,
                Absent.VALUE));
        assertThat(s.spec()).isEqualTo(new SpecStats(536870912, Limits.UNLIMITED, 0, Absent.VALUE, Absent.VALUE,
                Absent.VALUE));
        assertThat(s.pressure().cpu()).isNull();
        assertThat(s.pressure().memory()).isEqualTo(new Pressure(1784, 936));
    }

    @Test
    void theRootCgroupHasNoLimits() throws IOException {
        Path root = Tree.dir(mount, "cpu.stat", "usage_usec 455024923\nuser_usec 411495195\nsystem_usec 43529728\n",
                "memory.stat", FlatKeyedParserTest.V2_MEMORY_STAT, "io.stat", "", "cgroup.procs", "1\n");
        CgroupSample s = read("/");

        assertThat(s.path()).isEqualTo("/");
        assertThat(s.startTimeMillis()).isEqualTo(Tree.ctimeMillis(root));
        assertThat(s.spec()).isNull();
        assertThat(s.memory()).isNull(); // no memory.current in the root before Linux 6.x
        assertThat(s.blkio()).isEmpty();
        assertThat(s.pressure()).isNull();
        assertThat(s.cpu().usageNanos()).isEqualTo(455_024_923_000L);
    }

    @Test
    void emptyFilesAreAbsent() throws IOException {
        Files.writeString(dir.resolve("memory.max"), "");
        Files.writeString(dir.resolve("cpu.max"), "");
        Files.writeString(dir.resolve("pids.max"), "");
        CgroupSample s = read(PATH);

        assertThat(s.spec().memoryLimit()).isEqualTo(Absent.VALUE);
        assertThat(s.spec().cpuQuotaMicros()).isEqualTo(Absent.VALUE);
        assertThat(s.spec().cpuPeriodMicros()).isEqualTo(Absent.VALUE);
        assertThat(s.pids().max()).isEqualTo(Absent.VALUE);
    }

    @Test
    void aFileThatAppearsLaterIsOpenedByReopenMissing() throws IOException {
        delete("pids.current", "pids.max");
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(64);
        assertThat(reader.read(buf, NOW, (f, e) -> errors.add(f + ": " + e)).pids()).isNull();
        Tree.dir(dir, "pids.current", "3\n", "pids.max", "max\n"); // pids enabled in the parent

        assertThat(reader.read(buf, NOW, (f, e) -> errors.add(f + ": " + e)).pids()).isNull();
        reader.reopenMissing();
        assertThat(reader.read(buf, NOW, (f, e) -> errors.add(f + ": " + e)).pids())
                .isEqualTo(new PidsStats(3, Limits.UNLIMITED));
    }

    @Test
    void aCgroupWhoseDirectoryDoesNotExistReadsAsGone() {
        assertThat(read("/kubepods/pod1/removed-before-open")).isNull();
    }

    @Test
    void aCgroupBelowAMountRootThatIsNotSlash() throws IOException {
        layout = new CgroupLayout(CgroupMode.V2,
                List.of(new Hierarchy(2, Set.of("cpu", "memory"), mount.resolve("kubepods/pod1"), "/kubepods/pod1")),
                Map.of());
        CgroupSample s = read(PATH);

        assertThat(s.path()).isEqualTo(PATH);
        assertThat(s.memory().usage()).isEqualTo(268435456);
    }
}
