package dev.corral.agent.cli;

import dev.corral.agent.client.DurationConverter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

@Tag("unit")
class ArgumentsTest {

    @Test
    void durations() {
        assertThat(DurationConverter.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(DurationConverter.parse("1s")).isEqualTo(Duration.ofSeconds(1));
        assertThat(DurationConverter.parse("2")).isEqualTo(Duration.ofSeconds(2));
        assertThat(DurationConverter.parse("0.5")).isEqualTo(Duration.ofMillis(500));
        assertThat(DurationConverter.parse("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(DurationConverter.parse("1h")).isEqualTo(Duration.ofHours(1));
        assertThatThrownBy(() -> DurationConverter.parse("0s")).hasMessageContaining("positive");
        assertThatThrownBy(() -> DurationConverter.parse("-1s")).hasMessageContaining("positive");
        assertThatThrownBy(() -> DurationConverter.parse("")).hasMessageContaining("not a duration");
        assertThatThrownBy(() -> DurationConverter.parse("1d")).hasMessageContaining("not a duration");
    }

    @Test
    void listenAddresses() {
        assertThat(ListenAddress.parse("127.0.0.1:9431")).isEqualTo(new ListenAddress("127.0.0.1", 9431));
        assertThat(ListenAddress.parse("[::1]:0")).isEqualTo(new ListenAddress("::1", 0));
        assertThat(ListenAddress.parse("[::1]:80").toString()).isEqualTo("[::1]:80");
        assertThatThrownBy(() -> ListenAddress.parse("9431")).hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> ListenAddress.parse("host:")).hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> ListenAddress.parse("host:http")).hasMessageContaining("numeric");
        assertThatThrownBy(() -> ListenAddress.parse("host:70000")).hasMessageContaining("0-65535");
    }

    @Test
    void usageErrorsExitTwoWithTheProblemNamed() {
        assertThat(run("serve", "--cgroup-root", "../etc")).isEqualTo(2);
        assertThat(err.toString()).contains("--cgroup-root").contains("absolute");
        assertThat(run("serve", "--cgroup-root", "/a/../b")).isEqualTo(2);
        assertThat(run("serve", "--rescan-every", "0")).isEqualTo(2);
        assertThat(run("serve", "--listen", "nowhere")).isEqualTo(2);
        assertThat(run("frobnicate")).isEqualTo(2);
    }

    @Test
    void anInvalidPolicyFileExitsTwoNamingFilePathAndProblem() throws Exception {
        java.nio.file.Path bad = java.nio.file.Files.createTempFile("corral-test-policy", ".json");
        try {
            java.nio.file.Files.writeString(bad, "{\"classes\":[{\"name\":\"a\",\"weight\":-1}]}");
            assertThat(run("serve", "--monitor-only", "--policy", bad.toString())).isEqualTo(2);
            assertThat(err.toString()).contains("--policy: " + bad + ": classes[0].weight: must be > 0");
            assertThat(run("serve", "--monitor-only", "--policy", bad + ".missing")).isEqualTo(2);
            assertThat(err.toString()).contains("no such file");
        } finally {
            java.nio.file.Files.delete(bad);
        }
    }

    private StringWriter err;

    private int run(String... args) {
        err = new StringWriter();
        CommandLine cli = CorralMain.commandLine();
        cli.setErr(new PrintWriter(err));
        cli.setOut(new PrintWriter(new StringWriter()));
        return cli.execute(args);
    }
}
