package dev.corral.agent.runtime;

import dev.corral.exporter.sample.CpuSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The CPUs and memory nodes a cpuset can name on this host, from sysfs. */
final class HostTopology {

    private HostTopology() {
    }

    /** The online CPUs; null when sysfs does not say (then the kernel alone checks a cpuset). */
    static CpuSet onlineCpus(Path sys) {
        return list(sys.resolve("devices/system/cpu/online"));
    }

    /** The online memory nodes; node 0 alone on a kernel without NUMA (no node directory). */
    static CpuSet memoryNodes(Path sys) {
        Path nodes = sys.resolve("devices/system/node");
        return Files.isDirectory(nodes) ? list(nodes.resolve("online")) : CpuSet.firstN(1);
    }

    private static CpuSet list(Path file) {
        try {
            return CpuSet.parse(Files.readString(file));
        } catch (IOException e) {
            return null;
        }
    }
}
