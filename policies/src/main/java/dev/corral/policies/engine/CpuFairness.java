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
            busy += busy(m) ? 1 : 0;
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
     * Competing for CPU: using some, or throttled (it wanted more than a quota let it have; a container held at a
     * small quota uses little, and counting it idle for that would end the contention its quota is for).
     */
    private static boolean busy(Member m) {
        return m.cpuCores() >= BUSY_CORES || m.throttledPeriods() > 0;
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

    /** The most CPU sets {@link #shares} bounds: the unions of a few distinct cpusets, never thousands. */
    static final int MAX_GROUPS = 512;

    /**
     * Weighted max-min over the CPUs, exact: for every set X of CPUs that is a union of members' cpusets, the
     * members whose cpusets lie within X together get at most |X| (a polymatroid: these are all the bounds, since
     * any other set of CPUs bounds no more members than the union of the cpusets within it), and all members
     * together at most the host's cores. A member with no cpuset known may run anywhere. Two containers pinned to
     * CPU 1 share one core whatever runs elsewhere; pinned to 0-1 and 1-2 they share three, not four.
     */
    static double[] shares(Cycle c, List<Member> members, double[] demand, double[] weight) {
        int host = c.host().cpuCores();
        int n = members.size();
        CpuSet[] cpus = new CpuSet[n];
        List<CpuSet> sets = new ArrayList<>();
        Set<CpuSet> seen = new java.util.HashSet<>();
        for (int i = 0; i < n; i++) {
            cpus[i] = members.get(i).cpus();
            if (cpus[i] != null && cpus[i].count() < host && seen.add(cpus[i])) {
                sets.add(cpus[i]);
            }
        }
        // close under union: each new union joined with every set so far (bounded; without the bound a host of
        // many CPUs and many distinct cpusets could make exponentially many)
        for (int a = 0; a < sets.size() && sets.size() < MAX_GROUPS; a++) {
            for (int b = 0; b < a && sets.size() < MAX_GROUPS; b++) {
                CpuSet u = sets.get(a).union(sets.get(b));
                if (u.count() < host && seen.add(u)) {
                    sets.add(u);
                }
            }
        }
        int[][] groups = new int[sets.size() + 1][];
        double[] caps = new double[sets.size() + 1];
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        groups[0] = all;
        caps[0] = host;
        for (int g = 0; g < sets.size(); g++) {
            CpuSet x = sets.get(g);
            List<Integer> within = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                if (cpus[j] != null && cpus[j].intersect(x).equals(cpus[j])) {
                    within.add(j);
                }
            }
            groups[g + 1] = within.stream().mapToInt(Integer::intValue).toArray();
            caps[g + 1] = x.count();
        }
        return MaxMin.shares(demand, weight, groups, caps);
    }

    private void cap(Cycle c, Member m, double share, double hostBusy, double psi, List<Action> out) {
        double used = m.cpuCores();
        Long current = quotas.get(m.name());
        if (!(share > 0)) {
            return; // nothing to go by (a busy container with a weight is always entitled to some CPU)
        }
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
