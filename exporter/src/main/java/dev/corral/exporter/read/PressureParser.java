package dev.corral.exporter.read;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.Pressure;

/**
 * PSI files (cpu/memory/io.pressure, /proc/pressure/*):
 * <pre>
 * some avg10=0.00 avg60=0.00 avg300=0.00 total=7004406
 * full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 * </pre>
 * Only the "total" (microseconds) is kept: averages are derivable from it and it is a proper counter.
 */
public final class PressureParser {

    private PressureParser() {
    }

    public static Pressure parse(byte[] b, int len) {
        long some = Absent.VALUE;
        long full = Absent.VALUE;
        int i = 0;
        while (i < len) {
            int end = Numbers.lineEnd(b, i, len);
            long total = totalOf(b, i, end);
            if (end - i > 4 && b[i] == 's') {
                some = total;
            } else if (end - i > 4 && b[i] == 'f') {
                full = total;
            }
            i = end + 1;
        }
        return new Pressure(some, full);
    }

    private static long totalOf(byte[] b, int from, int end) {
        for (int i = end - 1; i >= from + 5; i--) {
            if (b[i] == '=' && b[i - 1] == 'l' && b[i - 5] == 't') {
                return Numbers.parse(b, i + 1, Numbers.tokenEnd(b, i + 1, end));
            }
        }
        return Absent.VALUE;
    }
}
