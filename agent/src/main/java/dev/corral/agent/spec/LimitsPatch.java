package dev.corral.agent.spec;

import java.util.ArrayList;
import java.util.List;

/** Merges a partial {@link ContainerSpec.Limits} (a live update) over a container's current limits. */
public final class LimitsPatch {

    private LimitsPatch() {
    }

    public static ContainerSpec.Limits merge(ContainerSpec.Limits base, ContainerSpec.Limits patch) {
        if (base == null) {
            return patch;
        }
        if (patch == null) {
            return base;
        }
        return new ContainerSpec.Limits(memory(base.memory(), patch.memory()), cpu(base.cpu(), patch.cpu()),
                io(base.io(), patch.io()), patch.pids() != null ? patch.pids() : base.pids(),
                network(base.network(), patch.network()));
    }

    public static ContainerSpec withLimits(ContainerSpec s, ContainerSpec.Limits limits) {
        return s.withLimits(limits);
    }

    private static ContainerSpec.Memory memory(ContainerSpec.Memory b, ContainerSpec.Memory p) {
        if (b == null || p == null) {
            return p != null ? p : b;
        }
        return new ContainerSpec.Memory(or(p.max(), b.max()), or(p.high(), b.high()), or(p.swap(), b.swap()),
                or(p.reservation(), b.reservation()));
    }

    private static ContainerSpec.Cpu cpu(ContainerSpec.Cpu b, ContainerSpec.Cpu p) {
        if (b == null || p == null) {
            return p != null ? p : b;
        }
        // cpus and quota, shares and weight are alternatives: the patch's choice replaces the other.
        boolean quotaGiven = p.cpus() != null || p.quota() != null;
        boolean weightGiven = p.shares() != null || p.weight() != null;
        return new ContainerSpec.Cpu(quotaGiven ? p.cpus() : b.cpus(), quotaGiven ? p.quota() : b.quota(),
                or(p.period(), b.period()), weightGiven ? p.shares() : b.shares(),
                weightGiven ? p.weight() : b.weight(), or(p.cpusetCpus(), b.cpusetCpus()),
                or(p.cpusetMems(), b.cpusetMems()));
    }

    private static ContainerSpec.Io io(ContainerSpec.Io b, ContainerSpec.Io p) {
        if (b == null || p == null) {
            return p != null ? p : b;
        }
        List<ContainerSpec.IoDevice> devices = new ArrayList<>(b.devices() == null ? List.of() : b.devices());
        if (p.devices() != null) {
            for (ContainerSpec.IoDevice d : p.devices()) {
                devices.removeIf(old -> old.device() != null && old.device().equals(d.device()));
                devices.add(d);
            }
        }
        return new ContainerSpec.Io(or(p.weight(), b.weight()), devices);
    }

    private static ContainerSpec.NetworkRate network(ContainerSpec.NetworkRate b, ContainerSpec.NetworkRate p) {
        if (b == null || p == null) {
            return p != null ? p : b;
        }
        return new ContainerSpec.NetworkRate(or(p.egress(), b.egress()), or(p.ingress(), b.ingress()));
    }

    private static <T> T or(T patch, T base) {
        return patch != null ? patch : base;
    }
}
