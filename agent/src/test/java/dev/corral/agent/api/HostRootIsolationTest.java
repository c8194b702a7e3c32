package dev.corral.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.client.HttpTransport;
import dev.corral.agent.image.Trees;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.testing.TestParent;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.HostPaths;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Issue #14: a container on the host's root must not reach the agent that runs it nor write the host, by any path.
 * The agent's state dir, socket dir and token file are each in a directory of their own under /var/tmp, outside the
 * container's private /tmp and /run: what hides them is their masks, not those tmpfs.
 */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class HostRootIsolationTest {

    private static final Path ETC_PROBE = Path.of("/etc/corral-test-saferoot");

    private TestParent dirs;
    private Path base;
    private Path socket;
    private Path token;
    private Path stateDir;
    private Path hostDir;
    private Agent agent;

    @BeforeEach
    void setUp() throws Exception {
        dirs = new TestParent("corral-test-saferoot");
        base = Files.createDirectories(Path.of("/var/tmp", "corral-test-saferoot-" + UUID.randomUUID()));
        stateDir = Files.createDirectory(base.resolve("state"));
        socket = Files.createDirectory(base.resolve("sock")).resolve("corral.sock");
        token = Files.createDirectory(base.resolve("secret")).resolve("api-token");
        hostDir = Files.createDirectory(base.resolve("host-files"));
        ExporterConfig exporter = new ExporterConfig(HostPaths.system(), List.of(dirs.path), Duration.ofMillis(200),
                Duration.ofMinutes(5), 1);
        agent = Agent.start(new AgentOptions("127.0.0.1", 0, exporter,
                new AgentOptions.RuntimeOptions(stateDir, dirs.path, socket, token, false), null));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (agent != null) {
                try {
                    TestParent.removeContainers(agent.runtime().orElseThrow());
                } finally {
                    agent.close();
                }
            }
        } finally {
            Files.deleteIfExists(ETC_PROBE); // only there if the confinement failed
            Trees.delete(base);
            dirs.close();
        }
    }

    private HttpTransport.Response post(String body) throws Exception {
        return HttpTransport.unix(socket).request("POST", "/v1/containers", body.getBytes(StandardCharsets.UTF_8),
                "application/json", Duration.ofSeconds(60));
    }

    private ContainerRecord runToExit(JsonObject spec) throws Exception {
        ContainerRuntime rt = agent.runtime().orElseThrow();
        ContainerRecord r = rt.run(SpecParser.parse(spec.encode().getBytes(StandardCharsets.UTF_8)));
        return rt.waitFor(r.name()).get(120, TimeUnit.SECONDS);
    }

    private String stdout(String name) throws Exception {
        return Files.readString(agent.runtime().orElseThrow().logDir(name).resolve("stdout.log"));
    }

    @Test
    void aSpecWithoutImageOrRootfsIsRefusedNamingTheFieldAndLeavesNothing() throws Exception {
        HttpTransport.Response r = post("{\"name\":\"bare\",\"command\":[\"/bin/true\"]}");
        assertThat(r.status()).isEqualTo(400);
        JsonObject error = new JsonObject(r.bodyText());
        assertThat(error.getString("field")).isEqualTo("rootfs");
        assertThat(error.getString("error")).contains("image").contains("'host'");
        assertThat(agent.runtime().orElseThrow().list()).isEmpty();
    }

    /**
     * Every way in tried from inside: the paths themselves, through /proc/1/root, /proc/self/root and /proc/1/cwd,
     * with "..", and through symlinks the container makes. The agent answers the same socket and the token is there
     * for the test itself, so each refusal is the container's confinement.
     */
    @Test
    void aHostRootContainerCannotReadTheTokenReachTheSocketOrWriteTheHost() throws Exception {
        String secret = Files.readString(token).strip();
        assertThat(secret).hasSizeGreaterThan(15);
        assertThat(HttpTransport.unix(socket).request("GET", "/v1/info", null, null, Duration.ofSeconds(30)).status())
                .as("the socket answers the host").isEqualTo(200);
        String tmpName = "corral-test-saferoot-" + UUID.randomUUID();
        String script = String.join("\n",
                "via() { echo \"$1\" \"/proc/1/root$1\" \"/proc/self/root$1\" \"/proc/1/cwd$1\" \"/..$1\""
                        + " \"/../../..$1\" \"/tmp/root-link$1\"; }",
                "ln -s / /tmp/root-link",
                "ln -s \"$TOKEN\" /tmp/token-link",
                "for p in $(via \"$TOKEN\") /tmp/token-link; do echo \"read $p: $(cat \"$p\" 2>&1)\"; done",
                "echo \"state: $(ls -A \"$STATE\" 2>&1 | tr '\\n' ' ')\"",
                "echo \"sockdir: $(ls -A \"$(dirname \"$SOCK\")\" 2>&1 | tr '\\n' ' ')\"",
                "for s in $(via \"$SOCK\"); do curl -s -m 5 --unix-socket \"$s\" http://x/v1/info"
                        + " && echo \"socket $s: ANSWERED\" || echo \"socket $s: refused\"; done",
                "ln -s \"$HOSTDIR\" /tmp/dir-link",
                "i=0; for d in $(via \"$HOSTDIR\") /tmp/dir-link; do i=$((i+1));"
                        + " (echo x > \"$d/w$i\") 2>/dev/null && echo \"WROTE $d/w$i\" || echo \"write $d refused\"; done",
                "echo x > \"/tmp/$TMPNAME\" && echo wrote-private-tmp",
                "echo x > " + ETC_PROBE + " 2>/dev/null && echo WROTE-etc || echo write-etc-refused");
        JsonObject spec = new JsonObject().put("name", "probe").put("rootfs", "host")
                .put("command", new JsonArray().add("/bin/sh").add("-c").add(script))
                .put("env", new JsonObject().put("TOKEN", token.toString()).put("SOCK", socket.toString())
                        .put("STATE", stateDir.toString()).put("HOSTDIR", hostDir.toString()).put("TMPNAME", tmpName));
        ContainerRecord r = runToExit(spec);
        String out = stdout("probe");
        assertThat(r.exitCode()).as(out).isZero();
        assertThat(out).as("the probe ran every attempt").contains("read /tmp/token-link:")
                .contains("socket /tmp/root-link" + socket + ": refused").contains("wrote-private-tmp")
                .contains("write-etc-refused");
        assertThat(out).doesNotContain(secret).doesNotContain("ANSWERED").doesNotContain("WROTE");
        assertThat(out).contains("state: \n").contains("sockdir: \n");
        try (var written = Files.list(hostDir)) {
            assertThat(written).as("host files written from inside").isEmpty();
        }
        assertThat(Path.of("/tmp", tmpName)).as("the container's /tmp is its own").doesNotExist();
        assertThat(ETC_PROBE).doesNotExist();
    }

    /** The override makes the root writable: the write reaches the host, and the agent's paths stay masked. */
    @Test
    void theOverrideMakesTheHostRootWritableButTheAgentStaysMasked() throws Exception {
        String secret = Files.readString(token).strip();
        JsonObject spec = new JsonObject().put("name", "rw").put("rootfs", "host").put("readOnlyRootfs", false)
                .put("dangerouslyAllowHostPaths", true)
                .put("command", new JsonArray().add("/bin/sh").add("-c").add("echo x > \"$HOSTDIR/written\";"
                        + " cat \"$TOKEN\" /proc/1/root\"$TOKEN\"; curl -s -m 5 --unix-socket \"$SOCK\" http://x/v1/info"
                        + " && echo ANSWERED; true"))
                .put("env", new JsonObject().put("TOKEN", token.toString()).put("SOCK", socket.toString())
                        .put("HOSTDIR", hostDir.toString()));
        assertThat(runToExit(spec).exitCode()).isZero();
        assertThat(hostDir.resolve("written")).hasContent("x");
        assertThat(stdout("rw")).doesNotContain(secret).doesNotContain("ANSWERED");
    }
}
