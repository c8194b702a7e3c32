package dev.corral.agent.client;

import static dev.corral.exporter.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.image.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code corral exec}, in-process, against a real agent: the process is in the container's namespaces (its pid 1,
 * hostname and files), in its cgroup (its memory limit OOM-kills an exec'd hog), with -e/-w/-u applied, Docker's
 * exit codes, 4xx for a container that is not there or not running, and nothing left running afterwards. Also
 * run's {@code -u NAME} (resolved in the container's files) and {@code --ulimit}, which exec inherits; a running
 * container renamed is exec'd, killed and waited for by its new name (RenameTest checks its cgroup).
 */
@Tag("root")
class ExecCliTest {

    private static ClientAgentFixture fx;
    private static Path root;

    @BeforeAll
    static void start() throws Exception {
        fx = new ClientAgentFixture();
        root = TestImages.busyboxRoot("sh", "sleep", "ps", "hostname", "cat", "id", "pwd", "dd", "echo", "true", "grep");
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/marker"), "exec-marker\n");
        Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nbob:x:1001:1002::/home/bob:/bin/sh\n");
        Files.writeString(root.resolve("etc/group"), "root:x:0:\nbobs:x:1002:\nextra:x:1500:alice,bob\n");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (fx != null) {
                fx.close();
            }
        } finally {
            if (root != null) {
                TestImages.deleteTree(root);
            }
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

    private static void runSleeper(String name, String... extra) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("run", "-d", "--name", name,
                "--rootfs", root.toString(), "--hostname", name + "-host", "--memory", "64m"));
        args.addAll(java.util.List.of(extra));
        args.addAll(java.util.List.of("sleep", "600"));
        Cli.ok(args.toArray(String[]::new));
    }

    /** The processes in the container's cgroup (its init, and any exec still running). */
    private static long procsIn(String name) throws Exception {
        return Files.readAllLines(fx.cgroupFile(name, "memory", "cgroup.procs")).stream()
                .filter(l -> !l.isBlank()).count();
    }

    @Test
    void execRunsInTheContainersNamespacesWithItsSettings() throws Exception {
        runSleeper("ex1");
        Cli.Result ps = Cli.ok("exec", "ex1", "ps");
        assertThat(ps.out()).as("the container's pid namespace: its PID 1").containsPattern("(?m)^\\s*1 \\S+\\s+sleep 600");
        assertThat(ps.out().lines().filter(l -> l.matches("\\s*\\d+ .*"))).as(ps.out()).hasSize(2); // sleep, ps
        assertThat(Cli.ok("exec", "ex1", "hostname").out()).isEqualTo("ex1-host\n");
        assertThat(Cli.ok("exec", "ex1", "cat", "/etc/marker").out()).isEqualTo("exec-marker\n");
        assertThat(Cli.ok("exec", "-e", "FOO=bar", "-w", "/etc", "ex1", "sh", "-c", "echo $FOO $(pwd)").out())
                .isEqualTo("bar /etc\n");
        assertThat(Cli.ok("exec", "ex1", "id").out()).startsWith("uid=0(root) gid=0(root)");
        assertThat(Cli.ok("exec", "-u", "bob", "ex1", "id").out())
                .as("a name from the container's /etc/passwd, its groups from /etc/group")
                .isEqualTo("uid=1001(bob) gid=1002(bobs) groups=1500(extra)\n");
        assertThat(Cli.ok("exec", "-u", "4000:extra", "ex1", "id").out()).isEqualTo("uid=4000 gid=1500(extra)\n");
        String init = Cli.ok("exec", "ex1", "grep", "-E", "^(Cap(Eff|Bnd|Prm)|NoNewPrivs)", "/proc/1/status").out();
        String self = Cli.ok("exec", "ex1", "grep", "-E", "^(Cap(Eff|Bnd|Prm)|NoNewPrivs)", "/proc/self/status").out();
        assertThat(self).as("the container's capabilities and no_new_privs, as its init has them").isEqualTo(init)
                .contains("NoNewPrivs:\t1").doesNotContain("CapEff:\t000001ffffffffff");
        Cli.Result nobody = Cli.run("exec", "-u", "nobody", "ex1", "id");
        assertThat(nobody.code()).as(nobody.toString()).isEqualTo(125);
        assertThat(nobody.err()).contains("unable to find user nobody");
        await(() -> procsIn("ex1") == 1, Duration.ofSeconds(20), "only the container's init left in its cgroup");
    }

    @Test
    void aRunningContainerRenamedIsExecedKilledAndWaitedForByItsNewName() throws Exception {
        runSleeper("exr-old");
        Cli.ok("rename", "exr-old", "exr-new");
        assertThat(Cli.ok("exec", "exr-new", "cat", "/etc/marker").out()).isEqualTo("exec-marker\n");
        Cli.Result old = Cli.run("exec", "exr-old", "true");
        assertThat(old.code()).as(old.toString()).isNotZero();
        assertThat(Files.exists(fx.cgroupFile("exr-new", "memory", "cgroup.procs"))).as("no cgroup of the new name")
                .isFalse();
        assertThat(procsIn("exr-old")).as("its init stays in its cgroup, fixed at creation").isGreaterThanOrEqualTo(1);
        Cli.ok("kill", "exr-new");
        assertThat(Cli.ok("wait", "exr-new").out()).as("the exit recorded under the new name").isEqualTo("137\n");
        Cli.ok("rm", "exr-new");
    }

    @Test
    void exitStatusesAreTheCommandsAndDockers() throws Exception {
        runSleeper("ex2");
        assertThat(Cli.run("exec", "ex2", "sh", "-c", "echo out; echo err >&2; exit 7"))
                .satisfies(r -> assertThat(r.code()).as(r.toString()).isEqualTo(7))
                .satisfies(r -> assertThat(r.out()).isEqualTo("out\n"))
                .satisfies(r -> assertThat(r.err()).isEqualTo("err\n"));
        Cli.Result missing = Cli.run("exec", "ex2", "nosuch-command");
        assertThat(missing.code()).as(missing.toString()).isEqualTo(127);
        assertThat(missing.err()).contains("corral exec: exec nosuch-command: No such file or directory");
        Cli.Result notExecutable = Cli.run("exec", "ex2", "/etc/marker");
        assertThat(notExecutable.code()).as(notExecutable.toString()).isEqualTo(126);
        assertThat(Cli.run("exec", "ex2", "sh", "-c", "kill -9 $$").code()).isEqualTo(137);
        await(() -> procsIn("ex2") == 1, Duration.ofSeconds(20), "only the container's init left in its cgroup");
    }

    @Test
    void anExecdMemoryHogIsOomKilledUnderTheContainersLimit() throws Exception {
        runSleeper("ex3");
        // 256 MiB of buffer filled from /dev/zero against the container's 64 MiB: only its cgroup's limit stops it
        Cli.Result hog = Cli.run("exec", "ex3", "dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1");
        assertThat(hog.code()).as(hog.toString()).isEqualTo(137);
        String oom = Files.readString(fx.cgroupFile("ex3", "memory", fx.v2() ? "memory.events" : "memory.oom_control"));
        assertThat(oom).containsPattern("oom_kill [1-9]");
        assertThat(Cli.ok("exec", "ex3", "true").code()).as("the container lives on").isZero();
    }

    @Test
    void aContainerThatIsNotThereOrNotRunningIsRefusedWith4xx() throws Exception {
        Cli.Result unknown = Cli.run("exec", "no-such-ctr", "true");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("no container named 'no-such-ctr'");
        assertThatThrownBy(() -> ExecStream.open(DaemonAddress.unix(fx.socket().toString()), null,
                "/v1/containers/no-such-ctr/exec?cmd=true", null))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(404));

        Cli.ok("run", "--name", "ex4", "--rootfs", root.toString(), "true");
        Cli.Result stopped = Cli.run("exec", "ex4", "true");
        assertThat(stopped.code()).isEqualTo(1);
        assertThat(stopped.err()).contains("container 'ex4' is not running (exited)");
        assertThatThrownBy(() -> ExecStream.open(DaemonAddress.unix(fx.socket().toString()), null,
                "/v1/containers/ex4/exec?cmd=true", null))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(409));

        runSleeper("ex5");
        assertThatThrownBy(() -> ExecStream.open(DaemonAddress.unix(fx.socket().toString()), null,
                "/v1/containers/ex5/exec", null))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.getMessage()).contains("an exec needs a command");
                });
        HttpTransport.Response plain = HttpTransport.unix(fx.socket()).request("POST",
                "/v1/containers/ex5/exec?cmd=sh&cmd=-c&cmd=" + CorralClient.enc("echo hi; exit 3"), null, null);
        assertThat(plain.status()).as("any HTTP client: the frames, then the exit status").isEqualTo(200);
        assertThat(plain.body()).containsSubsequence((byte) 1, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0,
                (byte) 0, (byte) 3, (byte) 'h', (byte) 'i', (byte) '\n');
        assertThat(plain.bodyText()).endsWith("{\"exitCode\":3}");
    }

    @Test
    void aClientThatGoesAwayTakesItsExecWithIt() throws Exception {
        runSleeper("ex6");
        ExecStream s = ExecStream.open(DaemonAddress.unix(fx.socket().toString()), null,
                "/v1/containers/ex6/exec?cmd=sh&cmd=-c&cmd=" + CorralClient.enc("sleep 4711 & sleep 4712"), null);
        await(() -> procsIn("ex6") == 4, Duration.ofSeconds(10), "the exec (shim, sh, two sleeps) in the cgroup");
        s.close();
        await(() -> procsIn("ex6") == 1, Duration.ofSeconds(10), "the exec's processes gone with the client");
        assertThat(ProcessHandle.allProcesses().map(p -> p.info().commandLine().orElse(""))
                .filter(c -> c.contains("sleep 471"))).isEmpty();
    }

    @Test
    void stdinIsStreamedWithDashI() throws Exception {
        runSleeper("ex7");
        java.io.InputStream saved = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("echo from-stdin\nexit 4\n".getBytes()));
            Cli.Result r = Cli.run("exec", "-i", "ex7", "sh");
            assertThat(r.code()).as(r.toString()).isEqualTo(4);
            assertThat(r.out()).isEqualTo("from-stdin\n");
            Cli.Result noStdin = Cli.run("exec", "ex7", "sh");
            assertThat(noStdin.code()).as("without -i stdin is empty: sh ends at once").isZero();
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void execOverTcpNeedsTheToken() throws Exception {
        runSleeper("ex9");
        String tcp = "tcp://127.0.0.1:" + fx.agent.httpPort();
        java.io.InputStream saved = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("hostname; exit 6\n".getBytes()));
            Cli.environment(Map.of("CORRAL_HOST", tcp, "CORRAL_TOKEN", Files.readString(fx.tokenFile()).strip()));
            Cli.Result r = Cli.run("exec", "-i", "ex9", "sh");
            assertThat(r.code()).as(r.toString()).isEqualTo(6);
            assertThat(r.out()).isEqualTo("ex9-host\n");
        } finally {
            System.setIn(saved);
        }
        Cli.environment(Map.of("CORRAL_HOST", tcp, "CORRAL_TOKEN", "wrong-token"));
        Cli.Result refused = Cli.run("exec", "ex9", "sh", "-c", "exit 42");
        assertThat(refused.code()).as("refused before anything ran: " + refused).isEqualTo(1);
        assertThat(refused.err()).contains("--token-file");
    }

    @Test
    void runResolvesAUserNameInTheContainersOwnFiles() {
        assertThat(Cli.ok("run", "--rm", "--rootfs", root.toString(), "-u", "bob", "id").out())
                .isEqualTo("uid=1001(bob) gid=1002(bobs) groups=1500(extra)\n");
        assertThat(Cli.ok("run", "--rm", "--rootfs", root.toString(), "-u", "bob:root", "id").out())
                .as("an explicit group: no supplementary groups from /etc/group, as Docker")
                .isEqualTo("uid=1001(bob) gid=0(root)\n");
        assertThat(Cli.ok("run", "--rm", "--rootfs", root.toString(), "-u", "1001", "id").out())
                .as("a number found in /etc/passwd takes its group").isEqualTo("uid=1001(bob) gid=1002(bobs) groups=1500(extra)\n");
        Cli.Result unknown = Cli.run("run", "--rm", "--rootfs", root.toString(), "-u", "nobody", "id");
        assertThat(unknown.code()).as(unknown.toString()).isNotZero();
        assertThat(unknown.err()).contains("unable to find user nobody: no matching entries in the container's /etc/passwd");
        Cli.Result bad = Cli.run("run", "--rm", "--rootfs", root.toString(), "-u", "a:b:c", "id");
        assertThat(bad.code()).isEqualTo(125);
        assertThat(bad.err()).contains("--user: 'a:b:c' is not USER[:GROUP]");
    }

    @Test
    void ulimitsApplyToTheCommandAndToExecs() throws Exception {
        Cli.Result r = Cli.ok("run", "--rm", "--rootfs", root.toString(), "--ulimit", "nofile=512:1024",
                "--ulimit", "core=0", "--ulimit", "nproc=100:200", "cat", "/proc/self/limits");
        assertThat(r.out()).containsPattern("Max open files +512 +1024 ").containsPattern("Max core file size +0 +0 ")
                .containsPattern("Max processes +100 +200 ");
        runSleeper("ex8", "--ulimit", "nofile=256");
        assertThat(Cli.ok("exec", "ex8", "cat", "/proc/self/limits").out()).containsPattern("Max open files +256 +256 ");

        Cli.Result unknown = Cli.run("run", "--rm", "--rootfs", root.toString(), "--ulimit", "files=1", "true");
        assertThat(unknown.code()).isEqualTo(125);
        assertThat(unknown.err()).contains("ulimits[0].name").contains("'files' is not a ulimit");
        Cli.Result inverted = Cli.run("run", "--rm", "--rootfs", root.toString(), "--ulimit", "nofile=10:5", "true");
        assertThat(inverted.code()).isEqualTo(125);
        assertThat(inverted.err()).contains("the soft limit 10 is over the hard limit 5");
        Cli.Result malformed = Cli.run("run", "--rm", "--rootfs", root.toString(), "--ulimit", "nofile", "true");
        assertThat(malformed.code()).isEqualTo(125);
        assertThat(malformed.err()).contains("--ulimit: 'nofile' is not NAME=SOFT[:HARD]");
    }
}
