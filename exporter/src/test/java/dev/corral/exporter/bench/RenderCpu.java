package dev.corral.exporter.bench;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.metrics.ContainerMetrics;
import dev.corral.exporter.metrics.ContainerNames;
import dev.corral.exporter.metrics.DeviceNames;
import dev.corral.exporter.metrics.MachineInfo;
import dev.corral.exporter.metrics.MetricsPage;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The thread CPU time of one uncached /metrics render (MetricsBench's snapshot), for comparing JIT settings on a
 * machine too busy for JMH's wall-clock times: CPU time is what a render costs whatever else runs.
 *
 * <pre>java -cp exporter/target/test-classes:exporter/target/classes:$(cat exporter/target/jmh-classpath.txt) \
 *     [-XX:TieredStopAtLevel=1] dev.corral.exporter.bench.RenderCpu [cgroups=1000] [renders=400]</pre>
 *
 * Prints the median and p90 CPU ms of the last half of the renders (the first half warms the JIT up).
 */
public final class RenderCpu {

    private RenderCpu() {
    }

    public static void main(String[] args) {
        int cgroups = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int renders = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        long now = System.currentTimeMillis();
        Snapshot[] two = {MetricsBench.snapshot(cgroups, now), MetricsBench.snapshot(cgroups, now)};
        int[] i = {0};
        MetricsPage page = new MetricsPage(() -> two[i[0] & 1], new ContainerMetrics(ContainerNames.NONE,
                new MachineInfo(2, 24L << 30), new DeviceNames(Path.of("/sys/dev/block"))),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        double[] ms = new double[renders];
        long bytes = 0;
        for (; i[0] < renders; i[0]++) {
            long t0 = threads.getCurrentThreadCpuTime();
            bytes = page.render().length();
            ms[i[0]] = (threads.getCurrentThreadCpuTime() - t0) / 1e6;
        }
        double[] measured = Arrays.copyOfRange(ms, renders / 2, renders);
        Arrays.sort(measured);
        System.out.printf("%d cgroups, %d bytes: render CPU median %.2f ms, p90 %.2f ms (last %d of %d renders)%n",
                cgroups, bytes, measured[measured.length / 2], measured[(int) (measured.length * 0.9)],
                measured.length, renders);
    }
}
