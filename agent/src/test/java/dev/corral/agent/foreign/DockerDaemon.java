package dev.corral.agent.foreign;

import static dev.corral.exporter.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.image.TestImages;
import dev.corral.exporter.testing.Children;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real, private dockerd (Debian's docker.io) for tests: its own socket, data-root, exec-root and pidfile under
 * a fresh /tmp directory, no bridge and no iptables rules (nothing of the host's network is touched), and a
 * busybox image loaded from an archive the test builds ({@code docker load}, no registry). {@link #close()}
 * removes its containers, stops it and deletes its directories. Without dockerd the test is skipped, or fails
 * with CI=true. {@link #start(String)} puts its containers on a bridge the caller made instead (public for the
 * dashboards' tests, through the agent's test-jar).
 */
public final class DockerDaemon implements AutoCloseable {

    public static final String IMAGE = "corral-test/busybox:foreign";

    final Path dir;
    public final Path socket;
    private final Process dockerd;
    private final boolean docker0Before = Files.exists(Path.of("/sys/class/net/docker0"));
    private final boolean dockerCgroupBefore = Files.exists(Path.of("/sys/fs/cgroup/memory/docker"));

    private DockerDaemon(Path dir, Process dockerd) {
        this.dir = dir;
        this.socket = dir.resolve("docker.sock");
        this.dockerd = dockerd;
    }

    public static DockerDaemon start() throws Exception {
        return start(null);
    }

    /**
     * With {@code bridge} (an existing Linux bridge with an address, made by the caller) its containers get an
     * {@code eth0} there, the bridge's address as gateway; with null no network ({@code --bridge=none}).
     */
    public static DockerDaemon start(String bridge) throws Exception {
        boolean present = Files.isExecutable(Path.of("/usr/sbin/dockerd"));
        if ("true".equals(System.getenv("CI"))) {
            assertThat(present).as("CI installs docker.io (.ci/run)").isTrue();
        }
        Assumptions.assumeTrue(present, "dockerd (docker.io) is not installed");
        // short: containerd's socket lives under the exec-root and a unix socket path has 108 bytes at most
        Path dir = Files.createDirectories(Path.of("/tmp/cf-" + UUID.randomUUID().toString().substring(0, 8)));
        Process p = new ProcessBuilder("/usr/sbin/dockerd", "--host", "unix://" + dir.resolve("docker.sock"),
                "--data-root", dir.resolve("data").toString(), "--exec-root", dir.resolve("x").toString(),
                "--pidfile", dir.resolve("dockerd.pid").toString(), "--iptables=false", "--bridge=" + (bridge == null ? "none" : bridge),
                "--ip-masq=false")
                .redirectErrorStream(true).redirectOutput(dir.resolve("dockerd.log").toFile()).start();
        DockerDaemon d = new DockerDaemon(dir, p);
        try {
            await(() -> {
                if (!p.isAlive()) {
                    throw new IOException("dockerd exited: " + Files.readString(dir.resolve("dockerd.log")));
                }
                return d.run(false, "version").exit == 0;
            }, Duration.ofSeconds(60), "dockerd to answer (its log: " + dir.resolve("dockerd.log") + ")");
            d.loadImage();
        } catch (Exception | AssertionError e) {
            d.close();
            throw e;
        }
        return d;
    }

    private void loadImage() throws Exception {
        byte[] layer = new TestImages.Layer().dir("bin").busybox("bin/busybox").symlink("bin/sh", "busybox")
                .symlink("bin/sleep", "busybox").dir("etc").dir("dev").dir("proc").dir("sys").dir("tmp").tar();
        byte[] config = TestImages.config(List.of(layer), List.of("sleep", "3600"), List.of("PATH=/bin"), "/");
        Path archive = TestImages.write(dir, "image.tar", TestImages.dockerArchive(List.of(layer), config, IMAGE));
        run("load", "-i", archive.toString());
    }

    record Result(int exit, String out) {
    }

    /** Runs the docker CLI against this daemon; fails the test when it fails. */
    public String run(String... args) throws Exception {
        Result r = run(true, args);
        return r.out().trim();
    }

    private Result run(boolean check, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("docker", "-H", "unix://" + socket));
        cmd.addAll(List.of(args));
        // output to a file, not a pipe read to its end before waitFor: a hung docker then fails at the deadline
        Children.Finished p = Children.run(new ProcessBuilder(cmd).redirectErrorStream(true), Duration.ofSeconds(120));
        if (check && p.exitCode() != 0) {
            throw new IOException("docker " + String.join(" ", args) + " failed (" + p.exitCode() + "): " + p.output());
        }
        return new Result(p.exitCode(), p.output());
    }

    @Override
    public void close() throws Exception {
        try {
            if (dockerd.isAlive()) {
                Result ids = run(false, "ps", "-aq");
                if (ids.exit() == 0 && !ids.out().isBlank()) {
                    List<String> rm = new ArrayList<>(List.of("rm", "-f"));
                    rm.addAll(List.of(ids.out().trim().split("\\s+")));
                    run(false, rm.toArray(String[]::new));
                }
            }
        } finally {
            dockerd.destroy(); // SIGTERM: dockerd stops its containerd and unmounts its layers
            if (!dockerd.waitFor(30, TimeUnit.SECONDS)) {
                dockerd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            if (!docker0Before && Files.exists(Path.of("/sys/class/net/docker0"))) { // --bridge=none makes none
                new ProcessBuilder("ip", "link", "del", "docker0").inheritIO().start().waitFor(10, TimeUnit.SECONDS);
            }
            if (!dockerCgroupBefore) { // dockerd's /docker parent, if this one made it (rmdir keeps a used one)
                try (var hierarchies = Files.list(Path.of("/sys/fs/cgroup"))) {
                    hierarchies.map(h -> h.resolve("docker")).filter(Files::isDirectory).forEach(d -> d.toFile().delete());
                }
            }
            new ProcessBuilder("rm", "-rf", "--one-file-system", dir.toString()).inheritIO().start()
                    .waitFor(60, TimeUnit.SECONDS);
        }
    }
}
