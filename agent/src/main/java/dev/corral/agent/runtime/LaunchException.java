package dev.corral.agent.runtime;

/** corral-shim could not start the container; the message is the shim's one-line reason. */
public final class LaunchException extends Exception {

    public LaunchException(String message) {
        super(message);
    }
}
