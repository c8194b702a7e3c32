package dev.corral.agent.cli;

import static dev.corral.exporter.testing.Await.await;
import static dev.corral.agent.testing.TestRoots.HOST_JSON;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.client.HttpTransport;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.Hierarchy;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The daemon, started through bin/corral, is killed with SIGKILL while three containers run; one of them exits
 * while it is down, and one with restart policy always is killed meanwhile. Started again on the same state, it
 * re-adopts the live one (which it can then stop), reports the real exit code of the other, and starts the always
 * one again.
 */
@Tag("root")
class AgentKillIT {

    private static final Path CORRAL = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).resolve("bin/corral");

    private Process serve(Path state, String parent) throws Exception {
        Process p = new ProcessBuilder(CORRAL.toString(), "serve", "--listen", "127.0.0.1:0", "--state-dir",
                state.toString(), "--cgroup-parent", parent, "--socket", state.resolve("corral.sock").toString(),
                "--cgroup-root", parent, "--default-network", "none").redirectErrorStream(true).redirectOutput(state.resolveSibling(
                        state.getFileName() + ".log").toFile()).start();
        Path log = state.resolveSibling(state.getFileName() + ".log");
        await(() -> {
            try {
                return HttpTransport.unix(state.resolve("corral.sock")).request("GET", "/v1/info", null, null)
                        .status() == 200;
            } catch (java.io.IOException e) {
                return false; // not listening yet
            }
        }, Duration.ofSeconds(60), "the agent to answer on its socket (its log: " + log + ")");
        return p;
    }

    private static HttpTransport.Response call(Path state, String method, String uri, String body) throws Exception {
        return HttpTransport.unix(state.resolve("corral.sock")).request(method, uri,
                body == null ? null : body.getBytes(StandardCharsets.UTF_8), body == null ? null : "application/json");
    }

    @Test
    void killedWithSigkillTheAgentComesBackAndLosesNothing() throws Exception {
        Path base = Files.createTempDirectory("corral-test-kill");
        Path state = base.resolve("state");
        String parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        Process agent = serve(state, parent);
        try {
            assertThat(call(state, "POST", "/v1/containers?start=true",
                    "{" + HOST_JSON + "\"name\":\"stays\",\"command\":[\"sleep\",\"300\"]}").status()).isEqualTo(201);
            assertThat(call(state, "POST", "/v1/containers?start=true",
                    "{" + HOST_JSON + "\"name\":\"goes\",\"command\":[\"sh\",\"-c\",\"sleep 2; exit 7\"]}").status()).isEqualTo(201);
            JsonObject always = new JsonObject(call(state, "POST", "/v1/containers?start=true", "{" + HOST_JSON
                    + "\"name\":\"always\",\"command\":[\"sleep\",\"300\"],\"restartPolicy\":{\"name\":\"always\"}}")
                    .bodyText());
            new ProcessBuilder("kill", "-9", Long.toString(agent.pid())).start().waitFor();
            assertThat(agent.waitFor(10, TimeUnit.SECONDS)).isTrue();
            CgroupDriver.forLayout(CgroupLayoutDetector.detectSystem(), parent).open("always").killAll();
            Thread.sleep(3000); // "goes" exits while nobody watches, and "always" is gone

            agent = serve(state, parent);
            JsonObject stays = new JsonObject(call(state, "GET", "/v1/containers/stays", null).bodyText());
            assertThat(stays.getString("state")).isEqualTo("running");
            JsonObject goes = new JsonObject(call(state, "POST", "/v1/containers/goes/wait", null).bodyText());
            assertThat(goes.getInteger("exitCode")).isEqualTo(7);
            JsonObject again = null;
            for (int i = 0; i < 100 && (again == null || !"running".equals(again.getString("state"))); i++) {
                Thread.sleep(100);
                again = new JsonObject(call(state, "GET", "/v1/containers/always", null).bodyText());
            }
            assertThat(again.getString("state")).as(again.encode()).isEqualTo("running");
            assertThat(again.getInteger("restartCount")).isEqualTo(1);
            assertThat(again.getLong("initPid")).isNotEqualTo(always.getLong("initPid"));
            JsonObject stopped = new JsonObject(call(state, "POST", "/v1/containers/stays/stop?timeout=5", null)
                    .bodyText());
            assertThat(stopped.getString("state")).isEqualTo("exited");
        } finally {
            try {
                JsonArray all = new JsonArray(call(state, "GET", "/v1/containers?all=true", null).bodyText());
                for (Object o : all) {
                    call(state, "DELETE", "/v1/containers/" + ((JsonObject) o).getString("name") + "?force=true", null);
                }
            } finally {
                agent.destroy();
                agent.waitFor(15, TimeUnit.SECONDS);
                // The parent itself, now empty (in every hierarchy the driver uses); a container left inside
                // makes this fail.
                CgroupLayout layout = CgroupLayoutDetector.detectSystem();
                CgroupDriver.forLayout(layout, parent).removeParentIfEmpty();
                List<Path> left = new ArrayList<>();
                for (Hierarchy h : layout.hierarchies()) {
                    h.dirOf(parent).filter(Files::exists).ifPresent(left::add);
                }
                try (Stream<Path> files = Files.walk(base)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
                assertThat(left).isEmpty();
            }
        }
    }
}
