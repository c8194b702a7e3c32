package dev.corral.agent.spec;

import java.nio.file.Path;
import java.util.List;

/**
 * What validation needs to know about the host.
 *
 * @param protectedPaths the agent's own state dir and socket: a bind mount may not expose them
 * @param devices        resolves "/dev/vda" or "254:0" to "MAJOR:MINOR" of a block device, or null
 */
public record HostFacts(Capabilities capabilities, int cpus, boolean cgroupV2, List<Path> protectedPaths,
                        DeviceResolver devices) {

    @FunctionalInterface
    public interface DeviceResolver {
        String majorMinor(String device);
    }
}
