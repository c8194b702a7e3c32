package dev.corral.agent.server;

import dev.corral.agent.ContainerException;
import dev.corral.agent.runtime.ContainerEvent;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.exporter.sample.Limits;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code container_spec_network_rate_bytes{name,id,direction}}: the --network-rate of each of the agent's containers
 * that has one, in bytes per second, as cAdvisor's container_spec_* show the cgroup limits (a network rate is not
 * in any cgroup file, so the exporter cannot read it). Kept from the runtime's events: no work per scrape.
 */
public final class NetworkRateMetrics {

    static final String NAME = "container_spec_network_rate_bytes";

    private final MeterRegistry registry;
    private final ContainerRuntime runtime;
    /** "name direction" → the gauge's value and the gauge. */
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    private record Entry(AtomicLong value, Gauge gauge) {
    }

    private NetworkRateMetrics(MeterRegistry registry, ContainerRuntime runtime) {
        this.registry = registry;
        this.runtime = runtime;
    }

    /** Gauges for the containers there are, kept current from then on. */
    public static NetworkRateMetrics register(MeterRegistry registry, ContainerRuntime runtime) {
        NetworkRateMetrics m = new NetworkRateMetrics(registry, runtime);
        runtime.addListener(m::event);
        try {
            runtime.list().forEach(m::show);
        } catch (ContainerException e) {
            // none shown until their next event
        }
        return m;
    }

    private void event(ContainerEvent e) {
        switch (e.type()) {
            case CREATED, STARTED, RESTART, LIMITS_UPDATED -> {
                try {
                    show(runtime.inspect(e.name()));
                } catch (ContainerException | RuntimeException gone) {
                    drop(e.name());
                }
            }
            case REMOVED -> drop(e.name());
            default -> { }
        }
    }

    private void show(ContainerRecord r) {
        ContainerSpec.NetworkRate rate = r.spec().limits() == null ? null : r.spec().limits().network();
        set(r, "egress", rate == null ? null : rate.egress());
        set(r, "ingress", rate == null ? null : rate.ingress());
    }

    private synchronized void set(ContainerRecord r, String direction, Long bytesPerSecond) {
        String key = r.name() + " " + direction;
        Entry e = entries.get(key);
        if (bytesPerSecond == null || Limits.isUnlimited(bytesPerSecond)) {
            if (e != null) {
                registry.remove(e.gauge());
                entries.remove(key);
            }
            return;
        }
        if (e == null) {
            AtomicLong v = new AtomicLong();
            Gauge g = Gauge.builder(NAME, v, AtomicLong::get)
                    .description("Network rate of the container (tc on its veth), bytes per second")
                    .tags("name", r.name(), "id", r.cgroup(), "direction", direction).register(registry);
            e = new Entry(v, g);
            entries.put(key, e);
        }
        e.value().set(bytesPerSecond);
    }

    private synchronized void drop(String name) {
        entries.entrySet().removeIf(x -> {
            if (x.getKey().startsWith(name + " ")) {
                registry.remove(x.getValue().gauge());
                return true;
            }
            return false;
        });
    }
}
