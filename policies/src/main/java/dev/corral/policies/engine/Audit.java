package dev.corral.policies.engine;

import java.util.Map;

/**
 * Why an action was taken: the record published on the events API and counted in metrics.
 *
 * @param policy  cpuFairness, memoryPressure, oomProtection, ioFairness, networkFairness or admission
 * @param action  what is done, e.g. set-cpu-quota, lift-cpu-quota, set-memory-high, kill
 * @param reason  the condition, e.g. contention, contention-over, pressure, parent-limit
 * @param inputs  the measurements that caused it (rates, thresholds, entitlements)
 * @param dryRun  decided but not applied
 */
public record Audit(long timeMillis, String policy, String container, String action, String reason,
                    String before, String after, Map<String, Object> inputs, boolean dryRun) {

    public Audit {
        inputs = Map.copyOf(inputs);
    }
}
