package dev.corral.agent.runtime;

/**
 * Lifecycle states. CREATING and STARTING are written before the step they name, so a crash in the middle
 * is recognised on restart and cleaned up or re-adopted.
 */
public enum ContainerState {
    CREATING, CREATED, STARTING, RUNNING, PAUSED, EXITED;

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
