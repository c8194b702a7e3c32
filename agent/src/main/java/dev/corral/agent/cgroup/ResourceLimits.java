package dev.corral.agent.cgroup;

import dev.corral.exporter.sample.Limits;
import java.util.List;

/**
 * Limits to apply to a container's cgroup. A null field is left as it is (the kernel default for a new cgroup);
 * {@link Limits#UNLIMITED} lifts a limit. Both knob scales are accepted where v1 and v2 differ (shares or
 * weight); the driver converts with the exporter's {@code CgroupConversions}, as runc does.
 */
public record ResourceLimits(Memory memory, Cpu cpu, Io io, Pids pids) {

    public static final ResourceLimits NONE = new ResourceLimits(null, null, null, null);

    /**
     * @param max         hard limit in bytes (v1 memory.limit_in_bytes, v2 memory.max)
     * @param high        throttling limit, v2 only (memory.high)
     * @param swap        swap allowed on top of max (v1 memsw = max + swap, v2 memory.swap.max)
     * @param reservation soft guarantee (v1 memory.soft_limit_in_bytes, v2 memory.low)
     */
    public record Memory(Long max, Long high, Long swap, Long reservation) {
    }

    /**
     * @param quotaMicros  CFS quota per period; {@link Limits#UNLIMITED} for none
     * @param shares       v1 scale (2..262144), or null
     * @param weight       v2 scale (1..10000), or null; shares wins when both are given
     */
    public record Cpu(Long quotaMicros, Long periodMicros, Long shares, Long weight, String cpusetCpus,
                      String cpusetMems) {
    }

    /** @param weight blkio scale (10..1000), converted for v2 io.weight */
    public record Io(Long weight, List<DeviceLimit> devices) {
        public Io {
            devices = devices == null ? List.of() : List.copyOf(devices);
        }
    }

    /** Per-device throttles; null leaves a direction as it is, {@link Limits#UNLIMITED} removes it. */
    public record DeviceLimit(int major, int minor, Long readBps, Long writeBps, Long readIops, Long writeIops) {
        public String device() {
            return major + ":" + minor;
        }
    }

    public record Pids(Long max) {
    }
}
