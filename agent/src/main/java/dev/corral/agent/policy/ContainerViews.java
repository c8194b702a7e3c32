package dev.corral.agent.policy;

import dev.corral.agent.runtime.BlockDevices;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import dev.corral.policies.engine.ContainerView;
import java.util.HashMap;
import java.util.Map;

/** The engine's view of a container record: name, cgroup, labels and the limits its spec asks for. */
final class ContainerViews {

    private ContainerViews() {
    }

    static ContainerView of(ContainerRecord r) {
        ContainerSpec spec = r.spec();
        ContainerSpec.Limits l = spec.limits();
        long period = CgroupConversions.DEFAULT_CPU_PERIOD_MICROS;
        long quota = Limits.UNLIMITED;
        long shares = 0;
        long max = Limits.UNLIMITED;
        long high = Limits.UNLIMITED;
        long reservation = 0;
        CpuSet cpus = null;
        Map<String, ContainerView.DeviceThrottle> io = new HashMap<>();
        if (l != null && l.cpu() != null) {
            ContainerSpec.Cpu c = l.cpu();
            period = c.period() != null ? c.period() : period;
            shares = c.shares() != null ? c.shares()
                    : c.weight() != null ? CgroupConversions.weightToShares(c.weight()) : 0;
            cpus = c.cpusetCpus() == null ? null : CpuSet.parse(c.cpusetCpus());
            if (c.quota() != null) {
                quota = c.quota();
            } else if (c.cpus() != null) {
                quota = CgroupConversions.cpusToQuotaMicros(c.cpus(), period);
            }
        }
        if (l != null && l.memory() != null) {
            ContainerSpec.Memory m = l.memory();
            max = m.max() != null ? m.max() : max;
            high = m.high() != null ? m.high() : high;
            reservation = m.reservation() != null && !Limits.isUnlimited(m.reservation()) ? m.reservation() : 0;
        }
        if (l != null && l.io() != null && l.io().devices() != null) {
            for (ContainerSpec.IoDevice d : l.io().devices()) {
                String dev = d.device() != null && d.device().matches("[0-9]+:[0-9]+") ? d.device()
                        : d.device() == null ? null : BlockDevices.majorMinor(d.device());
                if (dev != null) {
                    io.put(dev, new ContainerView.DeviceThrottle(d.readBps() != null ? d.readBps() : Limits.UNLIMITED,
                            d.writeBps() != null ? d.writeBps() : Limits.UNLIMITED));
                }
            }
        }
        return new ContainerView(r.name(), r.cgroup(), spec.labels(), new ContainerView.Baseline(quota, period,
                shares, max, high, reservation, io, cpus));
    }
}
