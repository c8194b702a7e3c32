package dev.corral.agent.api;

import static dev.corral.exporter.testing.Await.await;
import static dev.corral.exporter.testing.Await.awaitValue;
import static dev.corral.agent.testing.TestRoots.HOST;
import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.PATCH;
import static io.vertx.core.http.HttpMethod.POST;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The /v1 API of a real agent running real containers, over its unix socket and over TCP. */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class ApiTest {

    private static AgentFixture fx;

    @BeforeAll
    static void start() throws Exception {
        fx = new AgentFixture();
    }

    @AfterAll
    static void stop() throws Exception {
        fx.close();
    }

    private static String spec(String json) {
        return json.replace('\'', '"');
    }

    @Test
    void tcpNeedsTheTokenAndCountsRefusals() throws Exception {
        assertThat(fx.tcp(GET, "/v1/containers", null, null).status()).isEqualTo(401);
        assertThat(fx.tcp(GET, "/v1/containers", null, "wrong-token-wrong-token").status()).isEqualTo(401);
        AgentFixture.Response ok = fx.tcp(GET, "/v1/containers", null, fx.token());
        assertThat(ok.status()).isEqualTo(200);
        assertThat(new JsonArray(ok.body())).isNotNull();
        String metrics = fx.tcp(GET, "/metrics", null, null).body();
        assertThat(metrics).containsPattern("corral_api_unauthorized_total [2-9]");
        assertThat(fx.tcp(GET, "/healthz", null, null).status()).isEqualTo(200);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fx.stateDir.resolve("api-token"))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fx.socket()))).isEqualTo("rw-rw----");
    }

    @Test
    void lifecycleOverTheUnixSocket() throws Exception {
        AgentFixture.Response created = fx.unix(POST, "/v1/containers", spec(
                "{" + HOST + "'name':'life','command':['sh','-c','echo started; sleep 60'],'labels':{'tier':'web'}}"));
        assertThat(created.status()).isEqualTo(201);
        assertThat(new JsonObject(created.body()).getString("state")).isEqualTo("created");
        assertThat(fx.unix(POST, "/v1/containers/life/start", null).status()).isEqualTo(200);
        assertThat(fx.unix(POST, "/v1/containers/life/start", null).status()).isEqualTo(409);
        assertThat(new JsonArray(fx.unix(GET, "/v1/containers?label=tier=web", null).body())).hasSize(1);
        assertThat(new JsonArray(fx.unix(GET, "/v1/containers?label=tier=db", null).body())).isEmpty();
        assertThat(fx.unix(POST, "/v1/containers/life/pause", null).body()).contains("\"state\":\"paused\"");
        assertThat(fx.unix(POST, "/v1/containers/life/resume", null).body()).contains("\"state\":\"running\"");
        assertThat(fx.unix(DELETE, "/v1/containers/life", null).status()).isEqualTo(409);
        JsonObject stopped = new JsonObject(fx.unix(POST, "/v1/containers/life/stop?timeout=5", null).body());
        assertThat(stopped.getString("state")).isEqualTo("exited");
        assertThat(fx.unix(GET, "/v1/containers/life/logs", null).body()).isEqualTo("started\n");
        assertThat(new JsonArray(fx.unix(GET, "/v1/containers", null).body())).as("exited are hidden").isEmpty();
        assertThat(new JsonArray(fx.unix(GET, "/v1/containers?all=true", null).body())).hasSize(1);
        assertThat(fx.unix(DELETE, "/v1/containers/life", null).status()).isEqualTo(204);
        assertThat(fx.unix(GET, "/v1/containers/life", null).status()).isEqualTo(404);
    }

    /**
     * A running container renamed keeps its cgroup (the series' id label) and its limit, and /metrics names it by
     * the new name from the next collection on, also after an agent restart; on cgroup v2 too (the guest).
     */
    @Test
    void aRenamedRunningContainersMetricsCarryItsNewName() throws Exception {
        assertThat(fx.unix(POST, "/v1/containers", spec("{" + HOST + "'name':'metr-old','command':['sleep','60'],"
                + "'limits':{'memory':{'max':'48m'}}}")).status()).isEqualTo(201);
        assertThat(fx.unix(POST, "/v1/containers/metr-old/start", null).status()).isEqualTo(200);
        String id = fx.parent + "/metr-old";
        try {
            dev.corral.exporter.testing.Await.awaitValue(() -> dev.corral.exporter.testing.PromText.parse(
                    fx.unix(GET, "/metrics", null).body()), page -> page.value("container_spec_memory_limit_bytes",
                    "id", id, "name", "metr-old").isPresent(), Duration.ofSeconds(30), "metr-old's series");
            AgentFixture.Response renamed = fx.unix(POST, "/v1/containers/metr-old/rename?name=metr-new", null);
            assertThat(renamed.status()).as(renamed.body()).isEqualTo(200);
            assertThat(new JsonObject(renamed.body()).getString("cgroup")).isEqualTo(id);
            for (int round = 0; round < 2; round++) {
                var page = dev.corral.exporter.testing.Await.awaitValue(() -> dev.corral.exporter.testing.PromText
                        .parse(fx.unix(GET, "/metrics", null).body()), p -> p.value("container_spec_memory_limit_bytes",
                        "id", id, "name", "metr-new").isPresent(), Duration.ofSeconds(30), "the new name on its series");
                assertThat(page.value("container_spec_memory_limit_bytes", "id", id, "name", "metr-new"))
                        .contains((double) (48L << 20));
                assertThat(page.find("container_spec_memory_limit_bytes", "name", "metr-old")).isEmpty();
                if (round == 0) {
                    fx.restart(); // the new agent finds the cgroup by the record
                }
            }
        } finally {
            fx.unix(DELETE, "/v1/containers/metr-new?force=true", null);
            fx.unix(DELETE, "/v1/containers/metr-old?force=true", null);
        }
    }

    @Test
    void oneRequestRunsWaitsAndRemovesLikeDockerRunRm() throws Exception {
        try (EventRecorder events = new EventRecorder(fx)) {
            for (int round = 0; round < 2; round++) { // the name is free again at once
                AgentFixture.Response r = fx.unix(POST, "/v1/containers?start=true&wait=true&rm=true",
                        spec("{" + HOST + "'name':'once','command':['sh','-c','echo hi; exit 3'],'limits':{'memory':{'max':'64m'}}}"));
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                JsonObject exited = new JsonObject(r.body());
                assertThat(exited.getString("state")).isEqualTo("exited");
                assertThat(exited.getInteger("exitCode")).isEqualTo(3);
                assertThat(fx.unix(GET, "/v1/containers/once", null).status()).isEqualTo(404);
                assertThat(fx.cgroupFile("once", "memory", "")).doesNotExist();
                assertThat(fx.cgroupFile("once", "pids", "")).doesNotExist();
                assertThat(fx.stateDir.resolve("containers/once")).doesNotExist();
            }
            events.await(e -> e.getString("name").equals("once") && e.getString("type").equals("removed"), 5000);
            assertThat(events.matching(e -> e.getString("name").equals("once")).subList(0, 4))
                    .extracting(e -> e.getString("type")).containsExactly("created", "started", "exited", "removed");
        }
        // Without rm the exited container stays.
        AgentFixture.Response kept = fx.unix(POST, "/v1/containers?start=true&wait=true",
                spec("{" + HOST + "'name':'kept','command':['/bin/true']}"));
        assertThat(new JsonObject(kept.body()).getInteger("exitCode")).isZero();
        assertThat(new JsonObject(fx.unix(GET, "/v1/containers/kept", null).body()).getString("state"))
                .isEqualTo("exited");
        assertThat(fx.unix(DELETE, "/v1/containers/kept", null).status()).isEqualTo(204);
        // A command that cannot start: the error names the field and docker's exit code, rm leaves nothing behind.
        AgentFixture.Response noStart = fx.unix(POST, "/v1/containers?start=true&wait=true&rm=true",
                spec("{" + HOST + "'name':'nostart','command':['/no/such']}"));
        assertError(noStart, 400, "command");
        assertThat(new JsonObject(noStart.body()).getInteger("exitCode")).as("not found").isEqualTo(127);
        assertThat(fx.unix(GET, "/v1/containers/nostart", null).status()).isEqualTo(404);
        assertThat(fx.cgroupFile("nostart", "pids", "")).doesNotExist();
        assertError(fx.unix(POST, "/v1/containers?wait=true", spec("{" + HOST + "'name':'w','command':['true']}")), 400,
                "wait");
        assertThat(fx.unix(GET, "/v1/containers/w", null).status()).isEqualTo(404);
        // rm without wait (docker run -d --rm): the daemon removes it at its exit, nobody waiting
        assertThat(fx.unix(POST, "/v1/containers?start=true&rm=true", spec("{" + HOST + "'name':'w','command':['true']}")).status())
                .isEqualTo(201);
        await(() -> fx.unix(GET, "/v1/containers/w", null).status() == 404, Duration.ofSeconds(30),
                "the rm container w to be removed at its exit");
        assertThat(fx.cgroupFile("w", "pids", "")).doesNotExist();
    }

    @Test
    void badRequestsAreFourHundredsNamingTheField() throws Exception {
        assertError(fx.unix(POST, "/v1/containers", "{"), 400, null);
        assertError(fx.unix(POST, "/v1/containers", ""), 400, null);
        assertError(fx.unix(POST, "/v1/containers", spec("{" + HOST + "'name':'x','command':['a'],'bogus':1}")), 400, "bogus");
        assertError(fx.unix(POST, "/v1/containers", spec("{" + HOST + "'name':'x','command':['a'],'limits':{'memory':{'max':'lots'}}}")),
                400, "limits.memory.max");
        assertError(fx.unix(POST, "/v1/containers/x/stop?timeout=soon", null), 400, "timeout");
        assertError(fx.unix(POST, "/v1/containers/x/kill?signal=SIGFOO", null), 400, "signal");
        assertError(fx.unix(GET, "/v1/containers/bad%20name", null), 400, "name");
        assertError(fx.unix(GET, "/v1/containers/nope", null), 404, null);
        assertError(fx.unix(GET, "/v1/nothing", null), 404, null);
        assertError(fx.unix(POST, "/v1/containers", "{\"name\":\"big\",\"command\":[\"" + "a".repeat(1 << 21) + "\"]}"),
                413, null);
        fx.unix(POST, "/v1/containers", spec("{" + HOST + "'name':'twice','command':['true']}"));
        assertError(fx.unix(POST, "/v1/containers", spec("{" + HOST + "'name':'twice','command':['true']}")), 409, null);
        fx.unix(DELETE, "/v1/containers/twice", null);
    }

    private static void assertError(AgentFixture.Response r, int status, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        JsonObject body = new JsonObject(r.body());
        assertThat(body.getString("error")).isNotBlank().doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(body.getString("field")).isEqualTo(field);
    }

    @Test
    void eventsShowCreatedStartedOomExitedInOrder() throws Exception {
        try (EventRecorder events = new EventRecorder(fx)) {
            AgentFixture.Response r = fx.unix(POST, "/v1/containers?start=true", spec("{" + HOST + "'name':'hog','command':"
                    + "['dd','if=/dev/zero','of=/dev/null','bs=128M','count=1'],'limits':{'memory':{'max':'64m'"
                    + (fx.v2() ? ",'swap':0" : "") + "}}}"));
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            JsonObject exit = new JsonObject(fx.unix(POST, "/v1/containers/hog/wait", null).body());
            assertThat(exit.getInteger("exitCode")).isEqualTo(137);
            assertThat(exit.getBoolean("oomKilled")).isTrue();
            events.await(e -> e.getString("name").equals("hog") && e.getString("type").equals("exited"), 5000);
            assertThat(events.matching(e -> e.getString("name").equals("hog")))
                    .extracting(e -> e.getString("type")).containsExactly("created", "started", "oom", "exited");
        }
        fx.unix(DELETE, "/v1/containers/hog", null);
    }

    @Test
    void limitsChangeLiveAndARejectedChangeChangesNothing() throws Exception {
        fx.unix(POST, "/v1/containers?start=true", spec("{" + HOST + "'name':'lim','command':['sleep','60'],"
                + "'limits':{'memory':{'max':'128m'},'pids':{'max':50}}}"));
        String memFile = fx.v2() ? "memory.max" : "memory.limit_in_bytes";
        AgentFixture.Response ok = fx.unix(PATCH, "/v1/containers/lim/limits", spec("{'memory':{'max':'96m'}}"));
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(Files.readString(fx.cgroupFile("lim", "memory", memFile)).strip()).isEqualTo(Long.toString(96L << 20));
        assertThat(new JsonObject(ok.body()).getJsonObject("spec").getJsonObject("limits").getJsonObject("pids")
                .getInteger("max")).as("untouched limits stay in the spec").isEqualTo(50);
        // The exporter reads limits every few cycles, but a change made through the agent shows at the next one.
        await(() -> {
            JsonObject memory = new JsonObject(fx.unix(GET, "/v1/containers/lim/stats", null).body())
                    .getJsonObject("memory"); // absent until the collector has read the new cgroup once
            return memory != null && Long.valueOf(96L << 20).equals(memory.getLong("limitBytes"));
        }, Duration.ofSeconds(20), "stats to show the changed limit"); // cycles are slow in the emulated v2 guest
        AgentFixture.Response bad = fx.unix(PATCH, "/v1/containers/lim/limits",
                spec("{'memory':{'max':'64m'},'cpu':{'cpusetCpus':'0-4095'}}"));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(Files.readString(fx.cgroupFile("lim", "memory", memFile)).strip()).as("rolled back")
                .isEqualTo(Long.toString(96L << 20));
        assertThat(fx.unix(PATCH, "/v1/containers/lim/limits", spec("{'memory':{'max':-1}}")).status()).isEqualTo(400);
        assertThat(fx.unix(PATCH, "/v1/containers/lim/limits", spec("{'colour':1}")).body()).contains("colour");
        fx.unix(DELETE, "/v1/containers/lim?force=true", null);
    }

    @Test
    void logsFollowUntilExitAndStatsReportUsage() throws Exception {
        fx.unix(POST, "/v1/containers?start=true", spec("{" + HOST + "'name':'talk','command':['sh','-c',"
                + "'for i in 1 2 3; do echo line$i; sleep 0.3; done; echo err >&2']}"));
        AgentFixture.Response logs = fx.unix(GET, "/v1/containers/talk/logs?follow=true&stream=stdout", null);
        assertThat(logs.body()).isEqualTo("line1\nline2\nline3\n");
        assertThat(fx.unix(GET, "/v1/containers/talk/logs?stream=stderr", null).body()).isEqualTo("err\n");
        assertThat(fx.unix(GET, "/v1/containers/talk/logs?tail=1&stream=stdout", null).body()).isEqualTo("line3\n");
        assertError(fx.unix(GET, "/v1/containers/talk/logs?stream=both2", null), 400, "stream");

        fx.unix(POST, "/v1/containers?start=true", spec("{" + HOST + "'name':'busy','command':['sh','-c','while :; do :; done'],"
                + "'limits':{'cpu':{'cpus':0.3},'memory':{'max':'64m'}}}"));
        try {
            Thread.sleep(1500); // busy loops by now: a rate over an interval from here is its usage, not its start
            // A rate needs two of the collector's readings of the new cgroup, which a loaded collector (or the
            // emulated v2 guest's) may not have made by now: await them.
            JsonObject stats = awaitValue(() -> new JsonObject(fx.unix(GET, "/v1/containers/busy/stats", null).body()),
                    st -> st.getJsonObject("cpu") != null && st.getJsonObject("cpu").getDouble("cores") != null
                            && st.getJsonObject("memory") != null && st.getJsonObject("pids") != null,
                    Duration.ofSeconds(20), "stats with a CPU rate for busy");
            // A rate over one 200 ms interval: it shows usage, not the quota's precision (CpuQuotaCheck proves that);
            // the emulated v2 guest measured 0.51-0.54 for the 0.3-core quota over such short windows.
            assertThat(stats.getJsonObject("cpu").getDouble("cores")).isBetween(0.05, 1.0);
            assertThat(stats.getJsonObject("memory").getLong("limitBytes")).isEqualTo(64L << 20);
            assertThat(stats.getJsonObject("pids").getInteger("current")).isGreaterThanOrEqualTo(1);
        } finally { // the agent is shared by this class's tests: a failure here must not leave busy to the next
            fx.unix(DELETE, "/v1/containers/busy?force=true", null);
            fx.unix(DELETE, "/v1/containers/talk", null);
        }
    }

    @Test
    void infoAndOpenApi() throws Exception {
        JsonObject info = new JsonObject(fx.unix(GET, "/v1/info", null).body());
        assertThat(info.getString("cgroupMode")).isIn("v1", "hybrid", "v2");
        assertThat(info.getString("cgroupParent")).isEqualTo(fx.parent);
        AgentFixture.Response doc = fx.unix(GET, "/v1/openapi.json", null);
        assertThat(doc.status()).isEqualTo(200);
        assertThat(new JsonObject(doc.body()).getString("openapi")).startsWith("3.");
    }

    @Test
    void imageErrorsAreJsonWithTheirStatus() throws Exception {
        AgentFixture.Response missing = fx.unix(GET, "/v1/images/nope%3A1", null);
        assertThat(missing.status()).isEqualTo(404);
        assertThat(new JsonObject(missing.body()).getString("error")).isEqualTo("no image 'nope:1'");
        AgentFixture.Response bad = fx.unix(io.vertx.core.http.HttpMethod.DELETE, "/v1/images/Not%20A%20Name", null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(new JsonObject(bad.body()).getString("field")).isEqualTo("image");
        AgentFixture.Response notTar = fx.unix(io.vertx.core.http.HttpMethod.POST, "/v1/images?name=x", "{}");
        assertThat(notTar.status()).isEqualTo(400);
        assertThat(new JsonObject(notTar.body()).getString("field")).isEqualTo("archive");
        assertThat(new JsonArray(fx.unix(GET, "/v1/images", null).body())).isEmpty();
    }

    @Test
    void theOpenApiDocumentListsExactlyTheRoutes() throws Exception {
        JsonObject doc = new JsonObject(new String(ApiTest.class.getResourceAsStream("/openapi.json").readAllBytes()));
        List<String> documented = new ArrayList<>();
        for (String path : doc.getJsonObject("paths").fieldNames()) {
            for (String method : doc.getJsonObject("paths").getJsonObject(path).fieldNames()) {
                documented.add(method.toUpperCase() + " " + path);
            }
        }
        List<String> routed = new ArrayList<>();
        for (var route : new ApiRoutes(fx.vertx, fx.agent.runtime().orElseThrow(), fx.agent.exporter(),
                java.time.Duration.ofSeconds(1)).router().getRoutes()) {
            if (route.getPath() == null || route.methods() == null) {
                continue; // the body handler and the 404 fallback
            }
            for (var m : route.methods()) {
                routed.add(m.name() + " /v1" + route.getPath().replaceAll(":(\\w+)", "{$1}"));
            }
        }
        assertThat(routed).containsExactlyInAnyOrderElementsOf(documented);
    }
}
