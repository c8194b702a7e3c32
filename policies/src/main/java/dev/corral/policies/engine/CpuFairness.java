package dev.corral.policies.engine;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.Policies;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Weighted, work-conserving CPU fairness. Class weights become cpu.shares (v1) / cpu.weight (v2), so the
 * kernel splits contended CPU by weight. Under contention (host CPU busy or CPU PSI high, and at least two
 * containers busy) each container's weighted max-min fair share of the cores the busy ones can run on (the union
 * of their cpusets) is computed, each demand bounded by its own cpuset's CPUs, a container
 * using more than its share (plus the tolerance) gets a CFS quota at it, and quotas follow the share as it
 * changes. Once contention has been over for liftAfter, quotas go back to the user's. A container alone keeps
 * everything: its share is all the CPUs it may run on.
 */
final class CpuFairness implements Rule {

    static final String NAME = "cpuFairness";
    /** Busy enough to count as competing for CPU. */
    private static final double BUSY_CORES = 0.05;

    private final Policies.CpuFairness p;
    private final Map<String, Long> quotas = new HashMap<>();
    private final Map<String, Long> changedAt = new HashMap<>();
    private final Map<String, Long> weightsSet = new HashMap<>();
    private long calmSince = -1;
    private Map<String, Double> entitled = Map.of();

    CpuFairness(Policies.CpuFairness p) {
        this.p = p;
    }

    Map<String, Double> entitled() {
        return entitled;
    }

    @Override
    public void decide(Cycle c, List<Action> out) {
        List<Member> members = new ArrayList<>();
        for (Member m : c.members()) {
            if (!Double.isNaN(m.cpuCores())) {
                members.add(m);
            }
        }
        setWeights(c, members, out);
        double hostBusy = c.hostCpuBusy();
        double psi = c.hostPressure(ps -> ps.cpu(), false);
        boolean saturated = hostBusy >= p.saturation() || psi >= p.psiThreshold();
        int n = members.size();
        double[] demand = new double[n];
        double[] weight = new double[n];
        int busy = 0;
        for (int i = 0; i < n; i++) {
            Member m = members.get(i);
            weight[i] = m.weight();
            double used = m.cpuCores();
            busy += used >= BUSY_CORES ? 1 : 0;
            demand[i] = Math.min(demand(c, m, saturated), cpusOf(c, m)); // it cannot run on more CPUs
        }
        double[] share = shares(c, members, demand, weight);
        Map<String, Double> e = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            e.put(members.get(i).cgroup(), share[i]);
        }
        entitled = e;
        boolean contention = saturated && busy >= 2;
        if (contention) {
            calmSince = -1;
            for (int i = 0; i < n; i++) {
                cap(c, members.get(i), share[i], hostBusy, psi, out);
            }
        } else {
            if (calmSince < 0) {
                calmSince = c.now();
            }
            if (c.now() - calmSince >= p.liftAfter()) {
                for (Member m : members) {
                    lift(c, m, hostBusy, psi, out);
                }
            }
        }
    }

    /**
     * What a container would use, in cores. Held at its quota (throttled, or using nearly all of it): unbounded.
     * Otherwise what it used plus the share of time its tasks waited for CPU (PSI "some": at least one more
     * core's worth of waiting, a lower bound); without PSI files, a busy container on a saturated host is
     * taken as unbounded. Never more than the user's own quota: it cannot use more, so it is not entitled to it.
     */
    private double demand(Cycle c, Member m, boolean saturated) {
        double used = m.cpuCores();
        long quota = quotaOf(m);
        boolean capped = !Limits.isUnlimited(quota) && used >= 0.9 * quota / (double) periodOf(m);
        double stall = m.cpuPressure();
        long userQuota = m.view().baseline().cpuQuotaMicros();
        double userCores = Limits.isUnlimited(userQuota) ? Double.POSITIVE_INFINITY : userQuota / (double) periodOf(m);
        if (m.throttledPeriods() > 0 || capped || (Double.isNaN(stall) && saturated && used >= BUSY_CORES)) {
            return userCores;
        }
        return Math.min(userCores, used + (Double.isNaN(stall) ? 0 : stall) + 0.02);
    }

    /** How many CPUs a container may run on: its effective cpuset's, all the host's when unknown. */
    static int cpusOf(Cycle c, Member m) {
        CpuSet cpus = m.cpus();
        return cpus == null ? c.host().cpuCores() : Math.min(cpus.count(), c.host().cpuCores());
    }

    /**
     * The cores the busy containers compete for: the CPUs in the union of their cpusets (all the host's if one of
     * them has none): two containers pinned to CPU 1 of a 2-CPU host share one core, not two.
     */
    static double capacity(Cycle c, List<Member> members) {
        CpuSet union = CpuSet.EMPTY;
        boolean any = false;
        for (Member m : members) {
            if (m.cpuCores() < BUSY_CORES) {
                continue;
            }
            if (m.cpus() == null) {
                return c.host().cpuCores();
            }
            union = union.union(m.cpus());
            any = true;
        }
        return any ? Math.min(union.count(), c.host().cpuCores()) : c.host().cpuCores();
    }

    /**
     * Weighted max-min over the CPUs: all members together get at most {@link #capacity}, and for each distinct
     * cpuset S of a busy member, the members whose cpusets lie within S together at most |S| (two containers
     * pinned to CPU 1 share one core, whatever runs elsewhere). Exact when the cpusets are nested or disjoint
     * (docs/policies.md).
     */
    static double[] shares(Cycle c, List<Member> members, double[] demand, double[] weight) {
        List<int[]> groups = new ArrayList<>();
        List<Double> caps = new ArrayList<>();
        int[] all = new int[members.size()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        groups.add(all);
        caps.add(capacity(c, members));
        Set<CpuSet> seen = new java.util.HashSet<>();
        for (Member m : members) {
            CpuSet s = m.cpus();
            if (s == null || m.cpuCores() < BUSY_CORES || !seen.add(s) || s.count() >= c.host().cpuCores()) {
                continue;
            }
            List<Integer> within = new ArrayList<>();
            for (int j = 0; j < members.size(); j++) {
                CpuSet o = members.get(j).cpus();
                if (o != null && o.intersect(s).equals(o)) {
                    within.add(j);
                }
            }
            groups.add(within.stream().mapToInt(Integer::intValue).toArray());
            caps.add((double) s.count());
        }
        return MaxMin.shares(demand, weight, groups.toArray(new int[0][]),
                caps.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private void cap(Cycle c, Member m, double share, double hostBusy, double psi, List<Action> out) {
        double used = m.cpuCores();
        Long current = quotas.get(m.name());
        if (current == null && used <= share * (1 + p.tolerance())) {
            return; // within its share: the weights are enough
        }
        long period = periodOf(m);
        long target = CgroupConversions.cpusToQuotaMicros(Math.max(share, 0.01), period);
        long userQuota = m.view().baseline().cpuQuotaMicros();
        if (!Limits.isUnlimited(userQuota) && userQuota <= target) {
            return; // the user's own quota is already tighter
        }
        if (current != null && Math.abs(target - current) <= p.tolerance() * current) {
            return; // hysteresis: not worth a write
        }
        Long last = changedAt.get(m.name());
        if (last != null && c.now() - last < p.cooldown()) {
            return;
        }
        String before = quotaText(quotaOf(m), period);
        quotas.put(m.name(), target);
        changedAt.put(m.name(), c.now());
        out.add(new Action.SetCpu(m.name(), m.cgroup(), target, period, null, null,
                c.audit(NAME, m, "set-cpu-quota", "contention", before, quotaText(target, period),
                        inputs(m, share, hostBusy, psi))));
    }

    private void lift(Cycle c, Member m, double hostBusy, double psi, List<Action> out) {
        Long current = quotas.remove(m.name());
        if (current == null) {
            return;
        }
        changedAt.put(m.name(), c.now());
        long period = periodOf(m);
        long restore = m.view().baseline().cpuQuotaMicros();
        out.add(new Action.SetCpu(m.name(), m.cgroup(), restore, period, null, null,
                c.audit(NAME, m, "lift-cpu-quota", "contention-over", quotaText(current, period),
                        quotaText(restore, period), inputs(m, entitled.getOrDefault(m.cgroup(), 0.0), hostBusy,
                                psi))));
    }

    /** Class weight w → w × 1024 cpu.shares on v1, w × 100 cpu.weight on v2 (the kernels' defaults at w = 1). */
    private void setWeights(Cycle c, List<Member> members, List<Action> out) {
        for (Member m : members) {
            if (m.now().spec() == null || Absent.is(m.now().spec().cpuShares()) || m.ownsCpuWeight()) {
                continue; // a container that sets its own shares keeps them
            }
            long currentShares = m.now().spec().cpuShares();
            boolean v2 = c.host().v2();
            long target = v2 ? Math.max(1, Math.min(10_000, Math.round(100 * m.weight())))
                    : Math.max(2, Math.min(262_144, Math.round(1024 * m.weight())));
            long current = v2 ? CgroupConversions.sharesToWeight(currentShares) : currentShares;
            if (current == target) {
                weightsSet.remove(m.name()); // in force; a later change by hand is corrected again
                continue;
            }
            if (Long.valueOf(target).equals(weightsSet.get(m.name()))) {
                continue; // written (or, in a dry run, decided) already
            }
            weightsSet.put(m.name(), target);
            String unit = v2 ? "cpu.weight " : "cpu.shares ";
            out.add(new Action.SetCpu(m.name(), m.cgroup(), null, null, v2 ? null : target, v2 ? target : null,
                    c.audit(NAME, m, "set-cpu-weight", "class-weight", unit + current, unit + target,
                            Map.of("class", m.cls().name(), "weight", m.weight()))));
        }
    }

    private long quotaOf(Member m) {
        Long set = quotas.get(m.name());
        if (set != null) {
            return set;
        }
        if (m.now().spec() != null && !Absent.is(m.now().spec().cpuQuotaMicros())) {
            return m.now().spec().cpuQuotaMicros();
        }
        return Limits.UNLIMITED;
    }

    private static long periodOf(Member m) {
        if (m.now().spec() != null && m.now().spec().cpuPeriodMicros() > 0) {
            return m.now().spec().cpuPeriodMicros();
        }
        return m.view().baseline().cpuPeriodMicros();
    }

    private static Map<String, Object> inputs(Member m, double share, double hostBusy, double psi) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("usedCores", round(m.cpuCores()));
        in.put("entitledCores", round(share));
        in.put("weight", m.weight());
        in.put("hostCpuBusy", round(hostBusy));
        in.put("hostCpuPressure", round(psi));
        in.put("throttledPeriods", m.throttledPeriods());
        return in;
    }

    static double round(double v) {
        return Double.isNaN(v) ? -1 : Math.round(v * 1000) / 1000.0;
    }

    private static String quotaText(long quota, long period) {
        return Limits.isUnlimited(quota) ? "max" : String.format(java.util.Locale.ROOT, "%.3f cores", quota
                / (double) period);
    }

    @Override
    public void retain(Set<String> liveNames) {
        quotas.keySet().retainAll(liveNames);
        changedAt.keySet().retainAll(liveNames);
        weightsSet.keySet().retainAll(liveNames);
    }
}
