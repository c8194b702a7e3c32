package dev.corral.agent.api;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.exporter.Exporter;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.metrics.MachineInfo;
import dev.corral.exporter.io.KernelText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** GET /v1/info: what this host and agent are and what the kernel supports. */
final class HostInfo {

    private HostInfo() {
    }

    static Map<String, Object> of(ContainerRuntime runtime, Exporter exporter, String version) throws Exception {
        CgroupLayout layout = exporter.layout();
        Map<String, Object> out = new TreeMap<>();
        out.put("version", version);
        out.put("cgroupMode", layout.mode().label());
        out.put("cgroupParent", runtime.driver().parent());
        out.put("kernel", read("/proc/sys/kernel/osrelease"));
        MachineInfo machine = MachineInfo.read(Path.of("/proc")); // the same figures as machine_* metrics
        out.put("cpus", machine.cpuCores());
        out.put("memoryBytes", machine.memoryBytes());
        Map<String, Object> hierarchies = new TreeMap<>();
        for (Hierarchy h : layout.hierarchies()) {
            hierarchies.put(h.mountPoint().toString(), h.controllers());
        }
        out.put("hierarchies", hierarchies);
        Path parentDir = layout.hierarchyOf("memory").or(layout::unified).flatMap(h -> h.dirOf(runtime.driver().parent()))
                .orElse(null);
        Path unifiedParent = layout.unified().flatMap(h -> h.dirOf(runtime.driver().parent())).orElse(null);
        Map<String, Object> supports = new TreeMap<>();
        supports.put("memoryHigh", runtime.driver().supportsMemoryHigh());
        supports.put("swapAccounting", parentDir != null && (Files.exists(parentDir.resolve("memory.memsw.limit_in_bytes"))
                || Files.exists(parentDir.resolve("memory.swap.max"))));
        supports.put("cgroupKill", unifiedParent != null && Files.exists(unifiedParent.resolve("cgroup.kill")));
        supports.put("psi", Files.exists(Path.of("/proc/pressure/cpu")));
        out.put("supports", supports);
        Map<String, Integer> counts = new TreeMap<>();
        for (ContainerRecord r : runtime.list()) {
            counts.merge(r.state().label(), 1, Integer::sum);
        }
        out.put("containers", counts);
        return out;
    }

    private static String read(String file) {
        try {
            return KernelText.read(Path.of(file)).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
