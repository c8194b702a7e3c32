package dev.corral.policies.engine;

import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.Policies;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * IO fairness under device saturation (the v1 kernel gives none with mq-deadline). Per device: the capacity is
 * the highest throughput it sustained (median of five disjoint windows of a second), or the configured one. The
 * device is contended when at least two containers do IO on it and it is saturated (throughput at a fraction of
 * capacity, host IO PSI high, or one of them stalled on IO nearly all the time), and stays so while throttles
 * are in force and two containers still do IO. Under contention the capacity (times
 * headroom) is shared by weighted max-min over demands: a throttled container using its throttle, or one
 * stalled on IO nearly all the time, wants more; another wants its rate, more by the share of time it stalled.
 * A throttle changes at most once per cooldown, by at most +25 % / −30 % at a time. A container above its share is throttled
 * at it (never below its guarantee); throttles follow the share, and are lifted liftAfter after contention ends.
 * <p>
 * A container's rate is judged over the last {@link #RATE_WINDOW_MILLIS}, not over one collection
 * interval, and a throttled one counts as using its throttle from {@link #USING} of it: the counters move in
 * whole requests and are read a little after their timestamp, so on a slow disk an interval holds a few requests
 * (a 1 MiB writer held at 6 MiB/s shows 0, 5 or 10 MiB/s in 200 ms intervals). Judged per interval, a flooder
 * held at its throttle seemed not to use it whenever an interval caught few of its requests, its throttle was
 * stepped down to that rate, a high interval raised it by a quarter only, and it drifted far below its share
 * (issue 14: 5.9 against 18 MiB/s on a disk capped at 24). The capacity, a running maximum, likewise climbed on
 * noisy intervals (92 MiB/s there): its samples are totals over disjoint windows of {@link #CAPACITY_WINDOW_MILLIS}.
 */
final class IoFairness implements Rule {

    static final String NAME = "ioFairness";
    /** A container stalled on IO this share of the time is IO-bound: it would take any share it is given. */
    private static final double IO_BOUND = 0.9;
    /** A throttle rises at most this much per change and falls at most to LOWER × the rate, so it settles. */
    private static final double RAISE = 1.25;
    private static final double LOWER = 0.7;
    /**
     * A container's rate is taken over at least this long: some twenty requests at half of a 24 MiB/s
     * disk, so one request more or less, or a read 100 ms late, moves the rate by a few per cent only.
     */
    static final long RATE_WINDOW_MILLIS = 2000;
    /**
     * A throttled container at this share of its throttle or more uses it (wants more). Below 1/RAISE: a window
     * that began before a raise still counts a container that used its old throttle, and counting noise of a few
     * per cent never takes one held at its throttle for one that wants less.
     */
    private static final double USING = 0.75;
    /** The device's total is sampled over disjoint windows this long for its capacity. */
    static final long CAPACITY_WINDOW_MILLIS = 1000;

    private final Policies.IoFairness p;
    private final Map<String, Double> capacity = new HashMap<>();
    /** device → container → throttle in bytes/s. */
    private final Map<String, Map<String, Long>> throttles = new HashMap<>();
    private final Map<String, Long> calmSince = new HashMap<>();
    private final Map<String, Long> changedAt = new HashMap<>();
    private final Map<String, java.util.ArrayDeque<Double>> recent = new HashMap<>();
    /** device → the device's total over the window being filled, for the capacity samples. */
    private final Map<String, Window> filling = new HashMap<>();
    /** "device container" → its IO over the last {@link #RATE_WINDOW_MILLIS}, since its throttle last changed. */
    private final Map<String, Window> windows = new HashMap<>();
    /** "device container" → its demand when last judged over a full window. */
    private final Map<String, Double> judged = new HashMap<>();

    IoFairness(Policies.IoFairness p) {
        this.p = p;
    }

    @Override
    public void decide(Cycle c, List<Action> out) {
        Map<String, Map<Member, Double>> byDevice = new HashMap<>();
        for (Member m : c.members()) {
            m.ioRates().forEach((dev, rate) -> byDevice.computeIfAbsent(dev, d -> new LinkedHashMap<>()).put(m, rate));
        }
        Set<String> devices = new TreeSet<>(byDevice.keySet());
        devices.addAll(throttles.keySet());
        double hostPsi = c.hostPressure(ps -> ps.io(), false);
        for (String dev : devices) {
            decide(c, dev, byDevice.getOrDefault(dev, Map.of()), hostPsi, out);
        }
    }

    private void decide(Cycle c, String dev, Map<Member, Double> intervalRates, double hostPsi, List<Action> out) {
        double total = 0;
        List<Member> active = new ArrayList<>();
        // who does IO: this interval's rate (a writer that stopped is gone at once); how much: the window's
        Map<Member, Double> rates = new HashMap<>();
        for (Map.Entry<Member, Double> e : intervalRates.entrySet()) {
            Member m = e.getKey();
            total += e.getValue();
            Window w = windows.computeIfAbsent(dev + " " + m.name(), k -> new Window());
            w.add(e.getValue() * c.seconds(), c.seconds(), true);
            rates.put(m, w.rate());
            if (e.getValue() >= p.minActive()) {
                active.add(m);
            }
        }
        Long configured = p.capacity().get(dev);
        double cap = configured != null ? configured : Math.max(capacity.getOrDefault(dev, 0.0), sustained(c, dev, total));
        capacity.put(dev, cap);
        if (!(cap > 0)) {
            return; // the device's first seconds are not measured yet: nothing to share
        }
        Map<String, Long> set = throttles.computeIfAbsent(dev, d -> new HashMap<>());
        boolean ioBound = false;
        for (Member m : active) {
            ioBound |= m.ioPressure() >= IO_BOUND;
        }
        boolean saturated = (cap > 0 && total >= p.saturation() * cap) || hostPsi >= p.psiThreshold() || ioBound;
        boolean contention = active.size() >= 2 && (saturated || !set.isEmpty());
        if (!contention) {
            long since = calmSince.computeIfAbsent(dev, d -> c.now());
            if (c.now() - since >= p.liftAfter()) {
                for (Member m : c.members()) {
                    Long t = set.remove(m.name());
                    if (t != null) {
                        write(c, m, dev, m.view().baseline().ioOf(dev).writeBps(), "lift-io-throttle",
                                "contention-over", t, rates.getOrDefault(m, 0.0), Double.NaN, total, cap, hostPsi, out);
                    }
                }
                set.clear(); // containers that went away
            }
            return;
        }
        calmSince.remove(dev);
        int n = active.size();
        double[] demand = new double[n];
        double[] weight = new double[n];
        boolean[] settling = new boolean[n];
        for (int i = 0; i < n; i++) {
            Member m = active.get(i);
            String key = dev + " " + m.name();
            double rate = rates.get(m);
            Long t = set.get(m.name());
            double stall = m.ioPressure(); // time, not counted requests: one interval measures it
            weight[i] = m.weight();
            // Throttle changed less than a window ago: what it does under the new one is not known yet; it wants
            // what it was judged to want, and its throttle waits.
            settling[i] = t != null && windows.get(key).seconds < RATE_WINDOW_MILLIS / 1000.0 && judged.containsKey(key);
            if (settling[i]) {
                demand[i] = judged.get(key);
                continue;
            }
            // Held at its throttle, or waiting on IO nearly all the time: unbounded. Otherwise its rate, grown by
            // the share of time it stalled (offered more, it shows next window whether it takes it).
            boolean unbounded = (t != null && rate >= USING * t) || stall >= IO_BOUND;
            demand[i] = unbounded ? Double.POSITIVE_INFINITY
                    : rate * (1 + (Double.isNaN(stall) ? 0 : stall)) + p.minActive();
            judged.put(key, demand[i]);
        }
        double[] share = MaxMin.shares(cap * p.headroom(), demand, weight);
        for (int i = 0; i < n; i++) {
            Member m = active.get(i);
            double rate = rates.get(m);
            long target = Math.max((long) share[i], Math.max(m.cls().guarantees().io(), p.minActive()));
            Long t = set.get(m.name());
            if (t != null && target > t * RAISE) {
                target = (long) (t * RAISE);
            }
            double from = t != null ? Math.min(t, rate) : rate;
            if (target < from * LOWER) {
                target = (long) (from * LOWER); // step down: the contender shows next time whether it takes more
            }
            if (t == null && rate <= share[i] || settling[i]) {
                continue; // within its share, or its throttle just changed
            }
            if (t != null && Math.abs(target - t) <= 0.1 * t) {
                continue; // hysteresis
            }
            Long last = changedAt.get(dev + " " + m.name());
            if (t != null && last != null && c.now() - last < p.cooldown()) {
                continue;
            }
            long user = m.view().baseline().ioOf(dev).writeBps();
            if (!Limits.isUnlimited(user) && user <= target) {
                continue; // the user's own throttle is tighter
            }
            set.put(m.name(), target);
            changedAt.put(dev + " " + m.name(), c.now());
            windows.put(dev + " " + m.name(), new Window()); // judged again on what it does under this throttle
            write(c, m, dev, target, "set-io-throttle", "saturation", t, rate, share[i], total, cap, hostPsi, out);
        }
    }

    /**
     * The median of the device's totals over its last five windows of at least a second: what it sustains, not
     * a burst (a file laid out through the page cache, counters caught up after a slow read, a throttle's queue
     * released at once). 0 until two windows are full.
     */
    private double sustained(Cycle c, String dev, double total) {
        java.util.ArrayDeque<Double> totals = recent.computeIfAbsent(dev, d -> new java.util.ArrayDeque<>());
        Window w = filling.computeIfAbsent(dev, d -> new Window());
        w.add(total * c.seconds(), c.seconds(), false);
        if (w.seconds >= CAPACITY_WINDOW_MILLIS / 1000.0) {
            totals.addLast(w.rate());
            filling.remove(dev);
            if (totals.size() > 5) {
                totals.removeFirst();
            }
        }
        if (totals.size() < 2) {
            return 0; // the first window may hold the writers' start (a host run took 92 MiB/s for 1.2 GB/s)
        }
        double[] sorted = totals.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted[sorted.length / 2];
    }

    /** Bytes over consecutive intervals; sliding, the oldest go once the rest span a window. */
    private static final class Window {
        private final java.util.ArrayDeque<double[]> intervals = new java.util.ArrayDeque<>();
        private double seconds;

        void add(double bytes, double s, boolean slide) {
            intervals.addLast(new double[] {bytes, s});
            seconds += s;
            while (slide && seconds - intervals.peekFirst()[1] >= RATE_WINDOW_MILLIS / 1000.0) {
                seconds -= intervals.removeFirst()[1];
            }
        }

        double rate() {
            return intervals.stream().mapToDouble(i -> i[0]).sum() / seconds;
        }
    }

    /** Throttles reads and writes alike: a flooder of either kind takes the same device time. */
    private static void write(Cycle c, Member m, String dev, long bps, String action, String reason, Long before,
                              double rate, double share, double total, double cap, double hostPsi, List<Action> out) {
        int colon = dev.indexOf(':');
        int major = Integer.parseInt(dev.substring(0, colon));
        int minor = Integer.parseInt(dev.substring(colon + 1));
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("device", dev);
        in.put("bytesPerSecond", Math.round(rate));
        in.put("entitledBytesPerSecond", Double.isNaN(share) ? -1 : Math.round(share));
        in.put("deviceBytesPerSecond", Math.round(total));
        in.put("capacityBytesPerSecond", Math.round(cap));
        in.put("hostIoPressure", CpuFairness.round(hostPsi));
        in.put("weight", m.weight());
        long read = action.startsWith("lift") ? m.view().baseline().ioOf(dev).readBps() : bps;
        out.add(new Action.SetIo(m.name(), m.cgroup(), major, minor, read, bps, c.audit(NAME, m, action, reason,
                before == null ? "max" : before + " B/s", Limits.isUnlimited(bps) ? "max" : bps + " B/s", in)));
    }

    @Override
    public void retain(Set<String> liveNames) {
        for (Map<String, Long> set : throttles.values()) {
            set.keySet().retainAll(liveNames);
        }
        changedAt.keySet().removeIf(k -> !liveNames.contains(k.substring(k.indexOf(' ') + 1)));
        windows.keySet().removeIf(k -> !liveNames.contains(k.substring(k.indexOf(' ') + 1)));
        judged.keySet().removeIf(k -> !liveNames.contains(k.substring(k.indexOf(' ') + 1)));
    }
}
