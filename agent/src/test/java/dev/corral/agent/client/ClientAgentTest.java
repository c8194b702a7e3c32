package dev.corral.agent.client;

import static dev.corral.exporter.testing.Await.await;
import static dev.corral.exporter.testing.Await.awaitValue;
import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.cli.CorralMain;
import dev.corral.agent.spec.SpecParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The CLI, in-process, against a real agent running real containers in real cgroups. */
@Tag("root")
class ClientAgentTest {

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

    private static long cgroupLong(String container, String v1Controller, String v1File, String v2File)
            throws Exception {
        return Long.parseLong(Files.readString(fx.cgroupFile(container, v1Controller, fx.v2() ? v2File : v1File)).strip());
    }

    @Test
    void runPsStatsUpdatePauseStopRmRoundTrip() throws Exception {
        assertThat(Cli.ok("run", HOST_FLAG, "-d", "--name", "rt", "--memory", "128m", "--cpus", "0.5", "--pids-limit", "50",
                "--label", "tier=web", "sh", "-c", "echo started; exec sleep 60").out()).isEqualTo("rt\n");
        assertThat(Cli.ok("ps").out()).containsPattern("(?m)^[0-9a-f]{12} +rootfs:host +\"sh -c echo started;…\" .* Up .* rt$");
        String id = Cli.ok("ps", "--no-trunc").out().lines().filter(l -> l.endsWith(" rt")).findFirst().orElseThrow()
                .substring(0, 64);
        assertThat(id).matches("[0-9a-f]{64}");
        assertThat(SpecParser.JSON.readTree(Cli.ok("inspect", id.substring(0, 12)).out()).get(0).path("name").asText())
                .as("a unique id prefix names the container, as in docker").isEqualTo("rt");
        assertThat(Cli.ok("ps", "-q", "--filter", "label=tier=web").out()).isEqualTo("rt\n");
        assertThat(Cli.ok("ps", "-q", "--filter", "label=tier=db").out()).isEmpty();
        assertThat(cgroupLong("rt", "memory", "memory.limit_in_bytes", "memory.max")).isEqualTo(128L << 20);

        // The collector needs a cycle or two to see a new cgroup: 409 until then.
        Cli.Result stats = awaitValue(() -> Cli.run("stats", "--no-stream", "rt"), r -> r.code() == 0,
                Duration.ofSeconds(20), "stats of rt once the collector has seen it");
        assertThat(stats.out().lines().toList().get(0)).matches("NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS");
        assertThat(stats.out().lines().toList().get(1)).matches("rt +(--|[0-9.]+%) +[0-9.]+[KMG]?i?B / 128MiB +[0-9.]+% +.* / .* +\\d+"); // -- before a rate
        assertThat(Cli.ok("stats", "--no-stream").out()).as("every running container").containsPattern("(?m)^rt ");

        assertThat(Cli.ok("update", "--memory", "256m", "--pids-limit", "80", "rt").out()).isEqualTo("rt\n");
        assertThat(cgroupLong("rt", "memory", "memory.limit_in_bytes", "memory.max")).isEqualTo(256L << 20);
        assertThat(cgroupLong("rt", "pids", "pids.max", "pids.max")).isEqualTo(80);
        JsonNode inspected = SpecParser.JSON.readTree(Cli.ok("inspect", "rt").out());
        assertThat(inspected.isArray()).isTrue();
        assertThat(inspected.get(0).path("spec").path("limits").path("memory").path("max").asLong()).isEqualTo(256L << 20);
        assertThat(inspected.get(0).path("state").asText()).isEqualTo("running");

        Cli.ok("pause", "rt");
        assertThat(Cli.ok("ps").out()).contains("(Paused)");
        Cli.ok("unpause", "rt");
        assertThat(Cli.ok("logs", "rt").out()).isEqualTo("started\n");

        assertThat(Cli.ok("stop", "-t", "1", "rt").out()).isEqualTo("rt\n");
        assertThat(Cli.ok("ps").out().lines()).as("exited ones are hidden").hasSize(1);
        assertThat(Cli.ok("ps", "-a").out()).containsPattern("(?m)^[0-9a-f]{12} .*Exited \\(\\d+\\) .* rt$");
        assertThat(Cli.ok("rm", "rt").out()).isEqualTo("rt\n");
        assertThat(Cli.ok("ps", "-a", "-q").out()).doesNotContain("rt");
    }

    @Test
    void updateMemoryOnALiveContainerLowersTheCgroupLimitAndALaterAllocationIsOomKilled() throws Exception {
        Cli.ok("run", HOST_FLAG, "-d", "--name", "hog", "--memory", "256m", "sh", "-c",
                "sleep 3; dd if=/dev/zero of=/dev/null bs=96M count=1");
        assertThat(cgroupLong("hog", "memory", "memory.limit_in_bytes", "memory.max")).isEqualTo(256L << 20);
        if (fx.v2()) {
            Cli.ok("update", "--memory", "64m", "--memory-swap", "64m", "hog"); // no swap to escape to
            assertThat(cgroupLong("hog", "memory", "memory.limit_in_bytes", "memory.swap.max")).isZero();
        } else {
            Cli.ok("update", "--memory", "64m", "hog");
        }
        assertThat(cgroupLong("hog", "memory", "memory.limit_in_bytes", "memory.max")).isEqualTo(64L << 20);
        assertThat(Cli.ok("wait", "hog").out()).isEqualTo("137\n");
        JsonNode c = SpecParser.JSON.readTree(Cli.ok("inspect", "hog").out()).get(0);
        assertThat(c.path("oomKilled").asBoolean()).isTrue();
        assertThat(c.path("exitCode").asInt()).isEqualTo(137);
        assertThat(Cli.ok("ps", "-a").out()).containsPattern("(?m)^[0-9a-f]{12} .*Exited \\(137\\) .*\\(OOM killed\\) +hog$");
        Cli.ok("rm", "hog");
    }

    @Test
    void anAttachedRunPrintsTheOutputAndExitsWithTheExitCode() {
        Cli.Result r = Cli.run("run", HOST_FLAG, "--name", "att", "sh", "-c", "echo hi; echo oops >&2; exit 3");
        assertThat(r.code()).as(r.toString()).isEqualTo(3);
        assertThat(r.out()).isEqualTo("hi\n");
        assertThat(r.err()).isEqualTo("oops\n");
        Cli.ok("rm", "att");

        r = Cli.run("run", HOST_FLAG, "--rm", "--memory", "64m", "sh", "-c", "dd if=/dev/zero of=/dev/null bs=128M count=1");
        assertThat(r.code()).as("OOM-killed, as docker: " + r).isEqualTo(137);
        assertThat(Cli.ok("ps", "-a", "-q").out()).as("--rm removed it").isEmpty();
    }

    /**
     * --rm is kept by the daemon whatever ends the container (here a failed exec and a failed start, both twice: the
     * name is free again, and a detached run's exit), and run exits as docker run: 127 not found, 125 a failed start.
     * Without --init the command is PID 1 and the container's only process: --pids-limit 1 runs.
     */
    @Test
    void runRmLeavesNothingWhateverHappensWithDockersExitCodes() throws Exception {
        java.nio.file.Path root = dev.corral.agent.image.TestImages.busyboxRoot("sh", "sleep");
        try {
            String r = root.toString();
            for (int round = 0; round < 2; round++) {
                Cli.Result notFound = Cli.run("run", "--rm", "--name", "rm-nf", "--rootfs", r, "nosuchcmd");
                assertThat(notFound.code()).as(notFound.toString()).isEqualTo(127);
                assertThat(notFound.errLines()).singleElement().asString().contains("nosuchcmd");
                assertThat(Cli.ok("ps", "-a", "-q").out().lines()).as("nothing left").doesNotContain("rm-nf");

                Cli.Result forkFails = Cli.run("run", "--rm", "--name", "rm-pid", "--rootfs", r, "--init",
                        "--pids-limit", "1", "sleep", "1");
                assertThat(forkFails.code()).as("init leaves no pid for the command: " + forkFails).isEqualTo(125);
                assertThat(Cli.ok("ps", "-a", "-q").out().lines()).as("nothing left").doesNotContain("rm-pid");
            }
            Cli.Result one = Cli.run("run", "--rm", "--rootfs", r, "--pids-limit", "1", "sh", "-c", "echo $$; exit 6");
            assertThat(one.code()).as(one.toString()).isEqualTo(6);
            assertThat(one.out()).as("the command is PID 1").isEqualTo("1\n");

            assertThat(Cli.ok("run", "-d", "--rm", "--name", "rm-d", "--rootfs", r, "sh", "-c", "exit 3").out())
                    .isEqualTo("rm-d\n");
            await(() -> Cli.ok("ps", "-a", "-q").out().lines().noneMatch("rm-d"::equals), Duration.ofSeconds(30),
                    "run -d --rm: rm-d removed at its exit");
        } finally {
            dev.corral.agent.image.TestImages.deleteTree(root);
        }
    }

    @Test
    void anUnknownContainerIsExitOneWithOneLine() {
        for (String cmd : new String[] {"inspect", "stop", "kill", "pause", "unpause", "rm", "logs", "wait"}) {
            Cli.Result r = Cli.run(cmd, "nope");
            assertThat(r.code()).as(cmd + "\n" + r).isEqualTo(1);
            assertThat(r.errLines()).as(cmd).singleElement().asString().startsWith("corral: ").contains("nope");
        }
        Cli.Result r = Cli.run("update", "--memory", "64m", "nope");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.errLines()).hasSize(1);
    }

    @Test
    void theDaemonsValidationErrorsNameTheField() {
        Cli.Result r = Cli.run("run", HOST_FLAG, "--memory", "1m", "true");
        assertThat(r.code()).as("docker run's 125: " + r).isEqualTo(125);
        assertThat(r.err()).isEqualTo("corral: limits.memory.max: must be at least 6m\n");
    }

    @Test
    void tcpNeedsTheToken() throws Exception {
        String tcp = "tcp://127.0.0.1:" + fx.agent.httpPort();
        assertThat(Cli.ok("--host", tcp, "--token-file", fx.tokenFile().toString(), "info").out()).contains("cgroupMode: ");
        Cli.environment(Map.of("CORRAL_HOST", tcp, "CORRAL_TOKEN", Files.readString(fx.tokenFile()).strip()));
        Cli.ok("ps", "-a");
        Cli.environment(Map.of("CORRAL_HOST", tcp, "CORRAL_TOKEN", "wrong-token"));
        Cli.Result r = Cli.run("ps");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().contains("--token-file");
    }

    @Test
    void eventsPrintOneLinePerEventUntilInterrupted() throws Exception {
        StringWriter out = new StringWriter();
        AtomicInteger code = new AtomicInteger(-1);
        Thread events = new Thread(() -> {
            CommandLine cli = CorralMain.commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(new StringWriter(), true));
            code.set(cli.execute("--host", fx.host(), "events"));
        });
        events.start();
        try {
            // Subscribed once a probe container's events arrive (each probe is made and removed until one shows).
            await(() -> {
                Cli.ok("run", HOST_FLAG, "--name", "probe", "true");
                Cli.ok("rm", "probe");
                return out.toString().contains(" removed probe");
            }, Duration.ofSeconds(10), "the events stream to be subscribed");
            assertThat(Cli.run("run", HOST_FLAG, "--name", "ev", "sh", "-c", "exit 4").code()).isEqualTo(4);
            Cli.ok("rm", "ev");
            await(() -> out.toString().contains(" removed ev"), Duration.ofSeconds(10), "the removed event");
        } finally {
            events.interrupt();
            events.join(10_000);
        }
        assertThat(events.isAlive()).isFalse();
        String seen = out.toString().lines().filter(l -> !l.matches("\\S+ \\w+ probe( .*)?"))
                .map(l -> l + "\n").reduce("", String::concat);
        assertThat(seen.lines().toList()).as(out.toString()).hasSize(4);
        assertThat(seen).matches("(?s)\\S+ created ev\n\\S+ started ev pid=\\d+\n"
                + "\\S+ exited ev exitCode=4 oomKilled=false\n\\S+ removed ev\n");
    }
}
