package dev.corral.exporter.read;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.Limits;

/** Number parsing and scanning on raw bytes (the readers' and the web page's HostReader's). */
public final class Numbers {

    private Numbers() {
    }

    /**
     * Parses a decimal integer in {@code b[from, to)}; "max" is {@link Limits#UNLIMITED}; a leading '-' is
     * allowed (v1 cpu.cfs_quota_us is -1 when unlimited). Anything else is {@link Absent#VALUE}.
     */
    static long parse(byte[] b, int from, int to) {
        if (to - from == 3 && b[from] == 'm' && b[from + 1] == 'a' && b[from + 2] == 'x') {
            return Limits.UNLIMITED;
        }
        boolean negative = from < to && b[from] == '-';
        int i = negative ? from + 1 : from;
        if (i >= to) {
            return Absent.VALUE;
        }
        long v = 0;
        for (; i < to; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return Absent.VALUE;
            }
            v = v * 10 + d;
        }
        return negative ? -v : v;
    }

    public static int skipSpaces(byte[] b, int i, int len) {
        while (i < len && (b[i] == ' ' || b[i] == '\t')) {
            i++;
        }
        return i;
    }

    public static int tokenEnd(byte[] b, int i, int len) {
        while (i < len && b[i] != ' ' && b[i] != '\t' && b[i] != '\n') {
            i++;
        }
        return i;
    }

    public static int lineEnd(byte[] b, int i, int len) {
        while (i < len && b[i] != '\n') {
            i++;
        }
        return i;
    }
}
