package dev.corral.exporter.read;

import dev.corral.exporter.sample.Absent;

/** Single-value files such as memory.current ("4096"), pids.max ("max") and v2 cpu.max ("max 100000"). */
public final class ValueParser {

    private ValueParser() {
    }

    /** The first token as a number: "max" is unlimited, an empty or malformed file absent. */
    public static long first(byte[] b, int len) {
        int from = Numbers.skipSpaces(b, 0, len);
        return from >= len ? Absent.VALUE : Numbers.parse(b, from, Numbers.tokenEnd(b, from, len));
    }

    /** The second token, e.g. the period of cpu.max "50000 100000". */
    public static long second(byte[] b, int len) {
        int from = Numbers.skipSpaces(b, 0, len);
        int next = Numbers.skipSpaces(b, Numbers.tokenEnd(b, from, len), len);
        return next >= len ? Absent.VALUE : Numbers.parse(b, next, Numbers.tokenEnd(b, next, len));
    }
}
