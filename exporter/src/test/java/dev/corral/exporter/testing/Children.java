package dev.corral.exporter.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Runs a child process to completion with a deadline that can actually fire: its output goes to a file (not a pipe
 * read to EOF before waitFor, which blocks forever on a hung child), then waitFor(timeout), then destroyForcibly.
 */
public final class Children {

    /** What a finished child left: its exit code and its stdout (with stderr when the builder merges them). */
    public record Finished(int exitCode, String output) {
    }

    private Children() {
    }

    /**
     * Starts {@code pb} with stdout (or, when the builder already redirects stdout, stderr) sent to a temp file, waits at most
     * {@code timeout} and returns its exit code and output; a child still running then is killed and the test fails.
     */
    public static Finished run(ProcessBuilder pb, Duration timeout) throws IOException, InterruptedException {
        Path out = Files.createTempFile("corral-child", ".out");
        try {
            if (pb.redirectOutput() == ProcessBuilder.Redirect.PIPE) {
                pb.redirectOutput(out.toFile());
            } else if (pb.redirectError() == ProcessBuilder.Redirect.PIPE) {
                pb.redirectError(out.toFile()); // stdout is discarded or elsewhere: keep stderr
            }
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError(pb.command() + " did not finish in " + timeout + "; output so far:\n"
                        + new String(Files.readAllBytes(out), StandardCharsets.UTF_8));
            }
            return new Finished(p.exitValue(), new String(Files.readAllBytes(out), StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
