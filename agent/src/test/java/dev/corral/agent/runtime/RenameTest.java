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
 * it; a name in use and a running container are refused with nothing changed; a rename the agent stopped in the
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
        assertThatThrownBy(() -> fx.runtime.rename("ren-run", "ren-walk")).isInstanceOf(ContainerException.class)
                .hasMessageContaining("only a created or exited container can be renamed");
        assertThat(fx.runtime.inspect("ren-run").state()).isEqualTo(ContainerState.RUNNING);
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
}
