package dev.corral.exporter.collect;

import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.NetInterface;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The result of one collection cycle: immutable, published whole, read by scrapes and policies.
 *
 * @param live   samples of cgroups that exist now, by cgroup path
 * @param recent last samples of cgroups that disappeared within the retention period, so counters such as OOM
 *               kills stay visible after the container is gone
 * @param network the network interfaces (without {@code lo}) of live cgroups that own a network namespace of their
 *                own, by cgroup path; see NetworkReader for which cgroups those are
 */
public record Snapshot(long timestampMillis, Map<String, CgroupSample> live, Map<String, CgroupSample> recent,
                       Map<String, List<NetInterface>> network) {

    public static final Snapshot EMPTY = new Snapshot(0, Map.of(), Map.of());

    public Snapshot {
        live = Map.copyOf(live);
        recent = Map.copyOf(recent);
        network = Map.copyOf(network);
    }

    public Snapshot(long timestampMillis, Map<String, CgroupSample> live, Map<String, CgroupSample> recent) {
        this(timestampMillis, live, recent, Map.of());
    }

    public CgroupSample get(String path) {
        CgroupSample s = live.get(path);
        return s != null ? s : recent.get(path);
    }

    public Collection<CgroupSample> liveSamples() {
        return live.values();
    }
}
