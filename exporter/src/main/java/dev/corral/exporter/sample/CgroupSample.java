package dev.corral.exporter.sample;

import java.util.List;

/**
 * Everything read from one cgroup in one collection cycle. A component is null when its controller is not
 * present for this cgroup.
 *
 * @param path          the cgroup path, e.g. "/corral/web"
 * @param timestampMillis wall-clock time of the read
 * @param startTimeMillis when the cgroup appeared (its directory's change time), or {@link Absent#VALUE}
 */
public record CgroupSample(String path, long timestampMillis, long startTimeMillis, CpuStats cpu,
                           MemoryStats memory, List<BlkioDevice> blkio, PidsStats pids, PressureStats pressure,
                           SpecStats spec) {

    public CgroupSample {
        blkio = blkio == null ? null : List.copyOf(blkio);
    }
}
