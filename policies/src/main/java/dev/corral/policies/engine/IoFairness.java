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
 * the highest total throughput seen (or the configured one). The device is contended when at least two
 * containers do IO on it and it is saturated (throughput at a fraction of capacity, or host IO PSI high), and
 * stays so while throttles are in force and two containers still do IO. Under contention the capacity (times
 * headroom) is shared by weighted max-min over demands: a throttled container using its throttle wants
 * more; another wants its rate, more by the share of time it stalled on IO. A container above its share is throttled
 * at it (never below its guarantee); throttles follow the share, and are lifted liftAfter after contention ends.
 */
final class IoFairness implements Rule {

    static final String NAME = "ioFairness";

    private final Policies.IoFairness p;
    private final Map<String, Double> capacity = new HashMap<>();
    /** device → container → throttle in bytes/s. */
    private final Map<String, Map<String, Long>> throttles = new HashMap<>();
    private final Map<String, Long> calmSince = new HashMap<>();

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

    private void decide(Cycle c, String dev, Map<Member, Double> rates, double hostPsi, List<Action> out) {
        double total = 0;
        List<Member> active = new ArrayList<>();
        for (Map.Entry<Member, Double> e : rates.entrySet()) {
            total += e.getValue();
            if (e.getValue() >= p.minActive()) {
                active.add(e.getKey());
            }
        }
        Long configured = p.capacity().get(dev);
        double cap = configured != null ? configured : Math.max(capacity.getOrDefault(dev, 0.0), total);
        capacity.put(dev, cap);
        Map<String, Long> set = throttles.computeIfAbsent(dev, d -> new HashMap<>());
        boolean saturated = (cap > 0 && total >= p.saturation() * cap) || hostPsi >= p.psiThreshold();
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
        for (int i = 0; i < n; i++) {
            Member m = active.get(i);
            double rate = rates.get(m);
            Long t = set.get(m.name());
            double stall = m.ioPressure();
            // Held at its throttle: unbounded. Otherwise its rate, grown by the share of time it stalled on IO
            // (a writer that waits all the time is offered twice its rate, and again next cycle if it takes it).
            demand[i] = t != null && rate >= 0.85 * t ? Double.POSITIVE_INFINITY
                    : rate * (1 + (Double.isNaN(stall) ? 0 : stall)) + p.minActive();
            weight[i] = m.weight();
        }
        double[] share = MaxMin.shares(cap * p.headroom(), demand, weight);
        for (int i = 0; i < n; i++) {
            Member m = active.get(i);
            double rate = rates.get(m);
            long target = Math.max((long) share[i], Math.max(m.cls().guarantees().io(), p.minActive()));
            Long t = set.get(m.name());
            if (t == null && rate <= share[i]) {
                continue; // within its share
            }
            if (t != null && Math.abs(target - t) <= 0.1 * t) {
                continue; // hysteresis
            }
            long user = m.view().baseline().ioOf(dev).writeBps();
            if (!Limits.isUnlimited(user) && user <= target) {
                continue; // the user's own throttle is tighter
            }
            set.put(m.name(), target);
            write(c, m, dev, target, "set-io-throttle", "saturation", t, rate, share[i], total, cap, hostPsi, out);
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
    }
}
