package dev.corral.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class StableGaugesTest {

    /** The policy thread updates every cycle while Prometheus scrapes: no scrape may fail or see a row twice. */
    @Test
    void scrapesWhileRowsAreUpdatedNeverFail() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        StableGauges gauges = new StableGauges(registry, "corral.test.share", "a share");
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread scraper = new Thread(() -> {
            while (!done.get()) {
                try {
                    registry.scrape();
                } catch (Throwable t) {
                    failed.compareAndSet(null, t);
                }
            }
        });
        scraper.start();
        try {
            for (int cycle = 0; cycle < 3000 && failed.get() == null; cycle++) {
                Map<Tags, Double> rows = new HashMap<>();
                for (int i = 0; i < 50; i++) {
                    rows.put(Tags.of("id", "/c" + i, "name", "c" + i), (double) cycle);
                }
                gauges.set(rows);
            }
        } finally {
            done.set(true);
            scraper.join(10_000);
        }
        assertThat(failed.get()).as("a scrape during an update").isNull();
        gauges.set(Map.of(Tags.of("id", "/c1", "name", "c1"), 0.5));
        String page = registry.scrape();
        assertThat(page).contains("corral_test_share{id=\"/c1\",name=\"c1\"} 0.5").doesNotContain("/c2\"");
    }
}
