package dev.corral.policies.engine;

import dev.corral.policies.file.Policies;
import dev.corral.policies.file.Policy;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Admission by weighted dominant resource fairness over guarantees: a container's guarantee is its class's
 * (memory at least the spec's own reservation). A start is refused when the guarantees of the containers
 * already running plus its own would exceed what the host can promise (cores × cpuOvercommit, memory ×
 * memoryFraction). Its dominant share — the larger of its guaranteed cpu and memory fractions — is reported;
 * divided by the class weight it orders containers for DRF.
 */
final class AdmissionControl {

    static final String NAME = "admission";

    private AdmissionControl() {
    }

    static Admission admit(Policy policy, long now, ContainerView candidate, List<ContainerView> running,
                           HostView host, boolean dryRun) {
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
        String message;
        if (wantCpu > 0 && cpu + wantCpu > cpuCap + 1e-9) {
            resource = "cpu";
            message = String.format(Locale.ROOT, "admission refused for '%s': its guaranteed cpu (%.2f cores) "
                    + "would bring guaranteed cpu to %.2f cores, over the %.2f cores this host can guarantee",
                    candidate.name(), wantCpu, cpu + wantCpu, cpuCap);
        } else if (wantMemory > 0 && memory + wantMemory > memoryCap) {
            resource = "memory";
            message = String.format(Locale.ROOT, "admission refused for '%s': its guaranteed memory (%s) would "
                    + "bring guaranteed memory to %s, over the %s this host can guarantee", candidate.name(),
                    Cycle.bytes(wantMemory), Cycle.bytes(memory + wantMemory), Cycle.bytes(memoryCap));
        } else {
            message = String.format(Locale.ROOT, "admitted '%s': dominant share %.3f", candidate.name(), dominant);
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
        boolean admitted = resource == null || dryRun;
        Audit audit = new Audit(now, NAME, candidate.name(), resource == null ? "admit" : "refuse",
                resource == null ? "fits" : resource + "-overcommitted", "created", admitted ? "started" : "refused",
                in, dryRun);
        return new Admission(admitted, admitted ? null : resource, message, dominant, audit);
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
