package dev.corral.policies.engine;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.Policies;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Memory pressure relief. When the host is tight (MemAvailable below a fraction of its memory, host memory
 * PSI above the target, or the agent's parent cgroup near its memory limit) the container furthest above its fair share (a weighted share of the containers'
 * memory, never below its guarantee) is squeezed one step: v2 memory.high, v1 memory.soft_limit_in_bytes (which
 * the kernel reclaims toward under global pressure). A container that stalls on memory (its own PSI above the
 * target) is loosened fast, as senpai does; squeezes are slow (one step per interval). Once the host has not
 * been tight for relaxAfter, every limit the policy set goes back to the user's.
 */
final class MemoryRelief implements Rule {

    static final String NAME = "memoryPressure";

    private final Policies.MemoryPressure p;
    private final Map<String, Long> set = new HashMap<>();
    private final Map<String, Long> changedAt = new HashMap<>();
    private long relaxedSince = -1;

    MemoryRelief(Policies.MemoryPressure p) {
        this.p = p;
    }

    @Override
    public void decide(Cycle c, List<Action> out) {
        long available = c.host().memoryAvailable();
        double hostPsi = c.hostPressure(ps -> ps.memory(), false);
        boolean tight = (!Absent.is(available) && available < p.hostAvailableBelow() * c.host().memoryBytes())
                || hostPsi > p.pressureTarget() || c.parentMemoryFraction() > p.parentUsageAbove();
        List<Member> members = new ArrayList<>();
        for (Member m : c.members()) {
            if (!Absent.is(m.workingSet())) {
                members.add(m);
            }
        }
        for (Member m : members) {
            double stall = m.memoryPressure();
            Long limit = set.get(m.name());
            if (limit != null && stall > p.pressureTarget() && cooled(c, m)) {
                long loosened = (long) (limit * (1 + p.loosen()));
                long baseline = baselineOf(c, m);
                boolean lift = !Limits.isUnlimited(baseline) ? loosened >= baseline
                        : loosened >= m.view().baseline().memoryMax();
                long value = lift ? baseline : loosened;
                apply(c, m, value, lift ? "lift" : "loosen", "stalled", limit, stall, hostPsi, available, out);
                if (lift) {
                    set.remove(m.name());
                }
            }
        }
        if (tight) {
            relaxedSince = -1;
            members.stream()
                    .filter(m -> m.workingSet() > c.memoryEntitlement(m) && m.memoryPressure() <= p.pressureTarget()
                            && cooled(c, m) && squeezable(c, m))
                    .max(Comparator.comparingLong(m -> m.workingSet() - c.memoryEntitlement(m)))
                    .ifPresent(m -> {
                        apply(c, m, squeezed(c, m), "squeeze", "host-tight", set.get(m.name()), m.memoryPressure(),
                                hostPsi, available, out);
                    });
        } else {
            if (relaxedSince < 0) {
                relaxedSince = c.now();
            }
            if (c.now() - relaxedSince >= p.relaxAfter()) {
                for (Member m : members) {
                    Long limit = set.remove(m.name());
                    if (limit != null) {
                        apply(c, m, baselineOf(c, m), "lift", "host-relaxed", limit, m.memoryPressure(), hostPsi,
                                available, out);
                        set.remove(m.name());
                    }
                }
            }
        }
    }

    /** One step down from the lower of its limit and its working set, never below its entitlement. */
    private long squeezed(Cycle c, Member m) {
        long current = set.getOrDefault(m.name(), m.workingSet());
        return Math.max(c.memoryEntitlement(m), (long) (Math.min(current, m.workingSet()) * (1 - p.tighten())));
    }

    private boolean squeezable(Cycle c, Member m) {
        return squeezed(c, m) < set.getOrDefault(m.name(), Long.MAX_VALUE);
    }

    private boolean cooled(Cycle c, Member m) {
        Long last = changedAt.get(m.name());
        return last == null || c.now() - last >= p.interval();
    }

    /** The user's value of the knob this policy moves: memory.high on v2, the soft limit on v1. */
    private static long baselineOf(Cycle c, Member m) {
        ContainerView.Baseline b = m.view().baseline();
        if (c.host().v2()) {
            return b.memoryHigh();
        }
        return b.memoryReservation() > 0 ? b.memoryReservation() : Limits.UNLIMITED;
    }

    private void apply(Cycle c, Member m, long value, String verb, String reason, Long before, double stall,
                       double hostPsi, long available, List<Action> out) {
        boolean v2 = c.host().v2();
        if (!verb.equals("lift")) {
            set.put(m.name(), value);
        }
        changedAt.put(m.name(), c.now());
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("workingSetBytes", m.workingSet());
        in.put("entitledBytes", c.memoryEntitlement(m));
        in.put("guaranteeBytes", m.cls().guarantees().memory());
        in.put("memoryPressure", CpuFairness.round(stall));
        in.put("hostMemoryPressure", CpuFairness.round(hostPsi));
        in.put("hostAvailableBytes", available);
        in.put("parentUsedFraction", CpuFairness.round(c.parentMemoryFraction()));
        String knob = v2 ? "memory-high" : "memory-soft-limit";
        String action = (verb.equals("lift") ? "lift-" : "set-") + knob;
        Audit audit = c.audit(NAME, m, action, reason, Cycle.bytes(before == null ? baselineOf(c, m) : before),
                Cycle.bytes(value), in);
        out.add(new Action.SetMemory(m.name(), m.cgroup(), v2 ? value : null, v2 ? null : value, audit));
    }

    @Override
    public void retain(Set<String> liveNames) {
        set.keySet().retainAll(liveNames);
        changedAt.keySet().retainAll(liveNames);
    }
}
