package dev.corral.agent.client;

import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.SpecParser;
import io.vertx.core.buffer.Buffer;
import dev.corral.agent.cli.CorralMain;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Exit codes and messages against a scripted daemon, and against none at all. */
@Tag("root")
class ClientExitCodesTest {

    private FakeDaemon daemon;

    @BeforeEach
    void start() throws Exception {
        daemon = new FakeDaemon();
        Cli.environment(Map.of("CORRAL_HOST", daemon.host()));
    }

    @AfterEach
    void stop() throws Exception {
        Cli.realEnvironment();
        daemon.close();
    }

    @Test
    void anUnreachableDaemonIs125WithAHint() throws Exception {
        Cli.Result r = Cli.run("--host", "unix:///nonexistent/corral-test.sock", "ps");
        assertThat(r.code()).as(r.toString()).isEqualTo(125);
        assertThat(r.errLines()).singleElement().asString().startsWith("corral: cannot connect to the Corral daemon at "
                + "unix:///nonexistent/corral-test.sock").contains("Start it with: bin/corral serve");
        Cli.environment(Map.of("CORRAL_HOST", "unix:///nonexistent/env.sock"));
        r = Cli.run("ps");
        assertThat(r.code()).isEqualTo(125);
        assertThat(r.err()).contains("unix:///nonexistent/env.sock");
        r = Cli.run("inspect", "c", "--host", "unix:///nonexistent/sub.sock");
        assertThat(r.code()).isEqualTo(125);
        assertThat(r.err()).contains("unix:///nonexistent/sub.sock");
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        r = Cli.run("--host", "tcp://127.0.0.1:" + closedPort, "--token-file", "/dev/null", "info");
        assertThat(r.code()).as(r.toString()).isIn(2, 125); // /dev/null is an empty token: a usage error
        Cli.environment(Map.of("CORRAL_TOKEN", "t"));
        r = Cli.run("--host", "tcp://127.0.0.1:" + closedPort, "info");
        assertThat(r.code()).as(r.toString()).isEqualTo(125);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).contains("tcp://127.0.0.1:" + closedPort).contains("Start it with: bin/corral serve");
    }

    @Test
    void daemonErrorsAreExitOneWithFieldAndError() {
        daemon.answer(404, "{\"error\":\"no such container 'nope'\"}");
        Cli.Result r = Cli.run("inspect", "nope");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("corral: no such container 'nope'\n");

        daemon.answer(400, "{\"error\":\"must be at least 6m\",\"field\":\"limits.memory.max\"}");
        r = Cli.run("run", HOST_FLAG, "-m", "1m", "true");
        assertThat(r.code()).as("run: 125, as docker run").isEqualTo(125);
        assertThat(r.err()).isEqualTo("corral: limits.memory.max: must be at least 6m\n");

        daemon.answer(req -> req.response().setStatusCode(500).end("<html>\nboom\n</html>"));
        r = Cli.run("ps");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("corral: the daemon answered HTTP 500");

        daemon.answer(401, "{\"error\":\"a valid bearer token is needed\"}");
        r = Cli.run("ps");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().contains("bearer token").contains("--token-file");
    }

    @Test
    void severalNamesGoOnAfterAFailure() {
        daemon.answer(req -> {
            if (req.path().contains("/bad/")) {
                req.response().setStatusCode(409).end("{\"error\":\"'bad' is not running\"}");
            } else {
                req.response().end("{\"name\":\"x\",\"state\":\"exited\"}");
            }
        });
        Cli.Result r = Cli.run("stop", "-t", "3", "good", "bad", "other");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEqualTo("good\nother\n");
        assertThat(r.err()).isEqualTo("corral: 'bad' is not running\n");
        assertThat(daemon.requests).extracting(FakeDaemon.Request::uri).containsExactly(
                "/v1/containers/good/stop?timeout=3", "/v1/containers/bad/stop?timeout=3",
                "/v1/containers/other/stop?timeout=3");
    }

    @Test
    void eachCommandCallsItsRoute() {
        daemon.answer(req -> {
            if (req.method().name().equals("DELETE")) {
                req.response().setStatusCode(204).end();
            } else if (req.path().endsWith("/wait")) {
                req.response().end("{\"exitCode\":137,\"signal\":9,\"oomKilled\":true}");
            } else {
                req.response().end("{\"name\":\"c\",\"state\":\"running\",\"spec\":{\"limits\":{\"memory\":{\"max\":268435456}}}}");
            }
        });
        assertThat(Cli.run("kill", "c").code()).isZero();
        assertThat(Cli.run("kill", "-s", "sigterm", "c").code()).isZero();
        assertThat(Cli.run("pause", "c").code()).isZero();
        assertThat(Cli.run("unpause", "c").code()).isZero();
        assertThat(Cli.run("rm", "-f", "c").code()).isZero();
        assertThat(Cli.run("rm", "c").code()).isZero();
        Cli.Result w = Cli.run("wait", "c");
        assertThat(w.code()).isZero();
        assertThat(w.out()).isEqualTo("137\n");
        assertThat(Cli.run("update", "--memory-swap", "300m", "c").code()).isZero();
        assertThat(daemon.requests).extracting(q -> q.method() + " " + q.uri()).containsExactly(
                "POST /v1/containers/c/kill?signal=KILL", "POST /v1/containers/c/kill?signal=TERM",
                "POST /v1/containers/c/pause", "POST /v1/containers/c/resume",
                "DELETE /v1/containers/c?force=true", "DELETE /v1/containers/c", "POST /v1/containers/c/wait",
                "GET /v1/containers/c", "PATCH /v1/containers/c/limits");
        assertThat(daemon.requests.get(daemon.requests.size() - 1).body())
                .as("300m total minus the current 256m").isEqualTo("{\"memory\":{\"swap\":46137344}}");
    }

    @Test
    void runStreamsBothOutputsThenExitsWithTheContainersCode() throws Exception {
        daemon.answer(req -> {
            String uri = req.uri();
            if (uri.startsWith("/v1/containers?start=true")) {
                req.response().setStatusCode(201).end("{\"name\":\"job\",\"state\":\"running\"}");
            } else if (uri.equals("/v1/containers/job/logs?follow=true&stream=stdout")) {
                // "é" split across two chunks
                req.response().setChunked(true).write(Buffer.buffer(new byte[] {'h', 'i', ' ', (byte) 0xc3}));
                req.response().end(Buffer.buffer(new byte[] {(byte) 0xa9, '\n'}));
            } else if (uri.equals("/v1/containers/job/logs?follow=true&stream=stderr")) {
                req.response().end("oops\n");
            } else if (uri.equals("/v1/containers/job/wait")) {
                req.response().end("{\"exitCode\":3,\"signal\":null,\"oomKilled\":false}");
            } else {
                req.response().setStatusCode(404).end("{\"error\":\"unexpected " + uri + "\"}");
            }
        });
        Cli.Result r = Cli.run("run", HOST_FLAG, "--name", "job", "-m", "64m", "sh", "-c", "echo hi; exit 3");
        assertThat(r.code()).as(r.toString()).isEqualTo(3);
        assertThat(r.out()).isEqualTo("hi é\n");
        assertThat(r.err()).isEqualTo("oops\n");
        JsonNode sent = SpecParser.JSON.readTree(daemon.requests.get(0).body());
        assertThat(sent.path("name").asText()).isEqualTo("job");
        assertThat(sent.path("limits").path("memory").path("max").asLong()).isEqualTo(64L << 20);

        daemon.requests.clear();
        r = Cli.run("run", HOST_FLAG, "-d", "--name", "job", "true");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo("job\n");
        assertThat(daemon.requests).hasSize(1);
    }

    /** docker run's: 125 for the run's own errors, 126 cannot invoke, 127 not found; 2 for an unknown command. */
    @Test
    void runExitsAsDockerRunAndAnUnknownCommandIsOneLine() {
        daemon.answer(400, "{\"error\":\"cannot start 'x': exec nosuchcmd: No such file or directory\","
                + "\"field\":\"command\",\"exitCode\":127}");
        Cli.Result r = Cli.run("run", HOST_FLAG, "-d", "nosuchcmd");
        assertThat(r.code()).as(r.toString()).isEqualTo(127);
        assertThat(r.errLines()).singleElement().asString().contains("nosuchcmd: No such file or directory");
        daemon.answer(400, "{\"error\":\"cannot start 'x': exec /etc: Permission denied\",\"field\":\"command\","
                + "\"exitCode\":126}");
        assertThat(Cli.run("run", HOST_FLAG, "/etc").code()).isEqualTo(126);
        daemon.answer(400, "{\"error\":\"no image 'nosuch:latest'; see corral image ls\",\"field\":\"image\"}");
        r = Cli.run("run", "--image", "nosuch", "true");
        assertThat(r.code()).as("a missing image: 125").isEqualTo(125);
        daemon.answer(500, "{\"error\":\"cannot start 'x': fork the command: Resource temporarily unavailable\"}");
        assertThat(Cli.run("run", HOST_FLAG, "true").code()).isEqualTo(125);
        int before = daemon.requests.size();
        r = Cli.run("run", HOST_FLAG, "--bogus", "true");
        assertThat(r.code()).as("run's flags: 125 too").isEqualTo(125);
        assertThat(r.errLines()).singleElement().asString().contains("--bogus");
        assertThat(daemon.requests).hasSize(before);

        r = Cli.run("frobnicate", "-a");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("corral: 'frobnicate' is not a corral command (see corral --help)\n");
        r = Cli.run("image", "frobnicate");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("corral: 'frobnicate' is not a corral image command (see corral image --help)\n");
        assertThat(r.out()).isEmpty();
    }

    /**
     * --rm is the daemon's (rm=true): detached it is one request; attached, as docker run, the client creates,
     * attaches (a wait the daemon acknowledges) and then starts.
     */
    @Test
    void runRmLeavesTheRemovalToTheDaemon() throws Exception {
        daemon.answer(req -> {
            String uri = req.uri();
            if (uri.startsWith("/v1/containers?")) {
                req.response().setStatusCode(201).end("{\"name\":\"job\",\"state\":\"created\"}");
            } else if (uri.equals("/v1/containers/job/wait?condition=next-exit")) {
                req.response().setChunked(true).end("{\"exitCode\":7,\"signal\":null,\"oomKilled\":false}");
            } else if (uri.equals("/v1/containers/job/start")) {
                req.response().end("{\"name\":\"job\",\"state\":\"running\"}");
            } else if (uri.startsWith("/v1/containers/job/logs?follow=true&stream=")) {
                req.response().end(uri.endsWith("stdout") ? "out\n" : "");
            } else {
                req.response().setStatusCode(404).end("{\"error\":\"unexpected " + uri + "\"}");
            }
        });
        Cli.Result r = Cli.run("run", HOST_FLAG, "--rm", "--name", "job", "sh", "-c", "echo out; exit 7");
        assertThat(r.code()).as(r.toString()).isEqualTo(7);
        assertThat(r.out()).isEqualTo("out\n");
        assertThat(daemon.requests.subList(0, 3)).extracting(q -> q.method() + " " + q.uri()).containsExactly(
                "POST /v1/containers?rm=true", "POST /v1/containers/job/wait?condition=next-exit",
                "POST /v1/containers/job/start");
        // then the client removes it itself, so that it is gone when run returns (the daemon would, once it left)
        assertThat(daemon.requests.get(daemon.requests.size() - 1)).extracting(q -> q.method() + " " + q.uri())
                .isEqualTo("DELETE /v1/containers/job?force=true");

        daemon.requests.clear();
        r = Cli.run("run", HOST_FLAG, "-d", "--rm", "--name", "job", "true");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(daemon.requests).extracting(FakeDaemon.Request::uri)
                .containsExactly("/v1/containers?start=true&rm=true");
    }

    @Test
    void aGeneratedNameIsRetriedWhenTaken() throws Exception {
        daemon.answer(req -> {
            if (daemon.requests.size() < 3) {
                req.response().setStatusCode(409).end("{\"error\":\"the name is taken\"}");
            } else {
                req.response().setStatusCode(201).end(daemon.requests.get(daemon.requests.size() - 1).body());
            }
        });
        Cli.Result r = Cli.run("run", HOST_FLAG, "-d", "true");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(daemon.requests).hasSize(3);
        assertThat(r.out().strip()).isEqualTo(SpecParser.JSON.readTree(daemon.requests.get(2).body()).path("name").asText());
        daemon.requests.clear();
        r = Cli.run("run", HOST_FLAG, "-d", "--name", "mine", "true");
        assertThat(r.code()).as("a chosen name is not changed").isEqualTo(125);
        assertThat(daemon.requests).hasSize(1);
    }

    @Test
    void psPrintsATableJsonOrNames() {
        long now = System.currentTimeMillis();
        daemon.answer(200, "[{\"name\":\"old\",\"id\":\"0123456789abcdef0123\",\"state\":\"exited\",\"createdAtMillis\":" + (now - 7_200_000)
                + ",\"finishedAtMillis\":" + (now - 120_000) + ",\"exitCode\":137,\"oomKilled\":true,"
                + "\"spec\":{\"command\":[\"dd\",\"if=/dev/zero\",\"of=/dev/null\",\"bs=1M\"],\"image\":\"busybox:1\"}},"
                + "{\"name\":\"new\",\"state\":\"running\",\"createdAtMillis\":" + (now - 5000) + ",\"startedAtMillis\":"
                + (now - 5000) + ",\"initPid\":4242,\"spec\":{\"command\":[\"sleep\",\"60\"],\"rootfs\":\"host\"}}]");
        Cli.Result r = Cli.run("ps", "-a", "--filter", "label=tier=web", "-f", "status=exited");
        assertThat(r.code()).isZero();
        assertThat(daemon.requests.get(0).uri()).isEqualTo("/v1/containers?all=true&label=tier%3Dweb&state=exited");
        assertThat(r.out().lines().toList()).hasSize(3);
        // docker's columns, the command cut at 20 characters
        assertThat(r.out().lines().toList().get(0)).matches("CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES");
        assertThat(r.out().lines().toList().get(1)).matches(" +rootfs:host +\"sleep 60\" +[5-9] seconds ago +Up [5-9] seconds +new");
        assertThat(r.out().lines().toList().get(2)).matches("0123456789ab +busybox:1 +\"dd if=/dev/zero of=…\" +2 hours ago "
                + "+Exited \\(137\\) 2 minutes ago \\(OOM killed\\) +old");
        assertThat(Cli.run("ps", "-a", "--no-trunc").out().lines().toList().get(2))
                .startsWith("0123456789abcdef0123 ").contains("\"dd if=/dev/zero of=/dev/null bs=1M\"");
        assertThat(Cli.run("ps", "-q").out()).isEqualTo("new\nold\n");
        assertThat(Cli.run("ps", "--format", "json").out().lines()).hasSize(2).allMatch(l -> l.startsWith("{\"name\":"));
    }

    @Test
    void statsNoStreamPrintsOneTable() {
        daemon.answer(req -> {
            if (req.path().equals("/v1/containers")) {
                req.response().end("[{\"name\":\"a\"},{\"name\":\"gone\"}]");
            } else if (req.path().equals("/v1/containers/a/stats")) {
                req.response().end("{\"name\":\"a\",\"cpu\":{\"cores\":0.5012},\"memory\":{\"usageBytes\":60000000,"
                        + "\"workingSetBytes\":58441728,\"limitBytes\":268435456,\"percent\":22.35},"
                        + "\"io\":{\"readBytes\":1200000,\"writeBytes\":0},\"pids\":{\"current\":3},"
                        + "\"network\":{\"receiveBytes\":5300,\"transmitBytes\":648}}");
            } else {
                req.response().setStatusCode(404).end("{\"error\":\"no such container\"}");
            }
        });
        Cli.Result r = Cli.run("stats", "--no-stream");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(daemon.requests.get(0).uri()).isEqualTo("/v1/containers?state=running");
        assertThat(r.out()).doesNotContain("\033[");
        assertThat(r.out().lines().toList()).containsExactly(
                "NAME   CPU %    MEM USAGE / LIMIT   MEM %    NET I/O        BLOCK I/O    PIDS",
                "a      50.12%   55.73MiB / 256MiB   21.77%   5.3kB / 648B   1.2MB / 0B   3");
        daemon.requests.clear();
        daemon.answer(req -> req.response().end(req.path().equals("/v1/info") ? "{\"memoryBytes\":1073741824}"
                : "{\"name\":\"free\",\"memory\":{\"workingSetBytes\":107374182}}"));
        assertThat(Cli.run("stats", "--no-stream", "free").out()).as("no limit: the host's memory, as docker")
                .containsPattern("free +-- +102.4MiB / 1GiB +10.00% +-- +--");
        assertThat(daemon.requests).extracting(FakeDaemon.Request::uri)
                .containsExactly("/v1/containers/free/stats", "/v1/info");
        daemon.answer(req -> req.response().setStatusCode(404).end("{\"error\":\"no such container\"}"));
        Cli.Result missing = Cli.run("stats", "--no-stream", "gone");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.errLines()).containsExactly("corral: no such container");
    }

    @Test
    void eventsAreOneLineEach() {
        daemon.answer(req -> req.response().setChunked(true).putHeader("content-type", "text/event-stream")
                .write(": corral events\n\nevent: started\ndata: {\"type\":\"started\",\"name\":\"a\",\"timeMillis\":0,"
                        + "\"attributes\":{}}\n\nevent: exi").compose(v -> req.response().end("ted\ndata: {\"type\":"
                        + "\"exited\",\"name\":\"a\",\"timeMillis\":1500,\"attributes\":{\"oomKilled\":false,"
                        + "\"exitCode\":0}}\n\n")));
        Cli.Result r = Cli.run("events", "--since", "1m");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(daemon.requests.get(0).uri()).matches("/v1/events\\?since=\\d{13}");
        assertThat(r.out().lines().toList()).hasSize(2);
        assertThat(r.out().lines().toList().get(0)).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.000\\S+ started a");
        assertThat(r.out().lines().toList().get(1)).matches("\\S+\\.500\\S* exited a exitCode=0 oomKilled=false");
    }

    @Test
    void infoRendersTheHostFacts() {
        daemon.answer(200, "{\"version\":\"0.1\",\"cgroupMode\":\"hybrid\",\"cpus\":2,\"supports\":{\"psi\":true},"
                + "\"hierarchies\":{\"/sys/fs/cgroup/memory\":[\"memory\"]}}");
        Cli.Result r = Cli.run("info");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("cgroupMode: hybrid\n").contains("supports:\n  psi: true\n")
                .contains("  /sys/fs/cgroup/memory: memory\n").contains("Daemon: " + daemon.host());
    }

    @Test
    void logsFollowEndsWhenItsReaderGoesAwayWhileTheContainerKeepsWriting() throws Exception {
        daemon.answer(req -> {
            // both streams write a line every 20 ms and never end, as a chatty container does
            var response = req.response().setChunked(true);
            var vertx = io.vertx.core.Vertx.currentContext().owner();
            vertx.setPeriodic(20, id -> {
                if (response.closed()) {
                    vertx.cancelTimer(id);
                } else {
                    response.write(req.uri().contains("stdout") ? "out\n" : "err\n");
                }
            });
        });
        // "| head -n 1": the reader of stdout is gone after the first line
        OutputStream head = new OutputStream() {
            private int lines;

            @Override
            public void write(int b) throws IOException {
                if (lines >= 1) {
                    throw new IOException("Broken pipe");
                }
                lines += b == '\n' ? 1 : 0;
            }
        };
        StringWriter err = new StringWriter();
        CommandLine cli = CorralMain.commandLine();
        cli.setOut(new PrintWriter(new OutputStreamWriter(head, StandardCharsets.UTF_8), true));
        cli.setErr(new PrintWriter(err, true));
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> cli.execute("logs", "-f", "c"));
        assertThat(code.get(30, TimeUnit.SECONDS)).as("logs -f ended, stderr: %s", err).isZero();
    }
}
