package dev.corral.exporter.testing;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks that a CFS quota, and nothing else, held a busy loop over a measured window, from the kernel's own
 * counters. A fixed "usage ≈ quota" bound fails whenever the machine cannot give the loop even its quota (a
 * loaded CI host starving the emulated v2 guest gave a 0.2-core loop 0.08 cores); instead: the loop never got
 * more than the quota, the kernel throttled it, and in every throttled period it had run most of its quota (all but
 * the per-CPU slices the bandwidth timer may still hold), which is only true if the quota is what stopped it.
 */
public final class CpuQuotaCheck {

    private CpuQuotaCheck() {
    }

    /**
     * @param usedSeconds      CPU time the cgroup used in the window
     * @param wallSeconds      the window's length
     * @param throttledPeriods throttled periods in the window (delta of nr_throttled)
     * @param quotaCores       the quota, in cores (quota / period)
     * @param periodSeconds    the CFS period
     */
    public static void assertHeldToQuota(double usedSeconds, double wallSeconds, long throttledPeriods,
                                         double quotaCores, double periodSeconds) {
        String counters = String.format("used %.3f s in %.3f s, %d throttled periods, quota %.2f cores",
                usedSeconds, wallSeconds, throttledPeriods, quotaCores);
        assertThat(usedSeconds / wallSeconds).as("never above the quota: " + counters)
                .isLessThanOrEqualTo(quotaCores + 0.05);
        assertThat(throttledPeriods).as("the kernel throttled it: " + counters).isPositive();
        // Each CPU may still hold an unused 5 ms bandwidth slice when the pool runs dry: on 2 CPUs a 20 ms quota
        // is throttled after as little as 10 ms of use. Below 0.4 of it, something else held the loop back.
        assertThat(usedSeconds).as("most of a quota ran in each throttled period: " + counters)
                .isGreaterThanOrEqualTo(0.4 * throttledPeriods * quotaCores * periodSeconds);
    }
}
