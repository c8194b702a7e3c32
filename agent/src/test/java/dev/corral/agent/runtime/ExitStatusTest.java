package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor's exit.json, including what a machine crash can leave of it (renamed before its fsync). */
class ExitStatusTest {

    @TempDir
    Path dir;

    @Test
    void aWholeFileGivesTheStatus() throws Exception {
        Path f = Files.writeString(dir.resolve("exit.json"), "{\"exitCode\":137,\"signal\":9,\"finishedAtMillis\":42}\n");
        assertThat(ExitStatus.read(f)).contains(new ExitStatus(137, 9, 42));
    }

    @Test
    void noFileAnEmptyOneOrATornOneIsUnknown() throws Exception {
        assertThat(ExitStatus.read(dir.resolve("exit.json"))).isEmpty();
        assertThat(ExitStatus.read(Files.writeString(dir.resolve("empty.json"), ""))).isEmpty();
        assertThat(ExitStatus.read(Files.writeString(dir.resolve("torn.json"), "{\"exitCode\":1"))).isEmpty();
        assertThat(ExitStatus.read(Files.writeString(dir.resolve("zeros.json"), "\0\0\0\0"))).isEmpty();
    }
}
