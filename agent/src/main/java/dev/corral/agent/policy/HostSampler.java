package dev.corral.agent.policy;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.read.FlatKeyedParser;
import dev.corral.exporter.read.HostPressureReader;
import dev.corral.exporter.read.KernelFile;
import dev.corral.exporter.read.KeyTable;
import dev.corral.exporter.read.ReadBuffer;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuStats;
import java.io.IOException;
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
final class HostSampler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HostSampler.class);
    /** USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture we run on. */
    private static final long NANOS_PER_TICK = 10_000_000;
    private static final KeyTable MEMINFO = new KeyTable("MemAvailable:");

    private final HostPressureReader pressure;
    private final ReadBuffer buffer = new ReadBuffer(4096);
    private final long[] meminfo = new long[1];
    // Read every policy cycle (each second): kept open and re-read like the cgroup files, no open and no String
    // per line (Files.readAllLines of both was about half of the policy thread's CPU on an idle agent).
    private final KernelFile stat;
    private final KernelFile memInfo;

    HostSampler(Path procRoot) {
        this.pressure = new HostPressureReader(procRoot.resolve("pressure"));
        this.stat = open(procRoot.resolve("stat"));
        this.memInfo = open(procRoot.resolve("meminfo"));
    }

    private static KernelFile open(Path file) {
        try {
            return KernelFile.openIfPresent(file);
        } catch (IOException e) {
            LOG.debug("{} unreadable: {}", file, e.getMessage());
            return null;
        }
    }

    /** MemAvailable in bytes, or {@link Absent#VALUE}. */
    synchronized long memoryAvailable() { // also called by admission checks on API threads: one buffer
        if (memInfo == null || !read(memInfo)) {
            return Absent.VALUE;
        }
        // MemAvailable:    8105996 kB
        FlatKeyedParser.parse(buffer.bytes(), buffer.length(), MEMINFO, meminfo);
        return Absent.is(meminfo[0]) ? Absent.VALUE : meminfo[0] * 1024;
    }

    /** The snapshot with a root sample added when the exporter does not watch "/". */
    synchronized Snapshot withRoot(Snapshot s) {
        if (s.live().containsKey("/")) {
            return s;
        }
        Map<String, CgroupSample> live = new HashMap<>(s.live());
        live.put("/", new CgroupSample("/", s.timestampMillis(), Absent.VALUE, new CpuStats(busyNanos(),
                Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE), null, null, null,
                pressure.read(buffer, (f, e) -> LOG.debug("{} unreadable: {}", f, e.getMessage())), null));
        return new Snapshot(s.timestampMillis(), live, s.recent(), s.network());
    }

    /**
     * CPU time spent not idle, summed over CPUs, in nanoseconds: the first line of /proc/stat without idle and
     * iowait, e.g. {@code cpu  2255 34 2290 22625563 6290 127 456 0 0 0} (user nice system idle iowait irq
     * softirq steal guest guest_nice; guest time is already in user).
     */
    private long busyNanos() {
        if (stat == null || !read(stat)) {
            return Absent.VALUE;
        }
        byte[] b = buffer.bytes();
        int len = buffer.length();
        if (len < 4 || b[0] != 'c' || b[1] != 'p' || b[2] != 'u' || b[3] != ' ') {
            return Absent.VALUE;
        }
        long busy = 0;
        int i = 4;
        for (int field = 1; field <= 8; field++) {
            while (i < len && b[i] == ' ') {
                i++;
            }
            if (i >= len || b[i] < '0' || b[i] > '9') {
                return field > 4 ? busy * NANOS_PER_TICK : Absent.VALUE; // older kernels list fewer fields
            }
            long v = 0;
            for (; i < len && b[i] >= '0' && b[i] <= '9'; i++) {
                v = v * 10 + (b[i] - '0');
            }
            if (field != 4 && field != 5) { // idle and iowait
                busy += v;
            }
        }
        return busy * NANOS_PER_TICK;
    }

    private boolean read(KernelFile file) {
        try {
            file.readInto(buffer);
            return true;
        } catch (IOException e) {
            LOG.debug("{} unreadable: {}", file.path(), e.getMessage());
            return false;
        }
    }

    @Override
    public void close() {
        for (KernelFile f : new KernelFile[] {stat, memInfo}) {
            if (f != null) {
                try {
                    f.close();
                } catch (IOException e) {
                    // nothing to do: the agent is stopping
                }
            }
        }
    }
}
