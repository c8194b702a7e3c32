package dev.corral.agent.client;

import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The packaged CLI, through bin/corral as a user runs it, against a real agent (in this JVM). Runs after
 * {@code package} (failsafe); when the jar is older than the compiled client (e.g. -Dtest under surefire) it is
 * skipped rather than testing stale code.
 */
@Tag("root")
class CorralCliIT {

    private static final Path REPO = Path.of(System.getenv().getOrDefault("CORRAL_REPO", ".."));
    private static final Path CORRAL = REPO.resolve("bin/corral");
    private static ClientAgentFixture fx;

    record Result(int code, String out, String err) {
    }

    @BeforeAll
    static void start() throws Exception {
        assertJarIsFresh("RunCommand");
        fx = new ClientAgentFixture();
    }

    /** The packaged jar is there and not older than the compiled client class {@code name}. */
    static void assertJarIsFresh(String name) throws Exception {
        Path jar = REPO.resolve("agent/target/corral.jar");
        Path compiled = REPO.resolve("agent/target/classes/dev/corral/agent/client/" + name + ".class");
        assertThat(Files.exists(jar) && Files.exists(compiled)
                && !Files.getLastModifiedTime(jar).toInstant().isBefore(Files.getLastModifiedTime(compiled).toInstant()))
                .as("agent/target/corral.jar is missing or older than the classes: run ./mvnw verify").isTrue();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    static Result corral(Map<String, String> env, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(CORRAL.toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().remove("CORRAL_HOST");
        pb.environment().remove("CORRAL_TOKEN");
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("corral " + args[0] + " ends").isTrue();
        return new Result(p.exitValue(), out, err.get(10, TimeUnit.SECONDS));
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void execRunsInTheContainerStreamsStdinAndExitsWithTheCommandsCode() throws Exception {
        Result run = corral(Map.of(), "--host", fx.host(), "run", HOST_FLAG, "-d", "--name", "it-exec", "sleep", "600");
        assertThat(run.code()).as(run.toString()).isZero();
        try {
            Result r = corral(Map.of("CORRAL_HOST", fx.host()), "exec", "-e", "X=y", "it-exec", "sh", "-c",
                    "echo $(hostname) $X; ps -o pid,args | grep -c 'sleep 600'; exit 5");
            assertThat(r.code()).as(r.toString()).isEqualTo(5);
            assertThat(r.out()).startsWith("it-exec y\n");
            Path in = Files.createTempFile("corral-it-exec", ".in");
            try {
                Files.writeString(in, "echo piped; exit 4\n");
                Process p = new ProcessBuilder(CORRAL.toString(), "--host", fx.host(), "exec", "-i", "it-exec", "sh")
                        .redirectInput(in.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String out = read(p.getInputStream());
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as(out).isEqualTo(4);
                assertThat(out).isEqualTo("piped\n");
            } finally {
                Files.deleteIfExists(in);
            }
            Result missing = corral(Map.of("CORRAL_HOST", fx.host()), "exec", "it-exec", "no-such-binary");
            assertThat(missing.code()).as(missing.toString()).isEqualTo(127);
        } finally {
            corral(Map.of("CORRAL_HOST", fx.host()), "rm", "-f", "it-exec");
        }
    }

    @Test
    void runAttachedPrintsTheOutputAndExitsWithTheContainersCode() throws Exception {
        Result r = corral(Map.of(), "--host", fx.host(), "run", HOST_FLAG, "--name", "it-run", "--memory", "64m",
                "sh", "-c", "echo hi; exit 3");
        assertThat(r.code()).as(r.toString()).isEqualTo(3);
        assertThat(r.out()).isEqualTo("hi\n");
        assertThat(r.err()).isEmpty();

        Result ps = corral(Map.of("CORRAL_HOST", fx.host()), "ps", "-a");
        assertThat(ps.code()).as(ps.toString()).isZero();
        assertThat(ps.out()).containsPattern("(?m)^[0-9a-f]{12} .*Exited \\(3\\) .* it-run$");

        Result rm = corral(Map.of("CORRAL_HOST", fx.host()), "rm", "it-run");
        assertThat(rm.code()).as(rm.toString()).isZero();
        assertThat(rm.out()).isEqualTo("it-run\n");
    }

    @Test
    void ctrlCIsForwardedToTheContainerAsDockersSigProxyDoes() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(CORRAL.toString(), "--host", fx.host(), "run", HOST_FLAG, "--rm", "--name", "it-sig",
                "sh", "-c", "trap 'echo got INT; exit 5' INT; echo ready; while :; do sleep 0.1; done");
        pb.environment().remove("CORRAL_HOST");
        Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            java.io.BufferedReader out = new java.io.BufferedReader(
                    new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(readLine(out, "it-sig")).isEqualTo("ready");
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(readLine(out, "it-sig")).isEqualTo("got INT");
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(5);
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * The third Ctrl-C detaches a run --rm and leaves it running; its removal is the daemon's: a later stop (SIGTERM
     * ignored by the PID 1 sleep, then SIGKILL) leaves nothing, and the name is free again.
     */
    @Test
    void aDetachedRunRmIsRemovedWhenItIsStoppedLater() throws Exception {
        Path root = dev.corral.agent.image.TestImages.busyboxRoot("sh", "sleep");
        ProcessBuilder pb = new ProcessBuilder(CORRAL.toString(), "--host", fx.host(), "run", "--rm", "--name", "it-det",
                "--rootfs", root.toString(), "sh", "-c", "trap '' INT; echo ready; exec sleep 600");
        pb.environment().remove("CORRAL_HOST");
        Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            java.io.BufferedReader out = new java.io.BufferedReader(
                    new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(readLine(out, "it-det")).isEqualTo("ready");
            for (int i = 0; i < 3; i++) {
                assertThat(new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor()).isZero();
                Thread.sleep(200);
            }
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the third Ctrl-C detaches").isTrue();
            assertThat(p.exitValue()).isEqualTo(130);
            Map<String, String> env = Map.of("CORRAL_HOST", fx.host());
            assertThat(corral(env, "ps", "-q").out()).contains("it-det");
            Result stop = corral(env, "stop", "-t", "1", "it-det");
            assertThat(stop.code()).as(stop.toString()).isZero();
            for (int i = 0; i < 250 && corral(env, "ps", "-a", "-q").out().contains("it-det"); i++) {
                Thread.sleep(20);
            }
            assertThat(corral(env, "ps", "-a", "-q").out()).as("removed at its exit").doesNotContain("it-det");
            Result again = corral(env, "run", "--rm", "--name", "it-det", "--rootfs", root.toString(), "sh", "-c", "exit 4");
            assertThat(again.code()).as("the name is free: " + again).isEqualTo(4);
        } finally {
            p.destroyForcibly();
            dev.corral.agent.image.TestImages.deleteTree(root);
        }
    }

    @Test
    void eventsEndWhenTheirReaderDoes() throws Exception {
        Cli.environment(Map.of("CORRAL_HOST", fx.host()));
        try {
            assertThat(Cli.run("run", HOST_FLAG, "-d", "--name", "it-ev", "true").code()).isZero();
            Process p = new ProcessBuilder(CORRAL.toString(), "--host", fx.host(), "events", "--since", "10m")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                java.io.BufferedReader out = new java.io.BufferedReader(
                        new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                assertThat(readLine(out, "it-ev")).contains(" created "); // a replayed event
                p.getInputStream().close(); // as "| head -1" does
                assertThat(Cli.run("rm", "-f", "it-ev").code()).isZero(); // one more event to write
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("events ends on a closed pipe").isTrue();
            } finally {
                p.destroyForcibly();
            }
        } finally {
            Cli.realEnvironment();
        }
    }

    @Test
    void anUnreachableDaemonIs125WithOneLineAndTheHint() throws Exception {
        Result r = corral(Map.of("CORRAL_HOST", "unix:///nonexistent/corral-test.sock"), "ps");
        assertThat(r.code()).as(r.toString()).isEqualTo(125);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip().lines()).singleElement().asString()
                .startsWith("corral: cannot connect to the Corral daemon at unix:///nonexistent/corral-test.sock")
                .contains("Start it with: bin/corral serve");
    }

    /**
     * The build's class-data-sharing archive fits the JVM and jar bin/corral runs: with -Xshare:on the JVM refuses
     * to start when it cannot map it (bin/corral itself asks for -Xshare:auto, which would ignore it quietly).
     */
    @Test
    void clientCommandsStartFromTheBuildsSharedArchive() throws Exception {
        assertThat(REPO.resolve("agent/target/corral-client.jsa")).exists();
        Result ps = corral(Map.of("CORRAL_HOST", fx.host(), "CORRAL_EXTRA_JAVA_OPTS", "-Xshare:on -Xlog:cds=info"),
                "ps", "-a");
        assertThat(ps.code()).as(ps.toString()).isZero();
        assertThat(ps.out()).containsPattern("(?m)^CONTAINER ID ");
        assertThat(ps.out()).as("the archive was mapped (-Xlog:cds writes to stdout)")
                .containsPattern("Mapped static +region #0").contains("corral-client.jsa");
    }

    /**
     * bin/corral finds its jar and the archive without forking (it resolves links itself only when there is one):
     * through a symbolic link to the script, and by a relative path from another directory, the command runs and the
     * archive is mapped (-Xshare:on refuses to start otherwise).
     */
    @Test
    void theLauncherFindsItsJarAndArchiveThroughALinkAndARelativePath() throws Exception {
        Path dir = Files.createTempDirectory(REPO.toAbsolutePath().resolve("agent/target"), "launcher-");
        Path link = dir.resolve("corral");
        try {
            Files.createSymbolicLink(link, CORRAL.toAbsolutePath());
            for (List<String> argv : List.of(List.of(link.toString(), "--version"),
                    List.of(dir.relativize(CORRAL.toAbsolutePath()).toString(), "--version"))) {
                ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile());
                pb.environment().put("CORRAL_EXTRA_JAVA_OPTS", "-Xshare:on -Xlog:cds=info");
                Process p = pb.redirectErrorStream(true).start();
                String out = read(p.getInputStream());
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as(argv + ": " + out).isZero();
                assertThat(out).as(argv.toString()).containsPattern("(?m)^corral ").contains("corral-client.jsa");
            }
        } finally {
            Files.deleteIfExists(link);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * An attached run --rm of a command that is done before the client asks for its logs still prints them: the
     * daemon keeps the container while the client's wait holds it, also after answering that wait (the server then
     * closes the connection itself). Before, the container was gone and run said "no container named".
     */
    @Test
    void anAttachedRunRmOfAQuickCommandPrintsItsOutputAndLeavesNothing() throws Exception {
        for (int i = 0; i < 5; i++) {
            Result r = corral(Map.of("CORRAL_HOST", fx.host()), "run", "--rm", "--name", "quick-rm", HOST_FLAG,
                    "echo", "hi");
            assertThat(r.code()).as(r.toString()).isZero();
            assertThat(r.out()).as(r.toString()).isEqualTo("hi\n");
            Result ps = corral(Map.of("CORRAL_HOST", fx.host()), "ps", "-aq");
            assertThat(ps.out()).doesNotContain("quick-rm");
        }
    }

    @Test
    void anUnknownContainerAndABadSizeAreOneLine() throws Exception {
        Result r = corral(Map.of(), "--host", fx.host(), "inspect", "nope");
        assertThat(r.code()).as(r.toString()).isEqualTo(1);
        assertThat(r.err().strip().lines()).singleElement().asString().startsWith("corral: ").contains("nope");
        r = corral(Map.of(), "--host", fx.host(), "run", HOST_FLAG, "--memory", "12x", "true");
        assertThat(r.code()).as("run's flags: docker run's 125 " + r).isEqualTo(125);
        assertThat(r.err().strip().lines()).singleElement().asString().contains("'12x' is not a size");
    }

    /**
     * The next line, or a failure naming the container's state after 60 s (a bare readLine once hung a whole
     * build on a loaded machine; the caller's finally then kills the process, which ends the read).
     */
    private String readLine(java.io.BufferedReader out, String container) throws Exception {
        java.util.concurrent.CompletableFuture<String> line = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            return line.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            Result inspect = corral(Map.of("CORRAL_HOST", fx.host()), "inspect", container);
            throw new AssertionError("no line within 60 s; " + container + ": " + inspect, e);
        }
    }
}
