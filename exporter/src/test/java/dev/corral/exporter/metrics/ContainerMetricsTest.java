package dev.corral.exporter.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("unit")
@net.jqwik.api.Tag("unit")
class ContainerMetricsTest {

    @TempDir
    Path sysDevBlock;

    private static String golden() throws Exception {
        try (InputStream in = ContainerMetricsTest.class.getResourceAsStream("scrape-golden.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void rendersByteForByteWhatClientJavasWriterRenderedForTheSameSamples() throws Exception {
        ContainerMetrics metrics = new ContainerMetrics(ScrapeFixture.names(), ScrapeFixture.MACHINE,
                ScrapeFixture.devices(sysDevBlock));
        MetricsPage page = new MetricsPage(ScrapeFixture::snapshot, metrics,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

        assertThat(page.render().text()).isEqualTo(golden());
    }

    @Test
    void theAgentsOwnMetricsGoBetweenTheContainerAndMachineFamiliesAndStayCurrent() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter errors = Counter.builder("corral.read.errors").description("errors").register(registry);
        MetricsPage page = new MetricsPage(ScrapeFixture::snapshot, new ContainerMetrics(ScrapeFixture.names(),
                ScrapeFixture.MACHINE, ScrapeFixture.devices(sysDevBlock)), registry);

        String first = page.render().text();
        errors.increment(3);
        String second = page.render().text();

        String self = "# HELP corral_read_errors_total errors\n# TYPE corral_read_errors_total counter\n";
        int machineAt = golden().indexOf("# HELP machine_cpu_cores");
        assertThat(first).isEqualTo(golden().substring(0, machineAt) + self + "corral_read_errors_total 0.0\n"
                + golden().substring(machineAt));
        assertThat(second).contains("corral_read_errors_total 3.0\n");
    }

    @Test
    void aNewSnapshotIsRenderedAgainTheSameOneIsNot() throws Exception {
        AtomicReference<dev.corral.exporter.collect.Snapshot> current =
                new AtomicReference<>(ScrapeFixture.snapshot());
        MetricsPage page = new MetricsPage(current::get, new ContainerMetrics(ScrapeFixture.names(),
                ScrapeFixture.MACHINE, ScrapeFixture.devices(sysDevBlock)),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

        MetricsPage.Body first = page.render();
        assertThat(page.render().containers()).isSameAs(first.containers());
        current.set(dev.corral.exporter.collect.Snapshot.EMPTY);
        MetricsPage.Body empty = page.render();
        assertThat(empty.containers().length()).isZero();
        assertThat(empty.text()).startsWith("# HELP machine_cpu_cores");
    }

    @Property(tries = 5000)
    void valuesAreWhatDoubleToStringWrites(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long raw,
                                           @ForAll("divisors") double divisor) {
        TextOut out = new TextOut(16);
        ContainerMetrics.writeValue(out, raw, divisor);
        assertThat(new String(out.bytes(), 0, out.size(), StandardCharsets.US_ASCII))
                .isEqualTo(Double.toString(raw / divisor));
    }

    @Property(tries = 2000)
    void smallIntegersAreWhatDoubleToStringWrites(@ForAll @LongRange(min = 0, max = 20_000_000) long raw) {
        valuesAreWhatDoubleToStringWrites(raw, 1);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Double> divisors() {
        return net.jqwik.api.Arbitraries.of(1.0, 1e3, 1e6, 1e9);
    }

    @Property(tries = 2000)
    void labelValuesAreEscapedAsClientJavaEscapesThem(@ForAll String value) throws Exception {
        TextOut out = new TextOut(16);
        out.writeEscaped(value);
        String ours = new String(out.bytes(), 0, out.size(), StandardCharsets.UTF_8);

        MetricSnapshots one = MetricSnapshots.of(GaugeSnapshot.builder().name("g").help("h").dataPoint(
                GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("l", value)).value(1).build()).build());
        ByteArrayOutputStream theirs = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(theirs, one);
        assertThat("# HELP g h\n# TYPE g gauge\ng{l=\"" + ours + "\"} 1.0\n")
                .isEqualTo(theirs.toString(StandardCharsets.UTF_8));
    }
}
