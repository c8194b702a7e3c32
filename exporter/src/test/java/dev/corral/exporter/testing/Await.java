package dev.corral.exporter.testing;

import java.time.Duration;

/**
 * Polls a condition until it holds or a deadline passes, then fails naming what was awaited: the one place for the
 * "loop until deadline" tests need (not Awaitility: this is all they use, and a dependency for 30 lines does not pay).
 */
public final class Await {

    /** A condition that may throw (reading a file, scraping /metrics). */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    private static final long POLL_MILLIS = 50;

    private Await() {
    }

    /** Returns as soon as {@code condition} holds; throws AssertionError with {@code description} after timeout. */
    public static void await(Condition condition, Duration timeout, String description) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + description);
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}
