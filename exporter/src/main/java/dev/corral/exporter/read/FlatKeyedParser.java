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

    /**
     * Fills {@code out[k]} with the value of key k of the table; keys not in the file stay absent. Lines that
     * cannot hold a key (their first byte starts none) are skipped unread, and parsing stops once every key is
     * found: memory.stat has some 70 lines for the five the collector wants.
     */
    public static void parse(byte[] b, int len, KeyTable keys, long[] out) {
        int wanted = keys.size();
        Arrays.fill(out, 0, wanted, Absent.VALUE);
        int found = 0;
        int i = 0;
        while (i < len && found < wanted) {
            if (keys.mayStartWith(b[i])) {
                int keyEnd = Numbers.tokenEnd(b, i, len);
                int k = keys.indexOf(b, i, keyEnd);
                i = keyEnd;
                if (k >= 0) {
                    int v = Numbers.skipSpaces(b, keyEnd, len);
                    i = Numbers.tokenEnd(b, v, len);
                    if (Absent.is(out[k])) {
                        found++;
                    }
                    out[k] = Numbers.parse(b, v, i);
                }
            }
            i = Numbers.lineEnd(b, i, len) + 1;
        }
    }
}
