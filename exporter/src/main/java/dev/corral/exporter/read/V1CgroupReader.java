package dev.corral.exporter.read;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.PidsStats;
import dev.corral.exporter.sample.SpecStats;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads a cgroup on a v1 (or hybrid) host: each controller from its own hierarchy (cpu and cpuacct may be
 * separate), plus PSI from the cgroup2 mount when the host has one.
 */
final class V1CgroupReader implements CgroupReader {

    private static final long NANOS_PER_USER_HZ = 10_000_000L; // USER_HZ is 100 on every Linux ABI

    // cpuacct: usage in ns; user and system from cpuacct.stat, in ticks (USER_HZ), as runc and cAdvisor read
    // them. cpuacct.usage_user/_sys come from the same tick-sampled kernel counters, so their nanoseconds are no
    // more precise, and one file is one read fewer per cgroup and cycle than two.
    // The change indicators (ChangeGate) are sets of their own, opened when the reader is made; the rest at the
    // first full read (FileSet.onFirstRead), so the indicators come first in the open-file budget.
    private static final int USAGE = 0, CPUACCT_STAT = 0;
    private static final KeyTable CPUACCT_STAT_KEYS = new KeyTable("user", "system");
    // cpu
    private static final int CPU_STAT = 0;
    private static final int QUOTA = 0, PERIOD = 1, SHARES = 2;
    private static final KeyTable CPU_STAT_KEYS = new KeyTable("nr_periods", "nr_throttled", "throttled_time");
    // memory
    private static final int MEM_USAGE = 0, MEM_MAX_USAGE = 0, FAILCNT = 1, MEM_STAT = 2, OOM_CONTROL = 3;
    private static final int MEM_LIMIT = 0, MEMSW_LIMIT = 1, SOFT_LIMIT = 2;
    // total_swap is there only with swap accounting (memory.memsw.* exist then): the swap in use, exactly, where
    // memsw.usage_in_bytes - usage_in_bytes is a difference of two batched (fuzzy) counters, and one read more
    // total_dirty and total_writeback: IO the kernel will do for the cgroup while it may not run (ChangeGate)
    private static final KeyTable MEM_STAT_KEYS = new KeyTable("total_rss", "total_cache", "total_mapped_file",
            "total_inactive_file", "total_swap", "total_dirty", "total_writeback");
    private static final KeyTable OOM_KEYS = new KeyTable("oom_kill");
    // pids
    private static final int PIDS_CURRENT = 0, PIDS_MAX = 0;

    private static final long HALF_MADE_NANOS = 60_000_000_000L;

    private final String path;
    private final long startTimeMillis;
    private final FileSet cpuUsage;
    private final FileSet cpuacct;
    private final FileSet cpu;
    private final FileSet memoryUsage;
    private final FileSet memory;
    private final BlkioFiles blkio;
    private final FileSet pids;
    private final PressureFiles pressure;
    // limits: opened per read, read every LimitsRefresh.CYCLES cycles
    private final FileSet cpuLimits;
    private final FileSet memoryLimits;
    private final FileSet pidsLimit;
    private final FileSet cpusetLimits;
    private final LimitsRefresh limitsRefresh;
    /** This cgroup's directories in the walked hierarchies that did not exist when it was opened. */
    private final List<Path> absentDirs = new java.util.ArrayList<>();
    private final long openedNanos = System.nanoTime();
    private SpecStats spec;
    private long pidsMax = Absent.VALUE;
    private final long[] keyed = new long[8];
    private final ChangeGate gate;
    /** The last sample read: its expensive parts stand while the change indicators do not move. */
    private CgroupSample last;
    private boolean pagesToWrite;

    V1CgroupReader(CgroupLayout layout, String path, long startTimeMillis) {
        this.path = path;
        this.startTimeMillis = startTimeMillis;
        this.gate = new ChangeGate(path.hashCode());
        this.limitsRefresh = new LimitsRefresh(path.hashCode());
        cpuUsage = files(layout, "cpuacct", path, false, "cpuacct.usage");
        cpuacct = files(layout, "cpuacct", path, true, "cpuacct.stat");
        cpu = files(layout, "cpu", path, true, "cpu.stat");
        cpuLimits = FileSet.perRead(cpu.dir(), "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares");
        memoryUsage = files(layout, "memory", path, false, "memory.usage_in_bytes");
        memory = files(layout, "memory", path, true, "memory.max_usage_in_bytes", "memory.failcnt", "memory.stat",
                "memory.oom_control");
        memoryLimits = FileSet.perRead(memory.dir(), "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                "memory.soft_limit_in_bytes");
        blkio = new BlkioFiles(layout.hierarchyOf("blkio").flatMap(h -> h.dirOf(path)).orElse(null));
        pids = files(layout, "pids", path, true, "pids.current");
        pidsLimit = FileSet.perRead(pids.dir(), "pids.max");
        // cpuset.effective_cpus: what the tasks can really use (a subset of the parent's); cpuset.cpus before 4.x
        cpusetLimits = FileSet.perRead(layout.hierarchyOf("cpuset").flatMap(h -> h.dirOf(path))
                .filter(java.nio.file.Files::isDirectory).orElse(null), "cpuset.effective_cpus", "cpuset.cpus");
        pressure = new PressureFiles(layout.unified().flatMap(h -> h.dirOf(path))
                .filter(java.nio.file.Files::isDirectory).orElse(null), false);
        for (Hierarchy h : layout.walked()) {
            h.dirOf(path).filter(d -> !java.nio.file.Files.isDirectory(d)).ifPresent(absentDirs::add);
        }
    }

    /** Only in its first minute: a cgroup absent from a hierarchy for longer is one that is not there at all. */
    @Override
    public boolean halfMade() {
        if (absentDirs.isEmpty() || System.nanoTime() - openedNanos > HALF_MADE_NANOS) {
            return false;
        }
        for (Path d : absentDirs) {
            if (java.nio.file.Files.isDirectory(d)) {
                return true;
            }
        }
        return false;
    }

    private static FileSet files(CgroupLayout layout, String controller, String path, boolean onFirstRead,
                                 String... names) {
        return layout.hierarchyOf(controller).flatMap((Hierarchy h) -> h.dirOf(path))
                .filter(java.nio.file.Files::isDirectory)
                .map((Path dir) -> onFirstRead ? FileSet.onFirstRead(dir, names) : new FileSet(dir, names))
                .orElseGet(FileSet::absent);
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public CgroupSample read(ReadBuffer buf, long nowMillis, ReadErrors errors) {
        long cpuNanos = value(cpuUsage, USAGE, buf, errors);
        long memoryBytes = value(memoryUsage, MEM_USAGE, buf, errors);
        boolean full = gate.due(cpuNanos, memoryBytes) || last == null;
        if (limitsRefresh.due(gate.moved())) {
            spec = readSpec(buf, errors);
            pidsMax = value(pidsLimit, PIDS_MAX, buf, errors);
        }
        if (!full) {
            PidsStats lastPids = last.pids(); // read with the expensive files (ChangeGate), its limit maybe newer
            PidsStats pidsNow = lastPids == null || lastPids.max() == pidsMax ? lastPids
                    : new PidsStats(lastPids.current(), pidsMax);
            return new CgroupSample(path, nowMillis, startTimeMillis, last.cpu(), last.memory(), last.blkio(),
                    pidsNow, last.pressure(), spec);
        }
        long pidsCurrent = value(pids, PIDS_CURRENT, buf, errors);
        PidsStats pidsStats = Absent.is(pidsCurrent) ? null : new PidsStats(pidsCurrent, pidsMax);
        boolean light = gate.light() && last != null; // the sweep: what moves without an indicator (ChangeGate)
        CpuStats cpuStats = light ? last.cpu() : readCpu(cpuNanos, buf, errors);
        MemoryStats memoryStats = readMemory(memoryBytes, light ? last.memory() : null, buf, errors);
        List<BlkioDevice> io = light ? last.blkio() : blkio.read(buf, errors);
        var psi = pressure.read(buf, errors);
        // memory's other files are read only when its usage reads (readMemory): memoryUsage says for both
        if (!cpuUsage.present() && !cpuacct.present() && !cpu.present() && !memoryUsage.present()
                && !blkio.present() && !pids.present() && !pressure.present()) {
            return null;
        }
        CgroupSample sample =
                new CgroupSample(path, nowMillis, startTimeMillis, cpuStats, memoryStats, io, pidsStats, psi, spec);
        gate.fullReadDone(pagesToWrite || last == null || !java.util.Objects.equals(psi, last.pressure())
                || !java.util.Objects.equals(io, last.blkio()));
        last = sample;
        return sample;
    }

    private CpuStats readCpu(long usage, ReadBuffer buf, ReadErrors errors) {
        long user = Absent.VALUE, system = Absent.VALUE;
        if (cpuacct.load(CPUACCT_STAT, buf, errors)) {
            FlatKeyedParser.parse(buf.bytes(), buf.length(), CPUACCT_STAT_KEYS, keyed);
            user = scaled(keyed[0], NANOS_PER_USER_HZ);
            system = scaled(keyed[1], NANOS_PER_USER_HZ);
        }
        long periods = Absent.VALUE, throttled = Absent.VALUE, throttledTime = Absent.VALUE;
        if (cpu.load(CPU_STAT, buf, errors)) {
            FlatKeyedParser.parse(buf.bytes(), buf.length(), CPU_STAT_KEYS, keyed);
            periods = keyed[0];
            throttled = keyed[1];
            throttledTime = keyed[2];
        }
        if (Absent.is(usage) && Absent.is(periods)) {
            return null;
        }
        return new CpuStats(usage, user, system, periods, throttled, throttledTime);
    }

    /** {@code kept}: the last sample's, whose counters (OOM kills, peak, failcnt) stand; null to read them too. */
    private MemoryStats readMemory(long usage, MemoryStats kept, ReadBuffer buf, ReadErrors errors) {
        pagesToWrite = false;
        if (Absent.is(usage)) {
            return null;
        }
        long rss = Absent.VALUE, cache = Absent.VALUE, mapped = Absent.VALUE, workingSet = Absent.VALUE,
                swap = Absent.VALUE;
        if (memory.load(MEM_STAT, buf, errors)) {
            FlatKeyedParser.parse(buf.bytes(), buf.length(), MEM_STAT_KEYS, keyed);
            rss = keyed[0];
            cache = keyed[1];
            mapped = keyed[2];
            workingSet = Absent.is(keyed[3]) ? Absent.VALUE : Math.max(0, usage - keyed[3]);
            swap = keyed[4];
            pagesToWrite = keyed[5] > 0 || keyed[6] > 0;
        }
        if (kept != null) {
            return new MemoryStats(usage, workingSet, rss, cache, mapped, swap, kept.maxUsage(),
                    kept.failcnt(), kept.oomKills(), Absent.VALUE, Absent.VALUE);
        }
        long oomKills = Absent.VALUE;
        if (memory.load(OOM_CONTROL, buf, errors)) {
            FlatKeyedParser.parse(buf.bytes(), buf.length(), OOM_KEYS, keyed);
            oomKills = keyed[0];
        }
        return new MemoryStats(usage, workingSet, rss, cache, mapped, swap,
                value(memory, MEM_MAX_USAGE, buf, errors), value(memory, FAILCNT, buf, errors), oomKills,
                Absent.VALUE, Absent.VALUE);
    }

    private SpecStats readSpec(ReadBuffer buf, ReadErrors errors) {
        long limit = value(memoryLimits, MEM_LIMIT, buf, errors);
        long swLimit = value(memoryLimits, MEMSW_LIMIT, buf, errors);
        long soft = value(memoryLimits, SOFT_LIMIT, buf, errors);
        boolean hasQuota = cpuLimits.load(QUOTA, buf, errors); // its "-1" (no quota) is Absent.VALUE once parsed
        long quota = hasQuota ? ValueParser.first(buf.bytes(), buf.length()) : Absent.VALUE;
        long period = value(cpuLimits, PERIOD, buf, errors);
        long shares = value(cpuLimits, SHARES, buf, errors);
        if (Absent.is(limit) && Absent.is(period) && Absent.is(shares)) {
            return null;
        }
        long swapLimit = Absent.VALUE;
        if (!Absent.is(swLimit)) { // memsw limits memory+swap; the swap part alone is what is exported
            swLimit = Limits.normalizeV1Memory(swLimit);
            swapLimit = Limits.isUnlimited(swLimit) ? Limits.UNLIMITED
                    : Math.max(0, swLimit - Limits.normalizeV1Memory(limit));
        }
        return new SpecStats(normalizeMemory(limit), swapLimit, normalizeMemory(soft),
                hasQuota && quota < 0 ? Limits.UNLIMITED : quota, period, shares, readCpus(buf, errors));
    }

    private CpuSet readCpus(ReadBuffer buf, ReadErrors errors) {
        if (cpusetLimits.load(0, buf, errors) || cpusetLimits.load(1, buf, errors)) {
            return CpuSet.parse(buf.bytes(), buf.length());
        }
        return null;
    }

    private static long normalizeMemory(long v) {
        return Absent.is(v) ? v : Limits.normalizeV1Memory(v);
    }

    private static long scaled(long v, long factor) {
        return Absent.is(v) ? v : v * factor;
    }

    private static long value(FileSet files, int index, ReadBuffer buf, ReadErrors errors) {
        return files.load(index, buf, errors) ? ValueParser.first(buf.bytes(), buf.length()) : Absent.VALUE;
    }

    /**
     * Nothing to do: a v1 hierarchy's files are fixed when it is mounted, so a file missing now stays missing
     * (retrying cost an open and an exception per missing file per rescan).
     */
    @Override
    public void reopenMissing() {
    }

    @Override
    public void readLimitsSoon() {
        limitsRefresh.soon();
    }

    @Override
    public void close() {
        cpuUsage.close();
        memoryUsage.close();
        cpuacct.close();
        cpu.close();
        cpuLimits.close();
        memoryLimits.close();
        pidsLimit.close();
        cpusetLimits.close();
        memory.close();
        blkio.close();
        pids.close();
        pressure.close();
    }
}
