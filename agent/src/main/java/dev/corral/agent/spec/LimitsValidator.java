package dev.corral.agent.spec;

import dev.corral.agent.cgroup.ResourceLimits;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** The rules of a spec's {@code limits}: memory, CPU (quota, shares, cpusets), IO and pids, against the host. */
final class LimitsValidator {

    private static final Pattern CPU_LIST = Pattern.compile("[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*");
    private static final Pattern MAJOR_MINOR = Pattern.compile("[0-9]{1,10}:[0-9]{1,10}");
    /** The kernel's least CFS quota (cpu.cfs_quota_us, cpu.max), in microseconds per period. */
    private static final long MIN_QUOTA_MICROS = 1000;

    private final HostFacts host;

    LimitsValidator(HostFacts host) {
        this.host = host;
    }

    ResourceLimits limits(ContainerSpec.Limits l) throws SpecException {
        if (l == null) {
            return ResourceLimits.NONE;
        }
        ResourceLimits.Memory memory = null;
        if (l.memory() != null) {
            ContainerSpec.Memory m = l.memory();
            Long max = bytes(m.max(), "limits.memory.max");
            if (max != null && !Limits.isUnlimited(max) && max < SpecValidator.MIN_MEMORY) {
                throw new SpecException("limits.memory.max", "must be at least 6m");
            }
            Long high = bytes(m.high(), "limits.memory.high");
            if (high != null && !host.cgroupV2()) {
                throw new SpecException("limits.memory.high", "needs cgroup v2; this host's memory controller is v1");
            }
            Long reservation = bytes(m.reservation(), "limits.memory.reservation");
            if (reservation != null && max != null && !Limits.isUnlimited(max) && reservation > max) {
                throw new SpecException("limits.memory.reservation", "must not exceed limits.memory.max");
            }
            memory = new ResourceLimits.Memory(max, high, bytes(m.swap(), "limits.memory.swap"), reservation);
        }
        ResourceLimits.Cpu cpu = l.cpu() == null ? null : cpu(l.cpu());
        ResourceLimits.Io io = l.io() == null ? null : io(l.io());
        ResourceLimits.Pids pids = null;
        if (l.pids() != null && l.pids().max() != null) {
            long max = l.pids().max();
            if (max == -1) {
                max = Limits.UNLIMITED;
            } else if (max < 1) {
                throw new SpecException("limits.pids.max", "must be at least 1 (or -1 for unlimited)");
            }
            pids = new ResourceLimits.Pids(max);
        }
        return new ResourceLimits(memory, cpu, io, pids);
    }

    private static Long bytes(Long v, String field) throws SpecException {
        if (v != null && v < 0) {
            throw new SpecException(field, "must not be negative");
        }
        return v;
    }

    private ResourceLimits.Cpu cpu(ContainerSpec.Cpu c) throws SpecException {
        Long period = c.period();
        if (period != null && (period < 1000 || period > 1_000_000)) {
            throw new SpecException("limits.cpu.period", "must be between 1000 and 1000000 microseconds");
        }
        Long quota = c.quota();
        if (c.cpus() != null) {
            if (quota != null) {
                throw new SpecException("limits.cpu.cpus", "give either cpus or quota, not both");
            }
            if (c.cpus().isNaN() || c.cpus() <= 0 || c.cpus() > host.cpus()) {
                throw new SpecException("limits.cpu.cpus", "must be more than 0 and at most " + host.cpus()
                        + " (this host's CPUs)");
            }
            if (period == null) {
                period = CgroupConversions.DEFAULT_CPU_PERIOD_MICROS;
            }
            // The kernel's least CFS quota is 1 ms a period; cpusToQuotaMicros would round up to it silently
            if (Math.round(c.cpus() * period) < MIN_QUOTA_MICROS) {
                throw new SpecException("limits.cpu.cpus", plain(c.cpus()) + " is below the kernel's minimum of "
                        + minCpus(period) + " (a CFS quota of at least 1 ms per " + plain(period / 1000.0)
                        + " ms period)");
            }
            quota = CgroupConversions.cpusToQuotaMicros(c.cpus(), period);
        } else if (quota != null) {
            if (quota == -1) {
                quota = Limits.UNLIMITED;
            } else if (quota < MIN_QUOTA_MICROS) {
                throw new SpecException("limits.cpu.quota", "must be at least 1000 microseconds (or -1 for none)");
            }
        }
        if (c.shares() != null && c.weight() != null) {
            throw new SpecException("limits.cpu.shares", "give either shares or weight, not both");
        }
        if (c.shares() != null && (c.shares() < 2 || c.shares() > 262_144)) {
            throw new SpecException("limits.cpu.shares", "must be between 2 and 262144");
        }
        if (c.weight() != null && (c.weight() < 1 || c.weight() > 10_000)) {
            throw new SpecException("limits.cpu.weight", "must be between 1 and 10000");
        }
        cpuList(c.cpusetCpus(), "limits.cpu.cpusetCpus", host.onlineCpus(), "CPUs");
        cpuList(c.cpusetMems(), "limits.cpu.cpusetMems", host.memoryNodes(), "memory nodes");
        return new ResourceLimits.Cpu(quota, period, c.shares(), c.weight(), c.cpusetCpus(), c.cpusetMems());
    }

    private static void cpuList(String list, String field, CpuSet host, String what) throws SpecException {
        if (list == null) {
            return;
        }
        if (!CPU_LIST.matcher(list).matches()) {
            throw new SpecException(field, "'" + SpecValidator.printable(list) + "' is not a list like 0-3,5");
        }
        if (host != null) {
            CpuSet wanted = CpuSet.parse(list);
            if (wanted == null || !wanted.intersect(host).equals(wanted)) {
                throw new SpecException(field, "'" + list + "': this host has " + what + " " + host);
            }
        }
    }

    /** The least cpus a period allows, e.g. 0.01 for 100 ms. */
    private static String minCpus(long periodMicros) {
        return plain((double) MIN_QUOTA_MICROS / periodMicros);
    }

    /** 0.0001, not 1.0E-4. */
    private static String plain(double v) {
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    private ResourceLimits.Io io(ContainerSpec.Io io) throws SpecException {
        if (io.weight() != null && (io.weight() < 10 || io.weight() > 1000)) {
            throw new SpecException("limits.io.weight", "must be between 10 and 1000");
        }
        List<ResourceLimits.DeviceLimit> devices = new ArrayList<>();
        if (io.devices() != null) {
            for (int i = 0; i < io.devices().size(); i++) {
                ContainerSpec.IoDevice d = io.devices().get(i);
                String field = "limits.io.devices[" + i + "]";
                if (d.device() == null) {
                    throw new SpecException(field + ".device", "is required: MAJOR:MINOR or a block device path");
                }
                String mm = MAJOR_MINOR.matcher(d.device()).matches() ? d.device() : host.devices().majorMinor(d.device());
                if (mm == null) {
                    throw new SpecException(field + ".device", "'" + SpecValidator.printable(d.device())
                            + "' is not a block device");
                }
                String[] parts = mm.split(":");
                devices.add(new ResourceLimits.DeviceLimit(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
                        rate(d.readBps(), field + ".readBps"), rate(d.writeBps(), field + ".writeBps"),
                        rate(d.readIops(), field + ".readIops"), rate(d.writeIops(), field + ".writeIops")));
            }
        }
        return new ResourceLimits.Io(io.weight(), devices);
    }

    private static Long rate(Long v, String field) throws SpecException {
        if (v != null && v < 1) {
            throw new SpecException(field, "must be at least 1 (or \"max\" for no limit)");
        }
        return v;
    }
}
