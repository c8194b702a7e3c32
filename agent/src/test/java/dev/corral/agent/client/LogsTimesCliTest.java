package dev.corral.agent.client;

import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * logs -t, --since and --until through the CLI against a real agent: the times come from the index the shim's
 * monitor writes as it reads the container's output, so two lines printed 1.5 s apart get times that far apart, and
 * the filters split them there, in each of Docker's time formats.
 */
@Tag("root")
class LogsTimesCliTest {

    private static ClientAgentFixture fx;

    @BeforeAll
    static void start() throws Exception {
        fx = new ClientAgentFixture();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    @BeforeEach
    void environment() {
        Cli.environment(Map.of("CORRAL_HOST", fx.host()));
    }

    @AfterEach
    void realEnvironment() {
        Cli.realEnvironment();
    }

    @Test
    void linesCarryTheTimeTheyWereWrittenAndAreFilteredByIt() throws Exception {
        String name = "logs-times-" + UUID.randomUUID().toString().substring(0, 8);
        Instant before = Instant.now();
        try {
            Cli.ok("run", HOST_FLAG, "-d", "--name", name, "sh", "-c",
                    "echo early; echo early-err >&2; sleep 1.5; echo late; printf no-newline");
            assertThat(Cli.ok("wait", name).out()).isEqualTo("0\n");
            Instant after = Instant.now();

            Cli.Result stamped = Cli.ok("logs", "-t", name);
            List<String> lines = stamped.out().lines().toList();
            assertThat(lines).hasSize(3);
            for (String l : lines) {
                assertThat(l).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z .*");
            }
            assertThat(lines.get(0)).endsWith(" early");
            assertThat(lines.get(1)).endsWith(" late");
            assertThat(lines.get(2)).endsWith(" no-newline");
            assertThat(stamped.err()).matches("\\S+Z early-err\n");
            Instant early = Instant.parse(lines.get(0).split(" ")[0]);
            Instant late = Instant.parse(lines.get(1).split(" ")[0]);
            assertThat(early).isBetween(before, after);
            assertThat(late).isBetween(before, after);
            assertThat(java.time.Duration.between(early, late).toMillis()).as("the sleep between them")
                    .isBetween(1400L, 5000L);

            Instant middle = early.plusMillis(700);
            String unix = middle.getEpochSecond() + "." + String.format("%09d", middle.getNano());
            assertThat(Cli.ok("logs", "--since", unix, name).out()).isEqualTo("late\nno-newline");
            assertThat(Cli.ok("logs", "--until", unix, name).out()).isEqualTo("early\n");
            assertThat(Cli.ok("logs", "--until", unix, name).err()).isEqualTo("early-err\n");
            assertThat(Cli.ok("logs", "--since", middle.toString(), name).out()).isEqualTo("late\nno-newline");
            assertThat(Cli.ok("logs", "--since", "10m", name).out()).isEqualTo("early\nlate\nno-newline");
            assertThat(Cli.ok("logs", "--since", "1ms", name).out()).isEmpty();
            assertThat(Cli.ok("logs", "--until", "2000-01-01", name).out()).isEmpty();
            assertThat(Cli.ok("logs", name).out()).as("unfiltered, as before").isEqualTo("early\nlate\nno-newline");
            // --tail takes the last N lines first, then the time filter, as dockerd 20.10 does (checked: its
            // `logs --tail 2 --until T` printed nothing when its last two lines were after T)
            assertThat(Cli.ok("logs", "--tail", "2", "--until", unix, name).out()).isEmpty();
            assertThat(Cli.ok("logs", "--tail", "3", "--until", unix, name).out()).isEqualTo("early\n");
            assertThat(Cli.ok("logs", "--tail", "1", "--since", unix, name).out()).isEqualTo("no-newline");
            assertThat(Cli.ok("logs", "--tail", "3", "--since", unix, name).out()).isEqualTo("late\nno-newline");

            Cli.Result bad = Cli.run("logs", "--since", "yesterday", name);
            assertThat(bad.code()).isEqualTo(1);
            assertThat(bad.errLines()).singleElement().asString().startsWith("corral: --since: 'yesterday'");
        } finally {
            Cli.run("rm", "-f", name);
        }
    }
}
