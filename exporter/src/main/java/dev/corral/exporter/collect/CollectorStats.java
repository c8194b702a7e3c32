package dev.corral.exporter.collect;

import java.nio.file.Path;

/** Where the collector reports on itself (the agent's own metrics). */
public interface CollectorStats {

    CollectorStats NONE = new CollectorStats() {
    };

    default void cycle(long nanos, int watched) {
    }

    default void readError(Path file, Exception cause) {
    }

    /**
     * A cgroup's OOM-kill count went up by {@code delta} between two cycles, or was {@code delta} when the cgroup
     * was first seen after the first cycle.
     */
    default void oomKills(String cgroupPath, long delta) {
    }

    /** A removed cgroup's retention ended: what is kept about it can go. */
    default void forgotten(String cgroupPath) {
    }
}
