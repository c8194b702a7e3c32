package dev.corral.exporter.read;

import dev.corral.exporter.sample.Absent;
import java.util.Arrays;

/**
 * "key value" lines, the format of cpu.stat, memory.stat, memory.events, cpuacct.stat and
 * memory.oom_control. Example (v2 cpu.stat):
 * <pre>
 * usage_usec 13484
 * nr_throttled 2
 * </pre>
 */
public final class FlatKeyedParser {

    private FlatKeyedParser() {
    }

    /** Fills {@code out[k]} with the value of key k of the table; keys not in the file stay absent. */
    public static void parse(byte[] b, int len, KeyTable keys, long[] out) {
        Arrays.fill(out, 0, keys.size(), Absent.VALUE);
        int i = 0;
        while (i < len) {
            int keyEnd = Numbers.tokenEnd(b, i, len);
            int end = Numbers.lineEnd(b, keyEnd, len);
            int k = keys.indexOf(b, i, keyEnd);
            if (k >= 0) {
                int v = Numbers.skipSpaces(b, keyEnd, end);
                out[k] = Numbers.parse(b, v, Numbers.tokenEnd(b, v, end));
            }
            i = end + 1;
        }
    }
}
