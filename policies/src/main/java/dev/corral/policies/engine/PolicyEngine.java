package dev.corral.policies.engine;

import dev.corral.exporter.sample.CgroupSample;
import dev.corral.policies.file.Policy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Pure decisions: each {@link #decide} takes two consecutive snapshots, the containers, the host and the time
 * and returns the actions to apply, each with its audit record. No file, process or clock access: the agent
 * measures and applies. Keeps state between cycles (hysteresis, cooldowns, what it set); not thread-safe.
 */
public final class PolicyEngine {

    private final Policy policy;
    private final boolean dryRun;
    private final CpuFairness cpu;
    private final List<Rule> rules = new ArrayList<>();

    /** @param dryRun decide and record, apply nothing (also when the file says {@code "dryRun": true}) */
    public PolicyEngine(Policy policy, boolean dryRun) {
        this.policy = policy;
        this.dryRun = dryRun || policy.dryRun();
        var p = policy.policies();
        this.cpu = new CpuFairness(p.cpuFairness());
        if (p.cpuFairness().enabled()) {
            rules.add(cpu);
        }
        if (p.memoryPressure().enabled()) {
            rules.add(new MemoryRelief(p.memoryPressure()));
        }
        if (p.oomProtection().enabled()) {
            rules.add(new OomProtection(p.oomProtection()));
        }
        if (p.ioFairness().enabled()) {
            rules.add(new IoFairness(p.ioFairness()));
        }
        if (p.networkFairness().enabled() && p.networkFairness().capacity() > 0) {
            rules.add(new NetworkFairness(p.networkFairness()));
        }
    }

    public Policy policy() {
        return policy;
    }

    public boolean dryRun() {
        return dryRun;
    }

    public Decision decide(Observation o) {
        double seconds = (o.current().timestampMillis() - o.previous().timestampMillis()) / 1000.0;
        Set<String> names = new HashSet<>();
        for (ContainerView v : o.containers()) {
            names.add(v.name());
        }
        for (Rule r : rules) {
            r.retain(names);
        }
        if (seconds <= 0) {
            return Decision.NONE;
        }
        List<Member> members = new ArrayList<>();
        for (ContainerView v : o.containers()) {
            CgroupSample now = o.current().live().get(v.cgroup());
            Optional<Policy.PolicyClass> cls = policy.classOf(v.subject());
            if (now != null && cls.isPresent()) { // a foreign container no class selects is left alone
                members.add(new Member(v, cls.get(), now, o.previous().live().get(v.cgroup()), seconds));
            }
        }
        Cycle c = new Cycle(o.nowMillis(), seconds, o.host(), policy, members, o.current().live().get("/"),
                o.previous().live().get("/"), o.current().live().get(o.host().parent()), dryRun, o.network());
        List<Action> actions = new ArrayList<>();
        for (Rule r : rules) {
            r.decide(c, actions);
        }
        Map<String, Double> dominant = new HashMap<>();
        for (Member m : members) {
            double usedCpu = Double.isNaN(m.cpuCores()) ? 0 : m.cpuCores();
            double cpuAlloc = Math.max(AdmissionControl.cpuGuarantee(policy, m.view()), usedCpu);
            long memAlloc = Math.max(AdmissionControl.memoryGuarantee(policy, m.view()), Math.max(0, m.workingSet()));
            dominant.put(m.cgroup(), AdmissionControl.dominantShare(cpuAlloc, memAlloc, o.host()));
        }
        Map<String, Double> entitled = policy.policies().cpuFairness().enabled() ? cpu.entitled() : Map.of();
        return new Decision(actions, entitled, dominant);
    }

    /**
     * Tells the rules that the kernel refused {@code action} (EBUSY), so that none of them believes it holds: v1
     * memory relief backs off from a cap the kernel could not reclaim down to.
     */
    public void refused(Action action, long nowMillis) {
        for (Rule r : rules) {
            r.refused(action, nowMillis);
        }
    }

    /**
     * Whether {@code candidate} may start next to {@code running}, with no queue. Always admitted when admission
     * is disabled; in a dry run a refusal is recorded but the start goes ahead.
     */
    public Admission admit(long nowMillis, ContainerView candidate, List<ContainerView> running, HostView host) {
        return admit(nowMillis, candidate, null, running, List.of(), host);
    }

    /**
     * Whether {@code candidate} may start now, be queued, or is refused (see {@link AdmissionControl}).
     *
     * @param self  the candidate's queue entry when it is queued (a re-check), null for a new start
     * @param queue the other containers waiting
     */
    public Admission admit(long nowMillis, ContainerView candidate, Queued self, List<ContainerView> running,
                           List<Queued> queue, HostView host) {
        if (!policy.policies().admission().enabled()) {
            return new Admission(Admission.Outcome.ADMIT, null, "admission control is disabled", 0, 0,
                    self == null ? null : new Audit(nowMillis, AdmissionControl.NAME, candidate.name(), "dequeue",
                            "admission-disabled", "queued", "started", Map.of(), dryRun));
        }
        return AdmissionControl.admit(policy, nowMillis, candidate, self, running, queue, host, dryRun);
    }

    /** The queue in the order its containers may start: class priority (highest first), then arrival. */
    public List<Queued> queueOrder(List<Queued> queue) {
        List<Queued> sorted = new ArrayList<>(queue);
        sorted.sort(AdmissionControl.order(policy));
        return sorted;
    }
}
