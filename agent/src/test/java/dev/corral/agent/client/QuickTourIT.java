package dev.corral.agent.client;

import static dev.corral.exporter.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.image.TestImages;
import dev.corral.agent.image.TestRegistry;
import dev.corral.agent.testing.ServedAgent;
import dev.corral.agent.testing.TestParent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The README's quick tour as a user runs it: the daemon started by {@code bin/corral serve}, every step a
 * {@code bin/corral} command: an image pulled from a real registry on 127.0.0.1 (Debian's docker-registry, the
 * image pushed there by skopeo from an archive built here), {@code run -d --name web} on it, {@code exec} into it
 * (its namespaces: PID 1 is its own command, its hostname), {@code --restart on-failure:N} counted in {@code ps}
 * and {@code inspect -f '{{.RestartCount}}'}, an OOM kill restarted under on-failure, and {@code --restart always}
 * starting again a container that died while the daemon was down, while a stopped one stays stopped. Also run in the
 * v2 guest by {@code QuickTourV2GuestIT}.
 */
@Tag("root")
class QuickTourIT {

    private static TestParent dirs;
    private static ServedAgent agent;
    private static Path scratch;

    record Result(int code, String out, String err) {
    }

    @BeforeAll
    static void start() throws Exception {
        CorralCliIT.assertJarIsFresh("PullCommand");
        dirs = new TestParent("corral-test-tour");
        scratch = Files.createTempDirectory("corral-test-tour-scratch");
        try {
            agent = ServedAgent.start(dirs.stateDir, dirs.path, scratch.resolve("serve.log"), "--default-network",
                    "none");
        } catch (Throwable e) {
            dirs.abandon();
            throw e;
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent == null) {
            return;
        }
        try {
            if (agent.alive()) {
                for (String name : corral(null, "ps", "-a", "-q").out().lines().toList()) {
                    corral(null, "rm", "-f", name);
                }
                assertThat(agent.stop()).as("corral serve's exit status after SIGTERM").isZero();
            }
        } finally {
            System.out.println("corral serve's log:\n" + Files.readString(agent.log));
            CgroupDriver.forLayout(dirs.layout, dirs.path).removeParentIfEmpty();
            TestImages.deleteTree(scratch);
            dirs.close(); // fails if a cgroup was left behind
        }
    }

    /** bin/corral with the given stdin (null: none), as a user runs it against this test's daemon. */
    static Result corral(String stdin, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(ServedAgent.CORRAL.toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().remove("CORRAL_TOKEN");
        pb.environment().put("CORRAL_HOST", agent.host());
        pb.environment().put("DOCKER_CONFIG", scratch.toString()); // not the machine's ~/.docker
        // output to files, not pipes read to their end before waitFor: a hung CLI then fails at the deadline
        Path out = Files.createTempFile(scratch, "out", ".txt");
        Path err = Files.createTempFile(scratch, "err", ".txt");
        Path in = Files.createTempFile(scratch, "in", ".txt");
        Files.writeString(in, stdin == null ? "" : stdin);
        Process p = pb.redirectInput(in.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("corral " + List.of(args) + " did not finish in 120 s: " + Files.readString(err));
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        for (Path f : List.of(out, err, in)) {
            Files.delete(f);
        }
        return r;
    }

    /** The container as the API has it (polled this way rather than by a JVM per poll). */
    private static JsonNode api(String name) throws Exception {
        return new ObjectMapper().readTree(agent.call("GET", "/v1/containers/" + name, null).bodyText());
    }

    private static void awaitRestarts(String name, int count, String state, Duration timeout) throws Exception {
        await(() -> {
            JsonNode c = api(name);
            return c.path("restartCount").asInt(0) == count && c.path("state").asText().equals(state);
        }, timeout, name + " restarted " + count + " times and " + state);
    }

    /** A busybox image, as {@code podman save} of busybox would give, built here; /etc/release holds {@code release}. */
    private static Path busyboxImage(String file, String release) throws Exception {
        List<byte[]> layers = List.of(new TestImages.Layer().dir("bin").busybox("bin/busybox")
                .symlink("bin/sh", "busybox").symlink("bin/ps", "busybox").symlink("bin/sleep", "busybox")
                .symlink("bin/hostname", "busybox").symlink("bin/cat", "busybox").dir("etc")
                .file("etc/release", release + "\n").dir("dev").dir("proc").dir("sys").dir("tmp").tar());
        return TestImages.write(scratch, file, TestImages.dockerArchive(layers,
                TestImages.config(layers, List.of("sh"), List.of("PATH=/bin"), null), null));
    }

    @Test
    void pullFromARegistryThenRunAndExecIntoIt() throws Exception {
        assumeTrue(TestRegistry.available(), "docker-registry and skopeo are not installed");
        Path archive = busyboxImage("busybox.docker.tar", "one");
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            reg.push(archive, "docker-archive", "tour/busybox:1", null);
            String ref = reg.host() + "/tour/busybox:1";

            // sudo bin/corral pull 127.0.0.1:5000/busybox:1
            Result pull = corral(null, "pull", ref);
            assertThat(pull.code()).as(pull.toString()).isZero();
            assertThat(pull.out()).contains("Download complete").contains(ref);
            reg.kill(); // what follows runs from the store alone

            Result run = corral(null, "run", "-d", "--name", "web", "--memory", "256m", "--image", ref, "sleep",
                    "600");
            assertThat(run.code()).as(run.toString()).isZero();
            try {
                // sudo bin/corral exec web ps: in its pid namespace, where its command is PID 1
                Result ps = corral(null, "exec", "web", "ps");
                assertThat(ps.code()).as(ps.toString()).isZero();
                List<String> procs = ps.out().lines().skip(1).toList();
                assertThat(procs).as(ps.out()).hasSize(2);
                assertThat(procs.get(0)).matches("\\s*1 .*sleep 600");
                assertThat(procs.get(1)).contains("ps");
                // echo 'hostname; exit 4' | sudo bin/corral exec -i web sh: its uts namespace, the shell's status,
                // and its cgroup (what exec runs counts against the container's limits)
                Result sh = corral("hostname; cat /proc/self/cgroup; exit 4\n", "exec", "-i", "web", "sh");
                assertThat(sh.code()).as(sh.toString()).isEqualTo(4);
                assertThat(sh.out()).startsWith("web\n");
                String memoryLine = sh.out().lines().filter(l -> l.startsWith("0::") || l.contains(":memory:"))
                        .findFirst().orElseThrow();
                assertThat(memoryLine).as(sh.out()).endsWith("/web");
            } finally {
                Result rm = corral(null, "rm", "-f", "web");
                assertThat(rm.code()).as(rm.toString()).isZero();
            }
        }
    }

    @Test
    void runPullsAsPullSaysAndATaggedImageIsPushed() throws Exception {
        assumeTrue(TestRegistry.available(), "docker-registry and skopeo are not installed");
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            String ref = reg.host() + "/tour/release:1";
            reg.push(busyboxImage("one.docker.tar", "one"), "docker-archive", "tour/release:1", null);
            Result pull = corral(null, "pull", ref);
            assertThat(pull.code()).as(pull.toString()).isZero();
            // the registry's tag moves on; the store keeps what it pulled until asked to pull again
            reg.push(busyboxImage("two.docker.tar", "two"), "docker-archive", "tour/release:1", null);
            Result missing = corral(null, "run", "--rm", "--image", ref, "cat", "/etc/release");
            assertThat(missing.code()).as(missing.toString()).isZero();
            assertThat(missing.out()).isEqualTo("one\n");
            assertThat(missing.err()).doesNotContain("Pulling").doesNotContain("Download");
            Result always = corral(null, "run", "--rm", "--pull", "always", "--image", ref, "cat", "/etc/release");
            assertThat(always.code()).as(always.toString()).isZero();
            assertThat(always.out()).isEqualTo("two\n");
            assertThat(always.err()).contains("Download complete");

            // sudo bin/corral image tag busybox:1 127.0.0.1:5000/me/busybox:1 && sudo bin/corral push ...
            String mine = reg.host() + "/tour/mine:1";
            Result tag = corral(null, "image", "tag", ref, mine);
            assertThat(tag.code()).as(tag.toString()).isZero();
            Result push = corral(null, "push", mine);
            assertThat(push.code()).as(push.toString()).isZero();
            java.util.regex.Matcher digest = java.util.regex.Pattern.compile("digest: (sha256:[0-9a-f]{64})")
                    .matcher(push.out());
            assertThat(digest.find()).as(push.out()).isTrue();
            // the registry has it, as another tool sees it
            dev.corral.exporter.testing.Children.Finished seen = dev.corral.exporter.testing.Children.run(
                    new ProcessBuilder("skopeo", "inspect", "--tls-verify=false", "docker://" + mine)
                            .redirectErrorStream(true), Duration.ofSeconds(60));
            assertThat(seen.exitCode()).as(seen.output()).isZero();
            assertThat(seen.output()).contains("\"Digest\": \"" + digest.group(1) + "\"");

            // an image index: pull --platform takes the one asked for, without it this machine's
            reg.push(TestImages.write(scratch, "arm.docker.tar", TestImages.dockerArchive(List.of(TestImages.baseLayer()),
                    TestImages.config(List.of(TestImages.baseLayer()), List.of("sh"), List.of("PATH=/bin"), "/arm"),
                    null)), "docker-archive", "tour/release:arm", null);
            reg.putIndex("tour/release", "multi", List.of(
                    new TestRegistry.Entry(reg.manifestDigest("tour/release", "arm"), "linux", "arm64", "v8"),
                    new TestRegistry.Entry(reg.manifestDigest("tour/release", "1"), "linux", "amd64", null)));
            String multi = reg.host() + "/tour/release:multi";
            Result arm = corral(null, "pull", "--platform", "linux/arm64", multi);
            assertThat(arm.code()).as(arm.toString()).isZero();
            assertThat(corral(null, "image", "inspect", multi).out()).contains("\"/arm\"");
            Result amd = corral(null, "pull", multi);
            assertThat(amd.code()).as(amd.toString()).isZero();
            assertThat(corral(null, "image", "inspect", multi).out()).doesNotContain("\"/arm\"");
            Result rm = corral(null, "image", "rm", ref, mine, multi);
            assertThat(rm.code()).as(rm.toString()).isZero();
            assertThat(corral(null, "images").out()).doesNotContain("tour/release").doesNotContain("tour/mine");
        }
    }

    @Test
    void aRegistryWithItsOwnCaNeedsServeRegistryCa() throws Exception {
        assumeTrue(TestRegistry.available(), "docker-registry and skopeo are not installed");
        try (TestRegistry reg = TestRegistry.startTls()) {
            String ref = reg.host() + "/tour/tls:1";
            reg.push(busyboxImage("tls.docker.tar", "tls"), "docker-archive", "tour/tls:1", null);
            Result untrusted = corral(null, "pull", ref);
            assertThat(untrusted.code()).as(untrusted.toString()).isEqualTo(1);
            assertThat(untrusted.err()).contains("--registry-ca").hasLineCount(1);
            assertThat(corral(null, "images").out()).doesNotContain("tour/tls");

            assertThat(agent.stop()).isZero();
            agent.startAgain("--default-network", "none", "--registry-ca", reg.dir.resolve("ca.pem").toString());
            Result pull = corral(null, "pull", ref);
            assertThat(pull.code()).as(pull.toString()).isZero();
            Result run = corral(null, "run", "--rm", "--image", ref, "cat", "/etc/release");
            assertThat(run.out()).as(run.toString()).isEqualTo("tls\n");
            assertThat(corral(null, "image", "rm", ref).code()).isZero();
        }
    }

    @Test
    void restartPoliciesCountInPsAndInspectAndAlwaysOutlivesTheDaemon() throws Exception {
        // sudo bin/corral run -d --rootfs host --name job --restart on-failure:3 sh -c 'exit 1'
        Result job = corral(null, "run", "-d", "--rootfs", "host", "--name", "job", "--restart", "on-failure:3", "sh",
                "-c", "echo run; exit 1");
        assertThat(job.code()).as(job.toString()).isZero();
        // an OOM kill is a failure: dd's 64 MiB buffer does not fit in 32m (no swap here or in the guest)
        Result hog = corral(null, "run", "-d", "--rootfs", "host", "--name", "hog", "--memory", "32m", "--restart",
                "on-failure:1", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1");
        assertThat(hog.code()).as(hog.toString()).isZero();
        // --restart always: a container that dies while the daemon is down runs again when it starts; one the user
        // stopped stays stopped
        assertThat(corral(null, "run", "-d", "--rootfs", "host", "--name", "keeper", "--restart", "always", "sleep",
                "600").code()).isZero();
        assertThat(corral(null, "run", "-d", "--rootfs", "host", "--name", "held", "--restart", "always", "sleep",
                "600").code()).isZero();
        assertThat(corral(null, "stop", "-t", "0", "held").code()).isZero();
        awaitRestarts("job", 3, "exited", Duration.ofSeconds(60));
        awaitRestarts("hog", 1, "exited", Duration.ofSeconds(120));

        long pid = api("keeper").path("initPid").asLong();
        assertThat(agent.stop()).as("corral serve's exit status after SIGTERM").isZero();
        assertThat(ProcessHandle.of(pid)).as("the container outlives its daemon").isPresent();
        ProcessHandle keeper = ProcessHandle.of(pid).orElseThrow();
        keeper.destroyForcibly(); // it dies while nobody watches
        keeper.onExit().get(10, TimeUnit.SECONDS);
        agent.startAgain();
        awaitRestarts("keeper", 1, "running", Duration.ofSeconds(60));
        Thread.sleep(1000); // job's next backoff was 800 ms, held's first 100 ms: a run too many would be here by now

        // One command for all four (each is a JVM start, slow in the v2 guest)
        Result seen = corral(null, "inspect", "-f", "{{.Name}} {{.State.Status}} {{.State.ExitCode}} "
                + "{{.State.OOMKilled}} {{.RestartCount}} {{.State.Pid}}", "job", "hog", "keeper", "held");
        assertThat(seen.code()).as(seen.toString()).isZero();
        List<String> lines = seen.out().lines().toList();
        assertThat(lines).as(seen.out()).hasSize(4);
        assertThat(lines.get(0)).isEqualTo("/job exited 1 false 3 0");
        assertThat(lines.get(1)).as("OOM-killed, restarted under on-failure").isEqualTo("/hog exited 137 true 1 0");
        assertThat(lines.get(2)).startsWith("/keeper running 0 false 1 ").doesNotEndWith(" " + pid);
        assertThat(lines.get(3)).as("a stop is never undone").startsWith("/held exited ").endsWith(" 0 0");
        assertThat(corral(null, "ps", "-a").out()).containsPattern("(?m)^.*Exited \\(1\\) .*\\(3 restarts\\).* job$")
                .containsPattern("(?m)^.*Up .*\\(1 restarts?\\).* keeper$");
        assertThat(corral(null, "logs", "job").out()).isEqualTo("run\n".repeat(4));
        Result rm = corral(null, "rm", "-f", "job", "hog", "keeper", "held");
        assertThat(rm.code()).as(rm.toString()).isZero();
    }
}
