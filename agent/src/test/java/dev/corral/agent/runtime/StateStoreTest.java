package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("root")
class StateStoreTest {

    @TempDir
    Path state;

    private static ContainerRecord record(String name, ContainerState s) throws Exception {
        return new ContainerRecord(name, RuntimeFixture.spec("{'name':'" + name + "','command':['/bin/true']}"), s,
                "/x/" + name, 1, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    private static java.util.List<String> activeNames(StateStore store) {
        return store.active().stream().map(r -> r.name() + ":" + r.state().label()).sorted().toList();
    }

    @Test
    void theActiveRecordsFollowEveryWriteAndRemoval() throws Exception {
        StateStore store = new StateStore(state);
        store.saveTransient(record("a", ContainerState.CREATING));
        store.saveTransient(record("a", ContainerState.STARTING));
        store.save(record("b", ContainerState.QUEUED));
        store.save(record("c", ContainerState.EXITED));
        store.save(record("d", ContainerState.RUNNING));
        assertThat(activeNames(store)).containsExactly("a:starting", "b:queued", "d:running");

        store.save(record("d", ContainerState.EXITED));
        store.delete("b");
        assertThat(activeNames(store)).containsExactly("a:starting");
        assertThat(store.load("d").orElseThrow().state()).isEqualTo(ContainerState.EXITED);
        assertThat(store.load("b")).isEmpty();
    }

    @Test
    void aNewStoreFindsTheActiveRecordsOnDisk() throws Exception {
        StateStore first = new StateStore(state);
        first.save(record("run", ContainerState.RUNNING));
        first.save(record("wait", ContainerState.QUEUED));
        first.save(record("done", ContainerState.EXITED));
        assertThat(activeNames(new StateStore(state))).containsExactly("run:running", "wait:queued");
    }

    @Test
    void deleteRemovesRotatedLogsAndUnknownFilesAndTheRecordLast() throws Exception {
        StateStore store = new StateStore(state);
        store.save(record("x", ContainerState.RUNNING));
        Path dir = store.dir("x");
        Files.createDirectories(dir.resolve("logs"));
        for (String f : new String[] {"launch.conf", "exit.json", "logs/stdout.log", "logs/stdout.log.1",
                "logs/stderr.log", "left-by-hand"}) {
            Files.writeString(dir.resolve(f), "x");
        }
        Files.createDirectories(dir.resolve("sub/deeper"));
        store.delete("x");
        assertThat(dir).doesNotExist();
        assertThat(store.active()).isEmpty();
        assertThat(store.list()).isEmpty();
    }

    @Test
    void aRemovalThatFailsKeepsTheRecordActive() throws Exception {
        StateStore store = new StateStore(state);
        store.save(record("stuck", ContainerState.RUNNING));
        Path dir = store.dir("stuck");
        Path locked = Files.createDirectories(dir.resolve("locked"));
        Files.writeString(locked.resolve("f"), "x");
        Files.writeString(dir.resolve("launch.conf"), "x");
        // root ignores directory permissions: an immutable file makes the unlink fail for root too
        Process chattr = new ProcessBuilder("chattr", "+i", locked.resolve("f").toString()).inheritIO().start();
        assertThat(chattr.waitFor()).as("chattr +i").isZero();
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.delete("stuck"))
                    .isInstanceOf(java.io.IOException.class);
        } finally {
            new ProcessBuilder("chattr", "-i", locked.resolve("f").toString()).inheritIO().start().waitFor();
        }
        // the record goes last: it stays, on disk and among the active ones, to be removed again
        assertThat(dir.resolve("container.json")).exists();
        assertThat(dir.resolve("launch.conf")).doesNotExist();
        assertThat(store.active().stream().map(ContainerRecord::name).toList()).containsExactly("stuck");
    }
}
