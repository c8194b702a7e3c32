package dev.corral.agent.api;

import static dev.corral.agent.testing.TestRoots.HOST_JSON;
import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.PATCH;
import static io.vertx.core.http.HttpMethod.POST;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.Hierarchy;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Fuzzes the API of a real agent: whatever the body or parameters, the answer is never a 5xx, and once the
 * containers the fuzzing happened to create are removed, no cgroup or process is left.
 */
@net.jqwik.api.Tag("root")
class ApiFuzzProperties {

    private static final List<String> FIELDS = List.of("name", "command", "env", "workingDir", "user", "hostname",
            "labels", "rootfs", "readOnlyRootfs", "namespaces", "limits", "security", "mounts",
            "dangerouslyAllowHostPaths", "memory", "cpu", "io", "pids", "max", "high", "swap", "reservation", "cpus",
            "quota", "period", "shares", "weight", "cpusetCpus", "devices", "device", "writeBps", "capAdd",
            "capDrop", "type", "source", "target", "readOnly", "size", "network", "uid", "gid", "pid", "bogus");

    private static AgentFixture fx;

    @BeforeContainer
    static void start() throws Exception {
        fx = new AgentFixture();
        fx.unix(POST, "/v1/containers?start=true",
                "{" + HOST_JSON + "\"name\":\"target\",\"command\":[\"sleep\",\"600\"]}");
    }

    @AfterContainer
    static void stop() throws Exception {
        try {
            for (Object o : new JsonArray(fx.unix(GET, "/v1/containers?all=true", null).body())) {
                String name = ((JsonObject) o).getString("name");
                assertThat(fx.unix(DELETE, "/v1/containers/" + name + "?force=true", null).status()).isEqualTo(204);
            }
            for (Hierarchy h : CgroupLayoutDetector.detectSystem().walked()) {
                Path parent = h.dirOf(fx.parent).orElseThrow();
                try (var children = Files.list(parent)) {
                    assertThat(children.filter(Files::isDirectory)).as("no cgroup left in " + parent).isEmpty();
                }
                assertThat(Files.readString(parent.resolve("cgroup.procs"))).isEmpty();
            }
        } finally {
            fx.close();
        }
    }

    @Property(tries = 250)
    void containerBodiesNeverCauseAServerError(@ForAll("containerBodies") String body, @ForAll boolean start)
            throws Exception {
        AgentFixture.Response r = fx.unix(POST, "/v1/containers" + (start ? "?start=true" : ""), body);
        assertThat(r.status()).as(body + " -> " + r.body()).isLessThan(500);
        assertJsonErrorUnlessOk(r);
        if (r.status() == 201) {
            String name = new JsonObject(r.body()).getString("name");
            assertThat(fx.unix(DELETE, "/v1/containers/" + name + "?force=true", null).status()).isEqualTo(204);
        }
    }

    @Property(tries = 150)
    void limitPatchesNeverCauseAServerError(@ForAll("limitBodies") String body) throws Exception {
        AgentFixture.Response r = fx.unix(PATCH, "/v1/containers/target/limits", body);
        assertThat(r.status()).as(body + " -> " + r.body()).isLessThan(500);
        assertJsonErrorUnlessOk(r);
    }

    @Property(tries = 200)
    void pathsAndParametersNeverCauseAServerError(@ForAll("methods") HttpMethod method,
                                                   @ForAll("actions") String action, @ForAll("junk") String name,
                                                   @ForAll("junk") String value) throws Exception {
        String enc = URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
        String uri = "/v1/containers/" + enc + action + "?timeout=" + URLEncoder.encode(value, StandardCharsets.UTF_8)
                + "&signal=" + URLEncoder.encode(value, StandardCharsets.UTF_8) + "&tail="
                + URLEncoder.encode(value, StandardCharsets.UTF_8);
        AgentFixture.Response r = fx.unix(method, uri, method == GET ? null : value);
        assertThat(r.status()).as(method + " " + uri + " -> " + r.body()).isLessThan(500);
    }

    private static void assertJsonErrorUnlessOk(AgentFixture.Response r) {
        if (r.status() >= 400) {
            JsonObject error = new JsonObject(r.body());
            assertThat(error.getString("error")).isNotBlank().doesNotContain("\tat ");
        }
    }

    @Provide
    Arbitrary<String> containerBodies() {
        Arbitrary<String> names = Arbitraries.oneOf(Arbitraries.strings().alpha().numeric().ofMinLength(1).ofMaxLength(8)
                .map(s -> "fz" + s), junk());
        Arbitrary<String> commands = Arbitraries.of("[\"true\"]", "[\"sleep\",\"0\"]", "[\"/no/such\"]", "[]", "[\"\"]",
                "\"true\"", "[1]", "null");
        Arbitrary<String> extra = Arbitraries.maps(Arbitraries.of(FIELDS), json(2)).ofMaxSize(4)
                .map(ApiFuzzProperties::fields);
        // Mostly on the host's root, so that most bodies get past "a container needs an image or a rootfs".
        Arbitrary<String> roots = Arbitraries.of(HOST_JSON, HOST_JSON, "");
        return Arbitraries.oneOf(
                Combinators.combine(roots, names, commands, extra).as((root, n, c, e) ->
                        "{" + root + "\"name\":" + JsonObject.of("n", n).getValue("n").toString().transform(ApiFuzzProperties::quote)
                                + ",\"command\":" + c + (e.isEmpty() ? "" : "," + e) + "}"),
                json(3), junk());
    }

    @Provide
    Arbitrary<String> limitBodies() {
        return Arbitraries.oneOf(Arbitraries.maps(Arbitraries.of("memory", "cpu", "io", "pids", "bogus"),
                Arbitraries.maps(Arbitraries.of(FIELDS), json(1)).ofMaxSize(3).map(m -> "{" + fields(m) + "}"))
                .ofMaxSize(3).map(m -> "{" + fieldsRaw(m) + "}"), json(2), junk());
    }

    @Provide
    Arbitrary<HttpMethod> methods() {
        return Arbitraries.of(GET, POST, DELETE, PATCH, HttpMethod.PUT);
    }

    @Provide
    Arbitrary<String> actions() {
        // Not /wait: on a live container it rightly answers only when the container exits.
        return Arbitraries.of("", "/start", "/stop", "/kill", "/pause", "/resume", "/logs", "/stats", "/limits",
                "/x", "/..");
    }

    @Provide
    Arbitrary<String> junk() {
        return Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(30),
                Arbitraries.of("target", "../../etc", "..", ".", "a/b", "%00", "-1", "99999999999999999999", "max",
                        "", " ", "KILL", "SIGTERM", "1e9", "{}", "[]", "null", "\u0000"));
    }

    /** Random JSON values (as text) down to the given depth. */
    private Arbitrary<String> json(int depth) {
        Arbitrary<String> leaves = Arbitraries.oneOf(
                Arbitraries.longs().map(Object::toString),
                Arbitraries.of("-1", "0", "1", "6291456", "9223372036854775807", "1.5", "-0.5", "1e400", "true",
                        "false", "null", "\"64m\"", "\"max\"", "\"-1\"", "\"0-1\"", "\"/\"", "\"/proc\"", "\"/tmp\"",
                        "\"host\"", "\"../x\"", "\"ALL\"", "\"NET_ADMIN\"", "\"bind\"", "\"tmpfs\"", "\"254:0\"", "\"none\""),
                junk().map(ApiFuzzProperties::quote));
        if (depth == 0) {
            return leaves;
        }
        Arbitrary<String> deeper = json(depth - 1);
        return Arbitraries.oneOf(leaves,
                deeper.list().ofMaxSize(3).map(l -> "[" + String.join(",", l) + "]"),
                Arbitraries.maps(Arbitraries.of(FIELDS), deeper).ofMaxSize(3).map(m -> "{" + fields(m) + "}"));
    }

    private static String fields(Map<String, String> m) {
        return fieldsRaw(m);
    }

    private static String fieldsRaw(Map<String, String> m) {
        StringBuilder b = new StringBuilder();
        m.forEach((k, v) -> b.append(b.length() == 0 ? "" : ",").append(quote(k)).append(':').append(v));
        return b.toString();
    }

    private static String quote(String s) {
        return new JsonArray().add(s).encode().replaceAll("^\\[|\\]$", "");
    }
}
