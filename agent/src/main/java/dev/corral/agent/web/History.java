package dev.corral.agent.web;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The charts' history, kept in the agent so the page is useful before any Prometheus exists: the last
 * {@link #POINTS} cycles (10 minutes at the default 1 s interval) of the host's figures and of each cgroup's, as
 * floats in fixed rings. Memory is bounded: 600 × 4 B × {@link #HOST_FIELDS} for the host and at most 600 × 4 B ×
 * {@link #CGROUP_FIELDS} (16.8 KB) per cgroup, for at most {@link #MAX_CGROUPS} cgroups (16.8 MB at most; 1.7 MB
 * at 100), a field's ring only once its value has changed (see Series). Cgroups past that show live values without history. Thread-safe (synchronized; reads are short).
 */
final class History {

    static final int POINTS = 600;
    static final int MAX_CGROUPS = 1000;

    static final String[] HOST = {"cpu", "memUsed", "memCache", "memAvailable", "ioRead", "ioWrite", "netRx", "netTx",
        "psiCpuSome", "psiMemSome", "psiMemFull", "psiIoSome", "psiIoFull", "selfCpu", "selfRss", "collectMs"};
    static final int HOST_FIELDS = HOST.length;
    static final int H_CPU = 0;
    static final int H_MEM_USED = 1;
    static final int H_MEM_CACHE = 2;
    static final int H_MEM_AVAILABLE = 3;
    static final int H_IO_READ = 4;
    static final int H_IO_WRITE = 5;
    static final int H_NET_RX = 6;
    static final int H_NET_TX = 7;
    static final int H_PSI_CPU_SOME = 8;
    static final int H_SELF_CPU = 13;
    static final int H_SELF_RSS = 14;
    static final int H_COLLECT_MS = 15;

    static final String[] CGROUP = {"cpu", "mem", "ws", "ior", "iow", "thr", "pids"};
    static final int CGROUP_FIELDS = CGROUP.length;

    private final long[] times = new long[POINTS];
    private final float[][] host = new float[HOST_FIELDS][POINTS];
    private final Map<String, Series> cgroups = new HashMap<>();
    private long cycle; // cycles recorded so far; the newest point is at (cycle - 1) % POINTS

    /**
     * One cgroup's fields. A field's ring is made only once its value first differs from the one before: until then
     * the field is {@code constant} since {@code since} (NaN before it). Most cgroups are idle, and an idle one's
     * figures stand still (no CPU, no IO, the same memory): at 1,000 cgroups the rings were 16.8 MB of the agent's
     * 64 MiB heap and its RSS over 128 MiB (docs/benchmarks.md).
     */
    private static final class Series {
        final float[][] values = new float[CGROUP_FIELDS][];
        final float[] constant = new float[CGROUP_FIELDS];
        final long since;
        long lastCycle;

        Series(long since) {
            this.since = since;
            java.util.Arrays.fill(constant, Float.NaN);
        }

        void set(int f, long cycle, float v) {
            float[] ring = values[f];
            if (ring == null) {
                if (cycle == since) {
                    constant[f] = v;
                    return;
                }
                if (Float.floatToIntBits(v) == Float.floatToIntBits(constant[f])) {
                    return;
                }
                ring = new float[POINTS];
                for (long c = Math.max(0, cycle - POINTS + 1); c < cycle; c++) {
                    ring[(int) (c % POINTS)] = c < since ? Float.NaN : constant[f];
                }
                values[f] = ring;
            }
            ring[(int) (cycle % POINTS)] = v;
        }

        float get(int f, long cycle) {
            float[] ring = values[f];
            return ring != null ? ring[(int) (cycle % POINTS)] : cycle < since ? Float.NaN : constant[f];
        }
    }

    /** Adds one cycle: the host's values and each cgroup's (by cgroup path), in {@link #HOST}/{@link #CGROUP} order. */
    synchronized void add(long timeMillis, float[] hostValues, Map<String, float[]> cgroupValues) {
        int at = (int) (cycle % POINTS);
        times[at] = timeMillis;
        for (int f = 0; f < HOST_FIELDS; f++) {
            host[f][at] = hostValues[f];
        }
        for (Map.Entry<String, float[]> e : cgroupValues.entrySet()) {
            Series s = cgroups.get(e.getKey());
            if (s == null) {
                if (cgroups.size() >= MAX_CGROUPS) {
                    continue;
                }
                s = new Series(cycle);
                cgroups.put(e.getKey(), s);
            }
            for (int f = 0; f < CGROUP_FIELDS; f++) {
                s.set(f, cycle, e.getValue()[f]);
            }
            s.lastCycle = cycle;
        }
        for (Iterator<Series> it = cgroups.values().iterator(); it.hasNext(); ) {
            Series s = it.next();
            if (s.lastCycle != cycle) {
                if (cycle - s.lastCycle >= POINTS) {
                    it.remove(); // nothing of it left in the window
                } else {
                    for (int f = 0; f < CGROUP_FIELDS; f++) {
                        s.set(f, cycle, Float.NaN); // a gap where it was not seen
                    }
                }
            }
        }
        cycle++;
    }

    /** The times of the kept points, oldest first. */
    synchronized List<Long> times() {
        List<Long> out = new ArrayList<>();
        long n = Math.min(cycle, POINTS);
        for (long c = cycle - n; c < cycle; c++) {
            out.add(times[(int) (c % POINTS)]);
        }
        return out;
    }

    /** The host's series by field name, oldest first (null where unknown). */
    synchronized Map<String, List<Float>> host() {
        Map<String, List<Float>> out = new HashMap<>();
        for (int f = 0; f < HOST_FIELDS; f++) {
            out.put(HOST[f], last(host[f], POINTS));
        }
        return out;
    }

    /** A cgroup's series by field name, the last {@code points} of them, oldest first; null when none is kept. */
    synchronized Map<String, List<Float>> cgroup(String path, int points) {
        Series s = cgroups.get(path);
        if (s == null) {
            return null;
        }
        Map<String, List<Float>> out = new HashMap<>();
        for (int f = 0; f < CGROUP_FIELDS; f++) {
            out.put(CGROUP[f], last(s, f, points));
        }
        return out;
    }

    /** One field of every kept cgroup, the last {@code points} (the table's sparklines). */
    synchronized Map<String, List<Float>> field(int f, int points) {
        Map<String, List<Float>> out = new HashMap<>();
        cgroups.forEach((path, s) -> out.put(path, last(s, f, points)));
        return out;
    }

    private List<Float> last(Series s, int f, int points) {
        List<Float> out = new ArrayList<>();
        long n = Math.min(Math.min(cycle, POINTS), points);
        for (long c = cycle - n; c < cycle; c++) {
            float v = s.get(f, c);
            out.add(Float.isNaN(v) ? null : v);
        }
        return out;
    }

    private List<Float> last(float[] ring, int points) {
        List<Float> out = new ArrayList<>();
        long n = Math.min(Math.min(cycle, POINTS), points);
        for (long c = cycle - n; c < cycle; c++) {
            float v = ring[(int) (c % POINTS)];
            out.add(Float.isNaN(v) ? null : v);
        }
        return out;
    }
}
