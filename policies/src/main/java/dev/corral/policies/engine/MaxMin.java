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
}
