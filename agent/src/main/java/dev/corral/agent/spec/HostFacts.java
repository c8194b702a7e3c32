package dev.corral.agent.spec;

import dev.corral.exporter.sample.CpuSet;
import java.nio.file.Path;
import java.util.List;

/**
 * What validation needs to know about the host.
 *
 * @param protectedPaths the agent's own state dir and socket: a bind mount may not expose them
 * @param devices        resolves "/dev/vda" or "254:0" to "MAJOR:MINOR" of a block device, or null
 * @param onlineCpus     the CPUs a cpuset may name, or null when unknown (then only the kernel checks)
 * @param memoryNodes    the memory nodes a cpuset may name, or null when unknown
 */
public record HostFacts(Capabilities capabilities, int cpus, boolean cgroupV2, List<Path> protectedPaths,
                        DeviceResolver devices, CpuSet onlineCpus, CpuSet memoryNodes) {

    /** Without the host's CPU and memory-node lists: cpusets are checked by the kernel only. */
    public HostFacts(Capabilities capabilities, int cpus, boolean cgroupV2, List<Path> protectedPaths,
                     DeviceResolver devices) {
        this(capabilities, cpus, cgroupV2, protectedPaths, devices, null, null);
    }

    @FunctionalInterface
    public interface DeviceResolver {
        String majorMinor(String device);
    }
}
