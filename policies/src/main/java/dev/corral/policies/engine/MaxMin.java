package dev.corral.policies.engine;

/**
 * Weighted max-min fair shares (water filling): a demand below its weighted share is met in full, and what it
 * leaves is shared among the others by weight. Work-conserving: the shares sum to min(capacity, Σ demands).
 */
public final class MaxMin {

    private MaxMin() {
    }

    /** @param demands ≥ 0, {@link Double#POSITIVE_INFINITY} for "as much as it can get"; weights > 0 */
    public static double[] shares(double capacity, double[] demands, double[] weights) {
        int n = demands.length;
        double[] alloc = new double[n];
        boolean[] done = new boolean[n];
        double remaining = Math.max(0, capacity);
        int left = n;
        while (left > 0 && remaining > 0) {
            double weightSum = 0;
            for (int i = 0; i < n; i++) {
                if (!done[i]) {
                    weightSum += weights[i];
                }
            }
            double perWeight = remaining / weightSum;
            boolean anySatisfied = false;
            for (int i = 0; i < n; i++) {
                if (!done[i] && demands[i] <= weights[i] * perWeight) {
                    alloc[i] = demands[i];
                    remaining -= demands[i];
                    done[i] = true;
                    left--;
                    anySatisfied = true;
                }
            }
            if (!anySatisfied) {
                for (int i = 0; i < n; i++) {
                    if (!done[i]) {
                        alloc[i] = weights[i] * perWeight;
                    }
                }
                return alloc;
            }
        }
        return alloc;
    }
    /**
     * Weighted max-min fair shares under several capacities, each shared by a group of claimants (e.g. the
     * containers whose cpusets lie within a set of CPUs can together use no more than its CPUs): progressive
     * filling, every claimant's share growing with its weight until its demand is met or a group it belongs to
     * is full. A claimant in no group is bounded by its demand alone.
     *
     * @param groups  each an array of claimant indices
     * @param caps    each group's capacity, ≥ 0
     */
    public static double[] shares(double[] demands, double[] weights, int[][] groups, double[] caps) {
        int n = demands.length;
        double[] alloc = new double[n];
        boolean[] done = new boolean[n];
        int left = n;
        while (left > 0) {
            // the level t (share per unit of weight) at which the next claimant or group stops
            double t = Double.POSITIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                if (!done[i]) {
                    t = Math.min(t, demands[i] / weights[i]);
                }
            }
            for (int g = 0; g < groups.length; g++) {
                double fixed = 0, growing = 0;
                for (int i : groups[g]) {
                    if (done[i]) {
                        fixed += alloc[i];
                    } else {
                        growing += weights[i];
                    }
                }
                if (growing > 0) {
                    t = Math.min(t, Math.max(0, caps[g] - fixed) / growing);
                }
            }
            if (Double.isInfinite(t)) { // unbounded demands in no group: nothing to share
                for (int i = 0; i < n; i++) {
                    if (!done[i]) {
                        alloc[i] = Double.POSITIVE_INFINITY;
                    }
                }
                return alloc;
            }
            for (int i = 0; i < n; i++) {
                if (!done[i]) {
                    alloc[i] = weights[i] * t;
                }
            }
            int before = left;
            for (int i = 0; i < n; i++) {
                if (!done[i] && demands[i] <= weights[i] * t * (1 + 1e-12)) {
                    alloc[i] = demands[i];
                    done[i] = true;
                    left--;
                }
            }
            for (int g = 0; g < groups.length; g++) {
                double sum = 0;
                for (int i : groups[g]) {
                    sum += alloc[i];
                }
                if (sum >= caps[g] * (1 - 1e-12) - 1e-12) {
                    for (int i : groups[g]) {
                        if (!done[i]) {
                            done[i] = true;
                            left--;
                        }
                    }
                }
            }
            if (left == before) { // rounding: stop where we are rather than loop
                break;
            }
        }
        return alloc;
    }
}
