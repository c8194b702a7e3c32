package dev.corral.exporter.sample;

/**
 * Limits in force (the cgroup's "spec"). Memory in bytes, {@link Limits#UNLIMITED} when unlimited;
 * cpuQuotaMicros is {@link Limits#UNLIMITED} without a quota; cpuShares is v1 cpu.shares or v2 cpu.weight
 * mapped back to shares. Fields are {@link Absent#VALUE} when not provided.
 *
 * @param cpus the CPUs its tasks may run on (v1 cpuset.effective_cpus, v2 cpuset.cpus.effective); null when
 *             not known (no cpuset controller there): then any of the host's
 */
public record SpecStats(long memoryLimit, long swapLimit, long memoryReservation, long cpuQuotaMicros,
                        long cpuPeriodMicros, long cpuShares, CpuSet cpus) {

    /** Without a cpuset. */
    public SpecStats(long memoryLimit, long swapLimit, long memoryReservation, long cpuQuotaMicros,
                     long cpuPeriodMicros, long cpuShares) {
        this(memoryLimit, swapLimit, memoryReservation, cpuQuotaMicros, cpuPeriodMicros, cpuShares, null);
    }
}
