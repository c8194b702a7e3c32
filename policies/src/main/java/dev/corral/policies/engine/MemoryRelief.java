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
 * PSI above the target, or the agent's parent cgroup near its memory limit) the container furthest above its
 * fair share (a weighted share of the containers' memory, never below its guarantee) is squeezed one step: v2
 * memory.high; v1 memory.soft_limit_in_bytes (which the kernel reclaims toward under global pressure) and, when
 * it holds reclaimable memory (usage above its working set plus a margin), memory.limit_in_bytes, never below
 * that working set plus margin so that only cache is taken from it. A container that stalls on memory (its own
 * PSI above the target) is loosened fast, as senpai does, and so is a v1 cap its working set grows into or under
 * which it had an OOM kill; squeezes are slow (one step per interval). A v1 cap the kernel refused (EBUSY: it
 * could not reclaim down to it; the agent reports it) is dropped and not tried again for relaxAfter. Once the host has not been tight for relaxAfter, every value the policy set goes back to the
 * user's.
 */
final class MemoryRelief implements Rule {

    static final String NAME = "memoryPressure";

    /** v1 limits are kept in pages: a page-aligned value reads back exactly as written. */
    private static final long PAGE = 4096;

    private final Policies.MemoryPressure p;
    /** memory.high (v2) or the soft limit (v1) this policy set, by container. */
    private final Map<String, Long> set = new HashMap<>();
    /** v1 memory.limit_in_bytes this policy set, by container. */
    private final Map<String, Long> capped = new HashMap<>();
    private final Map<String, Long> changedAt = new HashMap<>();
    /** A v1 cap was refused: no new cap on this container before this time. */
    private final Map<String, Long> refusedUntil = new HashMap<>();
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
        Inputs in = new Inputs(hostPsi, available);
        for (Member m : members) {
            Long limit = set.get(m.name());
            Long cap = capped.get(m.name());
            if (limit == null && cap == null) {
                continue;
            }
            if (cap != null && m.oomKills() > 0) {
                // the kernel killed inside the cap: give the user's limit back now, whatever the cooldown
                lift(c, m, "oom-kill", in, out);
            } else if (cooled(c, m) && m.memoryPressure() > p.pressureTarget()) {
                loosen(c, m, "stalled", in, out);
            } else if (cooled(c, m) && cap != null && workingSetFloor(m) > cap) {
                loosen(c, m, "working-set-near-limit", in, out);
            } else if (cap != null && c.memoryEntitlement(m) > cap) {
                // its share grew (a container left): the cap goes up to it, or back to the user's, at once
                loosen(c, m, "entitlement-grew", in, out);
            }
        }
        if (tight) {
            relaxedSince = -1;
            members.stream()
                    .filter(m -> excess(c, m) > 0 && m.memoryPressure() <= p.pressureTarget()
                            && cooled(c, m) && (softStep(c, m) != null || capStep(c, m) != null))
                    .max(Comparator.comparingLong(m -> excess(c, m)))
                    .ifPresent(m -> squeeze(c, m, in, out));
        } else {
            if (relaxedSince < 0) {
                relaxedSince = c.now();
            }
            if (c.now() - relaxedSince >= p.relaxAfter()) {
                for (Member m : members) {
                    if (set.containsKey(m.name()) || capped.containsKey(m.name())) {
                        lift(c, m, "host-relaxed", in, out);
                    }
                }
            }
        }
    }

    private record Inputs(double hostPsi, long available) {
    }

    /** How far above its entitlement: by working set on v2, by usage (cache included: it is charged) on v1. */
    private long excess(Cycle c, Member m) {
        long used = !c.host().v2() && !Absent.is(m.usage()) ? m.usage() : m.workingSet();
        return used - c.memoryEntitlement(m);
    }

    /**
     * The kernel refused a cap (EBUSY: it could not reclaim down to it, e.g. the working set grew since the
     * sample): the policy forgets it (the cgroup keeps its previous limit) and tries no new cap on it for
     * relaxAfter. Its next squeeze, or the lift, starts again from what the cgroup holds.
     */
    @Override
    public void refused(Action a, long nowMillis) {
        if (a instanceof Action.SetMemory m && m.limit() != null && m.limit().equals(capped.get(m.container()))) {
            capped.remove(m.container());
            refusedUntil.put(m.container(), nowMillis + p.relaxAfter());
        }
    }

    /** The lowest a v1 cap may go: its entitlement (and guarantee), and its working set plus the margin. */
    private long floorOf(Cycle c, Member m) {
        return Math.max(c.memoryEntitlement(m), workingSetFloor(m));
    }

    private long workingSetFloor(Member m) {
        return (long) (m.workingSet() * (1 + p.workingSetMargin()));
    }

    /** The next soft limit / memory.high: one step down from the lower of its value and its working set. */
    private Long softStep(Cycle c, Member m) {
        long current = set.getOrDefault(m.name(), m.workingSet());
        long next = Math.max(c.memoryEntitlement(m), (long) (Math.min(current, m.workingSet()) * (1 - p.tighten())));
        return next < set.getOrDefault(m.name(), Long.MAX_VALUE) ? next : null;
    }

    /** The next v1 cap, or null: only where usage is above the floor (cache to reclaim), one step at a time. */
    private Long capStep(Cycle c, Member m) {
        if (c.host().v2() || !p.v1Limits() || Absent.is(m.usage())
                || c.now() < refusedUntil.getOrDefault(m.name(), Long.MIN_VALUE)) {
            return null;
        }
        long current = Math.min(capped.getOrDefault(m.name(), m.usage()), m.usage());
        long next = Math.max(floorOf(c, m), (long) (current * (1 - p.tighten())));
        next = Math.min(pageAlign(next), userLimit(m));
        return next < current && next < capped.getOrDefault(m.name(), Long.MAX_VALUE) ? next : null;
    }

    private static long pageAlign(long bytes) {
        return (bytes + PAGE - 1) / PAGE * PAGE;
    }

    private boolean cooled(Cycle c, Member m) {
        Long last = changedAt.get(m.name());
        return last == null || c.now() - last >= p.interval();
    }

    /** The user's value of the soft knob this policy moves: memory.high on v2, the soft limit on v1. */
    private static long baselineOf(Cycle c, Member m) {
        ContainerView.Baseline b = m.view().baseline();
        if (c.host().v2()) {
            return b.memoryHigh();
        }
        return b.memoryReservation() > 0 ? b.memoryReservation() : Limits.UNLIMITED;
    }

    /** The user's own hard limit: what a v1 cap goes back to and never exceeds. */
    private static long userLimit(Member m) {
        return m.view().baseline().memoryMax();
    }

    private void squeeze(Cycle c, Member m, Inputs in, List<Action> out) {
        Long soft = softStep(c, m);
        Long cap = capStep(c, m);
        Long softBefore = set.get(m.name());
        Long capBefore = capped.get(m.name());
        if (soft != null) {
            set.put(m.name(), soft);
        }
        if (cap != null) {
            capped.put(m.name(), cap);
        }
        emit(c, m, "host-tight", soft, softBefore, cap, capBefore, in, out);
    }

    /** Up by {@code loosen} at once; a value that reaches the user's goes back to it. */
    private void loosen(Cycle c, Member m, String reason, Inputs in, List<Action> out) {
        Long limit = set.get(m.name());
        Long cap = capped.get(m.name());
        Long soft = null;
        if (limit != null) {
            long loosened = (long) (limit * (1 + p.loosen()));
            long baseline = baselineOf(c, m);
            boolean back = !Limits.isUnlimited(baseline) ? loosened >= baseline
                    : loosened >= m.view().baseline().memoryMax();
            soft = back ? baseline : loosened;
            if (back) {
                set.remove(m.name());
            } else {
                set.put(m.name(), soft);
            }
        }
        Long hard = null;
        if (cap != null) {
            long loosened = pageAlign(Math.max((long) (cap * (1 + p.loosen())), floorOf(c, m)));
            boolean back = loosened >= Math.min(userLimit(m), c.memoryCapacity());
            hard = back ? userLimit(m) : loosened;
            if (back) {
                capped.remove(m.name());
            } else {
                capped.put(m.name(), hard);
            }
        }
        emit(c, m, reason, soft, limit, hard, cap, in, out);
    }

    private void lift(Cycle c, Member m, String reason, Inputs in, List<Action> out) {
        Long limit = set.remove(m.name());
        Long cap = capped.remove(m.name());
        emit(c, m, reason, limit == null ? null : baselineOf(c, m), limit,
                cap == null ? null : userLimit(m), cap, in, out);
    }

    /** The audit names the hard limit when it moves, else the soft knob; "lift" when that went back to the user's. */
    private void emit(Cycle c, Member m, String reason, Long soft, Long softBefore, Long cap,
                      Long capBefore, Inputs in, List<Action> out) {
        boolean v2 = c.host().v2();
        changedAt.put(m.name(), c.now());
        Map<String, Object> inputs = new LinkedHashMap<>();
        inputs.put("workingSetBytes", m.workingSet());
        if (!v2) {
            inputs.put("usageBytes", m.usage());
        }
        inputs.put("entitledBytes", c.memoryEntitlement(m));
        inputs.put("guaranteeBytes", m.cls().guarantees().memory());
        inputs.put("memoryPressure", CpuFairness.round(m.memoryPressure()));
        inputs.put("hostMemoryPressure", CpuFairness.round(in.hostPsi()));
        inputs.put("hostAvailableBytes", in.available());
        inputs.put("parentUsedFraction", CpuFairness.round(c.parentMemoryFraction()));
        String knob;
        String before;
        String after;
        if (cap != null) {
            // the hard limit is what matters when it moves; the soft limit (if it moved too) is an input
            knob = "memory-limit";
            before = Cycle.bytes(capBefore == null ? userLimit(m) : capBefore);
            after = Cycle.bytes(cap);
            if (soft != null) {
                inputs.put("softLimit", Cycle.bytes(soft));
            }
        } else {
            knob = v2 ? "memory-high" : "memory-soft-limit";
            before = Cycle.bytes(softBefore == null ? baselineOf(c, m) : softBefore);
            after = Cycle.bytes(soft);
        }
        boolean held = cap != null ? capped.containsKey(m.name()) : set.containsKey(m.name());
        Audit audit = c.audit(NAME, m, (held ? "set-" : "lift-") + knob, reason, before, after, inputs);
        out.add(new Action.SetMemory(m.name(), m.cgroup(), v2 ? soft : null, v2 ? null : soft, cap, audit));
    }

    @Override
    public void retain(Set<String> liveNames) {
        set.keySet().retainAll(liveNames);
        capped.keySet().retainAll(liveNames);
        changedAt.keySet().retainAll(liveNames);
        refusedUntil.keySet().retainAll(liveNames);
    }
}
