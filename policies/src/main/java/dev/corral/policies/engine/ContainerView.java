package dev.corral.policies.engine;

import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.util.Map;

/**
 * What the engine knows of a container besides its samples: the agent builds it from its records (the
 * policies module does not depend on the agent).
 *
 * @param cgroup   the cgroup path, e.g. "/corral/web", the key of its samples in the snapshot
 * @param baseline the limits the user asked for: what a lifted policy limit goes back to
 */
public record ContainerView(String name, String cgroup, Map<String, String> labels, Baseline baseline) {

    public ContainerView {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        baseline = baseline == null ? Baseline.NONE : baseline;
    }

    /**
     * The user's own limits. {@link Limits#UNLIMITED} where there is none.
     *
     * @param cpuShares         the spec's own cpu.shares (its weight converted), 0 when it sets none: a container
     *                          that sets its own keeps it, and its CPU weight is shares / 1024
     * @param memoryReservation the spec's memory reservation (v1 soft limit, v2 memory.low), 0 when none
     * @param io                per "MAJOR:MINOR": the user's read and write throttles
     * @param cpus              the CPUs its spec pins it to (--cpuset-cpus), null when it sets none: what the
     *                          policies fall back to while the sampled cpuset is missing, not yet written or stale
     */
    public record Baseline(long cpuQuotaMicros, long cpuPeriodMicros, long cpuShares, long memoryMax,
                           long memoryHigh, long memoryReservation, Map<String, DeviceThrottle> io, CpuSet cpus) {

        public static final Baseline NONE = new Baseline(Limits.UNLIMITED,
                dev.corral.exporter.sample.CgroupConversions.DEFAULT_CPU_PERIOD_MICROS, 0, Limits.UNLIMITED,
                Limits.UNLIMITED, 0, Map.of());

        public Baseline {
            io = io == null ? Map.of() : Map.copyOf(io);
            cpus = cpus == null || cpus.count() == 0 ? null : cpus;
        }

        /** Without a cpuset of its own. */
        public Baseline(long cpuQuotaMicros, long cpuPeriodMicros, long cpuShares, long memoryMax, long memoryHigh,
                        long memoryReservation, Map<String, DeviceThrottle> io) {
            this(cpuQuotaMicros, cpuPeriodMicros, cpuShares, memoryMax, memoryHigh, memoryReservation, io, null);
        }

        public DeviceThrottle ioOf(String device) {
            return io.getOrDefault(device, DeviceThrottle.NONE);
        }
    }

    /** Bytes per second; {@link Limits#UNLIMITED} when not throttled. */
    public record DeviceThrottle(long readBps, long writeBps) {
        public static final DeviceThrottle NONE = new DeviceThrottle(Limits.UNLIMITED, Limits.UNLIMITED);
    }
}
