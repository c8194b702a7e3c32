package dev.corral.exporter;

import dev.corral.exporter.discovery.HostPaths;
import java.time.Duration;
import java.util.List;

/**
 * How the exporter observes.
 *
 * @param roots       cgroup paths whose subtrees are watched ("/" for the whole host)
 * @param interval    time between collection cycles
 * @param retention   how long a removed cgroup's last counters stay exported
 * @param rescanEvery list cgroups again every this many cycles, besides whenever inotify reports a change
 */
public record ExporterConfig(HostPaths paths, List<String> roots, Duration interval, Duration retention,
                             int rescanEvery) {

    public static ExporterConfig defaults() {
        return new ExporterConfig(HostPaths.system(), List.of("/"), Duration.ofSeconds(1), Duration.ofMinutes(5), 60);
    }

    public ExporterConfig {
        roots = List.copyOf(roots);
        if (roots.isEmpty()) {
            throw new IllegalArgumentException("at least one cgroup root is needed");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive, got " + interval);
        }
        if (rescanEvery < 1) {
            throw new IllegalArgumentException("rescanEvery must be >= 1, got " + rescanEvery);
        }
    }
}
