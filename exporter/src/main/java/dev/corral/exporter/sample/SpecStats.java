package dev.corral.exporter.sample;

/**
 * Limits in force (the cgroup's "spec"). Memory in bytes, {@link Limits#UNLIMITED} when unlimited;
 * cpuQuotaMicros is {@link Limits#UNLIMITED} without a quota; cpuShares is v1 cpu.shares or v2 cpu.weight
 * mapped back to shares. Fields are {@link Absent#VALUE} when not provided.
 */
public record SpecStats(long memoryLimit, long swapLimit, long memoryReservation, long cpuQuotaMicros,
                        long cpuPeriodMicros, long cpuShares) {
}
