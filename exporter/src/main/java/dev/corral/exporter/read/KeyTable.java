package dev.corral.exporter.read;

import java.nio.charset.StandardCharsets;

/** A fixed set of keys a parser looks for, matched against raw bytes without making strings. */
public final class KeyTable {

    private final byte[][] keys;
    private final boolean[] firstBytes = new boolean[256];

    public KeyTable(String... keys) {
        this.keys = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++) {
            this.keys[i] = keys[i].getBytes(StandardCharsets.US_ASCII);
            if (this.keys[i].length > 0) {
                firstBytes[this.keys[i][0] & 0xff] = true;
            }
        }
    }

    public int size() {
        return keys.length;
    }

    /** Whether some key starts with this byte. */
    public boolean mayStartWith(byte b) {
        return firstBytes[b & 0xff];
    }

    /** Index of the key equal to {@code b[from, to)}, or -1. */
    public int indexOf(byte[] b, int from, int to) {
        int len = to - from;
        outer:
        for (int k = 0; k < keys.length; k++) {
            byte[] key = keys[k];
            if (key.length != len) {
                continue;
            }
            for (int i = 0; i < len; i++) {
                if (key[i] != b[from + i]) {
                    continue outer;
                }
            }
            return k;
        }
        return -1;
    }
}
