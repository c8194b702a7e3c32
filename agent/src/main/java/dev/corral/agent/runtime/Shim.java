package dev.corral.agent.runtime;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The corral-shim binary (see docs/design.md): extracted from the jar into the state dir once per build. Launches
 * go through one long-lived {@code corral-shim spawner} process started with the runtime: spawning from the JVM
 * costs time in proportion to the descriptors it holds open (the exporter keeps thousands of cgroup files open:
 * 3,000 made a JVM spawn 6-10x slower here), while the spawner holds three.
 */
public final class Shim implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Shim.class);
    static final String RESOURCE = "/native/linux-x86_64/corral-shim";
    private static final Pattern STARTED = Pattern.compile("init=(\\d+) monitor=(\\d+)");

    /** Host pids of the container's init and of its monitor. */
    public record Launched(long initPid, long monitorPid) {
    }

    private final Path binary;
    private Process spawner;
    private OutputStream requests;
    private BufferedReader answers;

    private Shim(Path binary) {
        this.binary = binary;
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
        Shim shim = new Shim(target);
        shim.startSpawner();
        return shim;
    }

    private void startSpawner() throws IOException {
        spawner = new ProcessBuilder(binary.toString(), "spawner").redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        requests = spawner.getOutputStream();
        answers = new BufferedReader(new InputStreamReader(spawner.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Starts a container from its launch config; one launch at a time (each takes a few milliseconds). */
    public synchronized Launched launch(Path config) throws LaunchException, IOException {
        String answer;
        try {
            answer = ask(config);
        } catch (IOException e) {
            LOG.warn("corral-shim spawner died ({}); starting a new one", e.getMessage());
            close();
            startSpawner();
            answer = ask(config);
        }
        Matcher m = STARTED.matcher(answer);
        if (!answer.startsWith("OK ") || !m.find()) {
            throw new LaunchException(answer.startsWith("ERR ") ? answer.substring(4) : answer);
        }
        return new Launched(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
    }

    private String ask(Path config) throws IOException {
        if (config.toString().indexOf('\n') >= 0) {
            throw new IOException("a launch config path must not contain a newline: " + config);
        }
        requests.write((config + "\n").getBytes(StandardCharsets.UTF_8));
        requests.flush();
        String line = answers.readLine();
        if (line == null) {
            throw new IOException("the spawner exited");
        }
        return line;
    }

    /**
     * {@code corral-shim exec}: a new process in the running container whose launch config is {@code config} (see
     * agent/src/main/c/shim-exec.c). Spawned from the JVM, not the spawner: its stdio are the pipes the agent streams.
     *
     * @param options the shim's -e/-w/-u options, each flag followed by its value
     */
    public Process exec(Path config, long initPid, long monitorPid, List<String> options, List<String> command,
                        boolean stdin) throws IOException {
        List<String> argv = new ArrayList<>(List.of(binary.toString(), "exec", config.toString(),
                Long.toString(initPid), Long.toString(monitorPid)));
        argv.addAll(options);
        argv.add("--");
        argv.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(argv);
        if (!stdin) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        return pb.start();
    }

    /** {@code corral-shim cp MODE PATH}: the start of the command line (see shim-cp.c and {@link Copy}). */
    List<String> cpCommand(String mode, String path) {
        return new ArrayList<>(List.of(binary.toString(), "cp", mode, path));
    }

    /**
     * Whether this kernel loads the cgroup v2 device filter for these rules ({@code corral-shim devices-probe}):
     * empty if it does, else the shim's one-line reason.
     */
    public Optional<String> probeDeviceFilter(List<String> rules) throws IOException {
        List<String> argv = new ArrayList<>(List.of(binary.toString(), "devices-probe"));
        argv.addAll(rules);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            return p.waitFor() == 0 ? Optional.empty() : Optional.of(out.isEmpty() ? "exit " + p.exitValue() : out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while probing the device filter", e);
        }
    }

    /**
     * Stops the spawner; containers are unaffected: their monitors are its children but in sessions of their own,
     * and are reparented when it exits.
     */
    @Override
    public synchronized void close() {
        if (spawner != null) {
            try {
                requests.close(); // EOF: the spawner exits
            } catch (IOException e) {
                // it is gone already
            }
            spawner.destroy();
            spawner = null;
        }
    }
}
