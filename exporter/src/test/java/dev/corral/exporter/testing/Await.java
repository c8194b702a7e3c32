package dev.corral.exporter.testing;

import java.time.Duration;
import java.util.function.Predicate;

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

    /** A value read again on every poll (a scrape, a file, a list of events). */
    @FunctionalInterface
    public interface Probe<T> {
        T get() throws Exception;
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

    /**
     * Reads {@code probe} until {@code done} accepts its value and returns that value; after timeout throws
     * AssertionError naming {@code description} and the last value read.
     */
    public static <T> T awaitValue(Probe<T> probe, Predicate<? super T> done, Duration timeout, String description)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T value = probe.get();
            if (done.test(value)) {
                return value;
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + description
                        + "; last value: " + value);
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}
