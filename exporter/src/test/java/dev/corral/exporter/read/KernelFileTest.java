package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads through libcorral-read (where it loads) and, in a child JVM, through FileChannel. */
@Tag("unit")
class KernelFileTest {

    @TempDir
    Path tmp;

    @Test
    void theNativeLibraryLoadsWhereTheBuildHadACompiler() {
        boolean packaged = NativeReads.class.getResource(NativeReads.RESOURCE) != null;
        if ("true".equals(System.getenv("CI"))) {
            assertThat(packaged).as("CI builds libcorral-read (.ci/run installs gcc)").isTrue();
        }
        assertThat(NativeReads.available()).isEqualTo(packaged);
    }

    @Test
    void readsTheWholeFileGrowingTheBuffer() throws IOException {
        byte[] content = new byte[40_000];
        new Random(7).nextBytes(content);
        Path file = Files.write(tmp.resolve("big"), content);
        ReadBuffer buf = new ReadBuffer(4096);
        try (KernelFile kept = KernelFile.openIfPresent(file)) {
            kept.readInto(buf);
            assertThat(java.util.Arrays.copyOf(buf.bytes(), buf.length())).isEqualTo(content);
            Files.write(file, "short\n".getBytes(StandardCharsets.US_ASCII));
            kept.readInto(buf); // again at offset 0: the new content, not the rest of the old
            assertThat(buf.asString()).isEqualTo("short\n");
        }
        KernelFile.perRead(file).readInto(buf);
        assertThat(buf.asString()).isEqualTo("short\n");
    }

    @Test
    void readsAKernelFile() throws IOException {
        ReadBuffer buf = new ReadBuffer(16);
        try (KernelFile f = KernelFile.openIfPresent(Path.of("/proc/sys/kernel/ostype"))) {
            f.readInto(buf);
            f.readInto(buf);
        }
        assertThat(buf.asString()).isEqualTo("Linux\n");
    }

    @Test
    void anAbsentFileIsNullAndAFailedReadNamesTheFileAndTheError() throws IOException {
        assertThat(KernelFile.openIfPresent(tmp.resolve("absent"))).isNull();
        assertThat(KernelFile.perRead(tmp.resolve("absent"))).isNull();
        try (KernelFile dir = KernelFile.openIfPresent(tmp)) { // opening a directory works, reading it does not
            assertThatThrownBy(() -> dir.readInto(new ReadBuffer(64))).isInstanceOf(IOException.class)
                    .hasMessageContaining(tmp.toString()).hasMessageContaining("directory");
        }
    }

    @Test
    void aClosedFileNoLongerReadsAndClosingTwiceIsHarmless() throws IOException {
        Path file = Files.writeString(tmp.resolve("f"), "1\n");
        KernelFile f = KernelFile.openIfPresent(file);
        f.close();
        f.close();
        assertThatThrownBy(() -> f.readInto(new ReadBuffer(64))).hasMessageContaining("closed");
        assertThat(openDescriptorsTo(file)).isEmpty();
    }

    @Test
    void throughFileChannelWhenTheLibraryIsTurnedOff() throws Exception {
        Path file = Files.writeString(tmp.resolve("f"), "x".repeat(10_000));
        String classpath = System.getProperty("java.class.path");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-D" + NativeReads.DISABLE_PROPERTY + "=true", "-cp", classpath, KernelFileReadCheck.class.getName(),
                file.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(out).contains("native=false kept=10000 perRead=10000 absent=true");
    }

    private static List<Path> openDescriptorsTo(Path file) throws IOException {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).equals(file)) {
                        found.add(fd);
                    }
                } catch (IOException e) {
                    // closed meanwhile (the listing's own descriptor)
                }
            }
        }
        return found;
    }
}
