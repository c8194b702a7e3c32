package dev.corral.agent.client;

/**
 * A failure the daemon reported: an HTTP status of 400 or more with its JSON body {@code {"error","field"}}.
 * The message is what the CLI prints after "corral: ": {@code <field>: <error>}, or the error alone.
 */
public final class ApiException extends Exception {

    private final int status;
    private final String error;
    private final String field;

    public ApiException(int status, String error, String field) {
        super(field == null || field.isEmpty() ? error : field + ": " + error);
        this.status = status;
        this.error = error;
        this.field = field;
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
