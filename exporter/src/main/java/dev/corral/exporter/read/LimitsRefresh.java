package dev.corral.exporter.read;

/**
 * When a reader reads a cgroup's limits (the spec files) again. Limits change rarely (a container's update),
 * while its counters change all the time, so limits are read on the first cycle and then, opened per read,
 * every {@link #CYCLES} cycles while the cgroup is active (a change indicator moved since the last read) and every
 * {@link #IDLE_CYCLES} cycles while it is idle, staggered by {@code phase}. At a 1 s interval a limit change
 * shows within 10 s on a cgroup that runs and within a minute on one whose tasks stand still (cAdvisor
 * refreshes its spec less often still); the agent's own changes show at the next cycle ({@link #soon()}).
 *
 * <p>Why idle cgroups wait longer: an open, read and close of a limit file costs about 7 µs of kernel time here, so
 * seven limit files every 10 cycles cost an idle cgroup as much as its change indicators read every cycle (the
 * bulk of a host's cgroups are idle). A limit that matters to a policy is that of a cgroup whose usage moves:
 * a parent's usage moves with any of its children's (the counters are hierarchical), so it stays at 10 cycles.
 * Kept open instead, the 7 files would not fit 1,000 cgroups in a 20,000 open-file limit.
 */
final class LimitsRefresh {

    static final int CYCLES = 10;
    static final int IDLE_CYCLES = 60;

    private final int phase;
    private long cycle;
    private int since;
    private boolean first = true;
    private boolean active;
    private boolean idleTurn;

    /** {@code phase}: any int; idle cgroups with different phases read their limits on different cycles. */
    LimitsRefresh(int phase) {
        this.phase = Math.floorMod(phase, IDLE_CYCLES);
    }

    /**
     * Call once per cycle with whether the cgroup's change indicators moved this cycle: true when its limits are
     * to be read now. Never two reads fewer than {@link #CYCLES} cycles apart (but after {@link #soon()}); at most
     * {@link #IDLE_CYCLES} apart.
     */
    boolean due(boolean moved) {
        active |= moved;
        since++;
        if ((cycle++ + phase) % IDLE_CYCLES == 0) {
            idleTurn = true; // taken at the first cycle that is CYCLES after the last read
        }
        boolean due = first || (since >= CYCLES && (active || idleTurn));
        if (due) {
            first = false;
            active = false;
            idleTurn = false;
            since = 0;
        }
        return due;
    }

    /** Makes the next {@link #due} true, e.g. when files appeared (a v2 controller enabled later). */
    void soon() {
        first = true;
    }
}
