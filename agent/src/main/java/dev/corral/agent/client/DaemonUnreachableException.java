package dev.corral.agent.client;

/** The daemon's socket or port could not be connected to (the CLI exits 125, as docker does). */
public final class DaemonUnreachableException extends Exception {

    public DaemonUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
