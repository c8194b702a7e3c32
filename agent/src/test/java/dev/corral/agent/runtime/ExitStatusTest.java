package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor's exit.json, including what a machine crash can leave of it (renamed before its fsync). */
@Tag("unit")
class ExitStatusTest {

    @TempDir
    Path dir;

    @Test
    void aWholeFileGivesTheStatus() throws Exception {
        Path f = Files.writeString(dir.resolve("exit.json"), "{\"exitCode\":137,\"signal\":9,\"finishedAtMillis\":42}\n");
        assertThat(ExitStatus.read(f)).contains(new ExitStatus(137, 9, 42));
    }

    /** The monitor's exact format is read without the JSON parser; other valid JSON still through it. */
    @Test
    void otherSpacingOrKeyOrderIsStillJson() throws Exception {
        Path f = Files.writeString(dir.resolve("exit.json"),
                "{ \"signal\": 0, \"finishedAtMillis\": 7,\n  \"exitCode\": 3 }");
        assertThat(ExitStatus.read(f)).contains(new ExitStatus(3, 0, 7));
        Path big = Files.writeString(dir.resolve("big.json"),
                "{\"exitCode\":2,\"signal\":0,\"finishedAtMillis\":1795958801781}\n");
        assertThat(ExitStatus.read(big)).contains(new ExitStatus(2, 0, 1795958801781L));
    }

    @Test
    void noFileAnEmptyOneOrATornOneIsUnknown() throws Exception {
        assertThat(ExitStatus.read(dir.resolve("exit.json"))).isEmpty();
        assertThat(ExitStatus.read(Files.writeString(dir.resolve("empty.json"), ""))).isEmpty();
        assertThat(ExitStatus.read(Files.writeString(dir.resolve("torn.json"), "{\"exitCode\":1"))).isEmpty();
        assertThat(ExitStatus.read(Files.writeString(dir.resolve("zeros.json"), "\0\0\0\0"))).isEmpty();
    }
}
