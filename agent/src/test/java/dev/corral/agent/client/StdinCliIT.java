package dev.corral.agent.client;

import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code -i} for a container's own process, through bin/corral as a user runs it: its stdin is what the client's
 * was, the client's end of input is its end (run -i, start -a -i), or only a client's detach (run -d -i); the
 * socket the monitor held it on is gone once it exited.
 */
@Tag("root")
class StdinCliIT {

    private static final Path CORRAL = Path.of(System.getenv().getOrDefault("CORRAL_REPO", ".."))
            .resolve("bin/corral");
    private static ClientAgentFixture fx;

    @BeforeAll
    static void start() throws Exception {
        CorralCliIT.assertJarIsFresh("StartCommand");
        fx = new ClientAgentFixture();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    /** bin/corral with {@code input} as its stdin (then closed). */
    private static CorralCliIT.Result corral(String input, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(CORRAL.toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().remove("CORRAL_TOKEN");
        pb.environment().put("CORRAL_HOST", fx.host());
        Process p = pb.start();
        p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("corral " + args[0] + " ends").isTrue();
        return new CorralCliIT.Result(p.exitValue(), out, err.get(10, TimeUnit.SECONDS));
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<Path> stdinSockets() throws Exception {
        try (Stream<Path> s = Files.walk(fx.stateDir.resolve("containers"))) {
            return s.filter(p -> p.getFileName().toString().equals("stdin.sock")).toList();
        }
    }

    @Test
    void runDashIStreamsStdinAndItsEndIsTheContainers() throws Exception {
        CorralCliIT.Result r = corral("echo from-stdin; exit 4\n", "run", "--rm", "-i", HOST_FLAG, "--name", "in-run",
                "sh");
        assertThat(r.code()).as(r.toString()).isEqualTo(4);
        assertThat(r.out()).isEqualTo("from-stdin\n");
        // cat ends only at the end of its input: ours
        r = corral("a\nb\n", "run", "--rm", "-i", HOST_FLAG, "--name", "in-cat", "cat");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("a\nb\n");
        // without -i: /dev/null, as before
        r = corral("ignored\n", "run", "--rm", HOST_FLAG, "--name", "in-none", "sh", "-c", "cat; echo end");
        assertThat(r.out()).isEqualTo("end\n");
        // -it without a terminal here: docker's words and status, nothing made
        r = corral("", "run", "--rm", "-it", HOST_FLAG, "--name", "in-tty", "sh");
        assertThat(r.code()).as(r.toString()).isEqualTo(1);
        assertThat(r.err()).endsWith("the input device is not a TTY\n");
        assertThat(corral("", "ps", "-a").out()).doesNotContain("in-tty");
        assertThat(stdinSockets()).isEmpty();
    }

    @Test
    void startDashAiAttachesToACreatedDashIContainer() throws Exception {
        CorralCliIT.Result c = corral("", "create", "-i", HOST_FLAG, "--name", "in-start", "sh", "-c",
                "read x; echo got $x; exit 5");
        assertThat(c.code()).as(c.toString()).isZero();
        try {
            CorralCliIT.Result r = corral("hi\n", "start", "-a", "-i", "in-start");
            assertThat(r.code()).as(r.toString()).isEqualTo(5);
            assertThat(r.out()).isEqualTo("got hi\n");
            assertThat(fx.stateDir.resolve("containers/in-start/stdin.sock")).doesNotExist();
        } finally {
            corral("", "rm", "-f", "in-start");
        }
    }

    @Test
    void aDetachedDashIContainerKeepsItsStdinAcrossClients() throws Exception {
        CorralCliIT.Result d = corral("", "run", "-d", "-i", HOST_FLAG, "--name", "in-detached", "sh", "-c",
                "while read x; do echo line $x; done; echo eof");
        assertThat(d.code()).as(d.toString()).isZero();
        CorralCliIT.Result n = corral("", "run", "-d", HOST_FLAG, "--name", "in-closed", "sleep", "600");
        assertThat(n.code()).as(n.toString()).isZero();
        try {
            DaemonAddress daemon = DaemonAddress.unix(fx.socket().toString());
            for (String line : List.of("one\n", "two\n")) { // two clients, one after the other, each ending its input
                try (ExecStream s = ExecStream.open(daemon, null, "/v1/containers/in-detached/stdin",
                        new ByteArrayInputStream(line.getBytes(StandardCharsets.UTF_8)))) {
                    String logs = "";
                    for (int i = 0; i < 100 && !logs.contains("line " + line.strip()); i++) {
                        Thread.sleep(100);
                        logs = corral("", "logs", "in-detached").out();
                    }
                    assertThat(logs).contains("line " + line.strip());
                }
            }
            CorralCliIT.Result ps = corral("", "ps");
            assertThat(ps.out()).as("still reading its stdin").contains("in-detached");
            assertThat(corral("", "logs", "in-detached").out()).doesNotContain("eof");
            assertThatThrownBy(() -> ExecStream.open(daemon, null, "/v1/containers/in-closed/stdin",
                    new ByteArrayInputStream(new byte[0]))).isInstanceOfSatisfying(ApiException.class,
                            e -> {
                                assertThat(e.status()).isEqualTo(409);
                                assertThat(e.getMessage()).contains("-i");
                            });
        } finally {
            corral("", "rm", "-f", "in-detached", "in-closed");
        }
        assertThat(stdinSockets()).isEmpty();
    }

    @Test
    void attachShowsOutputFromNowSendsStdinAndTheDetachKeysLeaveItRunning() throws Exception {
        CorralCliIT.Result d = corral("", "run", "-d", "-i", HOST_FLAG, "--name", "in-attach", "sh", "-c",
                "echo old; while read x; do echo line $x; [ \"$x\" = quit ] && exit 6; done");
        assertThat(d.code()).as(d.toString()).isZero();
        try {
            for (int i = 0; i < 100 && !corral("", "logs", "in-attach").out().contains("old"); i++) {
                Thread.sleep(100);
            }
            // ctrl-p ctrl-q: detached quietly with 0, the container still running
            CorralCliIT.Result a = corral("one\n\u0010\u0011", "attach", "in-attach");
            assertThat(a.code()).as(a.toString()).isZero();
            assertThat(a.out()).doesNotContain("old"); // from now on, not the past logs
            String logs = "";
            for (int i = 0; i < 100 && !logs.contains("line one"); i++) {
                Thread.sleep(100);
                logs = corral("", "logs", "in-attach").out();
            }
            assertThat(logs).contains("line one");
            assertThat(corral("", "ps").out()).contains("in-attach");
            // --detach-keys of its own; then the container's end is the attach's status
            a = corral("two\nquit\n", "attach", "--detach-keys", "ctrl-x,x", "in-attach");
            assertThat(a.code()).as(a.toString()).isEqualTo(6);
            assertThat(a.out()).isEqualTo("line two\nline quit\n");
            a = corral("", "attach", "in-attach");
            assertThat(a.code()).isEqualTo(1);
            assertThat(a.err()).contains("you cannot attach to a stopped container, start it first");
            a = corral("", "attach", "--detach-keys", "ctrl-1", "in-attach");
            assertThat(a.code()).as(a.toString()).isEqualTo(2); // a usage error
            assertThat(a.err()).contains("--detach-keys: 'ctrl-1'");
        } finally {
            corral("", "rm", "-f", "in-attach");
        }
        assertThat(stdinSockets()).isEmpty();
    }

    @Test
    void startDashAOfARunningContainerAttachesToItAsDocker() throws Exception {
        // it prints once before start -a comes, then its last line when the test signals it
        CorralCliIT.Result d = corral("", "run", "-d", HOST_FLAG, "--name", "in-running", "sh", "-c",
                "trap 'echo late; exit 3' USR1; echo early; while :; do sleep 0.05; done");
        assertThat(d.code()).as(d.toString()).isZero();
        try {
            for (int i = 0; i < 100 && !corral("", "logs", "in-running").out().contains("early"); i++) {
                Thread.sleep(100);
            }
            CompletableFuture<CorralCliIT.Result> a = CompletableFuture.supplyAsync(() -> {
                try {
                    return corral("", "start", "-a", "in-running");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // attached once its output streams are open (a JVM start): give it time, then let the container end
            for (int i = 0; i < 50 && !a.isDone(); i++) {
                Thread.sleep(100);
            }
            assertThat(a).as("start -a of a running container is not refused").isNotDone();
            corral("", "kill", "-s", "USR1", "in-running");
            CorralCliIT.Result r = a.get(60, TimeUnit.SECONDS);
            assertThat(r.code()).as(r.toString()).isEqualTo(3); // its status
            assertThat(r.out()).isEqualTo("late\n"); // from now on, as docker start -a (not the past "early")
        } finally {
            corral("", "rm", "-f", "in-running");
        }
    }

    @Test
    void attachingPipedStdinToATerminalIsRefusedAsDocker() throws Exception {
        CorralCliIT.Result d = corral("", "run", "-d", "-i", "-t", HOST_FLAG, "--name", "in-tty", "sh");
        assertThat(d.code()).as(d.toString()).isZero();
        try {
            // docker attach's words and status (its CheckTty): a terminal's input has no end a pipe could give
            CorralCliIT.Result a = corral("echo hi\n", "attach", "in-tty");
            assertThat(a.code()).as(a.toString()).isEqualTo(1);
            assertThat(a.err()).endsWith("the input device is not a TTY\n");
            assertThat(corral("", "ps").out()).contains("in-tty"); // left as it was
            // --no-stdin: the output alone, until the container ends (ended here by a kill)
            CompletableFuture<CorralCliIT.Result> o = CompletableFuture.supplyAsync(() -> {
                try {
                    return corral("", "attach", "--no-stdin", "in-tty");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(1500);
            assertThat(o).as("attached until the container ends").isNotDone();
            corral("", "kill", "in-tty");
            assertThat(o.get(60, TimeUnit.SECONDS).code()).isEqualTo(137);
        } finally {
            corral("", "rm", "-f", "in-tty");
        }
    }
}
