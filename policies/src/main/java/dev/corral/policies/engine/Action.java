package dev.corral.policies.engine;

/**
 * A change the agent applies to a container's cgroup (unless the audit says dry run). A null field is left as
 * it is; {@link dev.corral.exporter.sample.Limits#UNLIMITED} lifts a limit.
 */
public sealed interface Action {

    String container();

    String cgroup();

    Audit audit();

    /** CFS quota over a period, and the weight as v1 cpu.shares or v2 cpu.weight (whichever the host has). */
    record SetCpu(String container, String cgroup, Long quotaMicros, Long periodMicros, Long shares, Long weight,
                  Audit audit) implements Action {
    }

    /** v2 memory.high, or v1 memory.soft_limit_in_bytes and memory.limit_in_bytes. */
    record SetMemory(String container, String cgroup, Long high, Long softLimit, Long limit, Audit audit)
            implements Action {
    }

    /** v1 blkio.throttle.*_bps_device / v2 io.max on one device. */
    record SetIo(String container, String cgroup, int major, int minor, Long readBps, Long writeBps, Audit audit)
            implements Action {
    }

    /** The tc rates of a bridge container's veth, bytes per second: what it sends and what it receives. */
    record SetNetwork(String container, String cgroup, Long egress, Long ingress, Audit audit) implements Action {
    }

    /** Kills every process of the container, or freezes it. */
    record Stop(String container, String cgroup, boolean freeze, Audit audit) implements Action {
    }
}
