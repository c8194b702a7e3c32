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

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
