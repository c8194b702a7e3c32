package dev.corral.agent.runtime;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.corral.agent.spec.ContainerSpec;

/**
 * What the state dir keeps about one container (container.json). Immutable; changes make a new record.
 *
 * @param cgroup            its cgroup path, {@code <parent>/<leaf>}: fixed when it is made (the leaf is its name then,
 *                          or its id when a renamed container holds that leaf) and kept through renames
 * @param initPid           host pid of the container's init (PID 1 inside)
 * @param monitorPid        host pid of the corral-shim monitor that waits for it and writes exit.json
 * @param monitorStartTicks the monitor's start time (/proc/PID/stat field 22), so a reused pid is not mistaken
 *                          for it after a restart
 * @param exitCode          the command's exit code, 128+signal when killed by a signal
 * @param error             why it exited abnormally, or why admission control refused its start
 * @param queuedAtMillis    while QUEUED: when it joined the admission queue
 * @param queueDeadlineMillis while QUEUED: when it is refused if still not admitted
 * @param queueReason       while QUEUED: why it waits (names the resource, e.g. "guaranteed memory")
 * @param autoRemove        true: removed by the daemon once it exits or fails to start (docker run --rm), also
 *                          when that happens while the daemon is down
 * @param restartCount      how often its restart policy started it again since the user last started it (null: 0)
 * @param stoppedByUser     true once a stop asked it to end: its restart policy leaves it alone (Docker's
 *                          "manually stopped"); a start clears it
 * @param renamedFrom       the container's first name when it was renamed since (its id is derived from it), else null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ContainerRecord(String name, ContainerSpec spec, ContainerState state, String cgroup,
                              long createdAtMillis, Long startedAtMillis, Long finishedAtMillis, Long initPid,
                              Long monitorPid, Long monitorStartTicks, Integer exitCode, Integer signal,
                              Boolean oomKilled, String error, Long queuedAtMillis, Long queueDeadlineMillis,
                              String queueReason, Boolean autoRemove, Integer restartCount,
                              Boolean stoppedByUser, String renamedFrom) {

    public ContainerRecord(String name, ContainerSpec spec, ContainerState state, String cgroup, long createdAtMillis,
                           Long startedAtMillis, Long finishedAtMillis, Long initPid, Long monitorPid,
                           Long monitorStartTicks, Integer exitCode, Integer signal, Boolean oomKilled, String error,
                           Long queuedAtMillis, Long queueDeadlineMillis, String queueReason) {
        this(name, spec, state, cgroup, createdAtMillis, startedAtMillis, finishedAtMillis, initPid, monitorPid,
                monitorStartTicks, exitCode, signal, oomKilled, error, queuedAtMillis, queueDeadlineMillis, queueReason,
                null, null, null, null);
    }

    /** A new record (CREATING), with no history. */
    static ContainerRecord creating(String name, ContainerSpec spec, String cgroup, long at, boolean autoRemove) {
        return new ContainerRecord(name, spec, ContainerState.CREATING, cgroup, at, null, null, null, null, null,
                null, null, null, null, null, null, null, autoRemove ? Boolean.TRUE : null, null, null, null);
    }

    /** The policy's restarts so far. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public int restarts() {
        return restartCount == null ? 0 : restartCount;
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean stopped() {
        return Boolean.TRUE.equals(stoppedByUser);
    }

    /** Marked as stopped by the user (or, false, started by the user: the restart count begins again). */
    public ContainerRecord withStoppedByUser(boolean stopped) {
        return new ContainerRecord(name, spec, state, cgroup, createdAtMillis, startedAtMillis, finishedAtMillis,
                initPid, monitorPid, monitorStartTicks, exitCode, signal, oomKilled, error, queuedAtMillis,
                queueDeadlineMillis, queueReason, autoRemove, stopped ? restartCount : null, stopped ? Boolean.TRUE : null, renamedFrom);
    }

    /** Started again by its restart policy: one more restart, and (at the agent's start) no longer stopped. */
    public ContainerRecord restarted() {
        return new ContainerRecord(name, spec, state, cgroup, createdAtMillis, startedAtMillis, finishedAtMillis,
                initPid, monitorPid, monitorStartTicks, exitCode, signal, oomKilled, error, queuedAtMillis,
                queueDeadlineMillis, queueReason, autoRemove, restarts() + 1, null, renamedFrom);
    }

    /**
     * A container id as docker shows one (64 hex digits, ps shows 12): the SHA-256 of the name and the creation time,
     * so it is the same for the container's whole life and differs for a later container of the same name. Derived,
     * not stored: container.json is unchanged and a stored "id" is ignored when read.
     */
    @com.fasterxml.jackson.annotation.JsonProperty(value = "id",
            access = com.fasterxml.jackson.annotation.JsonProperty.Access.READ_ONLY)
    public String id() {
        return idOf(renamedFrom != null ? renamedFrom : name, createdAtMillis);
    }

    /** The id of a container first named {@code firstName}, created at {@code createdAtMillis}: see {@link #id}. */
    static String idOf(String firstName, long createdAtMillis) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest((firstName + "\n" + createdAtMillis)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    /**
     * Renamed (corral rename): the new name; the cgroup stays (its leaf is fixed at creation) and the id stays the one
     * derived from the first name, as Docker's id does not change with a rename.
     */
    public ContainerRecord renamed(String newName) {
        return new ContainerRecord(newName, spec == null ? null : spec.withName(newName), state, cgroup,
                createdAtMillis, startedAtMillis, finishedAtMillis, initPid, monitorPid, monitorStartTicks, exitCode,
                signal, oomKilled, error, queuedAtMillis, queueDeadlineMillis, queueReason, autoRemove, restartCount,
                stoppedByUser, renamedFrom != null ? renamedFrom : name);
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean removedAtExit() {
        return Boolean.TRUE.equals(autoRemove);
    }

    public ContainerRecord withState(ContainerState s) {
        return new ContainerRecord(name, spec, s, cgroup, createdAtMillis, startedAtMillis, finishedAtMillis,
                initPid, monitorPid, monitorStartTicks, exitCode, signal, oomKilled, error, queuedAtMillis,
                queueDeadlineMillis, queueReason, autoRemove, restartCount, stoppedByUser, renamedFrom);
    }

    /** The same record with a changed spec (updated limits). */
    public ContainerRecord withSpec(ContainerSpec changed) {
        return new ContainerRecord(name, changed, state, cgroup, createdAtMillis, startedAtMillis, finishedAtMillis,
                initPid, monitorPid, monitorStartTicks, exitCode, signal, oomKilled, error, queuedAtMillis,
                queueDeadlineMillis, queueReason, autoRemove, restartCount, stoppedByUser, renamedFrom);
    }

    /** Waiting in the admission queue; what it last ran (exit code, times) is kept. */
    public ContainerRecord queued(long at, long deadline, String reason) {
        return new ContainerRecord(name, spec, ContainerState.QUEUED, cgroup, createdAtMillis, startedAtMillis,
                finishedAtMillis, null, null, null, exitCode, signal, oomKilled, null, at, deadline, reason, autoRemove,
                restartCount, stoppedByUser, renamedFrom);
    }

    /** Refused by admission control after waiting in the queue, or taken out of it: created again. */
    public ContainerRecord dequeued(String why) {
        return new ContainerRecord(name, spec, ContainerState.CREATED, cgroup, createdAtMillis, startedAtMillis,
                finishedAtMillis, null, null, null, exitCode, signal, oomKilled, why, null, null, null, autoRemove,
                restartCount, stoppedByUser, renamedFrom);
    }

    public ContainerRecord started(long at, long init, long monitor, long monitorTicks) {
        return new ContainerRecord(name, spec, ContainerState.RUNNING, cgroup, createdAtMillis, at, null, init,
                monitor, monitorTicks, null, null, null, null, null, null, null, autoRemove, restartCount, stoppedByUser, renamedFrom);
    }

    public ContainerRecord starting() {
        return new ContainerRecord(name, spec, ContainerState.STARTING, cgroup, createdAtMillis, null, null, null,
                null, null, null, null, null, null, null, null, null, autoRemove, restartCount, stoppedByUser, renamedFrom);
    }

    public ContainerRecord exited(long at, Integer code, Integer sig, boolean oom, String why) {
        return new ContainerRecord(name, spec, ContainerState.EXITED, cgroup, createdAtMillis, startedAtMillis, at,
                initPid, monitorPid, monitorStartTicks, code, sig, oom, why, null, null, null, autoRemove, restartCount,
                stoppedByUser, renamedFrom);
    }
}
