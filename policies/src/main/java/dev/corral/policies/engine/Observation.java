package dev.corral.policies.engine;

import dev.corral.exporter.collect.Snapshot;
import java.util.List;
import java.util.Map;

/**
 * One engine input: two consecutive snapshots (rates come from their difference), containers, host, time.
 *
 * @param network the bridge containers' traffic counters by name, read this cycle (networkFairness's input; empty
 *                when it has no capacity to share)
 */
public record Observation(long nowMillis, Snapshot previous, Snapshot current, List<ContainerView> containers,
                          HostView host, Map<String, NetworkSample> network) {

    public Observation {
        containers = List.copyOf(containers);
        network = network == null ? Map.of() : Map.copyOf(network);
    }

    /** Without network counters. */
    public Observation(long nowMillis, Snapshot previous, Snapshot current, List<ContainerView> containers,
                       HostView host) {
        this(nowMillis, previous, current, containers, host, Map.of());
    }
}
