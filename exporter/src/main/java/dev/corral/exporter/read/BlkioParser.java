package dev.corral.exporter.read;

import dev.corral.exporter.sample.BlkioDevice;
import java.util.ArrayList;
import java.util.List;

/**
 * v1 blkio statistics, one file for bytes and one for operations, each with lines like
 * <pre>
 * 254:0 Read 1310720
 * 254:0 Write 5242880
 * 254:0 Sync 6553600
 * 254:0 Async 0
 * 254:0 Discard 0
 * 254:0 Total 6553600
 * Total 6553600
 * </pre>
 */
public final class BlkioParser {

    private static final KeyTable OPS = new KeyTable("Read", "Write");

    private BlkioParser() {
    }

    /** Per-device [major, minor, read, write] from one file. */
    public static List<long[]> parseFile(byte[] b, int len) {
        List<long[]> rows = new ArrayList<>(2);
        int i = 0;
        while (i < len) {
            int end = Numbers.lineEnd(b, i, len);
            int devEnd = Numbers.tokenEnd(b, i, end);
            int colon = IoStatParser.indexOf(b, i, devEnd, (byte) ':');
            if (colon > 0) {
                int opStart = Numbers.skipSpaces(b, devEnd, end);
                int opEnd = Numbers.tokenEnd(b, opStart, end);
                int op = OPS.indexOf(b, opStart, opEnd);
                if (op >= 0) {
                    long major = Numbers.parse(b, i, colon);
                    long minor = Numbers.parse(b, colon + 1, devEnd);
                    int valueStart = Numbers.skipSpaces(b, opEnd, end);
                    long value = Numbers.parse(b, valueStart, Numbers.tokenEnd(b, valueStart, end));
                    long[] row = rowFor(rows, major, minor);
                    row[2 + op] = value;
                }
            }
            i = end + 1;
        }
        return rows;
    }

    /** Joins the bytes and operations files into devices (a device missing from one reads 0 there). */
    public static List<BlkioDevice> join(List<long[]> bytes, List<long[]> ops) {
        List<BlkioDevice> out = new ArrayList<>(bytes.size());
        for (long[] b : bytes) {
            long[] o = find(ops, b[0], b[1]);
            out.add(new BlkioDevice((int) b[0], (int) b[1], b[2], b[3], o == null ? 0 : o[2], o == null ? 0 : o[3]));
        }
        for (long[] o : ops) {
            if (find(bytes, o[0], o[1]) == null) {
                out.add(new BlkioDevice((int) o[0], (int) o[1], 0, 0, o[2], o[3]));
            }
        }
        return out;
    }

    private static long[] rowFor(List<long[]> rows, long major, long minor) {
        long[] row = find(rows, major, minor);
        if (row == null) {
            row = new long[] {major, minor, 0, 0};
            rows.add(row);
        }
        return row;
    }

    private static long[] find(List<long[]> rows, long major, long minor) {
        for (long[] r : rows) {
            if (r[0] == major && r[1] == minor) {
                return r;
            }
        }
        return null;
    }
}
