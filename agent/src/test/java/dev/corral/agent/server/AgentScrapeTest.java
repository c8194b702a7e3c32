package dev.corral.agent.server;

import static dev.corral.exporter.testing.Await.awaitValue;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.HostPaths;
import dev.corral.exporter.testing.CpuQuotaCheck;
import dev.corral.exporter.testing.PromText;
import dev.corral.exporter.testing.TestCgroup;
import dev.corral.exporter.testing.Workloads;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A real agent scraped over real HTTP while real cgroups are throttled, OOM-killed and write-limited. */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class AgentScrapeTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Agent startAgent(String root) throws Exception {
        ExporterConfig config = new ExporterConfig(HostPaths.system(), List.of(root), Duration.ofMillis(200),
                Duration.ofMinutes(5), 1);
        return Agent.start(new AgentOptions("127.0.0.1", 0, config, null));
    }

    private static HttpResponse<String> get(Agent agent, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static PromText scrape(Agent agent) throws Exception {
        HttpResponse<String> r = get(agent, "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElseThrow()).startsWith("text/plain; version=0.0.4");
        return PromText.parse(r.body());
    }

    @Test
    void throttlingShowsInCadvisorNamedCounters() throws Exception {
        try (TestCgroup cg = TestCgroup.create(); Agent agent = startAgent(cg.path())) {
            cg.limitCpu(20_000, 100_000);
            cg.start(Workloads.busyLoop());
            PromText first = scrape(agent);
            Thread.sleep(3000);
            PromText second = scrape(agent);

            String id = cg.path();
            assertThat(second.type("container_cpu_usage_seconds_total")).contains("counter");
            assertThat(second.type("container_cpu_cfs_throttled_periods_total")).contains("counter");
            assertThat(second.type("container_spec_cpu_quota")).contains("gauge");
            double usage = second.value("container_cpu_usage_seconds_total", "id", id).orElseThrow()
                    - first.value("container_cpu_usage_seconds_total", "id", id).orElseThrow();
            double wall = second.value("container_last_seen", "id", id).orElseThrow()
                    - first.value("container_last_seen", "id", id).orElseThrow();
            double throttled = second.value("container_cpu_cfs_throttled_periods_total", "id", id).orElseThrow()
                    - first.value("container_cpu_cfs_throttled_periods_total", "id", id).orElseThrow();
            CpuQuotaCheck.assertHeldToQuota(usage, wall, (long) throttled, 0.2, 0.1);
            assertThat(second.value("container_cpu_cfs_throttled_periods_total", "id", id).orElseThrow())
                    .isGreaterThan(0);
            assertThat(second.value("container_cpu_cfs_throttled_seconds_total", "id", id).orElseThrow())
                    .isGreaterThan(0);
            assertThat(second.value("container_spec_cpu_quota", "id", id)).contains(20_000.0);
            assertThat(second.value("container_spec_cpu_period", "id", id)).contains(100_000.0);
            assertThat(second.value("container_threads", "id", id)).contains(1.0);
            assertThat(second.find("container_cpu_usage_seconds_total", "id", id).get(0).labels())
                    .containsEntry("name", "");
            assertThat(second.value("machine_cpu_cores"))
                    .contains((double) Runtime.getRuntime().availableProcessors());
            assertThat(second.value("machine_memory_bytes").orElseThrow()).isGreaterThan(1e9);
        }
    }

    @Test
    void oomKillsStayExportedAfterTheCgroupIsGone() throws Exception {
        TestCgroup cg = TestCgroup.create();
        try (Agent agent = startAgent(cg.path())) {
            String id = cg.path();
            try {
                cg.limitMemory(32L << 20);
                assertThat(waitForValue(agent, "container_oom_events_total", id, v -> v == 0)).isZero();
                Process hog = cg.start(Workloads.allocate(96));
                assertThat(hog.waitFor(120, TimeUnit.SECONDS)).isTrue();
                assertThat(waitForValue(agent, "container_oom_events_total", id, v -> v >= 1)).isEqualTo(1);
                // Limits are read every LimitsRefresh.CYCLES cycles: the one set after the agent started shows
                // within 10 intervals.
                assertThat(waitForValue(agent, "container_spec_memory_limit_bytes", id, v -> v == (32L << 20)))
                        .isEqualTo((double) (32L << 20));
            } finally {
                cg.close();
            }
            // Limits of a container that is gone are no longer in force: once they are gone, the rest is retained.
            PromText after = awaitValue(() -> scrape(agent),
                    page -> page.value("container_spec_memory_limit_bytes", "id", id).isEmpty(),
                    Duration.ofSeconds(30), "the removed cgroup's limits to go");
            assertThat(after.type("container_oom_events_total")).contains("counter");
            assertThat(after.value("container_oom_events_total", "id", id)).contains(1.0);
            assertThat(after.value("corral_oom_kills_total", "id", id)).contains(1.0);
        }
    }

    @Test
    void writesUnderABlkioLimitShowPerDeviceBytes() throws Exception {
        String device = Workloads.writeDevice();
        Path target = Workloads.writeTarget("corral-test-agent-" + ProcessHandle.current().pid());
        try (TestCgroup cg = TestCgroup.create(); Agent agent = startAgent(cg.path())) {
            cg.limitWriteBps(device, 4L << 20);
            Process writer = cg.start(Workloads.directWrite(target, 4));
            assertThat(writer.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String[] dev = device.split(":");
            double written = waitForValue(agent, "container_blkio_device_usage_total", cg.path(),
                    v -> v >= (4 << 20), "major", dev[0], "minor", dev[1], "operation", "Write");
            assertThat(written).isGreaterThanOrEqualTo(4 << 20);
            PromText t = scrape(agent);
            assertThat(t.type("container_blkio_device_usage_total")).contains("counter");
            assertThat(t.find("container_fs_writes_bytes_total", "id", cg.path()).get(0).labels().get("device"))
                    .startsWith("/dev/");
        } finally {
            if (!target.toString().startsWith("/dev/")) {
                Files.deleteIfExists(target);
            }
        }
    }

    /** Prometheus asks for gzip: it gets the same exposition compressed, and plain text when it refuses gzip. */
    @Test
    void aScraperThatAcceptsGzipGetsTheExpositionGzipped() throws Exception {
        try (TestCgroup cg = TestCgroup.create(); Agent agent = startAgent(cg.path())) {
            Thread.sleep(500);
            URI uri = URI.create("http://127.0.0.1:" + agent.httpPort() + "/metrics");
            HttpResponse<byte[]> gz = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                    .header("Accept-Encoding", "gzip").build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(gz.statusCode()).isEqualTo(200);
            assertThat(gz.headers().firstValue("content-encoding")).contains("gzip");
            assertThat(gz.headers().firstValue("content-type").orElseThrow()).startsWith("text/plain; version=0.0.4");
            String text;
            try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz.body()))) {
                text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
            PromText t = PromText.parse(text);
            assertThat(t.value("container_cpu_usage_seconds_total", "id", cg.path())).isPresent();
            assertThat(t.value("machine_cpu_cores")).isPresent();
            assertThat(t.value("corral_cgroups_watched")).contains(1.0);
            assertThat(gz.body().length).as("compressed").isLessThan(text.length() / 3);

            HttpResponse<String> refused = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                    .header("Accept-Encoding", "gzip;q=0, identity").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(refused.headers().firstValue("content-encoding")).isEmpty();
            assertThat(PromText.parse(refused.body()).value("container_cpu_usage_seconds_total", "id", cg.path()))
                    .isPresent();
        }
    }

    @Test
    void selfMetricsAndHealth() throws Exception {
        try (TestCgroup cg = TestCgroup.create(); Agent agent = startAgent(cg.path())) {
            // the first collection ran in Agent.start; a second is the collector thread's, not a fixed sleep's
            PromText t = awaitValue(() -> scrape(agent),
                    page -> page.value("corral_collection_duration_seconds_count").orElse(0.0) > 1,
                    Duration.ofSeconds(30), "a second collection cycle");
            assertThat(t.value("corral_cgroups_watched")).contains(1.0);
            assertThat(t.value("corral_read_errors_total")).contains(0.0);
            assertThat(t.find("corral_build").get(0).labels()).containsKey("version");
            assertThat(t.find("corral_cgroup_mode").get(0).labels().get("mode")).isIn("v1", "hybrid", "v2");
            HttpResponse<String> health = get(agent, "/healthz");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"status\":\"ok\"");
            // the JDK client asks to upgrade to h2c; the agent stays on HTTP/1.1 (Agent.listen says why)
            assertThat(health.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
            assertThat(get(agent, "/nope").statusCode()).isEqualTo(404);
        }
    }

    /** Micrometer's JVM and process binders: the agent's own heap, GC, threads, classes, CPU and uptime. */
    @Test
    void theAgentsOwnJvmIsExported() throws Exception {
        try (TestCgroup cg = TestCgroup.create(); Agent agent = startAgent(cg.path())) {
            System.gc(); // the agent runs in this JVM here: one collection so a GC pause has been recorded
            // The GC pause timer is registered from the JVM's GC notification, which comes on its own thread after
            // System.gc() returns: await it.
            PromText t = awaitValue(() -> scrape(agent), page -> !page.find("jvm_gc_pause_seconds_count").isEmpty(),
                    Duration.ofSeconds(30), "the GC pause to be recorded");
            assertThat(t.find("jvm_memory_used_bytes", "area", "heap")).isNotEmpty()
                    .allSatisfy(s -> assertThat(s.value()).isNotNegative());
            assertThat(t.find("jvm_memory_used_bytes", "area", "heap").stream().mapToDouble(PromText.Sample::value)
                    .sum()).isPositive();
            assertThat(t.value("jvm_threads_live_threads").orElseThrow()).isGreaterThan(1);
            assertThat(t.value("jvm_classes_loaded_classes").orElseThrow()).isPositive();
            assertThat(t.value("process_cpu_usage")).isPresent();
            assertThat(t.value("process_uptime_seconds").orElseThrow()).isPositive();
        }
    }

    /**
     * Polls the agent until the metric satisfies {@code ok} and returns its value. 30 s: a cycle of the collector in
     * the emulated v2 guest, where limits show only every few cycles, can take seconds.
     */
    private static double waitForValue(Agent agent, String name, String id, java.util.function.DoublePredicate ok,
                                       String... moreLabels) throws Exception {
        String[] labels = new String[moreLabels.length + 2];
        labels[0] = "id";
        labels[1] = id;
        System.arraycopy(moreLabels, 0, labels, 2, moreLabels.length);
        return awaitValue(() -> scrape(agent).value(name, labels).orElse(null), v -> v != null && ok.test(v),
                Duration.ofSeconds(30), name + List.of(labels));
    }
}
