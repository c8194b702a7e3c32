package dev.corral.policies.engine;

import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.NetworkRates;
import dev.corral.policies.file.Policies;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Network fairness on a shared rate (the configured capacity: a bridge's uplink, or what the containers' traffic
 * has to share), each direction on its own, like {@link IoFairness} on a device. A container's rate is its veth's
 * counters over the last {@link #RATE_WINDOW_MILLIS} (tc lets a bucket's worth through at once, so one interval is
 * noisy). The direction is contended when at least two containers move traffic and their total reaches
 * saturation × capacity, and stays so while rates set here are in force and two still move traffic. Under
 * contention capacity × headroom is shared by weighted max-min (class weights) over demands: a container held at
 * the rate set here, using it, wants more (unbounded); another wants its rate (nothing else holds it back: a
 * veth is far faster than any shared rate worth sharing, so what it sends is what it wants); none wants more
 * than its own --network-rate. A container above its share gets a rate at it; rates follow the shares (changes
 * under a tenth are not written, one change per cooldown, down by at most 30 % at a time), and are lifted (back to the container's own rate, or
 * none) once contention has been over liftAfter.
 */
final class NetworkFairness implements Rule {

    static final String NAME = "networkFairness";
    static final long RATE_WINDOW_MILLIS = 2000;
    /** A container at this share of the rate set for it uses it (tc holds it there): it wants more. */
    private static final double USING = 0.8;
    private static final double HYSTERESIS = 0.1;
    private static final double LOWER = 0.7;

    enum Direction {
        EGRESS("egress"), INGRESS("ingress");

        final String label;

        Direction(String label) {
            this.label = label;
        }

        long bytes(NetworkSample s) {
            return this == EGRESS ? s.transmitBytes() : s.receiveBytes();
        }

        long own(NetworkSample s) {
            return this == EGRESS ? s.egressLimit() : s.ingressLimit();
        }
    }

    private final Policies.NetworkFairness p;
    /** "direction container" → the rate set here, bytes per second. */
    private final Map<String, Long> set = new HashMap<>();
    private final Map<String, Long> changedAt = new HashMap<>();
    private final Map<Direction, Long> calmSince = new HashMap<>();
    /** "direction container" → its demand when last judged over a full window under the rate in force. */
    private final Map<String, Double> judged = new HashMap<>();
    /** "direction container" → (millis, bytes) counter readings over the last window. */
    private final Map<String, ArrayDeque<long[]>> readings = new HashMap<>();

    NetworkFairness(Policies.NetworkFairness p) {
        this.p = p;
    }

    @Override
    public void decide(Cycle c, List<Action> out) {
        for (Direction d : Direction.values()) {
            decide(c, d, out);
        }
    }

    private void decide(Cycle c, Direction d, List<Action> out) {
        Map<Member, Double> rates = new LinkedHashMap<>();
        Map<Member, NetworkSample> samples = new HashMap<>();
        double total = 0;
        for (Member m : c.members()) {
            NetworkSample s = c.network().get(m.name());
            if (s == null) {
                continue;
            }
            samples.put(m, s);
            double rate = rate(key(d, m), s.atMillis(), d.bytes(s));
            if (!Double.isNaN(rate)) {
                rates.put(m, rate);
                total += rate;
            }
        }
        List<Member> active = new ArrayList<>();
        rates.forEach((m, r) -> {
            if (r >= p.minActive()) {
                active.add(m);
            }
        });
        double cap = p.capacity();
        boolean anySet = set.keySet().stream().anyMatch(k -> k.startsWith(d.label + " "));
        boolean contention = active.size() >= 2 && (total >= p.saturation() * cap || anySet);
        if (!contention) {
            long since = calmSince.computeIfAbsent(d, x -> c.now());
            if (c.now() - since >= p.liftAfter()) {
                for (Member m : c.members()) {
                    Long t = set.remove(key(d, m));
                    if (t != null) {
                        NetworkSample s = samples.get(m);
                        long own = s == null ? Limits.UNLIMITED : d.own(s);
                        write(c, m, d, own, "lift-network-rate", "contention-over", t, rates.getOrDefault(m, 0.0),
                                Double.NaN, total, cap, out);
                    }
                }
            }
            return;
        }
        calmSince.remove(d);
        int n = active.size();
        double[] demand = new double[n];
        double[] weight = new double[n];
        boolean[] settling = new boolean[n];
        for (int i = 0; i < n; i++) {
            Member m = active.get(i);
            String k = key(d, m);
            Long t = set.get(k);
            double rate = rates.get(m);
            // Its rate changed less than a window ago: what it does under the new one is not known yet (the window
            // still holds traffic from before); it wants what it was judged to want, and its rate waits.
            settling[i] = t != null && judged.containsKey(k) && span(k) < RATE_WINDOW_MILLIS;
            if (settling[i]) {
                demand[i] = judged.get(k);
                weight[i] = m.cls().weight();
                continue;
            }
            demand[i] = t != null && rate >= USING * t ? Double.POSITIVE_INFINITY : rate + p.minActive();
            long own = d.own(samples.get(m));
            if (!Limits.isUnlimited(own)) {
                demand[i] = Math.min(demand[i], own);
            }
            weight[i] = m.cls().weight();
            judged.put(k, demand[i]);
        }
        double[] share = MaxMin.shares(cap * p.headroom(), demand, weight);
        for (int i = 0; i < n; i++) {
            Member m = active.get(i);
            String k = key(d, m);
            double rate = rates.get(m);
            long target = Math.max((long) share[i], p.minActive());
            Long t = set.get(k);
            // a step down at a time, also the first one (from what it sends): a TCP flow cut at once to a small part
            // of its rate loses a window of packets and stalls for seconds, and a stalled flow looks like contention
            // over (the CI rehearsal saw rates set, lifted and set again); nor is a flow that stalled for a moment
            // under its rate cut to what it sent then: it shows next window whether it takes more
            double from = t != null ? t : rate;
            if (target < from * LOWER) {
                target = (long) (from * LOWER);
            }
            long own = d.own(samples.get(m));
            if (!Limits.isUnlimited(own) && own <= target) {
                if (t != null) { // its own rate is tighter than its share now: back to it
                    set.remove(k);
                    changedAt.put(k, c.now());
                    write(c, m, d, own, "lift-network-rate", "own-rate-tighter", t, rate, share[i], total, cap, out);
                }
                continue;
            }
            if (t == null && rate <= share[i] * (1 + HYSTERESIS) || settling[i]) {
                continue; // within its share, or its rate just changed
            }
            if (t != null && Math.abs(target - t) <= HYSTERESIS * t) {
                continue;
            }
            Long last = changedAt.get(k);
            if (last != null && c.now() - last < p.cooldown()) {
                continue;
            }
            set.put(k, target);
            changedAt.put(k, c.now());
            restart(k); // judged again on what it does under this rate
            write(c, m, d, target, "set-network-rate", "saturation", t, rate, share[i], total, cap, out);
        }
    }

    /** Bytes per second over the window up to this reading; NaN for a container's first reading. */
    private double rate(String key, long atMillis, long bytes) {
        ArrayDeque<long[]> q = readings.computeIfAbsent(key, x -> new ArrayDeque<>());
        if (!q.isEmpty() && (bytes < q.peekLast()[1] || atMillis <= q.peekLast()[0])) {
            q.clear(); // a new veth (restarted), or a clock step: start over
            set.remove(key); // a restart applies the container's own rate: nothing of ours is in force
            judged.remove(key);
        }
        q.addLast(new long[] {atMillis, bytes});
        while (q.size() > 2) { // the oldest goes once the rest span a window
            java.util.Iterator<long[]> it = q.iterator();
            it.next();
            if (atMillis - it.next()[0] < RATE_WINDOW_MILLIS) {
                break;
            }
            q.removeFirst();
        }
        if (q.size() < 2) {
            return Double.NaN;
        }
        long[] first = q.peekFirst();
        return (bytes - first[1]) * 1000.0 / (atMillis - first[0]);
    }

    /** How long the window of readings spans now, in milliseconds. */
    private long span(String key) {
        ArrayDeque<long[]> q = readings.get(key);
        return q == null || q.size() < 2 ? 0 : q.peekLast()[0] - q.peekFirst()[0];
    }

    /** The window starts again from the last reading. */
    private void restart(String key) {
        ArrayDeque<long[]> q = readings.get(key);
        if (q != null && q.size() > 1) {
            long[] last = q.peekLast();
            q.clear();
            q.addLast(last);
        }
    }

    private static String key(Direction d, Member m) {
        return d.label + " " + m.name();
    }

    private static void write(Cycle c, Member m, Direction d, long bps, String action, String reason, Long before,
                              double rate, double share, double total, double cap, List<Action> out) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("direction", d.label);
        in.put("bytesPerSecond", Math.round(rate));
        in.put("entitledBytesPerSecond", Double.isNaN(share) ? -1 : Math.round(share));
        in.put("totalBytesPerSecond", Math.round(total));
        in.put("capacityBytesPerSecond", Math.round(cap));
        in.put("weight", m.cls().weight());
        Audit a = c.audit(NAME, m, action, reason, before == null ? "max" : NetworkRates.human(before),
                NetworkRates.human(bps), in);
        out.add(d == Direction.EGRESS ? new Action.SetNetwork(m.name(), m.cgroup(), bps, null, a)
                : new Action.SetNetwork(m.name(), m.cgroup(), null, bps, a));
    }

    @Override
    public void retain(Set<String> liveNames) {
        set.keySet().removeIf(k -> !liveNames.contains(k.substring(k.indexOf(' ') + 1)));
        changedAt.keySet().removeIf(k -> !liveNames.contains(k.substring(k.indexOf(' ') + 1)));
        readings.keySet().removeIf(k -> !liveNames.contains(k.substring(k.indexOf(' ') + 1)));
        judged.keySet().removeIf(k -> !liveNames.contains(k.substring(k.indexOf(' ') + 1)));
    }
}
