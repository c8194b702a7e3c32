package dev.corral.policies.engine;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.Policy;
import java.util.List;
import java.util.Map;

/** Everything one decision round sees: time, the interval, the host, the live containers and the policy. */
record Cycle(long now, double seconds, HostView host, Policy policy, List<Member> members, CgroupSample root,
             CgroupSample rootBefore, CgroupSample parent, boolean dryRun, Map<String, NetworkSample> network) {

    Audit audit(String policyName, Member m, String action, String reason, String before, String after,
                Map<String, Object> inputs) {
        return new Audit(now, policyName, m.name(), action, reason, before, after, inputs, dryRun || m.observed());
    }

    /** Host CPU busy fraction (0..1) over the interval, from the root cgroup's usage; NaN if unknown. */
    double hostCpuBusy() {
        if (root == null || rootBefore == null || root.cpu() == null || rootBefore.cpu() == null
                || Absent.is(root.cpu().usageNanos()) || Absent.is(rootBefore.cpu().usageNanos())) {
            return Double.NaN;
        }
        return Math.max(0, root.cpu().usageNanos() - rootBefore.cpu().usageNanos()) / 1e9 / seconds
                / host.cpuCores();
    }

    double hostPressure(java.util.function.Function<dev.corral.exporter.sample.PressureStats,
            dev.corral.exporter.sample.Pressure> which, boolean full) {
        return Member.pressureShare(root, rootBefore, seconds, which, full);
    }

    /** The memory limit all containers share: the agent parent's, else the host's memory. */
    long memoryCapacity() {
        if (parent != null && parent.spec() != null && parent.spec().memoryLimit() > 0
                && !Limits.isUnlimited(parent.spec().memoryLimit())) {
            return Math.min(parent.spec().memoryLimit(), host.memoryBytes());
        }
        return host.memoryBytes();
    }

    /** The parent's working set over its memory limit; 0 when it has no limit. */
    double parentMemoryFraction() {
        if (parent == null || parent.memory() == null || parent.spec() == null || parent.spec().memoryLimit() <= 0
                || Limits.isUnlimited(parent.spec().memoryLimit()) || Absent.is(parent.memory().workingSet())) {
            return 0;
        }
        return parent.memory().workingSet() / (double) parent.spec().memoryLimit();
    }

    /** Each member's memory entitlement: a weighted share of the capacity, never below its guarantee. */
    long memoryEntitlement(Member m) {
        double weights = 0;
        for (Member o : members) {
            weights += o.weight();
        }
        long share = (long) (memoryCapacity() * m.weight() / weights);
        return Math.max(share, m.cls().guarantees().memory());
    }

    static String bytes(long b) {
        if (Limits.isUnlimited(b)) {
            return "max";
        }
        return b >= (1L << 20) ? String.format(java.util.Locale.ROOT, "%.1fMiB", b / 1048576.0) : b + "B";
    }
}
