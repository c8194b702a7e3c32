package dev.corral.agent.policy;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.read.HostPressureReader;
import dev.corral.exporter.read.ReadBuffer;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Host measurements the policies need besides the cgroup samples: MemAvailable, and — when the exporter does
 * not watch the root cgroup (e.g. {@code --cgroup-root /corral}) — a root sample made from /proc/stat and
 * /proc/pressure, so "the host is busy" means the same either way. Blocking reads: called off the event loop.
 */
final class HostSampler {

    private static final Logger LOG = LoggerFactory.getLogger(HostSampler.class);
    /** USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture we run on. */
    private static final long NANOS_PER_TICK = 10_000_000;

    private final Path proc;
    private final HostPressureReader pressure;
    private final ReadBuffer buffer = new ReadBuffer(4096);

    HostSampler(Path procRoot) {
        this.proc = procRoot;
        this.pressure = new HostPressureReader(procRoot.resolve("pressure"));
    }

    /** MemAvailable in bytes, or {@link Absent#VALUE}. */
    long memoryAvailable() {
        try {
            for (String line : Files.readAllLines(proc.resolve("meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String kb = line.substring("MemAvailable:".length()).trim();
                    return Long.parseLong(kb.substring(0, kb.indexOf(' '))) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("MemAvailable unreadable: {}", e.getMessage());
        }
        return Absent.VALUE;
    }

    /** The snapshot with a root sample added when the exporter does not watch "/". */
    Snapshot withRoot(Snapshot s) {
        if (s.live().containsKey("/")) {
            return s;
        }
        Map<String, CgroupSample> live = new HashMap<>(s.live());
        live.put("/", new CgroupSample("/", s.timestampMillis(), Absent.VALUE, new CpuStats(busyNanos(),
                Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE), null, null, null,
                pressure.read(buffer, (f, e) -> LOG.debug("{} unreadable: {}", f, e.getMessage())), null));
        return new Snapshot(s.timestampMillis(), live, s.recent());
    }

    /** CPU time spent not idle, summed over CPUs (the first line of /proc/stat), in nanoseconds. */
    private long busyNanos() {
        try {
            for (String line : Files.readAllLines(proc.resolve("stat"))) {
                if (line.startsWith("cpu ")) {
                    String[] f = line.trim().split("\\s+");
                    long busy = 0;
                    for (int i = 1; i < f.length && i <= 8; i++) {
                        if (i != 4 && i != 5) { // idle and iowait
                            busy += Long.parseLong(f[i]);
                        }
                    }
                    return busy * NANOS_PER_TICK;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("/proc/stat unreadable: {}", e.getMessage());
        }
        return Absent.VALUE;
    }
}
