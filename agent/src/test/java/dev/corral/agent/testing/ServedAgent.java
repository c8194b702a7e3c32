package dev.corral.agent.testing;

import static dev.corral.exporter.testing.Await.await;

import dev.corral.agent.client.HttpTransport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The packaged daemon started as a user starts it, {@code bin/corral serve}, on a test's state dir, socket and
 * cgroup parent (so the host's /var/lib/corral, /run/corral and /corral are left alone), its output appended to
 * {@code log}. It can be stopped (SIGTERM) and started again on the same state.
 */
public final class ServedAgent implements AutoCloseable {

    public static final Path CORRAL = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).resolve("bin/corral");

    public final Path state;
    public final String parent;
    public final Path log;
    private List<String> extra;
    private Process process;

    private ServedAgent(Path state, String parent, Path log, List<String> extra) {
        this.state = state;
        this.parent = parent;
        this.log = log;
        this.extra = extra;
    }

    /** Starts {@code bin/corral serve} and returns once it answers on its socket. */
    public static ServedAgent start(Path state, String parent, Path log, String... extraArgs) throws Exception {
        ServedAgent a = new ServedAgent(state, parent, log, List.of(extraArgs));
        a.startAgain();
        return a;
    }

    /** The CLI's CORRAL_HOST for this agent. */
    public String host() {
        return "unix://" + socket();
    }

    public Path socket() {
        return state.resolve("corral.sock");
    }

    /** One API call over the socket. */
    public HttpTransport.Response call(String method, String uri, String body) throws IOException {
        return HttpTransport.unix(socket()).request(method, uri, body == null ? null
                : body.getBytes(StandardCharsets.UTF_8), body == null ? null : "application/json");
    }

    /** Starts the daemon again on the same state with other extra serve arguments (e.g. registry settings). */
    public void startAgain(String... extraArgs) throws Exception {
        extra = List.of(extraArgs);
        startAgain();
    }

    /** (Re)starts the daemon on the same state and waits until it answers. */
    public void startAgain() throws Exception {
        List<String> argv = new ArrayList<>(List.of(CORRAL.toString(), "serve", "--listen", "127.0.0.1:0",
                "--state-dir", state.toString(), "--socket", socket().toString(), "--cgroup-parent", parent,
                "--cgroup-root", parent));
        argv.addAll(extra);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        process = p;
        await(() -> {
            if (!p.isAlive()) {
                throw new AssertionError("corral serve exited " + p.exitValue() + " (its log: " + log + ")");
            }
            try {
                return call("GET", "/v1/info", null).status() == 200;
            } catch (IOException e) {
                return false; // not listening yet
            }
        }, Duration.ofSeconds(90), "the agent to answer on its socket (its log: " + log + ")");
    }

    /** SIGTERM, as a service manager stops it; returns its exit status. */
    public int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        return process.exitValue();
    }

    /** SIGKILL, as a crash: nothing of the daemon's shutdown runs. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new AssertionError("corral serve did not die of SIGKILL in 10 s");
        }
    }

    public boolean alive() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() throws Exception {
        if (alive()) {
            stop();
        }
    }
}
