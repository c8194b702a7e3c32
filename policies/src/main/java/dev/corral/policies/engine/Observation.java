package dev.corral.policies.engine;

import dev.corral.exporter.collect.Snapshot;
import java.util.List;

/** One engine input: two consecutive snapshots (rates come from their difference), containers, host, time. */
public record Observation(long nowMillis, Snapshot previous, Snapshot current, List<ContainerView> containers,
                          HostView host) {

    public Observation {
        containers = List.copyOf(containers);
    }
}
