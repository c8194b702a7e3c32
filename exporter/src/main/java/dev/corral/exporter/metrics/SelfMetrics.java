package dev.corral.exporter.metrics;

import dev.corral.exporter.collect.CollectorStats;
import dev.corral.exporter.discovery.CgroupMode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The agent's metrics about itself, through Micrometer. */
public final class SelfMetrics implements CollectorStats {

    private static final Logger LOG = LoggerFactory.getLogger(SelfMetrics.class);

    private final MeterRegistry registry;
    private final ContainerNames names;
    private final Timer collection;
    private final Counter readErrors;
    private final AtomicInteger watched = new AtomicInteger();
    private final Map<String, Counter> oomKills = new ConcurrentHashMap<>();

    public SelfMetrics(MeterRegistry registry, ContainerNames names, String version, CgroupMode mode) {
        this.registry = registry;
        this.names = names;
        this.collection = Timer.builder("corral.collection.duration")
                .description("Time one collection cycle took to read every watched cgroup").register(registry);
        this.readErrors = Counter.builder("corral.read.errors")
                .description("Accounting files that exist but could not be read").register(registry);
        Gauge.builder("corral.cgroups.watched", watched, AtomicInteger::get)
                .description("Cgroups read in the last collection cycle").register(registry);
        Gauge.builder("corral.build", () -> 1).tag("version", version)
                .description("Build information; always 1").register(registry);
        Gauge.builder("corral.cgroup.mode", () -> 1).tag("mode", mode.label())
                .description("The host's cgroup layout (v1, hybrid or v2); always 1").register(registry);
    }

    @Override
    public void cycle(long nanos, int watchedCgroups) {
        collection.record(nanos, TimeUnit.NANOSECONDS);
        watched.set(watchedCgroups);
    }

    @Override
    public void readError(Path file, Exception cause) {
        readErrors.increment();
        LOG.debug("cannot read {}: {}", file, cause.toString());
    }

    @Override
    public void oomKills(String cgroupPath, long delta) {
        oomKills.computeIfAbsent(cgroupPath, p -> Counter.builder("corral.oom.kills")
                .description("OOM kills seen by the agent, kept for the retention after the cgroup is gone")
                .tag("id", p).tag("name", names.nameOf(p)).register(registry)).increment(delta);
    }

    /** Its OOM-kill series goes with the cgroup's other retained series (one series per cgroup ever seen grew). */
    @Override
    public void forgotten(String cgroupPath) {
        Counter c = oomKills.remove(cgroupPath);
        if (c != null) {
            registry.remove(c);
        }
    }
}
