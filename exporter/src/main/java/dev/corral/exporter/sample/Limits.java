package dev.corral.exporter.sample;

/** Conventions for limit values. */
public final class Limits {

    /** "max" in v2, -1 or the page-rounded LONG_MAX in v1. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    /** v1 memory limits at or above this are "unlimited" (the kernel reports PAGE_COUNTER_MAX * page size). */
    private static final long V1_UNLIMITED_THRESHOLD = 1L << 62;

    private Limits() {
    }

    public static long normalizeV1Memory(long bytes) {
        return bytes >= V1_UNLIMITED_THRESHOLD ? UNLIMITED : bytes;
    }

    public static boolean isUnlimited(long value) {
        return value == UNLIMITED;
    }
}
