package dev.corral.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.testing.Children;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The packaged agent started through bin/corral, as a user starts it, and stopped with SIGTERM. */
@Tag("root")
class ServeProcessIT {

    private static final Path CORRAL = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).resolve("bin/corral");

    private static Process corral(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(CORRAL.toString()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).redirectErrorStream(true).start();
    }

    /**
     * Embedded defaults but for where it writes: the state, the socket and the cgroup parent go to test places
     * so the host's /var/lib/corral, /run/corral and /corral are left alone.
     */
    @Test
    void servesMetricsWithEmbeddedDefaultsAndExitsZeroOnSigterm() throws Exception {
        Path state = java.nio.file.Files.createTempDirectory("corral-test-serve");
        String parent = "/corral-test-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        Process p = corral("serve", "--listen", "127.0.0.1:0", "--state-dir", state.toString(), "--socket",
                state.resolve("corral.sock").toString(), "--cgroup-parent", parent, "--default-network", "none");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Pattern serving = Pattern.compile("serving on http://127\\.0\\.0\\.1:(\\d+)");
            int port = -1;
            for (String line; port < 0 && (line = out.readLine()) != null; ) {
                Matcher m = serving.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
            assertThat(port).as("the agent announced its port").isPositive();
            HttpResponse<String> metrics = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                            .timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("container_cpu_usage_seconds_total{id=\"/\"");

            p.destroy(); // SIGTERM
            assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("exits after SIGTERM").isTrue();
            assertThat(p.exitValue()).isZero();
        } finally {
            p.destroyForcibly();
            p.waitFor(15, TimeUnit.SECONDS);
            dev.corral.agent.cgroup.CgroupDriver.forLayout(
                    dev.corral.exporter.discovery.CgroupLayoutDetector.detectSystem(), parent).removeParentIfEmpty();
            try (var files = java.nio.file.Files.walk(state)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void badUsageExitsTwoWithOneLineOnStderr() throws Exception {
        Children.Finished p = Children.run(new ProcessBuilder(CORRAL.toString(), "serve", "--interval", "soon")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD), Duration.ofSeconds(30));
        String err = p.output();
        assertThat(p.exitCode()).isEqualTo(2);
        assertThat(err.strip().lines()).hasSize(1);
        assertThat(err).contains("'soon' is not a duration");
    }

    @Test
    void helpListsTheSubcommands() throws Exception {
        Children.Finished p = Children.run(new ProcessBuilder(CORRAL.toString(), "--help").redirectErrorStream(true), Duration.ofSeconds(30));
        String out = p.output();
        assertThat(p.exitCode()).isZero();
        assertThat(out).contains("serve");
    }
}
