package dev.corral.exporter.sample;

import java.util.Arrays;

/**
 * A set of CPU numbers as the kernel lists them in cpuset files ("0-3,6,8-9"; an empty file is the empty set).
 * Immutable. The policies bound what a container can use by the CPUs it may run on.
 */
public final class CpuSet {

    public static final CpuSet EMPTY = new CpuSet(new long[0]);

    private final long[] words;

    private CpuSet(long[] words) {
        int n = words.length;
        while (n > 0 && words[n - 1] == 0) {
            n--;
        }
        this.words = n == words.length ? words : Arrays.copyOf(words, n);
    }

    /** CPUs 0 to n - 1. */
    public static CpuSet firstN(int n) {
        long[] w = new long[(n + 63) / 64];
        for (int cpu = 0; cpu < n; cpu++) {
            w[cpu >> 6] |= 1L << cpu;
        }
        return new CpuSet(w);
    }

    public static CpuSet parse(String list) {
        byte[] b = list.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return parse(b, b.length);
    }

    /**
     * Parses a kernel cpu list; null if it is not one (the caller treats the set as unknown rather than guess).
     * Trailing whitespace (the file's newline) is allowed.
     */
    public static CpuSet parse(byte[] b, int len) {
        while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == ' ')) {
            len--;
        }
        long[] w = new long[1];
        int i = 0;
        while (i < len) {
            int[] at = {i};
            long lo = number(b, len, at);
            long hi = lo;
            if (at[0] < len && b[at[0]] == '-') {
                at[0]++;
                hi = number(b, len, at);
            }
            if (lo < 0 || hi < lo || hi >= 1 << 16) {
                return null;
            }
            if (hi >> 6 >= w.length) {
                w = Arrays.copyOf(w, (int) (hi >> 6) + 1);
            }
            for (long cpu = lo; cpu <= hi; cpu++) {
                w[(int) (cpu >> 6)] |= 1L << cpu;
            }
            i = at[0];
            if (i < len) {
                if (b[i] != ',' || i == len - 1) {
                    return null;
                }
                i++;
            }
        }
        return new CpuSet(w);
    }

    private static long number(byte[] b, int len, int[] at) {
        int i = at[0];
        long v = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9' && v < 1 << 16) {
            v = v * 10 + (b[i] - '0');
            i++;
        }
        if (i == at[0]) {
            return -1;
        }
        at[0] = i;
        return v;
    }

    public int count() {
        int n = 0;
        for (long w : words) {
            n += Long.bitCount(w);
        }
        return n;
    }

    public boolean contains(int cpu) {
        return cpu >= 0 && cpu >> 6 < words.length && (words[cpu >> 6] & 1L << cpu) != 0;
    }

    public CpuSet union(CpuSet o) {
        long[] w = Arrays.copyOf(words, Math.max(words.length, o.words.length));
        for (int i = 0; i < o.words.length; i++) {
            w[i] |= o.words[i];
        }
        return new CpuSet(w);
    }

    public CpuSet intersect(CpuSet o) {
        long[] w = Arrays.copyOf(words, Math.min(words.length, o.words.length));
        for (int i = 0; i < w.length; i++) {
            w[i] &= o.words[i];
        }
        return new CpuSet(w);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CpuSet c && Arrays.equals(words, c.words);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(words);
    }

    /** The kernel's list form, e.g. "0-3,6". */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        int bits = words.length * 64;
        for (int cpu = 0; cpu < bits; cpu++) {
            if (!contains(cpu)) {
                continue;
            }
            int end = cpu;
            while (end + 1 < bits && contains(end + 1)) {
                end++;
            }
            s.append(s.isEmpty() ? "" : ",").append(cpu);
            if (end > cpu) {
                s.append('-').append(end);
            }
            cpu = end;
        }
        return s.toString();
    }
}
