package dev.corral.agent.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class GzipMetricsTest {

    @Test
    void acceptEncodingAllowsGzipUnlessItsWeightIsZero() {
        assertThat(GzipMetrics.accepted("gzip")).isTrue();
        assertThat(GzipMetrics.accepted("deflate, GZIP;q=0.5")).isTrue();
        assertThat(GzipMetrics.accepted("*")).isTrue();
        assertThat(GzipMetrics.accepted(null)).isFalse();
        assertThat(GzipMetrics.accepted("identity")).isFalse();
        assertThat(GzipMetrics.accepted("gzip;q=0")).isFalse();
        assertThat(GzipMetrics.accepted("gzip; q=0.0, identity")).isFalse();
        assertThat(GzipMetrics.accepted("gzip;q=x")).isFalse();
        assertThat(GzipMetrics.accepted("br, deflate")).isFalse();
        assertThat(GzipMetrics.accepted("gzip;q=0, *")).as("named beats the wildcard").isFalse();
        assertThat(GzipMetrics.accepted("*;q=0")).isFalse();
    }
}
