package dev.corral.exporter.read;

import dev.corral.exporter.sample.BlkioDevice;
import java.util.ArrayList;
import java.util.List;

/**
 * v2 io.stat, one line per device with nested keys:
 * <pre>254:0 rbytes=1310720 wbytes=4096 rios=24 wios=1 dbytes=0 dios=0</pre>
 */
public final class IoStatParser {

    private static final KeyTable KEYS = new KeyTable("rbytes", "wbytes", "rios", "wios");

    private IoStatParser() {
    }

    public static List<BlkioDevice> parse(byte[] b, int len) {
        List<BlkioDevice> devices = new ArrayList<>(2);
        long[] v = new long[4];
        int i = 0;
        while (i < len) {
            int end = Numbers.lineEnd(b, i, len);
            int devEnd = Numbers.tokenEnd(b, i, end);
            int colon = indexOf(b, i, devEnd, (byte) ':');
            if (colon > 0) {
                v[0] = v[1] = v[2] = v[3] = 0;
                int p = Numbers.skipSpaces(b, devEnd, end);
                while (p < end) {
                    int tokEnd = Numbers.tokenEnd(b, p, end);
                    int eq = indexOf(b, p, tokEnd, (byte) '=');
                    if (eq > 0) {
                        int k = KEYS.indexOf(b, p, eq);
                        if (k >= 0) {
                            v[k] = Numbers.parse(b, eq + 1, tokEnd);
                        }
                    }
                    p = Numbers.skipSpaces(b, tokEnd, end);
                }
                devices.add(new BlkioDevice((int) Numbers.parse(b, i, colon), (int) Numbers.parse(b, colon + 1, devEnd),
                        v[0], v[1], v[2], v[3]));
            }
            i = end + 1;
        }
        return devices;
    }

    static int indexOf(byte[] b, int from, int to, byte c) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }
}
