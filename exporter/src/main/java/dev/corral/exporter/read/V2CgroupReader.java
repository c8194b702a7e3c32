package dev.corral.exporter.read;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.PidsStats;
import dev.corral.exporter.sample.SpecStats;
import java.nio.file.Path;

/** Reads a cgroup on a pure cgroup v2 host: one directory holds every controller's files. */
final class V2CgroupReader implements CgroupReader {

    // the change indicators (ChangeGate), opened when the reader is made; the rest at the first full read
    // (FileSet.onFirstRead), so the indicators come first in the open-file budget
    private static final int CPU_STAT = 0, MEM_CURRENT = 1;
    private static final String[] INDICATOR_NAMES = {"cpu.stat", "memory.current"};
    private static final int MEM_PEAK = 0, MEM_STAT = 1, SWAP_CURRENT = 2, MEM_EVENTS = 3, IO_STAT = 4,
            PIDS_CURRENT = 5;
    private static final String[] NAMES = {"memory.peak", "memory.stat", "memory.swap.current", "memory.events",
        "io.stat", "pids.current"};
    // limits: opened per read, read every LimitsRefresh.CYCLES cycles
    private static final int PIDS_MAX = 0, MEM_MAX = 1, SWAP_MAX = 2, MEM_LOW = 3, CPU_MAX = 4, CPU_WEIGHT = 5,
            CPUS_EFFECTIVE = 6;
    private static final String[] LIMIT_NAMES = {"pids.max", "memory.max", "memory.swap.max", "memory.low",
        "cpu.max", "cpu.weight", "cpuset.cpus.effective"};

    private static final KeyTable CPU_STAT_KEYS = new KeyTable("usage_usec", "user_usec", "system_usec",
            "nr_periods", "nr_throttled", "throttled_usec");
    // file_dirty and file_writeback: IO the kernel will do for the cgroup while it may not run (ChangeGate)
    private static final KeyTable MEM_STAT_KEYS = new KeyTable("anon", "file", "file_mapped", "inactive_file",
            "file_dirty", "file_writeback");
    private static final KeyTable MEM_EVENTS_KEYS = new KeyTable("high", "max", "oom_kill");

    private final String path;
    private final long startTimeMillis;
    private final FileSet indicators;
    private final FileSet files;
    private final FileSet limits;
    private final PressureFiles pressure;
    private final LimitsRefresh limitsRefresh;
    private SpecStats spec;
    private long pidsMax = Absent.VALUE;
    private final long[] keyed = new long[8];
    private final ChangeGate gate;
    /** The last sample read: its expensive parts stand while the change indicators do not move. */
    private CgroupSample last;
    private boolean pagesToWrite;

    V2CgroupReader(Path dir, String path, long startTimeMillis) {
        this.path = path;
        this.startTimeMillis = startTimeMillis;
        this.gate = new ChangeGate(path.hashCode());
        this.limitsRefresh = new LimitsRefresh(path.hashCode());
        boolean exists = java.nio.file.Files.isDirectory(dir); // removed between the scan and now: gone
        this.indicators = exists ? new FileSet(dir, INDICATOR_NAMES) : FileSet.absent();
        this.files = exists ? FileSet.onFirstRead(dir, NAMES) : FileSet.absent();
        this.limits = exists ? FileSet.perRead(dir, LIMIT_NAMES) : FileSet.absent();
        this.pressure = new PressureFiles(exists ? dir : null, false);
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public CgroupSample read(ReadBuffer buf, long nowMillis, ReadErrors errors) {
        CpuStats cpu = readCpu(buf, errors); // cpu.stat: the CPU indicator, and there is no cheaper one on v2
        long memoryUsage = value(indicators, MEM_CURRENT, buf, errors);
        boolean full = gate.due(cpu == null ? Absent.VALUE : cpu.usageNanos(), memoryUsage) || last == null;
        if (limitsRefresh.due(gate.moved())) {
            spec = readSpec(buf, errors);
            pidsMax = value(limits, PIDS_MAX, buf, errors);
        }
        if (!full) {
            PidsStats lastPids = last.pids(); // read with the expensive files (ChangeGate), its limit maybe newer
            PidsStats pidsNow = lastPids == null || lastPids.max() == pidsMax ? lastPids
                    : new PidsStats(lastPids.current(), pidsMax);
            return new CgroupSample(path, nowMillis, startTimeMillis, cpu, last.memory(), last.blkio(),
                    pidsNow, last.pressure(), spec);
        }
        long pidsCurrent = value(files, PIDS_CURRENT, buf, errors);
        PidsStats pids = Absent.is(pidsCurrent) ? null : new PidsStats(pidsCurrent, pidsMax);
        boolean light = gate.light() && last != null; // the sweep: what moves without an indicator (ChangeGate)
        MemoryStats memory = readMemory(memoryUsage, light ? last.memory() : null, buf, errors);
        var io = light ? last.blkio()
                : files.load(IO_STAT, buf, errors) ? IoStatParser.parse(buf.bytes(), buf.length()) : null;
        var psi = pressure.read(buf, errors);
        // either set closes itself once a read finds the directory gone; the other may have had no file to read
        // (a child without controllers has cpu.stat alone)
        if (!indicators.present() || !files.present()) {
            return null;
        }
        CgroupSample sample = new CgroupSample(path, nowMillis, startTimeMillis, cpu, memory, io, pids, psi, spec);
        gate.fullReadDone(pagesToWrite || last == null || !java.util.Objects.equals(psi, last.pressure())
                || !java.util.Objects.equals(io, last.blkio()));
        last = sample;
        return sample;
    }

    private CpuStats readCpu(ReadBuffer buf, ReadErrors errors) {
        if (!indicators.load(CPU_STAT, buf, errors)) {
            return null;
        }
        FlatKeyedParser.parse(buf.bytes(), buf.length(), CPU_STAT_KEYS, keyed);
        return new CpuStats(micros(keyed[0]), micros(keyed[1]), micros(keyed[2]), keyed[3], keyed[4],
                micros(keyed[5]));
    }

    /** {@code kept}: the last sample's, whose counters (events, peak) stand; null to read them too. */
    private MemoryStats readMemory(long usage, MemoryStats kept, ReadBuffer buf, ReadErrors errors) {
        pagesToWrite = false;
        if (Absent.is(usage)) {
            return null;
        }
        long anon = Absent.VALUE, file = Absent.VALUE, mapped = Absent.VALUE, workingSet = Absent.VALUE;
        if (files.load(MEM_STAT, buf, errors)) {
            FlatKeyedParser.parse(buf.bytes(), buf.length(), MEM_STAT_KEYS, keyed);
            anon = keyed[0];
            file = keyed[1];
            mapped = keyed[2];
            workingSet = Absent.is(keyed[3]) ? Absent.VALUE : Math.max(0, usage - keyed[3]);
            pagesToWrite = keyed[4] > 0 || keyed[5] > 0;
        }
        long swap = value(files, SWAP_CURRENT, buf, errors);
        if (kept != null) {
            return new MemoryStats(usage, workingSet, anon, file, mapped, swap, kept.maxUsage(), kept.failcnt(),
                    kept.oomKills(), kept.highEvents(), kept.maxEvents());
        }
        long high = Absent.VALUE, max = Absent.VALUE, oomKills = Absent.VALUE;
        if (files.load(MEM_EVENTS, buf, errors)) {
            FlatKeyedParser.parse(buf.bytes(), buf.length(), MEM_EVENTS_KEYS, keyed);
            high = keyed[0];
            max = keyed[1];
            oomKills = keyed[2];
        }
        return new MemoryStats(usage, workingSet, anon, file, mapped, swap, value(files, MEM_PEAK, buf, errors), max,
                oomKills, high, max);
    }

    private SpecStats readSpec(ReadBuffer buf, ReadErrors errors) {
        long quota = Absent.VALUE, period = Absent.VALUE;
        if (limits.load(CPU_MAX, buf, errors)) {
            quota = ValueParser.first(buf.bytes(), buf.length());
            period = ValueParser.second(buf.bytes(), buf.length());
        }
        long weight = value(limits, CPU_WEIGHT, buf, errors);
        long limit = value(limits, MEM_MAX, buf, errors);
        if (Absent.is(limit) && Absent.is(weight) && Absent.is(period)) {
            return null; // the root cgroup has no limits
        }
        CpuSet cpus = limits.load(CPUS_EFFECTIVE, buf, errors) ? CpuSet.parse(buf.bytes(), buf.length()) : null;
        return new SpecStats(limit, value(limits, SWAP_MAX, buf, errors), value(limits, MEM_LOW, buf, errors),
                quota, period,
                Absent.is(weight) ? Absent.VALUE : CgroupConversions.weightToShares(weight), cpus);
    }

    private static long value(FileSet files, int index, ReadBuffer buf, ReadErrors errors) {
        return files.load(index, buf, errors) ? ValueParser.first(buf.bytes(), buf.length()) : Absent.VALUE;
    }

    private static long micros(long v) {
        return Absent.is(v) ? v : v * 1000;
    }

    @Override
    public void reopenMissing() {
        indicators.reopenMissing();
        files.reopenMissing();
        limits.reopenMissing();
        limitsRefresh.soon();
        gate.soon();
        pressure.reopenMissing();
    }

    @Override
    public void readLimitsSoon() {
        limitsRefresh.soon();
    }

    @Override
    public void close() {
        indicators.close();
        files.close();
        limits.close();
        pressure.close();
    }
}
