package dev.corral.exporter.collect;

import dev.corral.exporter.discovery.CgroupChangeWatch;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupScanner;
import dev.corral.exporter.discovery.HostPaths;
import dev.corral.exporter.read.CgroupReader;
import dev.corral.exporter.read.CgroupReaders;
import dev.corral.exporter.read.HostPressureReader;
import dev.corral.exporter.read.NetworkReader;
import dev.corral.exporter.read.ReadBuffer;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.PressureStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * Observes cgroups: every cycle it reads each watched cgroup once through kept-open files and publishes an
 * immutable {@link Snapshot}. It lists cgroups again when inotify reports one made or removed (with
 * {@link #watchForChanges()}) and every {@code rescanEvery} cycles as a safety net; a removed cgroup is also
 * noticed at once, when its files stop reading. Not thread-safe: one thread
 * calls {@link #collect()}; any thread may call {@link #latest()}.
 */
public final class CgroupCollector implements AutoCloseable {

    private final CgroupScanner scanner;
    private final CgroupReaders readers;
    private final HostPressureReader hostPressure;
    private final NetworkReader network;
    private final LongSupplier clockMillis;
    private final long retentionMillis;
    private final int rescanEvery;
    private final CollectorStats stats;
    private final ReadBuffer buffer = new ReadBuffer(16 * 1024);
    private final Map<String, CgroupReader> open = new HashMap<>();
    private final Map<String, CgroupSample> gone = new HashMap<>();
    // The last OOM-kill count read per live cgroup; kept while a read of it fails, so a retry does not count again
    private final Map<String, Long> oomKillsSeen = new HashMap<>();
    private boolean baselined;
    private final List<CollectorListener> listeners = new CopyOnWriteArrayList<>();
    private volatile Snapshot latest = Snapshot.EMPTY;
    private long cycles;
    private CgroupChangeWatch changes;
    private boolean listAgain;
    private volatile boolean limitsChanged;

    public CgroupCollector(CgroupLayout layout, HostPaths paths, List<String> roots, Duration retention,
                           int rescanEvery, LongSupplier clockMillis, CollectorStats stats) {
        this.scanner = new CgroupScanner(layout, roots);
        this.readers = new CgroupReaders(layout);
        this.hostPressure = new HostPressureReader(paths.procRoot().resolve("pressure"));
        this.network = new NetworkReader(layout, paths.procRoot());
        this.retentionMillis = retention.toMillis();
        this.rescanEvery = Math.max(1, rescanEvery);
        this.clockMillis = clockMillis;
        this.stats = stats;
    }

    public Snapshot latest() {
        return latest;
    }

    /**
     * Lists cgroups again as soon as inotify reports one made or removed; {@code rescanEvery} then only paces
     * the safety-net listing (for what inotify does not report, e.g. a v2 controller enabled later).
     */
    public void watchForChanges() throws java.io.IOException {
        changes = new CgroupChangeWatch();
        cycles = 0;
    }

    public void addListener(CollectorListener listener) {
        listeners.add(listener);
    }

    /** Runs one cycle and returns the snapshot it published. */
    public Snapshot collect() {
        long started = System.nanoTime();
        long now = clockMillis.getAsLong();
        boolean changed = changes != null && (changes.changed() | listAgain);
        if (cycles++ % rescanEvery == 0 || changed) {
            rescan();
        }
        if (limitsChanged) {
            limitsChanged = false;
            open.values().forEach(CgroupReader::readLimitsSoon);
        }
        Map<String, CgroupSample> live = new HashMap<>(open.size() * 2);
        for (Iterator<CgroupReader> it = open.values().iterator(); it.hasNext(); ) {
            CgroupReader reader = it.next();
            CgroupSample sample = reader.read(buffer, now, stats::readError);
            if (sample == null) {
                reader.close();
                it.remove();
            } else {
                live.put(reader.path(), sample);
            }
        }
        addHostPressure(live);
        Snapshot previous = latest;
        Snapshot current = new Snapshot(now, live, retire(previous, live, now),
                network.read(live.keySet(), path -> tasks(live.get(path)), buffer));
        countOomKills(current);
        latest = current;
        for (CollectorListener l : listeners) {
            l.collected(previous, current);
        }
        stats.cycle(System.nanoTime() - started, live.size());
        return current;
    }

    /**
     * Reads every cgroup's limits on the next cycle, e.g. after the agent changed a container's limits (they are
     * otherwise read every few cycles only). Any thread may call it.
     */
    public void limitsChanged() {
        limitsChanged = true;
    }

    /** Forces a rescan on the next cycle, e.g. right after the agent made or removed a cgroup. */
    public void rescanSoon() {
        cycles = 0;
    }

    private void rescan() {
        Set<String> present = scanner.scan();
        if (changes != null) {
            listAgain = changes.watchOnly(scanner.directoriesOf(present));
        }
        for (Iterator<Map.Entry<String, CgroupReader>> it = open.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, CgroupReader> e = it.next();
            if (!present.contains(e.getKey())) {
                e.getValue().close();
                it.remove();
            } else if (e.getValue().halfMade()) { // found mid-mkdir: open it again, now with all its directories
                e.getValue().close();
                e.setValue(readers.open(e.getKey()));
            } else {
                e.getValue().reopenMissing();
            }
        }
        for (String path : present) {
            open.computeIfAbsent(path, readers::open);
        }
    }

    /** The tasks in the cgroup and below it (pids.current), -1 without the pids controller. */
    private static long tasks(CgroupSample s) {
        return s.pids() == null || s.pids().current() < 0 ? -1 : s.pids().current();
    }

    /** The root cgroup has no PSI files on v1 hosts and older kernels: the host's numbers are its numbers. */
    private void addHostPressure(Map<String, CgroupSample> live) {
        CgroupSample root = live.get("/");
        if (root != null && root.pressure() == null) {
            PressureStats host = hostPressure.read(buffer, stats::readError);
            if (host != null) {
                live.put("/", new CgroupSample(root.path(), root.timestampMillis(), root.startTimeMillis(),
                        root.cpu(), root.memory(), root.blkio(), root.pids(), host, root.spec()));
            }
        }
    }

    private Map<String, CgroupSample> retire(Snapshot previous, Map<String, CgroupSample> live, long now) {
        for (CgroupSample s : previous.liveSamples()) {
            if (!live.containsKey(s.path())) {
                gone.put(s.path(), s);
            }
        }
        gone.keySet().removeAll(live.keySet());
        for (Iterator<CgroupSample> it = gone.values().iterator(); it.hasNext(); ) {
            CgroupSample s = it.next();
            if (now - s.timestampMillis() > retentionMillis) {
                it.remove();
                stats.forgotten(s.path());
            }
        }
        return gone;
    }

    /**
     * Counts the OOM kills since the last cycle. A cgroup first seen after the first cycle was made while the agent
     * watched: every kill it reports happened since, in its first interval (the common case of a limit set too
     * low), and counts. On the first cycle the counts are only a baseline: those kills predate the agent.
     */
    private void countOomKills(Snapshot current) {
        oomKillsSeen.keySet().retainAll(current.live().keySet());
        for (CgroupSample now : current.liveSamples()) {
            long is = now.memory() == null ? Absent.VALUE : now.memory().oomKills();
            if (Absent.is(is)) {
                continue;
            }
            Long was = oomKillsSeen.put(now.path(), is);
            long since = was != null ? was : baselined ? 0 : is;
            if (is > since) {
                stats.oomKills(now.path(), is - since);
            }
        }
        baselined = true;
    }

    @Override
    public void close() {
        if (changes != null) {
            changes.close();
        }
        List<CgroupReader> all = new ArrayList<>(open.values());
        open.clear();
        all.forEach(CgroupReader::close);
    }
}
