package dev.corral.policies.engine;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.Policies;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pre-emptive OOM protection. When the host's MemAvailable falls below minAvailable, the agent's parent
 * cgroup uses more than parentUsageAbove of its limit, or host memory PSI "full" stays above its threshold for
 * fullPsiFor, exactly one container is killed (or frozen): the lowest priority, then the one most above its
 * memory entitlement, then the fastest growing; never a protected class, nor a foreign container its owner
 * marks critical (Kubernetes' system-node-critical and system-cluster-critical). Then it waits cooldown, so the freed
 * memory shows before anyone else is chosen. Works from usage alone: no swap, no v2 needed.
 *
 * <p>A frozen victim frees nothing: its memory stays charged (there is no swap), so the trigger that froze it
 * usually still holds after the cooldown, and freezing on that alone would stop every container in turn. After
 * a freeze, the next victim is therefore taken only while the trigger holds <em>and</em> the containers still
 * running have grown by more than 1 % of the memory they share (at least 16 MiB) since then: only allocation
 * leads to the kernel's OOM killer, and a stable set of running containers allocates nothing new.
 */
final class OomProtection implements Rule {

    static final String NAME = "oomProtection";

    private final Policies.OomProtection p;
    private final Set<String> victims = new HashSet<>();
    private long lastAction = Long.MIN_VALUE / 2;
    private long fullSince = -1;
    /** The working set of the containers left running just after the last freeze; -1 when none is in force. */
    private long runningAtFreeze = -1;

    OomProtection(Policies.OomProtection p) {
        this.p = p;
    }

    @Override
    public void decide(Cycle c, List<Action> out) {
        long available = c.host().memoryAvailable();
        double full = c.hostPressure(ps -> ps.memory(), true);
        if (full > p.fullPsiThreshold()) {
            fullSince = fullSince < 0 ? c.now() : fullSince;
        } else {
            fullSince = -1;
        }
        long parentUsage = Absent.VALUE;
        long parentLimit = Limits.UNLIMITED;
        if (c.parent() != null && c.parent().memory() != null && c.parent().spec() != null) {
            parentUsage = c.parent().memory().workingSet();
            parentLimit = c.parent().spec().memoryLimit();
        }
        String trigger = null;
        if (!Absent.is(available) && available < p.minAvailable()) {
            trigger = "host-available";
        } else if (!Absent.is(parentUsage) && parentLimit > 0 && !Limits.isUnlimited(parentLimit)
                && parentUsage > p.parentUsageAbove() * parentLimit) {
            trigger = "parent-limit";
        } else if (fullSince >= 0 && c.now() - fullSince >= p.fullPsiFor()) {
            trigger = "memory-pressure-full";
        }
        if (trigger == null) {
            runningAtFreeze = -1; // the danger passed: a later trigger is a new one
            return;
        }
        if (c.now() - lastAction < p.cooldown()) {
            return;
        }
        long running = 0;
        for (Member m : c.members()) {
            if (!victims.contains(m.name()) && !Absent.is(m.workingSet())) {
                running += m.workingSet();
            }
        }
        long growthMargin = Math.max(16L << 20, c.memoryCapacity() / 100);
        if (runningAtFreeze >= 0 && running <= runningAtFreeze + growthMargin) {
            return; // what is frozen keeps its memory; the others are not growing into the rest
        }
        // Candidates in victim order. An observed one ahead of the first governed one is recorded as the dry
        // run it is, and the governed one still acts this cycle: observing must not delay the real protection.
        List<Member> order = c.members().stream()
                .filter(m -> !m.untouchable() && !victims.contains(m.name()) && !Absent.is(m.workingSet()))
                .sorted(Comparator.<Member>comparingInt(m -> m.cls().priority())
                        .thenComparing(Comparator.<Member>comparingLong(m -> m.workingSet() - c.memoryEntitlement(m))
                                .reversed())
                        .thenComparing(Comparator.<Member>comparingDouble(Member::memoryGrowth).reversed()))
                .toList();
        for (Member m : order) {
            victims.add(m.name());
            out.add(stop(c, m, trigger, available, parentUsage, parentLimit, full, running));
            if (!m.observed() && !c.dryRun()) {
                lastAction = c.now();
                return;
            }
            if (c.dryRun()) { // a dry run of the whole policy: one victim per cooldown, as if applied
                lastAction = c.now();
                return;
            }
        }
    }

    private Action.Stop stop(Cycle c, Member m, String trigger, long available, long parentUsage, long parentLimit,
                             double full, long running) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("trigger", trigger);
        in.put("hostAvailableBytes", available);
        in.put("minAvailableBytes", p.minAvailable());
        in.put("parentWorkingSetBytes", parentUsage);
        in.put("parentLimitBytes", Limits.isUnlimited(parentLimit) ? -1 : parentLimit);
        in.put("hostMemoryPressureFull", CpuFairness.round(full));
        in.put("priority", m.cls().priority());
        in.put("class", m.cls().name());
        in.put("workingSetBytes", m.workingSet());
        in.put("entitledBytes", c.memoryEntitlement(m));
        in.put("growthBytesPerSecond", Math.round(m.memoryGrowth()));
        boolean freeze = p.action().equals("freeze");
        if (freeze && !m.observed()) {
            runningAtFreeze = running - m.workingSet();
            in.put("runningWorkingSetBytes", runningAtFreeze);
        }
        return new Action.Stop(m.name(), m.cgroup(), freeze, c.audit(NAME, m, freeze ? "freeze" : "kill", trigger,
                "running", freeze ? "frozen" : "killed", in));
    }

    @Override
    public void retain(Set<String> liveNames) {
        victims.retainAll(liveNames);
    }
}
