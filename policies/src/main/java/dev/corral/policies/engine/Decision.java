package dev.corral.policies.engine;

import java.util.List;
import java.util.Map;

/**
 * The engine's answer for one cycle.
 *
 * @param entitledCores weighted max-min fair CPU share of each container (by cgroup path), in cores
 * @param dominantShare each container's dominant share of the host (max of its cpu and memory fractions)
 */
public record Decision(List<Action> actions, Map<String, Double> entitledCores, Map<String, Double> dominantShare) {

    public static final Decision NONE = new Decision(List.of(), Map.of(), Map.of());

    public Decision {
        actions = List.copyOf(actions);
        entitledCores = Map.copyOf(entitledCores);
        dominantShare = Map.copyOf(dominantShare);
    }
}
