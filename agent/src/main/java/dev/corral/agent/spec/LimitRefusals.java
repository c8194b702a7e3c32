package dev.corral.agent.spec;

import dev.corral.agent.cgroup.CgroupException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Says why the kernel refused a limit the user gave: the spec field and the user's value, and what was wrong
 * with it, instead of the control file's path and errno text (which name neither).
 */
public final class LimitRefusals {

    private LimitRefusals() {
    }

    /**
     * @param e         the refused write (its file names the controller setting)
     * @param requested the limits the user asked for, to name the field they gave (cpus or quota, ...)
     */
    public static SpecException explain(CgroupException e, ContainerSpec.Limits requested) {
        String file = e.file() == null ? "" : e.file().getFileName().toString();
        String value = e.value() == null ? "" : e.value().strip();
        boolean busy = e instanceof CgroupException.Busy;
        ContainerSpec.Cpu cpu = requested == null ? null : requested.cpu();
        return switch (file) {
            case "memory.limit_in_bytes", "memory.max" -> new SpecException("limits.memory.max", busy
                    ? value + " bytes is less than the container uses now and the kernel could not free enough; "
                    + "give a larger value (or stop the container first)"
                    : value + " bytes is more than its memory+swap limit allows; raise limits.memory.swap as well");
            case "memory.memsw.limit_in_bytes", "memory.swap.max" -> new SpecException("limits.memory.swap",
                    "the kernel refused a memory+swap limit of " + value + " bytes: it must not be below "
                            + "limits.memory.max");
            case "memory.soft_limit_in_bytes", "memory.low" -> new SpecException("limits.memory.reservation",
                    "the kernel refused " + value + " bytes");
            case "memory.high" -> new SpecException("limits.memory.high", "the kernel refused " + value + " bytes");
            case "cpu.cfs_quota_us", "cpu.max" -> new SpecException(
                    cpu != null && cpu.cpus() != null ? "limits.cpu.cpus" : "limits.cpu.quota",
                    "the kernel refused a CPU quota of " + quota(value) + ": it must be at least 1 ms per period "
                            + "and not above what the parent cgroup allows");
            case "cpu.cfs_period_us" -> new SpecException("limits.cpu.period",
                    "the kernel refused a period of " + value + " microseconds (1000-1000000, and the quota must "
                            + "fit the parent cgroup's)");
            case "cpu.shares", "cpu.weight" -> new SpecException(
                    cpu != null && cpu.weight() != null ? "limits.cpu.weight" : "limits.cpu.shares",
                    "the kernel refused " + value);
            case "cpuset.cpus" -> new SpecException("limits.cpu.cpusetCpus",
                    "'" + value + "': " + allowed(e.file(), "cpus", "CPUs"));
            case "cpuset.mems" -> new SpecException("limits.cpu.cpusetMems",
                    "'" + value + "': " + allowed(e.file(), "mems", "memory nodes"));
            case "pids.max" -> new SpecException("limits.pids.max", "the kernel refused " + value);
            case "blkio.weight", "blkio.bfq.weight", "io.weight", "io.bfq.weight" -> new SpecException(
                    "limits.io.weight", "the kernel refused " + value.replace("default ", "")
                            + " (10-1000, and the device's IO scheduler must support weights)");
            default -> file.startsWith("blkio.throttle.") || file.equals("io.max")
                    ? new SpecException("limits.io.devices", "the kernel refused the rule '" + value + "' (is the "
                    + "device a whole disk, not a partition?)")
                    : new SpecException("limits", "the kernel refused " + value + " for " + file
                    + (busy ? ": the cgroup is in use" : ""));
        };
    }

    /** "20000 100000" (cpu.max) or "20000" (cfs_quota_us) as the user would read it. */
    private static String quota(String value) {
        String[] parts = value.split(" ");
        return parts.length == 2 ? parts[0] + " microseconds per " + parts[1] : value + " microseconds";
    }

    /** What the parent cgroup offers, from its effective list (what a child may name), when readable. */
    private static String allowed(Path file, String kind, String what) {
        Path parent = file == null || file.getParent() == null ? null : file.getParent().getParent();
        if (parent != null) {
            for (String name : new String[] {"cpuset.effective_" + kind, "cpuset." + kind + ".effective",
                "cpuset." + kind}) {
                try {
                    String list = Files.readString(parent.resolve(name)).strip();
                    if (!list.isEmpty()) {
                        return "containers here may use " + what + " " + list;
                    }
                } catch (IOException | RuntimeException ignored) {
                    // not this kernel's name for it
                }
            }
        }
        return "not " + what + " this host offers";
    }
}
