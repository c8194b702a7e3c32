package dev.corral.agent.image;

/** An archive the store refuses: unreadable, inconsistent, or hostile. The message says which entry and why. */
public final class BadArchiveException extends Exception {

    public BadArchiveException(String message) {
        super(message);
    }
}
