package dev.corral.agent.client;

import static dev.corral.exporter.testing.Await.awaitValue;
import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.image.Trees;
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
 * The everyday docker commands and flags (--env-file, --entrypoint, create/start, version, ps columns, inspect -f,
 * container prune) through the CLI against a real agent running real containers.
 */
@Tag("root")
class DockerCommandsCliTest {

    private static ClientAgentFixture fx;
    private static Path files;

    @BeforeAll
    static void start() throws Exception {
        fx = new ClientAgentFixture();
        files = Files.createTempDirectory("corral-test-cli-docker");
        fx.importTwoLayerImage(files, "two:v1");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (fx != null) {
                fx.close();
            }
        } finally {
            Trees.delete(files);
        }
    }

    @BeforeEach
    void environment() {
        Cli.environment(Map.of("CORRAL_HOST", fx.host(), "FROM_CLIENT", "client-value"));
    }

    @AfterEach
    void realEnvironment() {
        Cli.realEnvironment();
    }

    @Test
    void envFileVariablesReachTheContainersProcess() throws Exception {
        Path env = Files.writeString(files.resolve("app.env"), "# settings\nGREETING=hello world\nFROM_CLIENT\n"
                + "UNSET_HERE\nLEVEL=1\n");
        Cli.Result r = Cli.run("run", HOST_FLAG, "--rm", "--env-file", env.toString(), "-e", "LEVEL=2", "sh", "-c",
                "echo \"$GREETING|$FROM_CLIENT|${UNSET_HERE-unset}|$LEVEL\"");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("hello world|client-value|unset|2\n");
    }

    @Test
    void entrypointReplacesTheImagesEntrypointAndDropsItsCmd() {
        Cli.Result r = Cli.run("run", "--rm", "--image", "two:v1", "--entrypoint", "/bin/busybox", "echo", "via-ep");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("via-ep\n");
        // Alone, as docker: the image's cmd (sh -c 'echo default-cmd') is not appended; busybox prints its usage.
        Cli.Result alone = Cli.run("run", "--rm", "--image", "two:v1", "--entrypoint", "/bin/busybox");
        assertThat(alone.code()).as(alone.toString()).isZero();
        assertThat(alone.out()).startsWith("BusyBox").doesNotContain("default-cmd");
        Cli.Result missing = Cli.run("run", "--rm", "--image", "two:v1", "--entrypoint", "/no/such", "x");
        assertThat(missing.code()).as("not found, as docker: " + missing).isEqualTo(127);
    }

    @Test
    void createMakesAContainerThatOnlyStartRuns() throws Exception {
        Path marker = Files.createDirectories(Path.of("/var/tmp")).resolve("corral-cli-create-" + ProcessHandle
                .current().pid());
        Files.deleteIfExists(marker);
        try {
            assertThat(Cli.ok("create", HOST_FLAG, "--name", "made", "-v", "/var/tmp:/var/tmp:rw", "sh", "-c",
                    "echo ran > " + marker).out()).isEqualTo("made\n");
            assertThat(Cli.ok("ps", "-a", "--format", "json").out()).contains("\"state\":\"created\"");
            Thread.sleep(300);
            assertThat(marker).as("create does not run it").doesNotExist();
            assertThat(Cli.ok("start", "made").out()).isEqualTo("made\n");
            assertThat(Cli.ok("wait", "made").out()).isEqualTo("0\n");
            assertThat(Files.readString(marker)).isEqualTo("ran\n");
            Cli.Result taken = Cli.run("create", HOST_FLAG, "--name", "made", "true");
            assertThat(taken.code()).as("the daemon's refusal, as docker create: " + taken).isEqualTo(125);
            assertThat(taken.errLines()).singleElement().asString().startsWith("corral: ");
            Cli.Result bad = Cli.run("create", HOST_FLAG, "--memory", "lots", "true");
            assertThat(bad.code()).isEqualTo(125);
            assertThat(bad.errLines()).singleElement().asString().contains("--memory");
        } finally {
            Cli.run("rm", "-f", "made");
            Files.deleteIfExists(marker);
        }
    }

    @Test
    void versionShowsClientAndDaemonAndTheClientAloneWhenTheDaemonIsDown() throws Exception {
        Cli.Result r = Cli.run("version");
        assertThat(r.code()).as(r.toString()).isZero();
        String kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        assertThat(r.out()).matches("(?s)Client:\n Version: +\\S+\n API version: +v1\n Java version: +"
                + System.getProperty("java.version").replace(".", "\\.") + "\n OS/Arch: +linux/amd64\n\n"
                + "Server:\n Version: +\\S+\n API version: +v1\n Java version: +\\S+\n OS/Arch: +linux/amd64\n"
                + " Kernel Version: +" + kernel.replace(".", "\\.").replace("+", "\\+") + "\n");
        assertThat(Cli.ok("version", "--format", "json").out()).contains("\"server\":{\"version\":")
                .contains("\"apiVersion\":\"v1\"").contains("\"kernel\":\"" + kernel + "\"");
        Cli.environment(Map.of("CORRAL_HOST", "unix:///nonexistent/corral-cli-test.sock"));
        Cli.Result down = Cli.run("version");
        assertThat(down.code()).as("as docker version: " + down).isEqualTo(1);
        assertThat(down.out()).startsWith("Client:\n").doesNotContain("Server:");
        assertThat(down.errLines()).singleElement().asString().startsWith("corral: ");
    }

    @Test
    void inspectFormatPrintsTheStateOfTheRealContainer() throws Exception {
        try {
            Cli.ok("run", HOST_FLAG, "-d", "--name", "fmt", "--label", "tier=web", "sleep", "60");
            String[] running = Cli.ok("inspect", "-f", "{{.State.Status}} {{.State.Pid}} {{index .Config.Labels "
                    + "\"tier\"}}", "fmt").out().strip().split(" ");
            assertThat(running[0]).isEqualTo("running");
            assertThat(Files.readString(Path.of("/proc", running[1], "comm")).strip()).as("the container's process")
                    .isEqualTo("sleep");
            assertThat(running[2]).isEqualTo("web");
            Cli.ok("stop", "-t", "0", "fmt");
            assertThat(Cli.ok("inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}", "fmt").out())
                    .isEqualTo("exited false 137\n");
            Cli.Result bad = Cli.run("inspect", "-f", "{{.State.Status", "fmt");
            assertThat(bad.code()).as(bad.toString()).isEqualTo(2);
            assertThat(bad.errLines()).containsExactly("corral: --format: template parsing error: unclosed action: "
                    + "'{{.State.Status'");
            Cli.Result missing = Cli.run("inspect", "-f", "{{.Name}}", "fmt", "nosuch");
            assertThat(missing.code()).as("as docker: the found one printed, exit 1").isEqualTo(1);
            assertThat(missing.out()).isEqualTo("/fmt\n");
        } finally {
            Cli.run("rm", "-f", "fmt");
        }
    }

    @Test
    void containerPruneRemovesStoppedContainersAndCountsTheirBytes() throws Exception {
        try {
            Cli.ok("run", HOST_FLAG, "--name", "pr-exited", "sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x");
            Cli.ok("create", HOST_FLAG, "--name", "pr-created", "true");
            Cli.ok("run", HOST_FLAG, "-d", "--name", "pr-running", "sleep", "60");
            String exitedId = inspectId("pr-exited");
            String createdId = inspectId("pr-created");
            Cli.Result r = Cli.run("container", "prune", "-f");
            assertThat(r.code()).as(r.toString()).isZero();
            java.util.List<String> lines = r.out().lines().toList();
            assertThat(lines.get(0)).isEqualTo("Deleted Containers:");
            assertThat(lines.subList(1, 3)).containsExactlyInAnyOrder(exitedId, createdId);
            assertThat(lines.get(3)).isEmpty();
            // the exited one's log alone holds 20000 bytes
            assertThat(lines.get(4)).matches("Total reclaimed space: (2[0-9]|[3-9][0-9])\\.?[0-9]*kB");
            assertThat(Cli.ok("ps", "-a", "-q").out()).isEqualTo("pr-running\n");
            assertThat(Cli.ok("container", "prune", "-f").out()).isEqualTo("Total reclaimed space: 0B\n");
        } finally {
            Cli.run("rm", "-f", "pr-exited", "pr-created", "pr-running");
        }
    }

    @Test
    void topListsTheProcessesOfTheContainersCgroupOnly() throws Exception {
        try {
            Cli.ok("run", HOST_FLAG, "-d", "--name", "tp", "sh", "-c", "sleep 100 & sleep 101 & wait");
            Cli.Result r = awaitValue(() -> Cli.run("top", "tp"), t -> t.out().contains("sleep 101"),
                    Duration.ofSeconds(20), "top to list sleep 101, which the shell forks after its start");
            assertThat(r.code()).as(r.toString()).isZero();
            java.util.List<String> lines = r.out().lines().toList();
            assertThat(lines.get(0)).matches("UID +PID +PPID +C +STIME +TTY +TIME +CMD");
            assertThat(lines).hasSize(4);
            assertThat(lines.subList(1, 4)).anyMatch(l -> l.endsWith(" sh -c sleep 100 & sleep 101 & wait"))
                    .anyMatch(l -> l.endsWith(" sleep 100")).anyMatch(l -> l.endsWith(" sleep 101"));
            for (String l : lines.subList(1, 4)) { // each PID is a real process in the container's cgroup
                String pid = l.split(" +")[1];
                assertThat(Files.readString(Path.of("/proc", pid, "cgroup"))).contains(fx.parent);
            }
            assertThat(r.out()).doesNotContain(" " + ProcessHandle.current().pid() + " ");
            Cli.Result custom = Cli.run("top", "tp", "-o", "pid,comm");
            assertThat(custom.out().lines().toList().get(0)).matches(" *PID +COMMAND");
            assertThat(custom.out().lines().skip(1).map(l -> l.strip().split(" +")[1])).containsExactlyInAnyOrder(
                    "sh", "sleep", "sleep");
            Cli.Result noPid = Cli.run("top", "tp", "-o", "comm");
            assertThat(noPid.code()).isEqualTo(1);
            assertThat(noPid.errLines()).singleElement().asString().contains("no PID column");
            Cli.ok("stop", "-t", "0", "tp");
            Cli.Result stopped = Cli.run("top", "tp");
            assertThat(stopped.code()).isEqualTo(1);
            assertThat(stopped.errLines()).containsExactly("corral: 'tp' is not running");
        } finally {
            Cli.run("rm", "-f", "tp");
        }
    }

    private static String inspectId(String name) {
        return Cli.ok("inspect", "-f", "{{.Id}}", name).out().strip();
    }
}
