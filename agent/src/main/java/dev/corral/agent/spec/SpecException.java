package dev.corral.agent.spec;

/** A container spec (or another request) is invalid; {@link #field()} names the offending field. */
public final class SpecException extends Exception {

    private final String field;

    public SpecException(String field, String message) {
        super(field == null ? message : field + ": " + message);
        this.field = field;
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
