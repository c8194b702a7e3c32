package dev.corral.agent.cli;

import static dev.corral.exporter.testing.Await.awaitValue;
import static dev.corral.agent.testing.TestRoots.HOST_JSON;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.testing.ServedAgent;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.Hierarchy;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
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

    @Test
    void killedWithSigkillTheAgentComesBackAndLosesNothing() throws Exception {
        Path base = Files.createTempDirectory("corral-test-kill");
        Path state = base.resolve("state");
        String parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        ServedAgent agent = ServedAgent.start(state, parent, base.resolve("serve.log"), "--default-network", "none");
        try {
            assertThat(agent.call("POST", "/v1/containers?start=true",
                    "{" + HOST_JSON + "\"name\":\"stays\",\"command\":[\"sleep\",\"300\"]}").status()).isEqualTo(201);
            assertThat(agent.call("POST", "/v1/containers?start=true",
                    "{" + HOST_JSON + "\"name\":\"goes\",\"command\":[\"sh\",\"-c\",\"sleep 2; exit 7\"]}").status()).isEqualTo(201);
            JsonObject always = new JsonObject(agent.call("POST", "/v1/containers?start=true", "{" + HOST_JSON
                    + "\"name\":\"always\",\"command\":[\"sleep\",\"300\"],\"restartPolicy\":{\"name\":\"always\"}}")
                    .bodyText());
            agent.kill();
            CgroupDriver.forLayout(CgroupLayoutDetector.detectSystem(), parent).open("always").killAll();
            Thread.sleep(3000); // "goes" exits while nobody watches, and "always" is gone

            agent.startAgain();
            JsonObject stays = new JsonObject(agent.call("GET", "/v1/containers/stays", null).bodyText());
            assertThat(stays.getString("state")).isEqualTo("running");
            JsonObject goes = new JsonObject(agent.call("POST", "/v1/containers/goes/wait", null).bodyText());
            assertThat(goes.getInteger("exitCode")).isEqualTo(7);
            JsonObject again = awaitValue(
                    () -> new JsonObject(agent.call("GET", "/v1/containers/always", null).bodyText()),
                    c -> "running".equals(c.getString("state")), Duration.ofSeconds(30),
                    "always, killed while the agent was down, to be restarted by the agent");
            assertThat(again.getInteger("restartCount")).isEqualTo(1);
            assertThat(again.getLong("initPid")).isNotEqualTo(always.getLong("initPid"));
            JsonObject stopped = new JsonObject(agent.call("POST", "/v1/containers/stays/stop?timeout=5", null)
                    .bodyText());
            assertThat(stopped.getString("state")).isEqualTo("exited");
        } finally {
            try {
                JsonArray all = new JsonArray(agent.call("GET", "/v1/containers?all=true", null).bodyText());
                for (Object o : all) {
                    agent.call("DELETE", "/v1/containers/" + ((JsonObject) o).getString("name") + "?force=true", null);
                }
            } finally {
                agent.close();
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
