package dev.corral.dashboards;

import static dev.corral.exporter.testing.Await.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port with a temp storage dir, scraping
 * one target every second with the shipped rules loaded. {@link #close()} stops it and removes its files.
 */
final class PrometheusServer implements AutoCloseable {

    static final Path BINARY = Path.of("/usr/bin/prometheus");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Process process;
    private final int port;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private PrometheusServer(Path dir, Process process, int port) {
        this.dir = dir;
        this.process = process;
        this.port = port;
    }

    static PrometheusServer start(String target, Path rules) throws Exception {
        if (!Files.isExecutable(BINARY)) {
            throw new AssertionError(BINARY + " is missing: install Debian's prometheus package (.ci/run does)");
        }
        Path dir = Files.createTempDirectory("corral-test-prometheus");
        try {
            Path config = dir.resolve("prometheus.yml");
            Files.writeString(config, """
                    global:
                      scrape_interval: 1s
                      evaluation_interval: 1s
                    rule_files:
                      - %s
                    scrape_configs:
                      - job_name: corral
                        static_configs:
                          - targets: ["%s"]
                    """.formatted(rules, target));
            int port = freePort();
            Process p = new ProcessBuilder(BINARY.toString(), "--config.file=" + config,
                    "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port,
                    "--log.level=warn").redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile())
                    .start();
            PrometheusServer server = new PrometheusServer(dir, p, port);
            try {
                server.awaitReady();
            } catch (Exception | AssertionError e) {
                server.close();
                throw e;
            }
            return server;
        } catch (Exception | AssertionError e) {
            deleteTree(dir);
            throw e;
        }
    }

    private void awaitReady() throws Exception {
        await(() -> {
            if (!process.isAlive()) {
                throw new AssertionError("prometheus exited " + process.exitValue() + ": " + log());
            }
            try {
                return get("/-/ready").statusCode() == 200;
            } catch (IOException e) {
                return false; // not listening yet
            }
        }, Duration.ofSeconds(15), "prometheus to be ready");
    }

    /** The result of an instant query (an empty list for no data); fails on a query Prometheus rejects. */
    List<JsonNode> query(String expr) throws Exception {
        HttpResponse<String> r = get("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
        JsonNode body = JSON.readTree(r.body());
        if (r.statusCode() != 200 || !"success".equals(body.path("status").asText())) {
            throw new AssertionError("query failed (" + r.statusCode() + "): " + expr + ": " + r.body());
        }
        JsonNode result = body.path("data").path("result");
        if ("scalar".equals(body.path("data").path("resultType").asText())) {
            return List.of(result);
        }
        return java.util.stream.StreamSupport.stream(result.spliterator(), false).toList();
    }

    /** The single value of a query, or NaN when it has no data. */
    double value(String expr) throws Exception {
        List<JsonNode> r = query(expr);
        if (r.isEmpty()) {
            return Double.NaN;
        }
        if (r.size() > 1) {
            throw new AssertionError(expr + " has " + r.size() + " series: " + r);
        }
        return Double.parseDouble(r.get(0).path("value").get(1).asText());
    }

    String log() throws IOException {
        Path log = dir.resolve("log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() throws Exception {
        try {
            process.destroy(); // SIGTERM: stops in ~1.5 s
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            deleteTree(dir);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
