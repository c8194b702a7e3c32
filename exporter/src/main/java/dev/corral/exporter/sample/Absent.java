package dev.corral.exporter.sample;

/**
 * Sample fields are primitive longs so a collection cycle allocates little; {@link #VALUE} marks a value the
 * kernel did not provide (missing controller or file). It is never exported as 0.
 */
public final class Absent {

    public static final long VALUE = -1;

    private Absent() {
    }

    public static boolean is(long value) {
        return value == VALUE;
    }
}
