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
 * it; a running or paused one keeps running (or frozen) under it in the cgroup it was made with (its limits and
 * device filter stay, exec joins that cgroup, the metrics name it by its new name, its logs and exit are recorded
 * under the new name), on cgroup v1 and v2 alike (its running and paused cases run in the v2 guest); a new container of the old
 * name gets a cgroup of its own; a name in use is refused with nothing changed; a rename the agent stopped in the
 * middle of is finished when it starts again.
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

    /** The last part of the container's cgroup path: fixed when it was made, kept through renames. */
    private static String leaf(ContainerRecord r) {
        return r.cgroup().substring(r.cgroup().lastIndexOf('/') + 1);
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
        assertThat(renamed.cgroup()).as("the cgroup stays").isEqualTo(exited.cgroup());
        assertThatThrownBy(() -> fx.runtime.inspect("ren-a")).isInstanceOf(ContainerException.class)
                .extracting(e -> ((ContainerException) e).kind()).isEqualTo(ContainerException.Kind.NOT_FOUND);
        assertThat(fx.runtime.inspect("ren-b").state()).isEqualTo(ContainerState.EXITED);
        assertThat(fx.runtime.inspect("ren-b").spec().name()).isEqualTo("ren-b");
        assertThat(fx.stdout("ren-b")).isEqualTo("out\n");
        assertThat(fx.cgroupDir("ren-b", "memory")).as("no cgroup of the new name").doesNotExist();
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
        assertThat(again.cgroup()).endsWith("/ren-a");
        assertThat(again.id()).isEqualTo(exited.id());

        // Survives an agent restart: the record names the new name, the id is the same.
        fx.restart();
        assertThat(fx.runtime.inspect("ren-b").id()).isEqualTo(exited.id());
        assertThat(fx.runtime.nameOfCgroup(again.cgroup())).isEqualTo("ren-b");
        fx.runtime.remove("ren-b", false);
        assertThat(fx.cgroupDir("ren-a", "memory")).as("removed with its container").doesNotExist();
    }

    @Test
    @Tag("guest") // the v2 case: the kernel cannot rename a v2 cgroup (the other cases are layout-blind)
    void aNameInUseIsRefusedWithNothingChangedAndAPausedContainerStaysFrozenUnderItsNewName() throws Exception {
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

        fx.runtime.run(RuntimeFixture.spec(spec("ren-run", TICKS)));
        fx.awaitStdout("ren-run", "tick1");
        fx.runtime.pause("ren-run");
        int frozenAt = lastTick("ren-run");
        ContainerRecord walked = fx.runtime.rename("ren-run", "ren-walk");
        assertThat(walked.state()).isEqualTo(ContainerState.PAUSED);
        assertThat(fx.runtime.cgroupOf("ren-walk").frozen()).as("still frozen: nothing was moved").isTrue();
        Thread.sleep(600); // six ticks, were it running
        assertThat(lastTick("ren-walk")).as("it printed nothing while paused").isEqualTo(frozenAt);
        assertThat(fx.runtime.list()).extracting(ContainerRecord::name).contains("ren-walk").doesNotContain("ren-run");
        fx.runtime.resume("ren-walk");
        fx.awaitStdout("ren-walk", "tick" + (frozenAt + 2));
        assertThat(fx.runtime.cgroupOf("ren-walk").frozen()).isFalse();
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
     * An exec under {@code name} runs a marked sleep: it is found in the container's cgroup (leaf {@code leaf}, in
     * the memory hierarchy on v1), and its /proc/PID/cgroup names that cgroup in every hierarchy (the unified one
     * too).
     */
    private void execJoinsItsCgroup(String name, String leaf) throws Exception {
        Process p = fx.runtime.exec(name, new Exec.Request(List.of("/bin/busybox", "sleep", "7.5"), List.of(), null,
                null, false));
        try {
            Path procs = fx.cgroupDir(leaf, "memory").resolve("cgroup.procs");
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
            }, java.time.Duration.ofSeconds(60), "the exec'd sleep in " + procs);
            String cgroups = Files.readString(Path.of("/proc", Long.toString(found[0]), "cgroup"));
            int checked = 0;
            for (String line : cgroups.split("\n")) {
                if (line.contains(":memory:") || line.startsWith("0::") || line.contains(":pids:")) {
                    assertThat(line).as("an exec under %s is in its container's cgroup", name)
                            .endsWith(fx.parent + "/" + leaf);
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

    /** The memory limit and CFS quota on the cgroup with that leaf, read from the kernel's files. */
    private List<String> limitsOn(String leaf) throws Exception {
        boolean v2 = fx.layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2;
        return List.of(Files.readString(fx.cgroupDir(leaf, "memory").resolve(v2 ? "memory.max"
                        : "memory.limit_in_bytes")).strip(),
                Files.readString(fx.cgroupDir(leaf, "cpu").resolve(v2 ? "cpu.max" : "cpu.cfs_quota_us")).strip());
    }

    private List<String> expectedLimits(long memory, long quota) {
        boolean v2 = fx.layout.mode() == dev.corral.exporter.discovery.CgroupMode.V2;
        return List.of(Long.toString(memory), v2 ? quota + " 100000" : Long.toString(quota));
    }

    /**
     * An exec'd shell opens a block device node it made: refused by the device rules (v1's devices controller, v2's
     * BPF program on the cgroup directory) while /dev/null opens.
     */
    private void execMeetsTheDeviceFilter(String name) throws Exception {
        Path host = ContainerRuntimeTest.readableBlockDevice();
        String devNo = Files.readString(Path.of("/sys/class/block", host.getFileName().toString(), "dev")).strip();
        Process p = fx.runtime.exec(name, new Exec.Request(List.of("/bin/busybox", "sh", "-c", "busybox mknod "
                + "/dev/probed b " + devNo.replace(':', ' ') + "; busybox head -c 1 /dev/null && echo null-read; "
                + "busybox head -c 1 /dev/probed >/dev/null && echo disk-opened || echo disk-refused"), List.of(),
                null, null, false));
        try {
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as("the device filter applies to an exec in %s", name)
                    .isEqualTo("null-read\ndisk-refused\n");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    @Tag("guest") // the v2 case: the kernel cannot rename a v2 cgroup (the other cases are layout-blind)
    void aRunningContainerKeepsItsCgroupUnderItsNewNameThroughExecAnAgentRestartAndItsExit() throws Exception {
        ContainerRecord started = fx.runtime.run(RuntimeFixture.spec("{'name':'ren-live','image':'two:v1',"
                + "'limits':{'memory':{'max':'64m'},'cpu':{'cpus':0.5}},'command':['/bin/busybox','sh','-c','"
                + TICKS + "']}"));
        fx.awaitStdout("ren-live", "tick2");
        List<ContainerEvent> events = new CopyOnWriteArrayList<>();
        fx.runtime.addListener(events::add);

        ContainerRecord renamed = fx.runtime.rename("ren-live", "ren-moved");
        assertThat(renamed.state()).isEqualTo(ContainerState.RUNNING);
        assertThat(renamed.id()).isEqualTo(started.id());
        assertThat(renamed.initPid()).isEqualTo(started.initPid());
        assertThat(renamed.cgroup()).as("its cgroup stays").isEqualTo(started.cgroup()).endsWith("/ren-live");
        assertThatThrownBy(() -> fx.runtime.inspect("ren-live")).isInstanceOf(ContainerException.class);
        assertThat(fx.cgroupDir("ren-moved", "memory")).doesNotExist();
        assertThat(Files.readString(fx.cgroupDir("ren-live", "memory").resolve("cgroup.procs")))
                .as("the container's init is where it was").contains(Long.toString(started.initPid()));
        assertThat(limitsOn("ren-live")).as("its limits stay on its cgroup").isEqualTo(expectedLimits(64L << 20, 50000));
        assertThat(fx.runtime.nameOfCgroup(started.cgroup())).as("the metrics' name label").isEqualTo("ren-moved");
        assertThat(fx.runtime.nameOfCgroup(started.cgroup() + "/sub")).isEqualTo("ren-moved");
        assertThat(events).anySatisfy(e -> assertThat(e.type()).isEqualTo(ContainerEvent.Type.RENAME));
        execJoinsItsCgroup("ren-moved", "ren-live");
        execMeetsTheDeviceFilter("ren-moved");
        int tick = lastTick("ren-moved");
        fx.awaitStdout("ren-moved", "tick" + (tick + 3)); // its monitor writes the logs into the moved directory

        // The old name is free: a new container of it gets a cgroup of its own (its id: the leaf is the other's).
        ContainerRecord fresh = fx.runtime.run(RuntimeFixture.spec("{'name':'ren-live','image':'two:v1',"
                + "'limits':{'memory':{'max':'32m'},'cpu':{'cpus':0.25}},'command':['/bin/busybox','sh','-c','"
                + TICKS + "']}"));
        assertThat(fresh.cgroup()).isEqualTo(fx.parent + "/" + fresh.id());
        fx.awaitStdout("ren-live", "tick1");
        assertThat(limitsOn(fresh.id())).isEqualTo(expectedLimits(32L << 20, 25000));
        assertThat(limitsOn("ren-live")).isEqualTo(expectedLimits(64L << 20, 50000));
        assertThat(fx.runtime.nameOfCgroup(fresh.cgroup())).isEqualTo("ren-live");
        assertThat(fx.runtime.nameOfCgroup(started.cgroup())).isEqualTo("ren-moved");
        execJoinsItsCgroup("ren-live", fresh.id());
        execJoinsItsCgroup("ren-moved", "ren-live");

        // An agent started again finds both (the records name their cgroups).
        fx.restart();
        assertThat(fx.runtime.inspect("ren-moved").state()).isEqualTo(ContainerState.RUNNING);
        assertThat(fx.runtime.inspect("ren-live").state()).isEqualTo(ContainerState.RUNNING);
        assertThat(fx.runtime.nameOfCgroup(started.cgroup())).isEqualTo("ren-moved");
        assertThat(fx.runtime.nameOfCgroup(fresh.cgroup())).isEqualTo("ren-live");
        execJoinsItsCgroup("ren-moved", "ren-live");
        execJoinsItsCgroup("ren-live", fresh.id());
        var exit = fx.runtime.waitFor("ren-moved");
        fx.runtime.kill("ren-moved", 9);
        ContainerRecord exited = exit.get(60, TimeUnit.SECONDS);
        assertThat(exited.exitCode()).as("the exit the monitor wrote into the moved directory").isEqualTo(137);
        assertThat(fx.runtime.inspect("ren-moved").state()).isEqualTo(ContainerState.EXITED);
        assertThat(fx.runtime.inspect("ren-moved").exitCode()).isEqualTo(137);
        assertThat(fx.runtime.inspect("ren-live").state()).as("the other one is untouched")
                .isEqualTo(ContainerState.RUNNING);
        int freshTick = lastTick("ren-live");
        fx.awaitStdout("ren-live", "tick" + (freshTick + 2));

        fx.runtime.remove("ren-moved", false);
        assertThat(fx.cgroupDir("ren-live", "memory")).as("its cgroup went with it").doesNotExist();
        assertThat(fx.runtime.nameOfCgroup(started.cgroup())).isEmpty();
        assertThat(fx.cgroupDir(fresh.id(), "memory")).isDirectory();
        fx.runtime.remove("ren-live", true);
        assertThat(fx.cgroupDir(fresh.id(), "memory")).doesNotExist();
    }

    /**
     * A record that a machine crash left unreadable costs its cgroup (the name's leaf, or the id's), never the cgroup
     * of a container renamed from that name.
     */
    @Test
    void anUnreadableRecordOfTheOldNameLeavesTheRenamedContainersCgroupAlone() throws Exception {
        ContainerRecord started = fx.runtime.run(RuntimeFixture.spec(spec("ren-q", TICKS)));
        fx.awaitStdout("ren-q", "tick1");
        fx.runtime.rename("ren-q", "ren-r");
        ContainerRecord fresh = fx.runtime.create(RuntimeFixture.spec(spec("ren-q", "true")));
        assertThat(fx.cgroupDir(fresh.id(), "memory")).isDirectory();
        fx.runtime.close();
        Files.write(fx.stateDir.resolve("containers/ren-q/container.json"), new byte[0]);
        fx.runtime = fx.open();
        assertThatThrownBy(() -> fx.runtime.inspect("ren-q")).isInstanceOf(ContainerException.class);
        assertThat(fx.cgroupDir(fresh.id(), "memory")).as("the unreadable one's cgroup is removed").doesNotExist();
        assertThat(fx.runtime.inspect("ren-r").state()).isEqualTo(ContainerState.RUNNING);
        assertThat(Files.readString(fx.cgroupDir("ren-q", "memory").resolve("cgroup.procs")))
                .as("the renamed one's cgroup and processes stay").contains(Long.toString(started.initPid()));
        int tick = lastTick("ren-r");
        fx.awaitStdout("ren-r", "tick" + (tick + 2));
        assertThat(fx.runtime.nameOfCgroup(started.cgroup())).isEqualTo("ren-r");
    }

    @Test
    void aRunningContainersRenameInterruptedAfterTheMoveIsFinishedAtTheNextStart() throws Exception {
        ContainerRecord started = fx.runtime.run(RuntimeFixture.spec(spec("ren-cut", TICKS)));
        fx.awaitStdout("ren-cut", "tick1");
        fx.runtime.close();
        // A crash right after the state directory's rename(2): image root, launch config and record not yet.
        Path containers = fx.stateDir.resolve("containers");
        Files.move(containers.resolve("ren-cut"), containers.resolve("ren-healed"));
        fx.runtime = fx.open();
        ContainerRecord healed = fx.runtime.inspect("ren-healed");
        assertThat(healed.state()).isEqualTo(ContainerState.RUNNING);
        assertThat(healed.id()).isEqualTo(started.id());
        assertThat(healed.cgroup()).isEqualTo(started.cgroup());
        assertThat(fx.runtime.images().containerDir("ren-healed")).isDirectory();
        assertThat(fx.runtime.nameOfCgroup(started.cgroup())).isEqualTo("ren-healed");
        execJoinsItsCgroup("ren-healed", "ren-cut");
        int tick = lastTick("ren-healed");
        fx.awaitStdout("ren-healed", "tick" + (tick + 2));
        var exit = fx.runtime.waitFor("ren-healed");
        fx.runtime.stop("ren-healed", RuntimeFixture.seconds(1));
        assertThat(exit.get(60, TimeUnit.SECONDS).exitCode()).isIn(137, 143);
    }

    @Test
    void aRunningContainersOpenStdinFollowsItsNewName() throws Exception {
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
        ContainerRecord started = fx.runtime.run(RuntimeFixture.spec(spec("ren-stay", TICKS)));
        fx.awaitStdout("ren-stay", "tick1");
        Path dir = fx.stateDir.resolve("containers").resolve("ren-stay");
        byte[] conf = Files.readAllBytes(dir.resolve("launch.conf"));
        // The launch config's rewrite fails (its temporary file's name taken by a non-empty directory) after the
        // state directory and the image root moved.
        Path blocker = Files.createDirectories(dir.resolve("launch.conf.tmp"));
        Files.writeString(blocker.resolve("x"), "x");
        try {
            assertThatThrownBy(() -> fx.runtime.rename("ren-stay", "ren-gone")).isInstanceOf(ContainerException.class)
                    .hasMessageContaining("cannot rename 'ren-stay'");
        } finally {
            Files.delete(blocker.resolve("x"));
            Files.delete(blocker);
        }
        assertThat(fx.runtime.inspect("ren-stay").state()).isEqualTo(ContainerState.RUNNING);
        assertThat(fx.runtime.list()).extracting(ContainerRecord::name).doesNotContain("ren-gone");
        assertThat(Files.readAllBytes(dir.resolve("launch.conf"))).as("the launch config as it was").isEqualTo(conf);
        assertThat(fx.runtime.images().containerDir("ren-stay")).isDirectory();
        assertThat(fx.runtime.images().containerDir("ren-gone")).doesNotExist();
        assertThat(fx.runtime.nameOfCgroup(started.cgroup())).isEqualTo("ren-stay");
        execJoinsItsCgroup("ren-stay", "ren-stay");
        int tick = lastTick("ren-stay");
        fx.awaitStdout("ren-stay", "tick" + (tick + 2));
        var exit = fx.runtime.waitFor("ren-stay");
        fx.runtime.kill("ren-stay", 9);
        assertThat(exit.get(60, TimeUnit.SECONDS).exitCode()).isEqualTo(137);
    }
}
