package dev.corral.agent.runtime;

/**
 * Lifecycle states. CREATING and STARTING are written before the step they name, so a crash in the middle
 * is recognised on restart and cleaned up or re-adopted. QUEUED: a start admission control could not admit yet;
 * it has a cgroup but no process, and starts by itself once it fits (or goes back to CREATED when refused).
 */
public enum ContainerState {
    CREATING, CREATED, QUEUED, STARTING, RUNNING, PAUSED, EXITED;

    public boolean isLive() {
        return this == RUNNING || this == PAUSED || this == STARTING;
    }

    @com.fasterxml.jackson.annotation.JsonValue
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    @com.fasterxml.jackson.annotation.JsonCreator
    public static ContainerState of(String label) {
        return valueOf(label.toUpperCase(java.util.Locale.ROOT));
    }
}
