package dev.corral.policies.engine;

/**
 * The host as the agent measures it.
 *
 * @param memoryAvailable MemAvailable of /proc/meminfo in bytes, or {@link dev.corral.exporter.sample.Absent#VALUE}
 * @param v2              limits are written to cgroup v2 files (memory.high, io.max, cpu.weight)
 * @param parent          the agent's parent cgroup, whose sample tells the containers' total and limit
 */
public record HostView(int cpuCores, long memoryBytes, long memoryAvailable, boolean v2, String parent) {
}
