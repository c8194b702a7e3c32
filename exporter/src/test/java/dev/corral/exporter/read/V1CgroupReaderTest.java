package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The v1 reader on fake hierarchies laid out like this host (hybrid: cpu and cpuacct apart, a cgroup2 mount
 * for PSI), with file contents copied from this host's /sys/fs/cgroup.
 */
@Tag("unit")
class V1CgroupReaderTest {

    private static final String PATH = "/docker/abc";
    private static final long NOW = 1_700_000_000_000L;
    private static final String V1_UNLIMITED = "9223372036854771712\n";

    @TempDir
    Path tmp;
    private CgroupLayout layout;
    private final List<String> errors = new ArrayList<>();
    private final List<CgroupReader> opened = new ArrayList<>();

    private Path cpuacct;
    private Path cpu;
    private Path memory;
    private Path blkio;
    private Path pids;
    private Path unified;

    private static Hierarchy v1(Path mount, String... controllers) {
        return new Hierarchy(1, Set.of(controllers), mount, "/");
    }

    /** This host's memory.stat with 8 MiB swapped out. */
    private static final String MEMORY_STAT_WITH_SWAP =
            FlatKeyedParserTest.V1_MEMORY_STAT.replace("total_swap 0\n", "total_swap 8388608\n");

    /** No dirty pages: no IO pending for the cgroup. */
    private static final String CLEAN_MEMORY_STAT = MEMORY_STAT_WITH_SWAP.replace("total_dirty 356352", "total_dirty 0");

    @BeforeEach
    void writeCgroup() throws IOException {
        layout = new CgroupLayout(CgroupMode.HYBRID, List.of(v1(tmp.resolve("cpu"), "cpu"),
                v1(tmp.resolve("cpuacct"), "cpuacct"), v1(tmp.resolve("memory"), "memory"),
                v1(tmp.resolve("blkio"), "blkio"), v1(tmp.resolve("pids"), "pids"),
                v1(tmp.resolve("systemd"), "name=systemd"),
                new Hierarchy(2, Set.of(), tmp.resolve("unified"), "/")), Map.of());
        String rel = PATH.substring(1);
        cpuacct = Tree.dir(tmp.resolve("cpuacct").resolve(rel),
                "cpuacct.usage", "454656546456\n",
                "cpuacct.usage_user", "411431209144\n",
                "cpuacct.usage_sys", "43485728117\n",
                "cpuacct.stat", "user 41120\nsystem 4344\n",
                "cpuacct.usage_percpu", "227328273228 227328273228\n");
        cpu = Tree.dir(tmp.resolve("cpu").resolve(rel),
                "cpu.stat", "nr_periods 4213\nnr_throttled 112\nthrottled_time 9876543210\nnr_bursts 0\nburst_time 0\n",
                "cpu.cfs_quota_us", "-1\n",
                "cpu.cfs_period_us", "100000\n",
                "cpu.shares", "512\n");
        memory = Tree.dir(tmp.resolve("memory").resolve(rel),
                "memory.usage_in_bytes", "3440000000\n",
                "memory.max_usage_in_bytes", "3865470566\n",
                "memory.failcnt", "0\n",
                "memory.stat", MEMORY_STAT_WITH_SWAP,
                "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
                "memory.memsw.usage_in_bytes", "3448388608\n",
                "memory.limit_in_bytes", V1_UNLIMITED,
                "memory.memsw.limit_in_bytes", V1_UNLIMITED,
                "memory.soft_limit_in_bytes", V1_UNLIMITED);
        blkio = Tree.dir(tmp.resolve("blkio").resolve(rel),
                "blkio.bfq.io_service_bytes_recursive", "Total 0\n",
                "blkio.bfq.io_serviced_recursive", "Total 0\n",
                "blkio.bfq.io_service_bytes", "Total 0\n",
                "blkio.throttle.io_service_bytes_recursive", BlkioParserTest.THIS_HOST_BYTES,
                "blkio.throttle.io_serviced_recursive", BlkioParserTest.THIS_HOST_OPS,
                "blkio.throttle.io_service_bytes", "254:0 Read 1\n254:0 Write 2\nTotal 3\n",
                "blkio.throttle.io_serviced", "254:0 Read 1\n254:0 Write 1\nTotal 2\n");
        pids = Tree.dir(tmp.resolve("pids").resolve(rel), "pids.current", "42\n", "pids.max", "max\n");
        unified = Tree.dir(tmp.resolve("unified").resolve(rel),
                "cpu.pressure", "some avg10=7.65 avg60=21.70 avg300=14.39 total=73690857\n"
                        + "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1784\n"
                        + "full avg10=0.00 avg60=0.00 avg300=0.00 total=936\n",
                "io.pressure", "some avg10=0.53 avg60=1.45 avg300=0.61 total=4159832\n"
                        + "full avg10=0.40 avg60=0.94 avg300=0.40 total=3247158\n");
    }

    @AfterEach
    void close() {
        opened.forEach(CgroupReader::close);
        assertThat(errors).isEmpty();
    }

    private CgroupSample read() {
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        return reader.read(new ReadBuffer(16), NOW, (file, cause) -> errors.add(file + ": " + cause));
    }

    private static void write(Path dir, String name, String content) throws IOException {
        Files.writeString(dir.resolve(name), content);
    }

    private static void delete(Path dir, String... names) throws IOException {
        for (String n : names) {
            Files.delete(dir.resolve(n));
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void everyField() throws IOException {
        CgroupSample s = read();

        assertThat(s.path()).isEqualTo(PATH);
        assertThat(s.timestampMillis()).isEqualTo(NOW);
        long oldest = Long.MAX_VALUE;
        for (Path d : List.of(cpu, cpuacct, memory, blkio, pids, unified)) {
            oldest = Math.min(oldest, Tree.ctimeMillis(d));
        }
        assertThat(s.startTimeMillis()).isEqualTo(oldest);
        // user and system in ticks of 10 ms (USER_HZ), from cpuacct.stat
        assertThat(s.cpu()).isEqualTo(new CpuStats(454656546456L, 41120 * 10_000_000L, 4344 * 10_000_000L, 4213,
                112, 9876543210L));
        long usage = 3440000000L;
        long totalInactiveFile = 2672562176L;
        assertThat(s.memory()).isEqualTo(new MemoryStats(usage, usage - totalInactiveFile, 207392768, 3225145344L,
                95240192, 8388608, 3865470566L, 0, 3, Absent.VALUE, Absent.VALUE));
        // BFQ's files exist but list no device: the throttle layer's recursive ones are used
        assertThat(s.blkio()).containsExactly(new BlkioDevice(254, 0, 192512, 782336, 8, 137));
        assertThat(s.pids()).isEqualTo(new PidsStats(42, Limits.UNLIMITED));
        assertThat(s.pressure()).isEqualTo(new PressureStats(new Pressure(73690857, 0), new Pressure(1784, 936),
                new Pressure(4159832, 3247158)));
        // unlimited memory (page-rounded LONG_MAX) and quota -1 are UNLIMITED
        assertThat(s.spec()).isEqualTo(new SpecStats(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED,
                Limits.UNLIMITED, 100000, 512));
    }

    @Test
    void limits() throws IOException {
        write(memory, "memory.limit_in_bytes", "268435456\n");
        write(memory, "memory.memsw.limit_in_bytes", "402653184\n");
        write(memory, "memory.soft_limit_in_bytes", "134217728\n");
        write(cpu, "cpu.cfs_quota_us", "50000\n");
        write(cpu, "cpu.cfs_period_us", "250000\n");
        write(pids, "pids.max", "100\n");
        CgroupSample s = read();

        assertThat(s.spec()).isEqualTo(new SpecStats(268435456, 402653184 - 268435456, 134217728, 50000, 250000,
                512));
        assertThat(s.pids().max()).isEqualTo(100);
    }

    @Test
    void theCpusetIsItsEffectiveCpusOrItsCpusOnKernelsWithoutThemAndUnknownWithoutTheController()
            throws IOException {
        assertThat(read().spec().cpus()).as("no cpuset hierarchy").isNull();
        List<Hierarchy> withCpuset = new ArrayList<>(layout.hierarchies());
        withCpuset.add(v1(tmp.resolve("cpuset"), "cpuset"));
        layout = new CgroupLayout(CgroupMode.HYBRID, withCpuset, Map.of());
        Path cpuset = Tree.dir(tmp.resolve("cpuset").resolve(PATH.substring(1)),
                "cpuset.cpus", "0-3\n", "cpuset.effective_cpus", "1-2,5\n");
        assertThat(read().spec().cpus()).isEqualTo(CpuSet.parse("1-2,5"));
        Files.delete(cpuset.resolve("cpuset.effective_cpus"));
        assertThat(read().spec().cpus()).isEqualTo(CpuSet.parse("0-3"));
        assertThat(read().spec().cpus().count()).isEqualTo(4);
    }

    /**
     * A cgroup found while its runtime makes it one hierarchy at a time: the reader opened then has no cpuacct
     * files and would never read its usage; once the directory is there the reader says so (the collector opens
     * it again), and not before.
     */
    @Test
    void aReaderOpenedBeforeAllTheCgroupsDirectoriesWereMadeSaysItIsHalfMadeOnceTheyAre() throws IOException {
        String made = "/docker/new";
        Tree.dir(tmp.resolve("cpu").resolve(made.substring(1)), "cpu.stat", "nr_periods 0\nnr_throttled 0\n",
                "cpu.shares", "1024\n");
        CgroupReader early = new CgroupReaders(layout).open(made);
        opened.add(early);
        assertThat(early.read(new ReadBuffer(16), NOW, (f, c) -> { }).cpu().usageNanos()).satisfies(
                u -> assertThat(Absent.is(u)).isTrue());
        assertThat(early.halfMade()).isFalse();
        Tree.dir(tmp.resolve("cpuacct").resolve(made.substring(1)), "cpuacct.usage", "5000\n",
                "cpuacct.stat", "user 1\nsystem 0\n");
        assertThat(early.halfMade()).isTrue();
        CgroupReader again = new CgroupReaders(layout).open(made);
        opened.add(again);
        assertThat(again.read(new ReadBuffer(16), NOW, (f, c) -> { }).cpu().usageNanos()).isEqualTo(5000);
        CgroupReader whole = new CgroupReaders(layout).open(PATH); // no systemd directory, nor will it get one
        opened.add(whole);
        assertThat(whole.halfMade()).as("one that has all it will have").isFalse();
    }

    @Test
    void limitsAreReadAgainEveryRefreshAndNotKeptOpen() throws IOException {
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(4096);
        assertThat(reader.read(buf, NOW, (f, e) -> errors.add(f + ": " + e)).spec().cpuShares()).isEqualTo(512);
        assertThat(openFilesNamed("cpu.shares", "memory.limit_in_bytes", "pids.max", "cpuacct.usage_user",
                "memory.memsw.usage_in_bytes", "blkio.throttle.io_service_bytes"))
                .as("read now and then, or not needed: not kept open").isEmpty();
        assertThat(openFilesNamed("cpu.stat", "memory.stat")).hasSize(2);
        write(cpu, "cpu.shares", "2048\n");
        write(pids, "pids.max", "100\n");
        write(cpuacct, "cpuacct.usage", "454656546999\n"); // it ran: limits every LimitsRefresh.CYCLES cycles

        CgroupSample s = null;
        for (int cycle = 1; cycle < LimitsRefresh.CYCLES; cycle++) {
            s = reader.read(buf, NOW + cycle, (f, e) -> errors.add(f + ": " + e));
        }
        assertThat(s.spec().cpuShares()).isEqualTo(512);
        assertThat(s.pids().max()).isEqualTo(Limits.UNLIMITED);
        s = reader.read(buf, NOW + LimitsRefresh.CYCLES, (f, e) -> errors.add(f + ": " + e));
        assertThat(s.spec().cpuShares()).isEqualTo(2048);
        assertThat(s.pids().max()).isEqualTo(100);
    }

    @Test
    void theChangeIndicatorsAreOpenedWhenTheReaderIsMadeTheOtherFilesAtItsFirstRead() throws IOException {
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        // a rescan that finds thousands of cgroups gives the open-file budget to the files read every cycle first
        assertThat(openFilesNamed("cpuacct.usage", "memory.usage_in_bytes")).hasSize(2);
        assertThat(openFilesNamed("cpuacct.stat", "cpu.stat", "memory.stat", "memory.oom_control", "pids.current",
                "memory.pressure", "blkio.throttle.io_service_bytes_recursive")).isEmpty();
        assertThat(reader.read(new ReadBuffer(4096), NOW, (f, e) -> errors.add(f + ": " + e)).memory().rss())
                .isPositive();
        assertThat(openFilesNamed("cpuacct.stat", "cpu.stat", "memory.stat", "memory.oom_control", "pids.current",
                "memory.pressure")).hasSize(6);
        assertThat(errors).isEmpty();
    }

    @Test
    void anIdleCgroupsLimitsAreReadWithinIdleCyclesAndItsPidsByTheSweep() throws IOException {
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(4096);
        ReadErrors err = (f, e) -> errors.add(f + ": " + e);
        reader.read(buf, NOW, err);
        write(cpu, "cpu.shares", "2048\n");
        write(pids, "pids.current", "43\n"); // a sleeping task moved in: neither CPU nor memory usage moves
        int sharesSeen = -1, pidsSeen = -1;
        for (int cycle = 1; cycle <= LimitsRefresh.IDLE_CYCLES; cycle++) {
            CgroupSample s = reader.read(buf, NOW + cycle, err);
            if (sharesSeen < 0 && s.spec().cpuShares() == 2048) {
                sharesSeen = cycle;
            }
            if (pidsSeen < 0 && s.pids().current() == 43) {
                pidsSeen = cycle;
            }
        }
        assertThat(sharesSeen).isBetween(LimitsRefresh.CYCLES, LimitsRefresh.IDLE_CYCLES);
        assertThat(pidsSeen).as("by the sweep").isBetween(1, ChangeGate.SWEEP_CYCLES);
        assertThat(errors).isEmpty();
    }

    @Test
    void theSweepReadsTheWorkingSetWithinSweepCyclesAndCountersThatMoveOnlyWithTheTasksAtTheFullSweep()
            throws IOException {
        write(memory, "memory.stat", CLEAN_MEMORY_STAT);
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(4096);
        ReadErrors err = (f, e) -> errors.add(f + ": " + e);
        reader.read(buf, NOW, err);
        reader.read(buf, NOW + 1, err);
        // the kernel moved pages to the inactive list (no task ran); and, as no kernel would without an indicator
        // moving, the OOM kills and the user time: only the full sweep reads those
        write(memory, "memory.stat", CLEAN_MEMORY_STAT.replace("total_rss 207392768", "total_rss 999"));
        write(memory, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 9\n");
        write(cpuacct, "cpuacct.stat", "user 99999\nsystem 4344\n");
        int rssSeen = -1, oomSeen = -1, userSeen = -1;
        for (int cycle = 2; cycle < 2 + ChangeGate.FULL_SWEEP_CYCLES; cycle++) {
            CgroupSample s = reader.read(buf, NOW + cycle, err);
            rssSeen = rssSeen < 0 && s.memory().rss() == 999 ? cycle : rssSeen;
            oomSeen = oomSeen < 0 && s.memory().oomKills() == 9 ? cycle : oomSeen;
            userSeen = userSeen < 0 && s.cpu().userNanos() == 999_990_000_000L ? cycle : userSeen;
        }
        int phase = Math.floorMod(PATH.hashCode(), ChangeGate.FULL_SWEEP_CYCLES); // as the reader's gate
        int sweep = 2, fullSweep = 2;
        while ((sweep + phase) % ChangeGate.SWEEP_CYCLES != 0) {
            sweep++;
        }
        while ((fullSweep + phase) % ChangeGate.FULL_SWEEP_CYCLES != 0) {
            fullSweep++;
        }
        assertThat(rssSeen).as("by the first sweep").isEqualTo(sweep).isLessThanOrEqualTo(1 + ChangeGate.SWEEP_CYCLES);
        assertThat(oomSeen).as("by the full sweep").isEqualTo(fullSweep);
        assertThat(userSeen).as("by the full sweep").isEqualTo(fullSweep);
        assertThat(errors).isEmpty();
    }

    @Test
    void theExpensiveFilesOfAnIdleCgroupAreReadWhenAnIndicatorMovesOrTheSweepComes() throws IOException {
        write(memory, "memory.stat", CLEAN_MEMORY_STAT);
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(4096);
        ReadErrors err = (f, e) -> errors.add(f + ": " + e);
        CgroupSample first = reader.read(buf, NOW, err);
        reader.read(buf, NOW + 1, err); // the second read compares with the first
        // The expensive files change while usage, memory and pids stand still: not read, their values stand
        write(memory, "memory.stat", CLEAN_MEMORY_STAT.replace("total_rss 207392768", "total_rss 999"));
        write(unified, "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=5000\n"
                + "full avg10=0.00 avg60=0.00 avg300=0.00 total=4000\n");
        write(memory, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n");
        CgroupSample idle = reader.read(buf, NOW + 2, err);
        assertThat(idle.timestampMillis()).isEqualTo(NOW + 2);
        assertThat(idle.memory()).isEqualTo(first.memory());
        assertThat(idle.pressure()).isEqualTo(first.pressure());
        assertThat(idle.cpu()).isEqualTo(first.cpu());

        write(cpuacct, "cpuacct.usage", "454656546999\n"); // it ran: everything is read this cycle
        CgroupSample moved = reader.read(buf, NOW + 3, err);
        assertThat(moved.cpu().usageNanos()).isEqualTo(454656546999L);
        assertThat(moved.memory().rss()).isEqualTo(999);
        assertThat(moved.memory().oomKills()).isEqualTo(4);
        assertThat(moved.pressure().memory()).isEqualTo(new Pressure(5000, 4000));

        // The PSI total moved at that read: the next cycle reads again although no indicator moved (a stall
        // that goes on while the task does not run), and stops once the numbers stand still
        write(unified, "memory.pressure", "some avg10=9.00 avg60=0.00 avg300=0.00 total=900000\n"
                + "full avg10=9.00 avg60=0.00 avg300=0.00 total=800000\n");
        assertThat(reader.read(buf, NOW + 4, err).pressure().memory()).isEqualTo(new Pressure(900000, 800000));
        CgroupSample settled = reader.read(buf, NOW + 5, err);
        write(unified, "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=900001\n"
                + "full avg10=0.00 avg60=0.00 avg300=0.00 total=800001\n");
        write(memory, "memory.usage_in_bytes", "3440000000\n"); // rewritten, same value: not a move
        int cycle = 6;
        CgroupSample s = reader.read(buf, NOW + cycle, err);
        for (; s.pressure().memory().someMicros() == 900000 && cycle < 6 + ChangeGate.SWEEP_CYCLES; cycle++) {
            s = reader.read(buf, NOW + cycle + 1, err);
        }
        assertThat(settled.pressure().memory()).isEqualTo(new Pressure(900000, 800000));
        assertThat(s.pressure().memory()).as("the sweep reads it within %d cycles", ChangeGate.SWEEP_CYCLES)
                .isEqualTo(new Pressure(900001, 800001));
        assertThat(cycle).as("not before the sweep").isGreaterThan(6);
    }

    @Test
    void dirtyPagesKeepTheReadsGoingForTheIoTheyWillCause() throws IOException {
        write(memory, "memory.stat", CLEAN_MEMORY_STAT.replace("total_dirty 0", "total_dirty 4096"));
        CgroupReader reader = new CgroupReaders(layout).open(PATH);
        opened.add(reader);
        ReadBuffer buf = new ReadBuffer(4096);
        ReadErrors err = (f, e) -> errors.add(f + ": " + e);
        reader.read(buf, NOW, err);
        reader.read(buf, NOW + 1, err);
        write(blkio, "blkio.throttle.io_service_bytes_recursive",
                BlkioParserTest.THIS_HOST_BYTES.replace("192512", "196608"));
        assertThat(reader.read(buf, NOW + 2, err).blkio().get(0).readBytes()).isEqualTo(196608);
    }

    /** This process's open descriptors to files of the test cgroup with one of these names. */
    private List<String> openFilesNamed(String... names) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (target.startsWith(tmp) && List.of(names).contains(target.getFileName().toString())) {
                        found.add(target.toString());
                    }
                } catch (IOException e) {
                    // closed meanwhile (the listing's own descriptor)
                }
            }
        }
        return found;
    }

    @Test
    void memswEqualToTheLimitMeansNoSwap() throws IOException {
        write(memory, "memory.limit_in_bytes", "268435456\n");
        write(memory, "memory.memsw.limit_in_bytes", "268435456\n");

        assertThat(read().spec().swapLimit()).isZero();
    }

    @Test
    void withoutSwapAccountingSwapIsAbsent() throws IOException {
        delete(memory, "memory.memsw.usage_in_bytes", "memory.memsw.limit_in_bytes"); // swapaccount=0
        write(memory, "memory.stat", FlatKeyedParserTest.V1_MEMORY_STAT.lines()
                .filter(l -> !l.contains("swap")).map(l -> l + "\n").reduce("", String::concat));
        CgroupSample s = read();

        assertThat(s.memory().swap()).isEqualTo(Absent.VALUE);
        assertThat(s.spec().swapLimit()).isEqualTo(Absent.VALUE);
        assertThat(s.spec().memoryLimit()).isEqualTo(Limits.UNLIMITED);
    }

    @Test
    void workingSetIsFlooredAtZero() throws IOException {
        write(memory, "memory.usage_in_bytes", "1000\n"); // below total_inactive_file: read at another moment
        MemoryStats m = read().memory();

        assertThat(m.workingSet()).isZero();
    }

    @Test
    void userAndSystemComeFromCpuacctStatTicksEvenWhereUsageUserAndSysExist() throws IOException {
        write(cpuacct, "cpuacct.usage_user", "1\n");
        write(cpuacct, "cpuacct.usage_sys", "1\n");
        CpuStats c = read().cpu();

        assertThat(c).isEqualTo(new CpuStats(454656546456L, 41120 * 10_000_000L, 4344 * 10_000_000L, 4213, 112,
                9876543210L));
    }

    @Test
    void withoutCpuacctStatUserAndSystemAreAbsent() throws IOException {
        delete(cpuacct, "cpuacct.stat");
        CpuStats c = read().cpu();

        assertThat(c.usageNanos()).isEqualTo(454656546456L);
        assertThat(c.userNanos()).isEqualTo(Absent.VALUE);
        assertThat(c.systemNanos()).isEqualTo(Absent.VALUE);
    }

    @Test
    void blkioPrefersBfqWhenItListsDevices() throws IOException {
        write(blkio, "blkio.bfq.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n"
                + "8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n");
        write(blkio, "blkio.bfq.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n");

        assertThat(read().blkio()).containsExactly(new BlkioDevice(8, 0, 4096, 8192, 1, 2));
    }

    @Test
    void blkioFallsBackToThrottleRecursiveWithoutBfq() throws IOException {
        delete(blkio, "blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive",
                "blkio.bfq.io_service_bytes");

        assertThat(read().blkio()).containsExactly(new BlkioDevice(254, 0, 192512, 782336, 8, 137));
    }

    @Test
    void blkioUsesCfqRecursiveStatsBeforeTheThrottleLayer() throws IOException {
        write(blkio, "blkio.io_service_bytes_recursive", "8:16 Read 10\n8:16 Write 20\nTotal 30\n");
        write(blkio, "blkio.io_serviced_recursive", "8:16 Read 1\n8:16 Write 2\nTotal 3\n");

        assertThat(read().blkio()).containsExactly(new BlkioDevice(8, 16, 10, 20, 1, 2));
    }

    /** Linux 4.12 to 4.15 with BFQ built: blkio.bfq.* exist, the throttle layer has no recursive files yet. */
    @Test
    void blkioUsesPlainThrottleFilesWhenRecursiveOnesDoNotExist() throws IOException {
        delete(blkio, "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive");

        assertThat(read().blkio()).containsExactly(new BlkioDevice(254, 0, 1, 2, 1, 1));
    }

    /** Linux 4.15 with a blk-mq disk: CFQ's files exist but list nothing, BFQ is not built. */
    @Test
    void blkioUsesPlainThrottleFilesWhenCfqListsNothing() throws IOException {
        delete(blkio, "blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive",
                "blkio.bfq.io_service_bytes", "blkio.throttle.io_service_bytes_recursive",
                "blkio.throttle.io_serviced_recursive");
        write(blkio, "blkio.io_service_bytes_recursive", "Total 0\n");
        write(blkio, "blkio.io_serviced_recursive", "Total 0\n");

        assertThat(read().blkio()).containsExactly(new BlkioDevice(254, 0, 1, 2, 1, 1));
    }

    @Test
    void blkioIsEmptyWithoutAnyStatisticsFile() throws IOException {
        try (Stream<Path> files = Files.list(blkio)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        assertThat(read().blkio()).isEmpty(); // the controller is there (CONFIG_BLK_DEV_THROTTLING off)
    }

    @Test
    void blkioWithoutIoIsAnEmptyListNotNull() throws IOException {
        write(blkio, "blkio.throttle.io_service_bytes_recursive", "Total 0\n");
        write(blkio, "blkio.throttle.io_serviced_recursive", "Total 0\n");

        assertThat(read().blkio()).isEmpty(); // the plain throttle files are not a fallback for an idle cgroup
    }

    @Test
    void missingFilesAreAbsentNeverZero() throws IOException {
        delete(memory, "memory.oom_control", "memory.failcnt", "memory.max_usage_in_bytes", "memory.stat",
                "memory.soft_limit_in_bytes");
        delete(cpu, "cpu.stat", "cpu.shares");
        delete(pids, "pids.max");
        CgroupSample s = read();

        assertThat(s.memory()).isEqualTo(new MemoryStats(3440000000L, Absent.VALUE, Absent.VALUE, Absent.VALUE,
                Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE));
        assertThat(s.cpu()).isEqualTo(new CpuStats(454656546456L, 41120 * 10_000_000L, 4344 * 10_000_000L, Absent.VALUE,
                Absent.VALUE, Absent.VALUE));
        assertThat(s.pids()).isEqualTo(new PidsStats(42, Absent.VALUE));
        assertThat(s.spec()).isEqualTo(new SpecStats(Limits.UNLIMITED, Limits.UNLIMITED, Absent.VALUE,
                Limits.UNLIMITED, 100000, Absent.VALUE));
    }

    @Test
    void aMissingQuotaFileIsAbsentNotUnlimited() throws IOException {
        delete(cpu, "cpu.cfs_quota_us");

        assertThat(read().spec().cpuQuotaMicros()).isEqualTo(Absent.VALUE);
    }

    @Test
    void aMissingMemoryDirectoryNullsMemory() throws IOException {
        deleteTree(memory);
        CgroupSample s = read();

        assertThat(s.memory()).isNull();
        assertThat(s.spec()).isEqualTo(new SpecStats(Absent.VALUE, Absent.VALUE, Absent.VALUE, Limits.UNLIMITED,
                100000, 512));
        assertThat(s.cpu()).isNotNull();
    }

    @Test
    void aMissingCpuDirectoryLeavesItsFieldsAbsent() throws IOException {
        deleteTree(cpu);
        CgroupSample s = read();

        assertThat(s.cpu()).isEqualTo(new CpuStats(454656546456L, 41120 * 10_000_000L, 4344 * 10_000_000L, Absent.VALUE,
                Absent.VALUE, Absent.VALUE));
        assertThat(s.spec()).isEqualTo(new SpecStats(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED,
                Absent.VALUE, Absent.VALUE, Absent.VALUE));
    }

    @Test
    void missingCpuAndCpuacctDirectoriesNullCpu() throws IOException {
        deleteTree(cpu);
        deleteTree(cpuacct);

        assertThat(read().cpu()).isNull();
    }

    @Test
    void missingBlkioPidsAndUnifiedDirectoriesNullTheirComponents() throws IOException {
        deleteTree(blkio);
        deleteTree(pids);
        deleteTree(unified);
        CgroupSample s = read();

        assertThat(s.blkio()).isNull();
        assertThat(s.pids()).isNull();
        assertThat(s.pressure()).isNull();
        assertThat(s.memory()).isNotNull();
    }

    @Test
    void aHierarchyTheHostDoesNotMountNullsItsComponent() {
        layout = new CgroupLayout(CgroupMode.V1, List.of(v1(tmp.resolve("cpu"), "cpu"),
                v1(tmp.resolve("cpuacct"), "cpuacct"), v1(tmp.resolve("memory"), "memory")), Map.of());
        CgroupSample s = read();

        assertThat(s.blkio()).isNull();
        assertThat(s.pids()).isNull();
        assertThat(s.pressure()).isNull();
        assertThat(s.cpu()).isNotNull();
    }

    @Test
    void aCgroupInNoHierarchyReadsAsGone() throws IOException {
        for (Path d : List.of(cpu, cpuacct, memory, blkio, pids, unified)) {
            deleteTree(d);
        }
        assertThat(read()).isNull();
    }

    /** systemd on a hybrid host makes some cgroups in its own and the cgroup2 hierarchy only: PSI, nothing else. */
    @Test
    void aCgroupOnlyInTheUnifiedHierarchyHasOnlyPressure() throws IOException {
        for (Path d : List.of(cpu, cpuacct, memory, blkio, pids)) {
            deleteTree(d);
        }
        CgroupSample s = read();

        assertThat(s).isNotNull();
        assertThat(s.pressure().io()).isEqualTo(new Pressure(4159832, 3247158));
        assertThat(s.startTimeMillis()).isEqualTo(Tree.ctimeMillis(unified));
        assertThat(List.of(s.cpu() == null, s.memory() == null, s.blkio() == null, s.pids() == null,
                s.spec() == null)).containsOnly(true);
    }

    @Test
    void comountedCpuAndCpuacct() throws IOException {
        Path both = Files.createDirectories(tmp.resolve("cpu,cpuacct/docker/abc"));
        for (Path from : List.of(cpu, cpuacct)) {
            try (Stream<Path> files = Files.list(from)) {
                for (Path f : files.toList()) {
                    Files.move(f, both.resolve(f.getFileName()));
                }
            }
        }
        layout = new CgroupLayout(CgroupMode.V1, List.of(v1(tmp.resolve("cpu,cpuacct"), "cpu", "cpuacct"),
                v1(tmp.resolve("memory"), "memory")), Map.of());
        CgroupSample s = read();

        // user and system in ticks of 10 ms (USER_HZ), from cpuacct.stat
        assertThat(s.cpu()).isEqualTo(new CpuStats(454656546456L, 41120 * 10_000_000L, 4344 * 10_000_000L, 4213,
                112, 9876543210L));
        assertThat(s.spec().cpuShares()).isEqualTo(512);
        assertThat(s.pressure()).isNull();
    }
}
