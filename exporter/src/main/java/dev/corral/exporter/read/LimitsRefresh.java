package dev.corral.exporter.read;

/**
 * When a reader reads a cgroup's limits (the spec files) again. Limits change rarely (a container's update),
 * while its counters change all the time, so limits are read on the first cycle and then every
 * {@link #CYCLES} cycles, opened per read: at a 1 s interval a limit change shows within 10 s (cAdvisor
 * refreshes its spec less often still). It saves 7 of the 25 reads per cgroup and cycle on a v1 host, and 7
 * of its 28 kept-open files, which lets 1,000 cgroups fit a 20,000 open-file limit.
 */
final class LimitsRefresh {

    static final int CYCLES = 10;

    private int cycle;

    /** True on the first call and every {@link #CYCLES} calls after it. */
    boolean due() {
        return cycle++ % CYCLES == 0;
    }

    /** Makes the next {@link #due()} true, e.g. when files appeared (a v2 controller enabled later). */
    void soon() {
        cycle = 0;
    }
}
