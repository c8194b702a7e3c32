package dev.corral.agent.client;

import static dev.corral.agent.client.CorralCliIT.corral;
import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static dev.corral.exporter.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code --restart}, {@code --stop-timeout} and {@code corral restart} through bin/corral as a user runs them,
 * against a real agent (in this JVM). Runs after {@code package} (failsafe).
 */
@Tag("root")
class RestartCliIT {

    private static ClientAgentFixture fx;
    private static Map<String, String> env;

    @BeforeAll
    static void start() throws Exception {
        CorralCliIT.assertJarIsFresh("RestartOptions");
        fx = new ClientAgentFixture();
        env = Map.of("CORRAL_HOST", fx.host());
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    private static JsonNode inspect(String name) throws Exception {
        CorralCliIT.Result r = corral(env, "inspect", name);
        assertThat(r.code()).as(r.toString()).isZero();
        JsonNode n = new ObjectMapper().readTree(r.out());
        return n.isArray() ? n.get(0) : n;
    }

    @Test
    void aBogusPolicyFailsTheRunWithOneLineNamingTheFlag() throws Exception {
        CorralCliIT.Result r = corral(env, "run", HOST_FLAG, "--restart", "bogus", "--name", "it-bogus", "true");
        assertThat(r.code()).as(r.toString()).isEqualTo(125);
        assertThat(r.err()).isEqualTo("corral: --restart: 'bogus' is not no, on-failure[:N], always or "
                + "unless-stopped\n");
        assertThat(corral(env, "ps", "-a", "-q").out()).doesNotContain("it-bogus");
    }

    @Test
    void onFailureRestartsTwiceAndPsAndInspectCountIt() throws Exception {
        CorralCliIT.Result r = corral(env, "run", HOST_FLAG, "-d", "--restart", "on-failure:2", "--name", "it-fail",
                "sh", "-c", "echo run; exit 3");
        assertThat(r.code()).as(r.toString()).isZero();
        await(() -> inspect("it-fail").path("restartCount").asInt() == 2
                && inspect("it-fail").path("state").asText().equals("exited"), Duration.ofSeconds(30), "2 restarts");
        Thread.sleep(1500);
        JsonNode c = inspect("it-fail");
        assertThat(c.path("restartCount").asInt()).isEqualTo(2);
        assertThat(c.path("spec").path("restartPolicy").path("maximumRetryCount").asInt()).isEqualTo(2);
        assertThat(corral(env, "logs", "it-fail").out()).isEqualTo("run\nrun\nrun\n");
        assertThat(corral(env, "ps", "-a").out()).containsPattern("(?m)^.*Exited \\(3\\) .*\\(2 restarts\\).* it-fail$");
        corral(env, "rm", "it-fail");
    }

    @Test
    void restartStopsWithTheStopTimeoutThenStartsAndStopEndsAlwaysForGood() throws Exception {
        // sleep as PID 1 ignores SIGTERM: the stop timeout (1 s, not the default 10) ends it
        assertThat(corral(env, "run", HOST_FLAG, "-d", "--restart", "always", "--stop-timeout", "1", "--name",
                "it-always", "sleep", "600").code()).isZero();
        long pid = inspect("it-always").path("initPid").asLong();
        long t0 = System.nanoTime();
        CorralCliIT.Result r = corral(env, "restart", "it-always");
        double took = (System.nanoTime() - t0) / 1e9;
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("it-always\n");
        assertThat(took).isBetween(1.0, 9.0);
        JsonNode c = inspect("it-always");
        assertThat(c.path("state").asText()).isEqualTo("running");
        assertThat(c.path("initPid").asLong()).isNotEqualTo(pid);
        assertThat(corral(env, "stop", "-t", "0", "it-always").code()).isZero();
        Thread.sleep(2000);
        assertThat(inspect("it-always").path("state").asText()).isEqualTo("exited");
        corral(env, "rm", "it-always");
    }
}
