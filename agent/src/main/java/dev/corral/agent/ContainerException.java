package dev.corral.agent;

/** A lifecycle request that cannot be done; {@link #kind()} says why (and so which HTTP status fits). */
public final class ContainerException extends Exception {

    public enum Kind { NOT_FOUND, CONFLICT, FAILED }

    private final Kind kind;

    public ContainerException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ContainerException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static ContainerException notFound(String name) {
        return new ContainerException(Kind.NOT_FOUND, "no container named '" + name + "'");
    }
}
