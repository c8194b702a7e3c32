package dev.corral.exporter.metrics;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.metrics.Family.Type;
import dev.corral.exporter.naming.ContainerIdentity;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.NetInterface;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import dev.corral.exporter.sample.SpecStats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * Writes a {@link Snapshot} as cAdvisor-named metrics in the Prometheus text format, straight from the
 * immutable samples: about 30 series per cgroup, so 1,000 cgroups are 30,000 series that a meter or data point
 * object per series would allocate 20 MB for at every scrape. It reads memory only, never files. The bytes are
 * those client_java's PrometheusTextFormatWriter wrote for the same series (families sorted by name, series by
 * label values, values as {@link Double#toString}); ContainerMetricsTest holds it to that.
 *
 * <p>Conventions follow cAdvisor so its alerts and dashboards work: unlimited memory limits are 0, a CPU quota
 * series exists only when a quota is set, counters end in {@code _total} (except
 * {@code container_memory_failcnt}, which cAdvisor names without it and is therefore exposed untyped). A value
 * the kernel did not provide ({@link Absent}) has no series.
 */
public final class ContainerMetrics {

    private static final double NANOS = 1e9;
    private static final double MICROS = 1e6;
    private static final double MILLIS = 1e3;

    /** A family with one series per cgroup, labelled {@code id} and {@code name}. */
    private record PerCgroup(Family family, ToLongFunction<CgroupSample> raw, double divisor, boolean liveOnly,
                             boolean always) {
        PerCgroup(Family family, ToLongFunction<CgroupSample> raw, double divisor, boolean liveOnly) {
            this(family, raw, divisor, liveOnly, false);
        }
    }

    /** A family with series per cgroup and block device. */
    private record PerDevice(Family family, boolean byOperation, Function<BlkioDevice, long[]> raw) {
    }

    /** A family with series per cgroup and network interface (live cgroups with a network namespace of their own). */
    private record PerInterface(Family family, ToLongFunction<NetInterface> raw) {
    }

    /** Placeholder in {@link #FAMILIES} for {@code container_info}, written by {@link #writeInfo}. */
    private static final PerCgroup INFO = new PerCgroup(new Family(Type.GAUGE, "container_info",
            "Runtime, image and allow-listed runtime labels of a container; always 1"), s -> 1, 1, false);
    private static final List<Object> FAMILIES = families();
    private static final Family MACHINE_CPU_CORES = new Family(Type.GAUGE, "machine_cpu_cores",
            "Number of logical CPU cores");
    private static final Family MACHINE_MEMORY = new Family(Type.GAUGE, "machine_memory_bytes",
            "Amount of memory installed on the machine");

    private final ContainerNames names;
    private final MachineInfo machine;
    private final DeviceNames devices;

    public ContainerMetrics(ContainerNames names, MachineInfo machine, DeviceNames devices) {
        this.names = names;
        this.machine = machine;
        this.devices = devices;
    }

    private static List<Object> families() {
        List<Object> f = new ArrayList<>();
        f.add(new PerCgroup(new Family(Type.GAUGE, "container_last_seen",
                "Last time a container was seen by the exporter"), CgroupSample::timestampMillis, MILLIS, false, true));
        f.add(new PerCgroup(new Family(Type.GAUGE, "container_start_time_seconds",
                "Start time of the container since unix epoch in seconds"), CgroupSample::startTimeMillis, MILLIS,
                false));
        cpu(f, "container_cpu_usage_seconds", "Cumulative cpu time consumed in seconds", NANOS, c -> c.usageNanos());
        cpu(f, "container_cpu_user_seconds", "Cumulative user cpu time consumed in seconds", NANOS,
                c -> c.userNanos());
        cpu(f, "container_cpu_system_seconds", "Cumulative system cpu time consumed in seconds", NANOS,
                c -> c.systemNanos());
        cpu(f, "container_cpu_cfs_periods", "Number of elapsed enforcement period intervals", 1, c -> c.periods());
        cpu(f, "container_cpu_cfs_throttled_periods", "Number of throttled period intervals", 1,
                c -> c.throttledPeriods());
        cpu(f, "container_cpu_cfs_throttled_seconds", "Total time duration the container has been throttled", NANOS,
                c -> c.throttledNanos());
        memory(f, Type.GAUGE, "container_memory_usage_bytes", "Current memory usage in bytes, including all memory "
                + "regardless of when it was accessed", MemoryStats::usage);
        memory(f, Type.GAUGE, "container_memory_working_set_bytes", "Current working set in bytes",
                MemoryStats::workingSet);
        memory(f, Type.GAUGE, "container_memory_rss", "Size of RSS in bytes", MemoryStats::rss);
        memory(f, Type.GAUGE, "container_memory_cache", "Number of bytes of page cache memory", MemoryStats::cache);
        memory(f, Type.GAUGE, "container_memory_mapped_file", "Size of memory mapped files in bytes",
                MemoryStats::mappedFile);
        memory(f, Type.GAUGE, "container_memory_swap", "Container swap usage in bytes", MemoryStats::swap);
        memory(f, Type.GAUGE, "container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes",
                MemoryStats::maxUsage);
        memory(f, Type.UNTYPED, "container_memory_failcnt", "Number of memory usage hits limits",
                MemoryStats::failcnt);
        memory(f, Type.COUNTER, "container_oom_events", "Count of out of memory events observed for the container",
                MemoryStats::oomKills);
        memory(f, Type.COUNTER, "container_memory_high_events", "Times usage went over memory.high (cgroup v2)",
                MemoryStats::highEvents);
        memory(f, Type.COUNTER, "container_memory_max_events", "Times usage hit memory.max (cgroup v2)",
                MemoryStats::maxEvents);
        f.add(new PerDevice(new Family(Type.COUNTER, "container_blkio_device_usage", "Blkio device bytes usage"),
                true, d -> new long[] {d.readBytes(), d.writeBytes()}));
        f.add(new PerDevice(new Family(Type.COUNTER, "container_fs_reads_bytes", "Cumulative count of bytes read"),
                false, d -> new long[] {d.readBytes()}));
        f.add(new PerDevice(new Family(Type.COUNTER, "container_fs_writes_bytes",
                "Cumulative count of bytes written"), false, d -> new long[] {d.writeBytes()}));
        f.add(new PerDevice(new Family(Type.COUNTER, "container_fs_reads", "Cumulative count of reads completed"),
                false, d -> new long[] {d.readOps()}));
        f.add(new PerDevice(new Family(Type.COUNTER, "container_fs_writes", "Cumulative count of writes completed"),
                false, d -> new long[] {d.writeOps()}));
        f.add(new PerCgroup(new Family(Type.GAUGE, "container_threads",
                "Number of threads running inside the container"),
                s -> s.pids() == null ? Absent.VALUE : s.pids().current(), 1, false));
        f.add(new PerCgroup(new Family(Type.GAUGE, "container_threads_max",
                "Maximum number of threads allowed inside the container, 0 for unlimited"),
                s -> s.pids() == null ? Absent.VALUE : unlimitedAsZero(s.pids().max()), 1, false));
        for (String resource : List.of("cpu", "memory", "io")) {
            Function<PressureStats, Pressure> of = resource.equals("cpu") ? PressureStats::cpu
                    : resource.equals("memory") ? PressureStats::memory : PressureStats::io;
            pressure(f, "container_pressure_" + resource + "_waiting_seconds", "Total time duration tasks in the "
                    + "container have waited due to " + resource + " congestion (PSI some)", of, Pressure::someMicros);
            pressure(f, "container_pressure_" + resource + "_stalled_seconds", "Total time duration no tasks in the "
                    + "container could make progress due to " + resource + " congestion (PSI full)", of,
                    Pressure::fullMicros);
        }
        for (String way : List.of("receive", "transmit")) {
            boolean rx = way.equals("receive");
            String past = rx ? "received" : "transmitted";
            network(f, "container_network_" + way + "_bytes", "Cumulative count of bytes " + past,
                    rx ? NetInterface::receiveBytes : NetInterface::transmitBytes);
            network(f, "container_network_" + way + "_packets", "Cumulative count of packets " + past,
                    rx ? NetInterface::receivePackets : NetInterface::transmitPackets);
            network(f, "container_network_" + way + "_errors", "Cumulative count of errors encountered while "
                    + (rx ? "receiving" : "transmitting"), rx ? NetInterface::receiveErrors : NetInterface::transmitErrors);
            network(f, "container_network_" + way + "_packets_dropped", "Cumulative count of packets dropped while "
                    + (rx ? "receiving" : "transmitting"),
                    rx ? NetInterface::receiveDropped : NetInterface::transmitDropped);
        }
        spec(f, "container_spec_memory_limit_bytes", "Memory limit for the container, 0 for unlimited",
                s -> unlimitedAsZero(s.memoryLimit()));
        spec(f, "container_spec_memory_swap_limit_bytes", "Memory swap limit for the container, 0 for unlimited",
                s -> unlimitedAsZero(s.swapLimit()));
        spec(f, "container_spec_memory_reservation_limit_bytes", "Memory reservation for the container, 0 for none",
                s -> unlimitedAsZero(s.memoryReservation()));
        spec(f, "container_spec_cpu_quota", "CPU quota of the container (microseconds per period)",
                s -> Limits.isUnlimited(s.cpuQuotaMicros()) ? Absent.VALUE : s.cpuQuotaMicros());
        spec(f, "container_spec_cpu_period", "CPU period of the container (microseconds)", SpecStats::cpuPeriodMicros);
        spec(f, "container_spec_cpu_shares", "CPU share of the container", SpecStats::cpuShares);
        f.add(INFO);
        f.sort(Comparator.comparing(ContainerMetrics::familyName));
        return List.copyOf(f);
    }

    private static String familyName(Object f) {
        return f instanceof PerCgroup p ? p.family().name
                : f instanceof PerInterface n ? n.family().name : ((PerDevice) f).family().name;
    }

    private static void network(List<Object> f, String name, String help, ToLongFunction<NetInterface> field) {
        f.add(new PerInterface(new Family(Type.COUNTER, name, help), field));
    }

    private static void cpu(List<Object> f, String name, String help, double divisor,
                            ToLongFunction<dev.corral.exporter.sample.CpuStats> field) {
        f.add(new PerCgroup(new Family(Type.COUNTER, name, help),
                s -> s.cpu() == null ? Absent.VALUE : field.applyAsLong(s.cpu()), divisor, false));
    }

    private static void memory(List<Object> f, Type type, String name, String help, ToLongFunction<MemoryStats> field) {
        f.add(new PerCgroup(new Family(type, name, help),
                s -> s.memory() == null ? Absent.VALUE : field.applyAsLong(s.memory()), 1, false));
    }

    private static void pressure(List<Object> f, String name, String help, Function<PressureStats, Pressure> of,
                                 ToLongFunction<Pressure> field) {
        f.add(new PerCgroup(new Family(Type.COUNTER, name, help), s -> {
            Pressure p = s.pressure() == null ? null : of.apply(s.pressure());
            return p == null ? Absent.VALUE : field.applyAsLong(p);
        }, MICROS, false));
    }

    /** Limits are exported for cgroups that exist: a removed container's limits are no longer in force. */
    private static void spec(List<Object> f, String name, String help, ToLongFunction<SpecStats> field) {
        f.add(new PerCgroup(new Family(Type.GAUGE, name, help),
                s -> s.spec() == null ? Absent.VALUE : field.applyAsLong(s.spec()), 1, true));
    }

    private static long unlimitedAsZero(long v) {
        return Limits.isUnlimited(v) ? 0 : v;
    }

    /**
     * One cgroup's sample with its label block, escaped and encoded once per scrape for all its series, in
     * client_java's order (label names sorted): {@code [container="..",]id="..",[image="..",]name=".."
     * [,namespace=".."][,pod=".."]}. The offsets are where the device families insert their labels:
     * {@code device} at {@code idAt}, {@code major}/{@code minor} at {@code nameAt}, {@code operation} at
     * {@code podAt}.
     */
    private record Row(CgroupSample sample, ContainerIdentity identity, boolean live, int labelsFrom, int idAt,
                       int nameAt, int podAt, int labelsTo) {
    }

    /** One block device of one cgroup, in the order client_java sorts such series (device, id, major, minor). */
    private record DeviceRow(String device, Row row, BlkioDevice io) {
    }

    private static final Comparator<DeviceRow> DEVICE_ORDER = Comparator.comparing(DeviceRow::device)
            .thenComparing(d -> d.row().sample().path())
            .thenComparing(d -> Integer.toString(d.io().major()))
            .thenComparing(d -> Integer.toString(d.io().minor()));

    /** One network interface of one cgroup; rows are in cgroup path order, interfaces in name order. */
    private record InterfaceRow(Row row, NetInterface net) {
    }

    /** Appends the container families (every family with at least one series) to {@code out}. */
    void writeContainers(Snapshot snapshot, TextOut out) {
        List<CgroupSample> samples = new ArrayList<>(snapshot.live().size() + snapshot.recent().size());
        samples.addAll(snapshot.live().values());
        samples.addAll(snapshot.recent().values());
        samples.sort(Comparator.comparing(CgroupSample::path));
        TextOut labels = new TextOut(samples.size() * 64);
        Row[] rows = new Row[samples.size()];
        List<DeviceRow> deviceRows = new ArrayList<>();
        for (int i = 0; i < rows.length; i++) {
            CgroupSample s = samples.get(i);
            ContainerIdentity who = names.identityOf(s.path());
            int from = labels.size();
            label(labels, "container", who.container(), true);
            int idAt = labels.size();
            labels.writeAscii("id=\"");
            labels.writeEscaped(s.path());
            labels.writeAscii("\",");
            label(labels, "image", who.image(), true);
            int nameAt = labels.size();
            labels.writeAscii("name=\"");
            labels.writeEscaped(who.name());
            labels.write((byte) '"');
            label(labels, "namespace", who.namespace(), false);
            int podAt = labels.size();
            label(labels, "pod", who.pod(), false);
            rows[i] = new Row(s, who, snapshot.live().containsKey(s.path()), from, idAt, nameAt, podAt,
                    labels.size());
            if (s.blkio() != null) {
                for (BlkioDevice d : s.blkio()) {
                    deviceRows.add(new DeviceRow(devices.nameOf(d.device()), rows[i], d));
                }
            }
        }
        deviceRows.sort(DEVICE_ORDER);
        List<InterfaceRow> interfaceRows = new ArrayList<>();
        for (Row r : rows) {
            List<NetInterface> nets = r.live() ? snapshot.network().get(r.sample().path()) : null;
            if (nets != null) {
                nets.stream().sorted(Comparator.comparing(NetInterface::name))
                        .forEach(n -> interfaceRows.add(new InterfaceRow(r, n)));
            }
        }
        byte[] labelBytes = labels.bytes();
        for (Object f : FAMILIES) {
            if (f == INFO) {
                writeInfo(rows, out);
            } else if (f instanceof PerCgroup p) {
                writeFamily(p, rows, labelBytes, out);
            } else if (f instanceof PerInterface n) {
                writeFamily(n, interfaceRows, labelBytes, out);
            } else {
                writeFamily((PerDevice) f, deviceRows, labelBytes, out);
            }
        }
    }

    private static void writeFamily(PerCgroup f, Row[] rows, byte[] labels, TextOut out) {
        boolean any = false;
        for (Row r : rows) {
            if (f.liveOnly() && !r.live()) {
                continue;
            }
            long raw = f.raw().applyAsLong(r.sample());
            if (Absent.is(raw) && !f.always()) {
                continue;
            }
            if (!any) {
                out.write(f.family().header);
                any = true;
            }
            out.write(f.family().sampleName);
            out.write((byte) '{');
            out.write(labels, r.labelsFrom(), r.labelsTo() - r.labelsFrom());
            out.writeAscii("} ");
            writeValue(out, raw, f.divisor());
            out.write((byte) '\n');
        }
    }

    private static void writeFamily(PerDevice f, List<DeviceRow> rows, byte[] labels, TextOut out) {
        if (rows.isEmpty()) {
            return;
        }
        out.write(f.family().header);
        for (DeviceRow d : rows) {
            long[] values = f.raw().apply(d.io());
            for (int op = 0; op < values.length; op++) {
                if (Absent.is(values[op])) {
                    continue;
                }
                out.write(f.family().sampleName);
                Row r = d.row();
                out.write((byte) '{');
                out.write(labels, r.labelsFrom(), r.idAt() - r.labelsFrom()); // container="...",
                out.writeAscii("device=\"");
                out.writeEscaped(d.device());
                out.writeAscii("\",");
                out.write(labels, r.idAt(), r.nameAt() - r.idAt()); // id="...",image="...",
                if (f.byOperation()) {
                    out.writeAscii("major=\"");
                    out.writeDigits(d.io().major());
                    out.writeAscii("\",minor=\"");
                    out.writeDigits(d.io().minor());
                    out.writeAscii("\",");
                }
                out.write(labels, r.nameAt(), r.podAt() - r.nameAt()); // name="...",namespace="..."
                if (f.byOperation()) {
                    out.writeAscii(op == 0 ? ",operation=\"Read\"" : ",operation=\"Write\"");
                }
                out.write(labels, r.podAt(), r.labelsTo() - r.podAt()); // ,pod="..."
                out.writeAscii("} ");
                writeValue(out, values[op], 1);
                out.write((byte) '\n');
            }
        }
    }

    private static void writeFamily(PerInterface f, List<InterfaceRow> rows, byte[] labels, TextOut out) {
        if (rows.isEmpty()) {
            return;
        }
        out.write(f.family().header);
        for (InterfaceRow n : rows) {
            Row r = n.row();
            out.write(f.family().sampleName);
            out.write((byte) '{');
            out.write(labels, r.labelsFrom(), r.nameAt() - r.labelsFrom()); // container="..",id="..",image="..",
            out.writeAscii("interface=\"");
            out.writeEscaped(n.net().name());
            out.writeAscii("\",");
            out.write(labels, r.nameAt(), r.labelsTo() - r.nameAt()); // name="..",namespace="..",pod=".."
            out.writeAscii("} ");
            writeValue(out, f.raw().applyAsLong(n.net()), 1);
            out.write((byte) '\n');
        }
    }

    /** {@code key="value",} (or {@code ,key="value"} when not {@code before}); nothing for an empty value. */
    private static void label(TextOut out, String key, String value, boolean before) {
        if (value.isEmpty()) {
            return;
        }
        if (!before) {
            out.write((byte) ',');
        }
        out.writeAscii(key);
        out.writeAscii("=\"");
        out.writeEscaped(value);
        out.write((byte) '"');
        if (before) {
            out.write((byte) ',');
        }
    }

    /**
     * {@code container_info}: one series, value 1, per cgroup whose runtime is known, with the labels no other
     * series carries (the runtime and the allow-listed runtime labels as {@code container_label_<key>}, as
     * cAdvisor names them), so a query joins them onto any series by {@code id}.
     */
    private static void writeInfo(Row[] rows, TextOut out) {
        boolean any = false;
        TreeMap<String, String> series = new TreeMap<>();
        for (Row r : rows) {
            ContainerIdentity who = r.identity();
            if (who.runtime().isEmpty()) {
                continue;
            }
            if (!any) {
                out.write(INFO.family().header);
                any = true;
            }
            series.clear();
            for (Map.Entry<String, String> l : who.labels().entrySet()) {
                series.put(labelName(l.getKey()), l.getValue());
            }
            series.put("container", who.container());
            series.put("id", r.sample().path());
            series.put("image", who.image());
            series.put("name", who.name());
            series.put("namespace", who.namespace());
            series.put("pod", who.pod());
            series.put("runtime", who.runtime());
            series.values().removeIf(String::isEmpty);
            out.write(INFO.family().sampleName);
            out.write((byte) '{');
            boolean first = true;
            for (Map.Entry<String, String> l : series.entrySet()) {
                if (!first) {
                    out.write((byte) ',');
                }
                first = false;
                out.writeAscii(l.getKey());
                out.writeAscii("=\"");
                out.writeEscaped(l.getValue());
                out.write((byte) '"');
            }
            out.writeAscii("} 1.0\n");
        }
    }

    /** cAdvisor's name for a runtime label: {@code container_label_} and the key with invalid characters as _. */
    static String labelName(String key) {
        StringBuilder b = new StringBuilder("container_label_");
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            b.append((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ? c : '_');
        }
        return b.toString();
    }

    /**
     * {@code Double.toString(raw / divisor)}, as client_java writes values; integers below 10^7 (most counts and
     * every zero) are written without going through a String.
     */
    static void writeValue(TextOut out, long raw, double divisor) {
        if (raw == 0 || (divisor == 1 && raw > 0 && raw < 10_000_000)) {
            out.writeDigits(raw);
            out.writeAscii(".0");
        } else {
            out.writeAscii(Double.toString(raw / divisor));
        }
    }

    /** Appends machine_cpu_cores and machine_memory_bytes. */
    void writeMachine(TextOut out) {
        out.write(MACHINE_CPU_CORES.header);
        out.write(MACHINE_CPU_CORES.sampleName);
        out.write((byte) ' ');
        writeValue(out, machine.cpuCores(), 1);
        out.write((byte) '\n');
        out.write(MACHINE_MEMORY.header);
        out.write(MACHINE_MEMORY.sampleName);
        out.write((byte) ' ');
        writeValue(out, machine.memoryBytes(), 1);
        out.write((byte) '\n');
    }
}
