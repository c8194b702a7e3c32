package dev.corral.policies.engine;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Pressure;
import dev.corral.policies.file.Policy;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * A live container in one cycle: its view, class and the rates between its last two samples. A rate is NaN
 * where a sample or file is missing.
 */
record Member(ContainerView view, Policy.PolicyClass cls, CgroupSample now, CgroupSample before, double seconds) {

    String name() {
        return view.name();
    }

    String cgroup() {
        return view.cgroup();
    }

    /** Its class observes it: what the rules decide for it is a dry run. */
    boolean observed() {
        return !cls.governs(view.foreign() != null);
    }

    /** Never killed or frozen: its class is protected, or its owner marks it critical. */
    boolean untouchable() {
        return cls.isProtected() || view.ownerCritical();
    }

    /** The class's weight, unless the container's spec sets its own cpu shares (1024 = weight 1). */
    double weight() {
        long own = view.baseline().cpuShares();
        return own > 0 ? own / 1024.0 : cls.weight();
    }

    boolean ownsCpuWeight() {
        return view.baseline().cpuShares() > 0;
    }

    /**
     * The CPUs its tasks may run on, or null for any of the host's: its effective cpuset as sampled, within the
     * one its spec asks for. The spec's alone where the sample is missing, empty (a v1 cpuset is empty from its
     * mkdir until the runtime writes it, and limits are sampled only every few cycles, so a cgroup found in that
     * moment is sampled empty for a while) or shown stale by the usage (more cores used than it holds); a v2
     * cgroup's effective set is its parent's until written, hence the intersection.
     */
    CpuSet cpus() {
        CpuSet asked = view.baseline().cpus();
        CpuSet sampled = now.spec() == null ? null : now.spec().cpus();
        double used = cpuCores();
        if (sampled == null || sampled.count() == 0 || used > 1.1 * sampled.count() + 0.05) {
            return asked;
        }
        if (asked == null) {
            return sampled;
        }
        CpuSet both = sampled.intersect(asked);
        return both.count() == 0 ? asked : both;
    }

    /** CPU used over the interval, in cores. */
    double cpuCores() {
        if (now.cpu() == null || before == null || before.cpu() == null || Absent.is(now.cpu().usageNanos())
                || Absent.is(before.cpu().usageNanos())) {
            return Double.NaN;
        }
        return Math.max(0, now.cpu().usageNanos() - before.cpu().usageNanos()) / 1e9 / seconds;
    }

    /** CFS periods throttled during the interval. */
    long throttledPeriods() {
        if (now.cpu() == null || before == null || before.cpu() == null || Absent.is(now.cpu().throttledPeriods())
                || Absent.is(before.cpu().throttledPeriods())) {
            return 0;
        }
        return Math.max(0, now.cpu().throttledPeriods() - before.cpu().throttledPeriods());
    }

    double cpuPressure() {
        return pressureShare(now, before, seconds, p -> p.cpu(), false);
    }

    double memoryPressure() {
        return pressureShare(now, before, seconds, p -> p.memory(), false);
    }

    double ioPressure() {
        return pressureShare(now, before, seconds, p -> p.io(), false);
    }

    long workingSet() {
        return now.memory() == null ? Absent.VALUE : now.memory().workingSet();
    }

    /** Memory charged to it, cache included (v1 memory.usage_in_bytes, v2 memory.current). */
    long usage() {
        return now.memory() == null ? Absent.VALUE : now.memory().usage();
    }

    /** Its hard memory limit as read in this sample. */
    long memoryLimit() {
        return now.spec() == null ? Absent.VALUE : now.spec().memoryLimit();
    }

    /** Kernel OOM kills inside it during the interval. */
    long oomKills() {
        if (before == null || before.memory() == null || now.memory() == null || Absent.is(now.memory().oomKills())
                || Absent.is(before.memory().oomKills())) {
            return 0;
        }
        return Math.max(0, now.memory().oomKills() - before.memory().oomKills());
    }

    /** Working set growth, bytes per second. */
    double memoryGrowth() {
        if (before == null || before.memory() == null || now.memory() == null || Absent.is(workingSet())
                || Absent.is(before.memory().workingSet())) {
            return 0;
        }
        return (workingSet() - before.memory().workingSet()) / seconds;
    }

    /** Bytes per second read plus written, by "MAJOR:MINOR". */
    Map<String, Double> ioRates() {
        Map<String, Double> rates = new HashMap<>();
        if (now.blkio() == null || before == null || before.blkio() == null) {
            return rates;
        }
        Map<String, BlkioDevice> old = new HashMap<>();
        for (BlkioDevice d : before.blkio()) {
            old.put(d.device(), d);
        }
        for (BlkioDevice d : now.blkio()) {
            BlkioDevice o = old.get(d.device());
            if (o != null) {
                long bytes = Math.max(0, d.readBytes() - o.readBytes()) + Math.max(0, d.writeBytes() - o.writeBytes());
                rates.put(d.device(), bytes / seconds);
            }
        }
        return rates;
    }

    /**
     * The share of the interval (0..1) stalled, from PSI totals in microseconds: "some" or, with {@code full},
     * "full". NaN without pressure files.
     */
    static double pressureShare(CgroupSample now, CgroupSample before, double seconds,
                                Function<dev.corral.exporter.sample.PressureStats, Pressure> which, boolean full) {
        if (now == null || before == null || now.pressure() == null || before.pressure() == null) {
            return Double.NaN;
        }
        Pressure a = which.apply(before.pressure());
        Pressure b = which.apply(now.pressure());
        if (a == null || b == null) {
            return Double.NaN;
        }
        long delta = full ? b.fullMicros() - a.fullMicros() : b.someMicros() - a.someMicros();
        return Math.min(1, Math.max(0, delta / 1e6 / seconds));
    }
}
