package dev.corral.exporter.read;

import dev.corral.exporter.sample.NetInterface;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses {@code /proc/<pid>/net/dev}: two header lines, then per interface {@code name: } and 16 counters
 * (receive bytes packets errs drop fifo frame compressed multicast, transmit bytes packets errs drop fifo colls
 * carrier compressed). {@code lo} is left out, as cAdvisor leaves it out: it is the container's own traffic.
 */
public final class NetDevParser {

    private static final int FIELDS = 16;

    private NetDevParser() {
    }

    public static List<NetInterface> parse(byte[] b, int len) {
        List<NetInterface> out = new ArrayList<>(2);
        long[] v = new long[FIELDS];
        int i = 0;
        int line = 0;
        while (i < len) {
            int end = Numbers.lineEnd(b, i, len);
            if (line++ >= 2) {
                int colon = i;
                while (colon < end && b[colon] != ':') {
                    colon++;
                }
                int nameFrom = Numbers.skipSpaces(b, i, colon);
                if (colon < end && !(colon - nameFrom == 2 && b[nameFrom] == 'l' && b[nameFrom + 1] == 'o')
                        && fields(b, colon + 1, end, v)) {
                    String name = new String(b, nameFrom, colon - nameFrom, java.nio.charset.StandardCharsets.US_ASCII);
                    out.add(new NetInterface(name, v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]));
                }
            }
            i = end + 1;
        }
        return out;
    }

    private static boolean fields(byte[] b, int i, int end, long[] v) {
        for (int f = 0; f < FIELDS; f++) {
            i = Numbers.skipSpaces(b, i, end);
            int to = Numbers.tokenEnd(b, i, end);
            v[f] = Numbers.parse(b, i, to);
            if (v[f] < 0) {
                return false;
            }
            i = to;
        }
        return true;
    }
}
