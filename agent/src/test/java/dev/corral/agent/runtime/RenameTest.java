package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.ContainerException;
import dev.corral.agent.image.TestImages;
import dev.corral.agent.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * corral rename: an exited container keeps its id, logs and writable layer under the new name and runs again under
 * it; a running one keeps running under it (exec joins its renamed cgroup, its logs and exit are recorded under the
 * new name); a name in use and a paused container are refused with nothing changed; a rename the agent stopped in
 * the middle of is finished when it starts again.
 */
@Tag("root")
class RenameTest {

    private RuntimeFixture fx;
    private Path files;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture();
        files = Files.createTempDirectory("corral-test-rename");
        fx.runtime.images().importArchive(TestImages.write(files, "two.tar", TestImages.ociArchive(
                TestImages.twoLayers(), TestImages.twoLayerConfig(), null, true)), "two:v1");
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            fx.close();
        } finally {
            try (var s = Files.walk(files)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String spec(String name, String script) {
        return "{'name':'" + name + "','image':'two:v1','command':['/bin/busybox','sh','-c','" + script + "']}";
    }

    @Test
    void anExitedContainerRunsAgainUnderItsNewNameWithItsIdLogsAndFiles() throws Exception {
        List<ContainerEvent> events = new CopyOnWriteArrayList<>();
        fx.runtime.addListener(events::add);
        fx.runtime.run(RuntimeFixture.spec(spec("ren-a", "busybox cat /f 2>/dev/null; echo kept > /f; echo out")));
        ContainerRecord exited = fx.runtime.waitFor("ren-a").get(60, TimeUnit.SECONDS);
        assertThat(fx.cgroupDir("ren-a", "memory")).exists();

        ContainerRecord renamed = fx.runtime.rename("ren-a", "ren-b");
        assertThat(renamed.name()).isEqualTo("ren-b");
        assertThat(renamed.id()).as("the id stays, as Docker's").isEqualTo(exited.id());
        assertThatThrownBy(() -> fx.runtime.inspect("ren-a")).isInstanceOf(ContainerException.class)
                .extracting(e -> ((ContainerException) e).kind()).isEqualTo(ContainerException.Kind.NOT_FOUND);
        assertThat(fx.runtime.inspect("ren-b").state()).isEqualTo(ContainerState.EXITED);
        assertThat(fx.runtime.inspect("ren-b").spec().name()).isEqualTo("ren-b");
        assertThat(fx.stdout("ren-b")).isEqualTo("out\n");
        assertThat(fx.cgroupDir("ren-a", "memory")).as("the empty cgroup is gone").doesNotExist();
        assertThat(fx.runtime.images().containerDir("ren-a")).doesNotExist();
        assertThat(fx.runtime.images().containerDir("ren-b")).isDirectory();
        assertThat(events).anySatisfy(e -> {
            assertThat(e.type()).isEqualTo(ContainerEvent.Type.RENAME);
            assertThat(e.name()).isEqualTo("ren-b");
            assertThat(e.attributes()).containsEntry("oldName", "ren-a");
        });

        fx.runtime.start("ren-b");
        ContainerRecord again = fx.runtime.waitFor("ren-b").get(60, TimeUnit.SECONDS);
        assertThat(again.exitCode()).isZero();
        assertThat(fx.stdout("ren-b")).as("its writable layer came along").isEqualTo("out\nkept\nout\n");
        assertThat(again.cgroup()).endsWith("ren-b");
        assertThat(again.id()).isEqualTo(exited.id());

        // Survives an agent restart: the record names the new name, the id is the same.
        fx.restart();
        assertThat(fx.runtime.inspect("ren-b").id()).isEqualTo(exited.id());
    }

    @Test
    void aNameInUseOrARunningContainerIsRefusedWithNothingChanged() throws Exception {
        ContainerRecord one = fx.runtime.create(RuntimeFixture.spec(spec("ren-one", "true")));
        ContainerRecord two = fx.runtime.create(RuntimeFixture.spec(spec("ren-two", "true")));
        assertThatThrownBy(() -> fx.runtime.rename("ren-one", "ren-two")).isInstanceOf(ContainerException.class)
                .hasMessage("Conflict. The container name \"/ren-two\" is already in use by container \"" + two.id()
                        + "\". You have to remove (or rename) that container to be able to reuse that name.");
        assertThat(fx.runtime.inspect("ren-one").id()).isEqualTo(one.id());
        assertThat(fx.runtime.images().containerDir("ren-one")).isDirectory();
        assertThat(fx.cgroupDir("ren-one", "memory")).exists();
        assertThatThrownBy(() -> fx.runtime.rename("ren-one", "ren-one")).isInstanceOf(SpecException.class);
        assertThatThrownBy(() -> fx.runtime.rename("ren-one", "bad/name")).isInstanceOf(SpecException.class);

        fx.runtime.run(RuntimeFixture.spec(spec("ren-run", "sleep 30")));
        fx.runtime.pause("ren-run");
        assertThatThrownBy(() -> fx.runtime.rename("ren-run", "ren-walk")).isInstanceOf(ContainerException.class)
                .hasMessageContaining("(unpause it first)");
        assertThat(fx.runtime.inspect("ren-run").state()).isEqualTo(ContainerState.PAUSED);
        assertThat(fx.cgroupDir("ren-run", "memory")).exists();
        assertThat(fx.runtime.list()).extracting(ContainerRecord::name).doesNotContain("ren-walk");
    }

    @Test
    void aRenameInterruptedBetweenTheMoveAndTheRecordIsFinishedAtTheNextStart() throws Exception {
        ContainerRecord c = fx.runtime.create(RuntimeFixture.spec(spec("ren-crash", "true")));
        fx.runtime.close();
        // What a crash right after the directory's rename(2) leaves: the directory moved, its record and the image
        // root not yet.
        Path containers = fx.stateDir.resolve("containers");
        Files.move(containers.resolve("ren-crash"), containers.resolve("ren-done"));
        fx.runtime = fx.open();
        ContainerRecord done = fx.runtime.inspect("ren-done");
        assertThat(done.name()).isEqualTo("ren-done");
        assertThat(done.id()).isEqualTo(c.id());
        assertThat(fx.runtime.images().containerDir("ren-done")).as("not swept as an orphan").isDirectory();
        assertThat(fx.runtime.list()).extracting(ContainerRecord::name).contains("ren-done").doesNotContain("ren-crash");
        fx.runtime.start("ren-done");
        assertThat(fx.runtime.waitFor("ren-done").get(60, TimeUnit.SECONDS).exitCode()).isZero();
    }

    private static final String TICKS = "i=0; while true; do echo tick$i; i=$((i+1)); busybox sleep 0.1; done";

    /** The highest tick the container printed so far. */
    private int lastTick(String name) throws Exception {
        String[] lines = fx.stdout(name).trim().split("\n");
        return Integer.parseInt(lines[lines.length - 1].replace("tick", "").trim());
    }

    /**
     * An exec under {@code name} runs a marked sleep: it is found in the renamed cgroup's memory hierarchy, and its
     * /proc/PID/cgroup names the new cgroup in every hierarchy (the unified one too) and never the old name.
     */
    private void execJoinsTheRenamedCgroup(String name, String oldName) throws Exception {
        Process p = fx.runtime.exec(name, new Exec.Request(List.of("/bin/busybox", "sleep", "7.5"), List.of(), null,
                null, false));
        try {
            Path procs = fx.cgroupDir(name, "memory").resolve("cgroup.procs");
            long[] found = {-1};
            dev.corral.exporter.testing.Await.await(() -> {
                for (String pid : Files.readString(procs).trim().split("\n")) {
                    Path cmd = Path.of("/proc", pid.trim(), "cmdline");
                    if (Files.exists(cmd) && Files.readString(cmd).contains("7.5")) {
                        found[0] = Long.parseLong(pid.trim());
                        return true;
                    }
                }
                return false;
            }, java.time.Duration.ofSeconds(30), "the exec'd sleep in " + procs);
            String cgroups = Files.readString(Path.of("/proc", Long.toString(found[0]), "cgroup"));
            assertThat(cgroups).doesNotContain("/" + oldName + "\n");
            int checked = 0;
            for (String line : cgroups.split("\n")) {
                if (line.contains(":memory:") || line.startsWith("0::") || line.contains(":pids:")) {
                    assertThat(line).as("an exec under the new name is in its renamed cgroup").endsWith("/" + name);
                    checked++;
                }
            }
            assertThat(checked).as("memory and unified lines (v1: pids too) in " + cgroups).isGreaterThanOrEqualTo(
                    fx.layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2 ? 1 : 3);
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRunningContainerKeepsRunningUnderItsNewNameThroughExecLogsAnAgentRestartAndItsExit() throws Exception {
        ContainerRecord started = fx.runtime.run(RuntimeFixture.spec(spec("ren-live", TICKS)));
        fx.awaitStdout("ren-live", "tick2");
        List<ContainerEvent> events = new CopyOnWriteArrayList<>();
        fx.runtime.addListener(events::add);
        if (fx.layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2) { // no cgroup rename in the kernel
            assertThatThrownBy(() -> fx.runtime.rename("ren-live", "ren-moved")).isInstanceOf(ContainerException.class)
                    .hasMessageContaining("stop it first");
            assertThat(fx.runtime.inspect("ren-live").state()).isEqualTo(ContainerState.RUNNING);
            assertThat(fx.runtime.list()).extracting(ContainerRecord::name).doesNotContain("ren-moved");
            execJoinsTheRenamedCgroup("ren-live", "ren-moved");
            return;
        }

        ContainerRecord renamed = fx.runtime.rename("ren-live", "ren-moved");
        assertThat(renamed.state()).isEqualTo(ContainerState.RUNNING);
        assertThat(renamed.id()).isEqualTo(started.id());
        assertThat(renamed.initPid()).isEqualTo(started.initPid());
        assertThat(renamed.cgroup()).endsWith("/ren-moved");
        assertThatThrownBy(() -> fx.runtime.inspect("ren-live")).isInstanceOf(ContainerException.class);
        assertThat(fx.cgroupDir("ren-live", "memory")).doesNotExist();
        assertThat(Files.readString(fx.cgroupDir("ren-moved", "memory").resolve("cgroup.procs")))
                .as("the container's init moved with its cgroup").contains(Long.toString(started.initPid()));
        assertThat(Files.readString(Path.of("/proc", Long.toString(started.initPid()), "cgroup")))
                .contains("/ren-moved").doesNotContain("/ren-live");
        assertThat(events).anySatisfy(e -> assertThat(e.type()).isEqualTo(ContainerEvent.Type.RENAME));

        execJoinsTheRenamedCgroup("ren-moved", "ren-live");
        int tick = lastTick("ren-moved");
        fx.awaitStdout("ren-moved", "tick" + (tick + 3)); // its monitor writes the logs into the moved directory

        fx.restart();
        assertThat(fx.runtime.inspect("ren-moved").state()).isEqualTo(ContainerState.RUNNING);
        execJoinsTheRenamedCgroup("ren-moved", "ren-live");
        var exit = fx.runtime.waitFor("ren-moved");
        fx.runtime.kill("ren-moved", 9);
        ContainerRecord exited = exit.get(60, TimeUnit.SECONDS);
        assertThat(exited.exitCode()).as("the exit the monitor wrote into the moved directory").isEqualTo(137);
        assertThat(fx.runtime.inspect("ren-moved").state()).isEqualTo(ContainerState.EXITED);
        assertThat(fx.runtime.inspect("ren-moved").exitCode()).isEqualTo(137);
        assertThat(fx.runtime.list()).extracting(ContainerRecord::name).doesNotContain("ren-live");

        // The old name is free again.
        fx.runtime.run(RuntimeFixture.spec(spec("ren-live", "echo again")));
        assertThat(fx.runtime.waitFor("ren-live").get(60, TimeUnit.SECONDS).exitCode()).isZero();
        assertThat(fx.stdout("ren-live")).isEqualTo("again\n");
    }

    @Test
    void aRunningContainersRenameInterruptedAfterTheMoveIsFinishedAtTheNextStart() throws Exception {
        ContainerRecord started = fx.runtime.run(RuntimeFixture.spec(spec("ren-cut", TICKS)));
        fx.awaitStdout("ren-cut", "tick1");
        if (fx.layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2) { // refused before anything moves
            assertThatThrownBy(() -> fx.runtime.rename("ren-cut", "ren-healed")).isInstanceOf(ContainerException.class)
                    .hasMessageContaining("stop it first");
            assertThat(fx.stateDir.resolve("containers").resolve("ren-healed")).doesNotExist();
            return;
        }
        fx.runtime.close();
        // A crash right after the state directory's rename(2): cgroup, image root, launch config and record not yet.
        Path containers = fx.stateDir.resolve("containers");
        Files.move(containers.resolve("ren-cut"), containers.resolve("ren-healed"));
        fx.runtime = fx.open();
        ContainerRecord healed = fx.runtime.inspect("ren-healed");
        assertThat(healed.state()).isEqualTo(ContainerState.RUNNING);
        assertThat(healed.id()).isEqualTo(started.id());
        assertThat(fx.cgroupDir("ren-cut", "memory")).doesNotExist();
        assertThat(fx.runtime.images().containerDir("ren-healed")).isDirectory();
        execJoinsTheRenamedCgroup("ren-healed", "ren-cut");
        int tick = lastTick("ren-healed");
        fx.awaitStdout("ren-healed", "tick" + (tick + 2));
        var exit = fx.runtime.waitFor("ren-healed");
        fx.runtime.stop("ren-healed", RuntimeFixture.seconds(1));
        assertThat(exit.get(60, TimeUnit.SECONDS).exitCode()).isIn(137, 143);
    }

    @Test
    void aRunningContainersOpenStdinFollowsItsNewName() throws Exception {
        if (fx.layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2) {
            return; // refused there (see above)
        }
        fx.runtime.run(RuntimeFixture.spec("{'name':'ren-in','image':'two:v1','openStdin':true,'stdinOnce':true,"
                + "'command':['/bin/busybox','sh','-c','echo ready; read x; echo got$x; exit 4']}"));
        fx.awaitStdout("ren-in", "ready");
        fx.runtime.rename("ren-in", "ren-in2");
        Path socket = fx.runtime.stdinSocket("ren-in2");
        var exit = fx.runtime.waitFor("ren-in2");
        try (var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
            ch.write(java.nio.ByteBuffer.wrap("hello\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        assertThat(exit.get(60, TimeUnit.SECONDS).exitCode()).isEqualTo(4);
        assertThat(fx.stdout("ren-in2")).isEqualTo("ready\ngothello\n");
        assertThat(socket).as("the monitor removed its socket from the moved directory").doesNotExist();
    }

    @Test
    void aRunningContainersRenameThatFailsHalfwayIsUndoneEntirely() throws Exception {
        if (fx.layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2) {
            return; // refused before anything moves there (see above)
        }
        ContainerRecord started = fx.runtime.run(RuntimeFixture.spec(spec("ren-stay", TICKS)));
        fx.awaitStdout("ren-stay", "tick1");
        Path launchConf = fx.stateDir.resolve("containers").resolve("ren-stay").resolve("launch.conf");
        byte[] conf = Files.readAllBytes(launchConf);
        // A stale cgroup of the new name in one hierarchy: the rename(2) there fails after the state directory, the
        // image root and the hierarchies before it moved.
        Path stale = fx.cgroupDir("ren-gone", "pids");
        Files.createDirectory(stale);
        try {
            assertThatThrownBy(() -> fx.runtime.rename("ren-stay", "ren-gone")).isInstanceOf(ContainerException.class)
                    .hasMessageContaining("cannot rename 'ren-stay'");
        } finally {
            Files.delete(stale);
        }
        assertThat(fx.runtime.inspect("ren-stay").state()).isEqualTo(ContainerState.RUNNING);
        assertThat(fx.runtime.list()).extracting(ContainerRecord::name).doesNotContain("ren-gone");
        assertThat(Files.readAllBytes(launchConf)).as("the launch config as it was").isEqualTo(conf);
        assertThat(fx.runtime.images().containerDir("ren-stay")).isDirectory();
        assertThat(fx.runtime.images().containerDir("ren-gone")).doesNotExist();
        for (String controller : List.of("memory", "pids", "cpu", "freezer")) {
            assertThat(fx.cgroupDir("ren-gone", controller)).doesNotExist();
            assertThat(fx.cgroupDir("ren-stay", controller)).isDirectory();
        }
        assertThat(Files.readString(Path.of("/proc", Long.toString(started.initPid()), "cgroup")))
                .doesNotContain("ren-gone");
        execJoinsTheRenamedCgroup("ren-stay", "ren-gone");
        int tick = lastTick("ren-stay");
        fx.awaitStdout("ren-stay", "tick" + (tick + 2));
        var exit = fx.runtime.waitFor("ren-stay");
        fx.runtime.kill("ren-stay", 9);
        assertThat(exit.get(60, TimeUnit.SECONDS).exitCode()).isEqualTo(137);
    }
}
