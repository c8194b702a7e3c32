package dev.corral.dashboards;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

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
        Process p = new ProcessBuilder(argv).directory(workDir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("promtool " + List.of(args) + " did not finish in 60 s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
