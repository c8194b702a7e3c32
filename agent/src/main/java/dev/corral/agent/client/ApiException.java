package dev.corral.agent.client;

/**
 * A failure the daemon reported: an HTTP status of 400 or more with its JSON body {@code {"error","field"}}.
 * The message is what the CLI prints after "corral: ": {@code <field>: <error>}, or the error alone.
 */
public final class ApiException extends Exception {

    private final int status;
    private final String error;
    private final String field;
    private final Integer exitCode;

    public ApiException(int status, String error, String field) {
        this(status, error, field, null);
    }

    /** @param exitCode what the daemon says the failure stands for: docker run's 127 or 126 for a failed start */
    public ApiException(int status, String error, String field, Integer exitCode) {
        super(field == null || field.isEmpty() ? error : field + ": " + error);
        this.status = status;
        this.error = error;
        this.field = field;
        this.exitCode = exitCode;
    }

    /** The exit code the daemon gave the failure (a command not found: 127, not runnable: 126), or null. */
    public Integer exitCode() {
        return exitCode;
    }

    public int status() {
        return status;
    }

    public String error() {
        return error;
    }

    /** The request field at fault, or null. */
    public String field() {
        return field;
    }
}
