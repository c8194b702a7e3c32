package dev.corral.exporter;

import dev.corral.exporter.collect.CgroupCollector;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.metrics.ContainerMetrics;
import dev.corral.exporter.metrics.ContainerNames;
import dev.corral.exporter.metrics.DeviceNames;
import dev.corral.exporter.metrics.MachineInfo;
import dev.corral.exporter.metrics.MetricsPage;
import dev.corral.exporter.metrics.SelfMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The observe side on its own: detects the layout, runs the collector on its own thread at a fixed rate and
 * exposes the results, with the registry's own meters, as the Prometheus text of {@link #metricsPage()}.
 */
public final class Exporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Exporter.class);

    private final CgroupLayout layout;
    private final CgroupCollector collector;
    private final ScheduledExecutorService thread;
    private final MetricsPage page;

    private Exporter(CgroupLayout layout, CgroupCollector collector, ScheduledExecutorService thread,
                     MetricsPage page) {
        this.layout = layout;
        this.collector = collector;
        this.thread = thread;
        this.page = page;
    }

    public static Exporter start(ExporterConfig config, PrometheusMeterRegistry registry, ContainerNames names,
                                 String version) throws IOException {
        CgroupLayout layout = new CgroupLayoutDetector(config.paths()).detect();
        SelfMetrics self = new SelfMetrics(registry, names, version, layout.mode());
        CgroupCollector collector = new CgroupCollector(layout, config.paths(), config.roots(), config.retention(),
                config.rescanEvery(), System::currentTimeMillis, self);
        collector.watchForChanges();
        MetricsPage page = new MetricsPage(collector::latest, new ContainerMetrics(names,
                MachineInfo.read(config.paths().procRoot()),
                new DeviceNames(config.paths().mountPoint("/sys/dev/block"))), registry);
        collector.collect(); // the first scrape already has data
        ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "corral-collector");
            t.setDaemon(true);
            return t;
        });
        long period = config.interval().toNanos();
        thread.scheduleAtFixedRate(() -> cycle(collector), period, period, TimeUnit.NANOSECONDS);
        LOG.info("observing {} cgroups ({} layout) every {} ms", collector.latest().live().size(),
                layout.mode().label(), config.interval().toMillis());
        return new Exporter(layout, collector, thread, page);
    }

    private static void cycle(CgroupCollector collector) {
        try {
            collector.collect();
        } catch (RuntimeException e) { // a thrown exception would cancel the schedule for good
            LOG.warn("collection cycle failed", e);
        }
    }

    public CgroupLayout layout() {
        return layout;
    }

    /** The /metrics body: the container metrics of the latest snapshot and the registry's meters. */
    public MetricsPage metricsPage() {
        return page;
    }

    public CgroupCollector collector() {
        return collector;
    }

    public Snapshot latest() {
        return collector.latest();
    }

    @Override
    public void close() {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            thread.shutdownNow();
            Thread.currentThread().interrupt();
        }
        collector.close();
    }
}
