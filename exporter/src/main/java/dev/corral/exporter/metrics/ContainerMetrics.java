package dev.corral.exporter.metrics;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import dev.corral.exporter.sample.SpecStats;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot.UnknownDataPointSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Turns the latest {@link Snapshot} into cAdvisor-named metrics at scrape time. It reads memory only, never
 * files. Conventions follow cAdvisor so its alerts and dashboards work: unlimited memory limits are 0, a CPU
 * quota series exists only when a quota is set, counters end in {@code _total} (except
 * {@code container_memory_failcnt}, which cAdvisor names without it and is therefore exposed untyped).
 */
public final class ContainerMetrics implements MultiCollector {

    private static final double NANOS = 1e9;
    private static final double MICROS = 1e6;

    private final Supplier<Snapshot> snapshots;
    private final ContainerNames names;
    private final MachineInfo machine;
    private final DeviceNames devices;

    public ContainerMetrics(Supplier<Snapshot> snapshots, ContainerNames names, MachineInfo machine,
                            DeviceNames devices) {
        this.snapshots = snapshots;
        this.names = names;
        this.machine = machine;
        this.devices = devices;
    }

    @Override
    public MetricSnapshots collect() {
        Snapshot snapshot = snapshots.get();
        Families f = new Families();
        snapshot.live().values().forEach(s -> add(f, s, true));
        snapshot.recent().values().forEach(s -> add(f, s, false));
        f.gauge("machine_cpu_cores", "Number of logical CPU cores", null).add(Labels.EMPTY, machine.cpuCores());
        f.gauge("machine_memory_bytes", "Amount of memory installed on the machine", Unit.BYTES)
                .add(Labels.EMPTY, machine.memoryBytes());
        return f.build();
    }

    private void add(Families f, CgroupSample s, boolean live) {
        Labels id = Labels.of("id", s.path(), "name", names.nameOf(s.path()));
        f.gauge("container_last_seen", "Last time a container was seen by the exporter", null)
                .add(id, s.timestampMillis() / 1000.0);
        if (!Absent.is(s.startTimeMillis())) {
            f.gauge("container_start_time_seconds", "Start time of the container since unix epoch in seconds",
                    Unit.SECONDS).add(id, s.startTimeMillis() / 1000.0);
        }
        addCpu(f, id, s.cpu());
        addMemory(f, id, s.memory());
        addBlkio(f, id, s.blkio());
        if (s.pids() != null) {
            f.gauge("container_threads", "Number of threads running inside the container", null)
                    .add(id, s.pids().current());
            if (!Absent.is(s.pids().max())) {
                f.gauge("container_threads_max", "Maximum number of threads allowed inside the container, "
                        + "0 for unlimited", null).add(id, unlimitedAsZero(s.pids().max()));
            }
        }
        addPressure(f, id, s.pressure());
        if (live) {
            addSpec(f, id, s.spec());
        }
    }

    private static void addCpu(Families f, Labels id, CpuStats c) {
        if (c == null) {
            return;
        }
        f.counter("container_cpu_usage_seconds", "Cumulative cpu time consumed in seconds", Unit.SECONDS)
                .add(id, c.usageNanos(), NANOS);
        f.counter("container_cpu_user_seconds", "Cumulative user cpu time consumed in seconds", Unit.SECONDS)
                .add(id, c.userNanos(), NANOS);
        f.counter("container_cpu_system_seconds", "Cumulative system cpu time consumed in seconds", Unit.SECONDS)
                .add(id, c.systemNanos(), NANOS);
        f.counter("container_cpu_cfs_periods", "Number of elapsed enforcement period intervals", null)
                .add(id, c.periods(), 1);
        f.counter("container_cpu_cfs_throttled_periods", "Number of throttled period intervals", null)
                .add(id, c.throttledPeriods(), 1);
        f.counter("container_cpu_cfs_throttled_seconds", "Total time duration the container has been throttled",
                Unit.SECONDS).add(id, c.throttledNanos(), NANOS);
    }

    private static void addMemory(Families f, Labels id, MemoryStats m) {
        if (m == null) {
            return;
        }
        f.gauge("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless "
                + "of when it was accessed", Unit.BYTES).add(id, m.usage());
        f.gauge("container_memory_working_set_bytes", "Current working set in bytes", Unit.BYTES)
                .add(id, m.workingSet());
        f.gauge("container_memory_rss", "Size of RSS in bytes", null).add(id, m.rss());
        f.gauge("container_memory_cache", "Number of bytes of page cache memory", null).add(id, m.cache());
        f.gauge("container_memory_mapped_file", "Size of memory mapped files in bytes", null)
                .add(id, m.mappedFile());
        f.gauge("container_memory_swap", "Container swap usage in bytes", null).add(id, m.swap());
        f.gauge("container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes", Unit.BYTES)
                .add(id, m.maxUsage());
        f.untyped("container_memory_failcnt", "Number of memory usage hits limits").add(id, m.failcnt());
        f.counter("container_oom_events", "Count of out of memory events observed for the container", null)
                .add(id, m.oomKills(), 1);
        f.counter("container_memory_high_events", "Times usage went over memory.high (cgroup v2)", null)
                .add(id, m.highEvents(), 1);
        f.counter("container_memory_max_events", "Times usage hit memory.max (cgroup v2)", null)
                .add(id, m.maxEvents(), 1);
    }

    private void addBlkio(Families f, Labels id, List<BlkioDevice> blkio) {
        if (blkio == null) {
            return;
        }
        for (BlkioDevice d : blkio) {
            String device = devices.nameOf(d.device());
            Labels dev = id.add("device", device);
            Labels op = dev.add("major", Integer.toString(d.major())).add("minor", Integer.toString(d.minor()));
            Fam usage = f.counter("container_blkio_device_usage", "Blkio device bytes usage", null);
            usage.add(op.add("operation", "Read"), d.readBytes(), 1);
            usage.add(op.add("operation", "Write"), d.writeBytes(), 1);
            f.counter("container_fs_reads_bytes", "Cumulative count of bytes read", Unit.BYTES)
                    .add(dev, d.readBytes(), 1);
            f.counter("container_fs_writes_bytes", "Cumulative count of bytes written", Unit.BYTES)
                    .add(dev, d.writeBytes(), 1);
            f.counter("container_fs_reads", "Cumulative count of reads completed", null).add(dev, d.readOps(), 1);
            f.counter("container_fs_writes", "Cumulative count of writes completed", null)
                    .add(dev, d.writeOps(), 1);
        }
    }

    private static void addPressure(Families f, Labels id, PressureStats p) {
        if (p == null) {
            return;
        }
        addPressure(f, id, "cpu", p.cpu());
        addPressure(f, id, "memory", p.memory());
        addPressure(f, id, "io", p.io());
    }

    private static void addPressure(Families f, Labels id, String resource, Pressure p) {
        if (p == null) {
            return;
        }
        f.counter("container_pressure_" + resource + "_waiting_seconds", "Total time duration tasks in the "
                + "container have waited due to " + resource + " congestion (PSI some)", Unit.SECONDS)
                .add(id, p.someMicros(), MICROS);
        f.counter("container_pressure_" + resource + "_stalled_seconds", "Total time duration no tasks in the "
                + "container could make progress due to " + resource + " congestion (PSI full)", Unit.SECONDS)
                .add(id, p.fullMicros(), MICROS);
    }

    private static void addSpec(Families f, Labels id, SpecStats s) {
        if (s == null) {
            return;
        }
        f.gauge("container_spec_memory_limit_bytes", "Memory limit for the container, 0 for unlimited",
                Unit.BYTES).add(id, unlimitedAsZero(s.memoryLimit()));
        f.gauge("container_spec_memory_swap_limit_bytes", "Memory swap limit for the container, 0 for unlimited",
                Unit.BYTES).add(id, unlimitedAsZero(s.swapLimit()));
        f.gauge("container_spec_memory_reservation_limit_bytes", "Memory reservation for the container, 0 for "
                + "none", Unit.BYTES).add(id, unlimitedAsZero(s.memoryReservation()));
        if (!Limits.isUnlimited(s.cpuQuotaMicros())) {
            f.gauge("container_spec_cpu_quota", "CPU quota of the container (microseconds per period)", null)
                    .add(id, s.cpuQuotaMicros());
        }
        f.gauge("container_spec_cpu_period", "CPU period of the container (microseconds)", null)
                .add(id, s.cpuPeriodMicros());
        f.gauge("container_spec_cpu_shares", "CPU share of the container", null).add(id, s.cpuShares());
    }

    private static long unlimitedAsZero(long v) {
        return Limits.isUnlimited(v) ? 0 : v;
    }

    /** Metric families in first-use order; a family with no data points is not exported. */
    private static final class Families {
        private final java.util.LinkedHashMap<String, Fam> byName = new java.util.LinkedHashMap<>();

        Fam counter(String name, String help, Unit unit) {
            return byName.computeIfAbsent(name, n -> new Fam(Kind.COUNTER, n, help, unit));
        }

        Fam gauge(String name, String help, Unit unit) {
            return byName.computeIfAbsent(name, n -> new Fam(Kind.GAUGE, n, help, unit));
        }

        Fam untyped(String name, String help) {
            return byName.computeIfAbsent(name, n -> new Fam(Kind.UNTYPED, n, help, null));
        }

        MetricSnapshots build() {
            List<MetricSnapshot> out = new ArrayList<>(byName.size());
            for (Fam fam : byName.values()) {
                if (fam.size() > 0) {
                    out.add(fam.build());
                }
            }
            return new MetricSnapshots(out);
        }
    }

    private enum Kind { COUNTER, GAUGE, UNTYPED }

    private static final class Fam {
        private final Kind kind;
        private final String name;
        private final String help;
        private final Unit unit;
        private final List<Labels> labels = new ArrayList<>();
        private final List<Double> values = new ArrayList<>();

        Fam(Kind kind, String name, String help, Unit unit) {
            this.kind = kind;
            this.name = name;
            this.help = help;
            this.unit = unit;
        }

        int size() {
            return labels.size();
        }

        /** Adds {@code raw / divisor} unless raw is absent. */
        void add(Labels l, long raw, double divisor) {
            if (!Absent.is(raw)) {
                labels.add(l);
                values.add(raw / divisor);
            }
        }

        void add(Labels l, long raw) {
            add(l, raw, 1);
        }

        void add(Labels l, double value) {
            labels.add(l);
            values.add(value);
        }

        MetricSnapshot build() {
            switch (kind) {
                case COUNTER: {
                    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
                    if (unit != null) {
                        b.unit(unit);
                    }
                    for (int i = 0; i < labels.size(); i++) {
                        b.dataPoint(CounterDataPointSnapshot.builder().labels(labels.get(i)).value(values.get(i))
                                .build());
                    }
                    return b.build();
                }
                case GAUGE: {
                    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
                    if (unit != null) {
                        b.unit(unit);
                    }
                    for (int i = 0; i < labels.size(); i++) {
                        b.dataPoint(GaugeDataPointSnapshot.builder().labels(labels.get(i)).value(values.get(i))
                                .build());
                    }
                    return b.build();
                }
                default: {
                    UnknownSnapshot.Builder b = UnknownSnapshot.builder().name(name).help(help);
                    for (int i = 0; i < labels.size(); i++) {
                        b.dataPoint(UnknownDataPointSnapshot.builder().labels(labels.get(i)).value(values.get(i))
                                .build());
                    }
                    return b.build();
                }
            }
        }
    }
}
