package dev.corral.agent.policy;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One gauge per row (a tag set), registered while the row exists and updated in place. Micrometer's
 * {@code MultiGauge.register(rows, true)} removes and re-adds every row's gauge on each update, and a Prometheus
 * scrape running meanwhile can see a row twice and fail the whole page with a DuplicateLabelsException
 * (micrometer#6851; seen here as /metrics answering 500 during policy tests).
 */
final class StableGauges {

    private final MeterRegistry registry;
    private final String name;
    private final String description;
    private final Map<Tags, AtomicReference<Double>> values = new HashMap<>(); // guarded by this
    private final Map<Tags, Gauge> gauges = new HashMap<>(); // guarded by this

    StableGauges(MeterRegistry registry, String name, String description) {
        this.registry = registry;
        this.name = name;
        this.description = description;
    }

    /** The rows now: new ones are registered, known ones take their new value, the others are removed. */
    synchronized void set(Map<Tags, Double> rows) {
        rows.forEach((tags, value) -> values.computeIfAbsent(tags, t -> {
            AtomicReference<Double> ref = new AtomicReference<>(value);
            gauges.put(t, Gauge.builder(name, ref, r -> r.get()).description(description).tags(t)
                    .strongReference(true).register(registry));
            return ref;
        }).set(value));
        for (Iterator<Map.Entry<Tags, Gauge>> it = gauges.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Tags, Gauge> e = it.next();
            if (!rows.containsKey(e.getKey())) {
                registry.remove(e.getValue());
                values.remove(e.getKey());
                it.remove();
            }
        }
    }
}
