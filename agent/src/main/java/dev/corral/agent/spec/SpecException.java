package dev.corral.agent.spec;

/** A container spec (or another request) is invalid; {@link #field()} names the offending field. */
public final class SpecException extends Exception {

    private final String field;
    private final Integer exitCode;

    public SpecException(String field, String message) {
        this(field, message, null);
    }

    /** @param exitCode for a command that could not start: 127 not found, 126 not runnable (docker run's codes) */
    public SpecException(String field, String message, Integer exitCode) {
        super(field == null ? message : field + ": " + message);
        this.field = field;
        this.exitCode = exitCode;
    }

    /** The exit code the failure stands for (a command that could not start), or null. */
    public Integer exitCode() {
        return exitCode;
    }

    /** A dotted path such as "limits.memory.max", or null when the whole input is at fault. */
    public String field() {
        return field;
    }

    /** The message without the field prefix. */
    public String problem() {
        String m = getMessage();
        return field == null ? m : m.substring(field.length() + 2);
    }
}
