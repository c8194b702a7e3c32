package dev.corral.exporter.bench;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.metrics.ContainerMetrics;
import dev.corral.exporter.metrics.MetricsPage;
import dev.corral.exporter.metrics.ContainerNames;
import dev.corral.exporter.metrics.DeviceNames;
import dev.corral.exporter.metrics.MachineInfo;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.PidsStats;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import dev.corral.exporter.sample.SpecStats;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a /metrics scrape costs without HTTP: {@link MetricsPage#render()} of a snapshot not rendered yet
 * ({@code scrape}: two equal snapshots alternate, so every call renders) and of one already rendered
 * ({@code scrapeSameCycle}: a second scrape within one collection cycle), on a synthetic
 * {@link Snapshot} shaped like the benchmark host's cgroups (v1/hybrid: CPU, memory, pids, PSI and limits for
 * every cgroup; block IO on one device for 1 in 20).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MetricsBench {

    @Param({"100", "1000"})
    public int cgroups;

    private Snapshot a;
    private Snapshot b;
    private Snapshot current;
    private MetricsPage page;

    @Setup(Level.Trial)
    public void setUp() {
        long now = System.currentTimeMillis();
        a = snapshot(cgroups, now);
        b = snapshot(cgroups, now);
        current = a;
        page = new MetricsPage(() -> current, new ContainerMetrics(ContainerNames.NONE, new MachineInfo(2, 24L << 30),
                new DeviceNames(Path.of("/sys/dev/block"))), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        String body = page.render().text();
        long series = body.lines().filter(l -> !l.startsWith("#")).count();
        System.out.printf("%n[MetricsBench] %d cgroups: body %d bytes, %d series%n", cgroups, body.length(), series);
    }

    @Benchmark
    public MetricsPage.Body scrape() {
        current = current == a ? b : a;
        return page.render();
    }

    @Benchmark
    public MetricsPage.Body scrapeSameCycle() {
        return page.render();
    }

    static Snapshot snapshot(int n, long now) {
        Map<String, CgroupSample> live = new HashMap<>();
        live.put("/corral-bench", sample("/corral-bench", now, 0, true));
        for (int i = 1; i <= n; i++) {
            String path = "/corral-bench/c" + i;
            live.put(path, sample(path, now, i, i % 20 == 0));
        }
        return new Snapshot(now, live, Map.of());
    }

    private static CgroupSample sample(String path, long now, int i, boolean io) {
        long k = i + 1;
        CpuStats cpu = new CpuStats(123_456_789L * k, 100_000_000L * k, 23_456_789L * k, 0, 0, 0);
        MemoryStats memory = new MemoryStats(4_096_000L * k, 3_000_000L * k, 2_048_000L * k, 1_024_000L * k,
                512_000L * k, 0, 8_192_000L * k, 0, 0, Absent.VALUE, Absent.VALUE);
        List<BlkioDevice> blkio = io ? List.of(new BlkioDevice(254, 0, 4096L * k, 8192L * k, k, 2 * k)) : List.of();
        PressureStats psi = new PressureStats(new Pressure(1_000L * k, 500L * k), new Pressure(10L * k, 5L * k),
                new Pressure(0, 0));
        SpecStats spec = new SpecStats(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED,
                100_000, 1024);
        return new CgroupSample(path, now, now - 60_000, cpu, memory, blkio, new PidsStats(k % 7, Limits.UNLIMITED),
                psi, spec);
    }
}
