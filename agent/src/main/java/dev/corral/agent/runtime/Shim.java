package dev.corral.agent.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The corral-shim binary (see docs/design.md): extracted from the jar into the state dir once per build, and
 * run once per container start.
 */
public final class Shim {

    static final String RESOURCE = "/native/linux-x86_64/corral-shim";
    private static final Pattern STARTED = Pattern.compile("init=(\\d+) monitor=(\\d+)");

    /** Host pids of the container's init and of its monitor. */
    public record Launched(long initPid, long monitorPid) {
    }

    private final Path binary;

    private Shim(Path binary) {
        this.binary = binary;
    }

    public Path binary() {
        return binary;
    }

    /** Extracts the packaged binary to {@code <stateDir>/bin/corral-shim-<hash>} unless it is there. */
    public static Shim install(Path stateDir) throws IOException {
        byte[] bytes;
        try (InputStream in = Shim.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException("this build of corral has no corral-shim: it was built without a C compiler; "
                        + "install gcc and rebuild (./mvnw package)");
            }
            bytes = in.readAllBytes();
        }
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path dir = stateDir.resolve("bin");
        Files.createDirectories(dir);
        Path target = dir.resolve("corral-shim-" + hash);
        if (!Files.isExecutable(target)) {
            Path tmp = Files.createTempFile(dir, "corral-shim", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        return new Shim(target);
    }

    /**
     * Starts a container from its launch config. The launcher's output goes to files next to the config: its
     * monitor lives on after it, and must not hold a pipe to this JVM open.
     */
    public Launched launch(Path config) throws LaunchException, IOException {
        Path out = config.resolveSibling("launch.out");
        Path err = config.resolveSibling("launch.err");
        Process p = new ProcessBuilder(binary.toString(), "run", config.toString())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new LaunchException("corral-shim did not report within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new LaunchException("interrupted while starting");
        }
        String stdout = Files.readString(out).strip();
        String stderr = Files.readString(err).strip();
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        Matcher m = STARTED.matcher(stdout);
        if (p.exitValue() != 0 || !m.find()) {
            String reason = stderr.isEmpty() ? "corral-shim exited " + p.exitValue() : stderr.lines().findFirst()
                    .orElse(stderr);
            throw new LaunchException(reason.startsWith("corral-shim: ") ? reason.substring(13) : reason);
        }
        return new Launched(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
    }
}
