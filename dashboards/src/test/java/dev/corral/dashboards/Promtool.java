package dev.corral.dashboards;

import dev.corral.exporter.testing.Children;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Runs Debian's promtool (package prometheus, which .ci/run installs); a missing binary fails the test. */
final class Promtool {

    static final Path BINARY = Path.of("/usr/bin/promtool");

    record Result(int exitCode, String output) {
    }

    private Promtool() {
    }

    static Result run(Path workDir, String... args) throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new AssertionError(BINARY + " is missing: install Debian's prometheus package (.ci/run does)");
        }
        List<String> argv = new ArrayList<>(List.of(BINARY.toString()));
        argv.addAll(List.of(args));
        Children.Finished done = Children.run(
                new ProcessBuilder(argv).directory(workDir.toFile()).redirectErrorStream(true), Duration.ofSeconds(60));
        return new Result(done.exitCode(), done.output());
    }
}
