package dev.corral.exporter.sample;

/** CPU accounting; times in nanoseconds. Fields are {@link Absent#VALUE} when not provided. */
public record CpuStats(long usageNanos, long userNanos, long systemNanos, long periods, long throttledPeriods,
                       long throttledNanos) {
}
