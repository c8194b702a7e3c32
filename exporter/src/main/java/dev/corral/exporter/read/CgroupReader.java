package dev.corral.exporter.read;

import dev.corral.exporter.sample.CgroupSample;
import java.io.Closeable;

/** Reads one cgroup's accounting files, kept open between cycles. Used by one thread at a time. */
public interface CgroupReader extends Closeable {

    String path();

    /**
     * Reads every file once. Returns null when the cgroup is gone. A controller whose files fail to read while
     * the cgroup still exists is reported through {@code errors} and left out of the sample.
     */
    CgroupSample read(ReadBuffer buffer, long nowMillis, ReadErrors errors);

    /** Opens files that did not exist before (a v2 controller enabled later, for example). */
    void reopenMissing();

    /**
     * True when a controller directory of the cgroup that was missing when this reader was opened exists now: the
     * cgroup was found while its runtime was still making it (one hierarchy at a time on v1), and a reader opened
     * again reads what this one never would (its cpuacct usage, its cpuset).
     */
    default boolean halfMade() {
        return false;
    }

    /** Reads the limits on the next {@link #read} instead of when {@link LimitsRefresh} next would. */
    void readLimitsSoon();

    @Override
    void close();
}
