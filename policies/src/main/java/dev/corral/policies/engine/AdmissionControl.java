package dev.corral.policies.engine;

import dev.corral.policies.file.Policies;
import dev.corral.policies.file.Policy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Admission by weighted dominant resource fairness over guarantees: a container's guarantee is its class's
 * (memory at least the spec's own reservation). A start does not fit when the guarantees of the containers
 * already running plus its own would exceed what the host can promise (cores × cpuOvercommit, memory ×
 * memoryFraction); it is then refused, or queued when the policy says {@code onOvercommit: queue}. Its dominant
 * share — the larger of its guaranteed cpu and memory fractions — is reported.
 *
 * <p>The queue is strictly ordered: higher class priority first, then arrival. Only its head may start; a
 * container behind it waits even if it would fit, so a large container is not starved by smaller ones that keep
 * overtaking it. A new start queues behind the waiting containers of its priority or higher. Each queued
 * container is refused at its deadline (queueTimeout after it joined).
 */
final class AdmissionControl {

    static final String NAME = "admission";

    private AdmissionControl() {
    }

    /** Queue order: higher priority first, then the earlier arrival, then the name (a stable tie-break). */
    static Comparator<Queued> order(Policy policy) {
        return Comparator.<Queued>comparingInt(q -> -priority(policy, q.view()))
                .thenComparingLong(Queued::queuedAtMillis)
                .thenComparing(q -> q.view().name());
    }

    /**
     * @param self    the candidate's own queue entry when it is queued, else null (a new start)
     * @param running the containers running now (the candidate excluded)
     * @param queue   the containers waiting (the candidate excluded)
     */
    static Admission admit(Policy policy, long now, ContainerView candidate, Queued self, List<ContainerView> running,
                           List<Queued> queue, HostView host, boolean dryRun) {
        Policies.Admission p = policy.policies().admission();
        double cpu = 0;
        long memory = 0;
        for (ContainerView v : running) {
            if (!v.name().equals(candidate.name())) {
                cpu += cpuGuarantee(policy, v);
                memory += memoryGuarantee(policy, v);
            }
        }
        double wantCpu = cpuGuarantee(policy, candidate);
        long wantMemory = memoryGuarantee(policy, candidate);
        double cpuCap = host.cpuCores() * p.cpuOvercommit();
        long memoryCap = (long) (host.memoryBytes() * p.memoryFraction());
        double dominant = dominantShare(wantCpu, wantMemory, host);
        String resource = null;
        String shortage = null;
        if (wantCpu > 0 && cpu + wantCpu > cpuCap + 1e-9) {
            resource = "cpu";
            shortage = String.format(Locale.ROOT, "its guaranteed cpu (%.2f cores) would bring guaranteed cpu to "
                    + "%.2f cores, over the %.2f cores this host can guarantee", wantCpu, cpu + wantCpu, cpuCap);
        } else if (wantMemory > 0 && memory + wantMemory > memoryCap) {
            resource = "memory";
            shortage = String.format(Locale.ROOT, "its guaranteed memory (%s) would bring guaranteed memory to %s, "
                    + "over the %s this host can guarantee", Cycle.bytes(wantMemory), Cycle.bytes(memory + wantMemory),
                    Cycle.bytes(memoryCap));
        }
        // The queue is in force only when the policy queues; after a reload to "refuse", containers still queued
        // are each admitted or refused on their own.
        List<Queued> ahead = new ArrayList<>();
        if (p.queues()) {
            Queued me = self != null ? self : new Queued(candidate, now, Long.MAX_VALUE);
            for (Queued q : queue) {
                if (!q.view().name().equals(candidate.name()) && order(policy).compare(q, me) < 0) {
                    ahead.add(q);
                }
            }
        }
        boolean fits = resource == null && ahead.isEmpty();
        String name = candidate.name();
        Admission.Outcome outcome;
        String action;
        String reason;
        String message;
        long deadline = 0;
        if (fits) {
            outcome = Admission.Outcome.ADMIT;
            action = self != null ? "dequeue" : "admit";
            reason = "fits";
            message = String.format(Locale.ROOT, "admitted '%s': dominant share %.3f", name, dominant);
        } else {
            String why = shortage != null ? shortage : String.format(Locale.ROOT,
                    "%d container%s of priority %d or higher %s queued ahead of it", ahead.size(),
                    ahead.size() == 1 ? "" : "s", priority(policy, candidate), ahead.size() == 1 ? "is" : "are");
            reason = resource != null ? resource + "-overcommitted" : "queued-ahead";
            if (self != null && now >= self.deadlineMillis()) {
                outcome = Admission.Outcome.REFUSE;
                action = "timeout";
                reason = "queue-timeout";
                message = String.format(Locale.ROOT, "admission refused for '%s': still queued after %s (the "
                        + "queue timeout): %s", name, duration(now - self.queuedAtMillis()), why);
            } else if (p.queues() && self == null && queue.size() >= p.maxQueued()) {
                outcome = Admission.Outcome.REFUSE;
                action = "refuse";
                reason = "queue-full";
                message = String.format(Locale.ROOT, "admission refused for '%s': %s, and the admission queue is "
                        + "full (%d waiting, maxQueued %d)", name, why, queue.size(), p.maxQueued());
            } else if (p.queues()) {
                outcome = Admission.Outcome.QUEUE;
                action = "queue";
                deadline = self != null ? self.deadlineMillis() : now + p.queueTimeout();
                message = String.format(Locale.ROOT, "queued '%s': %s; it starts when it fits, or is refused "
                        + "after %s", name, why, duration(deadline - (self != null ? self.queuedAtMillis() : now)));
            } else {
                outcome = Admission.Outcome.REFUSE;
                action = "refuse";
                message = String.format(Locale.ROOT, "admission refused for '%s': %s", name, why);
            }
        }
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("guaranteedCpuCores", wantCpu);
        in.put("guaranteedMemoryBytes", wantMemory);
        in.put("runningGuaranteedCpuCores", cpu);
        in.put("runningGuaranteedMemoryBytes", memory);
        in.put("cpuCapacityCores", cpuCap);
        in.put("memoryCapacityBytes", memoryCap);
        in.put("dominantShare", CpuFairness.round(dominant));
        in.put("class", policy.classOf(candidate.name(), candidate.labels()).name());
        in.put("priority", priority(policy, candidate));
        in.put("onOvercommit", p.onOvercommit());
        in.put("queuedAhead", ahead.size());
        if (self != null) {
            in.put("queuedForMillis", now - self.queuedAtMillis());
        }
        if (outcome == Admission.Outcome.QUEUE) {
            in.put("deadlineMillis", deadline);
        }
        String before = self != null ? "queued" : "created";
        // In a dry run the decision is recorded and the start goes ahead, as if the policy admitted it.
        boolean starts = outcome == Admission.Outcome.ADMIT || dryRun;
        String after = starts ? "started" : outcome == Admission.Outcome.QUEUE ? "queued" : "refused";
        // A queued container that still waits changed nothing: no record (the queue is re-checked often).
        Audit audit = outcome == Admission.Outcome.QUEUE && self != null && !dryRun ? null
                : new Audit(now, NAME, name, action, reason, before, after, in, dryRun);
        return new Admission(starts ? Admission.Outcome.ADMIT : outcome, starts ? null : resource, message, dominant,
                starts ? 0 : deadline, audit);
    }

    static int priority(Policy policy, ContainerView v) {
        return policy.classOf(v.name(), v.labels()).priority();
    }

    static String duration(long millis) {
        long s = Math.max(0, millis) / 1000;
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return s / 60 + "m" + (s % 60 == 0 ? "" : s % 60 + "s");
        }
        return s / 3600 + "h" + (s % 3600 / 60 == 0 ? "" : s % 3600 / 60 + "m");
    }

    static double cpuGuarantee(Policy policy, ContainerView v) {
        return policy.classOf(v.name(), v.labels()).guarantees().cpu();
    }

    static long memoryGuarantee(Policy policy, ContainerView v) {
        return Math.max(policy.classOf(v.name(), v.labels()).guarantees().memory(), v.baseline().memoryReservation());
    }

    static double dominantShare(double cpu, long memory, HostView host) {
        double c = host.cpuCores() > 0 ? cpu / host.cpuCores() : 0;
        double m = host.memoryBytes() > 0 ? memory / (double) host.memoryBytes() : 0;
        return Math.min(1, Math.max(c, m));
    }
}
