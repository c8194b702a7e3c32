package dev.corral.exporter.read;

import dev.corral.exporter.sample.Absent;

/**
 * Whether a reader reads a cgroup's expensive files this cycle (memory.stat, PSI, blkio/io.stat, oom_control,
 * cpu.stat on v1: 6.3 µs of kernel time for memory.stat and 1.55 µs per PSI file here) or keeps their last
 * values. Every cycle the reader reads two cheap indicators (CPU usage and memory usage, 0.4 µs of kernel time
 * each); the expensive files are read when one of them moved since the last cycle, when the last full read
 * found work still in progress (see {@link #fullReadDone}), and once every {@link #SWEEP_CYCLES} cycles in any
 * case (the sweep, staggered by {@code phase} so that not every cgroup is swept on the same cycle).
 *
 * <p>Why the indicators suffice: what moves the expensive numbers is a task of the cgroup running (its CPU usage
 * moves; a stall ends in the task running, memory reclaim and OOM kills run in it or change its usage; a fork or
 * an exit runs in it), or the kernel working on its behalf while it does not run. The latter is followed by
 * {@code fullReadDone}: a PSI stall that lasts (a task blocked in IO for seconds) or IO in progress changes the
 * expensive numbers from one full read to the next, and dirty or writeback pages announce IO to come, so the
 * reads go on while they do. What no indicator shows, the kernel moving an idle cgroup's pages between its LRU
 * lists (its working set) or writeback starting for a cgroup idle since, is seen by the sweep within
 * {@link #SWEEP_CYCLES} cycles: the same bound as the limits of an active cgroup ({@link LimitsRefresh}). The
 * sweep reads only those files ({@link #light()}, 5 of 13 on v1) but every {@link #FULL_SWEEP_CYCLES} cycles.
 *
 * <p>{@code pids.current} is no indicator (it was, at a third of the indicators' reads): the process count changes
 * by a fork or an exit, which run in the cgroup and move its CPU usage, except when a sleeping task is moved in
 * by another cgroup's writer; that count is read with the expensive files and shows by the sweep at the latest.
 */
final class ChangeGate {

    static final int SWEEP_CYCLES = 10;
    /** Every this many cycles the sweep reads every file; the others are {@link #light()}. A multiple of 10. */
    static final int FULL_SWEEP_CYCLES = 60;

    private final int phase;
    private long cycle;
    private boolean first = true;
    private boolean pending;
    private long cpu;
    private long memory;
    private boolean moved;
    private boolean light;

    /** {@code phase}: any int; cgroups with different phases are swept on different cycles. */
    ChangeGate(int phase) {
        this.phase = Math.floorMod(phase, FULL_SWEEP_CYCLES);
    }

    /**
     * Records this cycle's indicators ({@link Absent#VALUE} where a file is missing or failed to read) and
     * returns true when the expensive files are to be read this cycle. Call once per cycle.
     */
    boolean due(long cpuUsage, long memoryUsage) {
        moved = first || cpuUsage != cpu || memoryUsage != memory;
        boolean blind = Absent.is(cpuUsage) && Absent.is(memoryUsage);
        long at = cycle++ + phase;
        boolean sweep = at % SWEEP_CYCLES == 0;
        boolean due = first || moved || blind || pending || sweep;
        light = !(first || moved || blind || pending) && at % FULL_SWEEP_CYCLES != 0;
        first = false;
        cpu = cpuUsage;
        memory = memoryUsage;
        return due;
    }

    /**
     * Whether the last {@link #due} was for a light sweep only: then the reader reads just what changes while the
     * cgroup's tasks neither run nor change its memory usage (memory.stat: the LRU lists and dirty pages;
     * pids.current: a task moved in; PSI: a task blocked in IO), and keeps the rest (CPU and throttling, IO
     * counters, OOM kills, peaks), which move only with an indicator or while {@link #fullReadDone} says work is in
     * progress. Every {@link #FULL_SWEEP_CYCLES} cycles the sweep reads everything, for what this reasoning missed.
     */
    boolean light() {
        return light;
    }

    /** Whether an indicator moved at the last {@link #due} (or it was the first): the cgroup is active. */
    boolean moved() {
        return moved;
    }

    /**
     * After a full read: {@code inProgress} when its expensive numbers differ from the previous full read's or
     * the kernel has work pending for the cgroup (dirty or writeback pages), so the next cycle reads them again.
     */
    void fullReadDone(boolean inProgress) {
        pending = inProgress;
    }

    /** Makes the next cycle a full read, e.g. when files appeared (a v2 controller enabled later). */
    void soon() {
        first = true;
    }
}
