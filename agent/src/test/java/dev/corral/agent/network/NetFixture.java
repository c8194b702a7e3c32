package dev.corral.agent.network;

import static dev.corral.exporter.testing.Await.awaitValue;
import java.time.Duration;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.testing.TestParent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A runtime with bridge networking on a bridge and subnet of its own (cn + random hex, a random 10.x.y.0/24), and a
 * busybox rootfs (httpd, wget, ip). {@link #close()} removes the containers, then checks that nothing of the network
 * is left on the bridge, and removes the bridge and the nftables table.
 */
final class NetFixture implements AutoCloseable {

    final TestParent dirs;
    final NetworkOptions options;
    final Path rootfs;
    ContainerRuntime runtime;

    NetFixture() throws Exception {
        this(24);
    }

    /** @param prefix the subnet's prefix length, 22 to 24 (a /22 holds 1022 containers' addresses) */
    NetFixture(int prefix) throws Exception {
        dirs = new TestParent("corral-net-test");
        String bridge = "cn" + UUID.randomUUID().toString().substring(0, 8);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int third = r.nextInt(0, 256) & (0xff << (24 - prefix)) & 0xff;
        String subnet = "10." + r.nextInt(180, 220) + "." + third + ".0/" + prefix;
        options = new NetworkOptions(bridge, subnet, "bridge");
        rootfs = Files.createTempDirectory("corral-net-rootfs");
        for (String d : List.of("bin", "etc", "www", "tmp", "proc", "dev", "sys")) {
            Files.createDirectories(rootfs.resolve(d));
        }
        Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
        for (String a : List.of("sh", "httpd", "wget", "ip", "cat", "sleep", "hostname", "nc", "ping", "true",
                "timeout", "seq", "grep")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(a), Path.of("busybox"));
        }
        Files.writeString(rootfs.resolve("www/index.html"), "hello from corral\n");
        runtime = open();
    }

    ContainerRuntime open() throws Exception {
        return ContainerRuntime.open(dirs.stateDir, CgroupDriver.forLayout(dirs.layout, dirs.path),
                List.of(dirs.stateDir), false, options);
    }

    /** An agent that died: stops watching without touching containers, then a new one opens the same state. */
    ContainerRuntime restart() throws Exception {
        runtime.close();
        runtime = open();
        return runtime;
    }

    /** A spec on the busybox rootfs; json with ' for ". */
    ContainerSpec spec(String json) throws Exception {
        String withRoot = json.replace('\'', '"').replaceFirst("\\{", "{\"rootfs\":\"" + rootfs + "\",");
        return SpecParser.parse(withRoot.getBytes());
    }

    ContainerRecord runToExit(String json) throws Exception {
        ContainerRecord r = runtime.run(spec(json));
        return runtime.waitFor(r.name()).get(60, TimeUnit.SECONDS);
    }

    String stdout(String name) throws IOException {
        Path log = runtime.logDir(name).resolve("stdout.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    String stderr(String name) throws IOException {
        Path log = runtime.logDir(name).resolve("stderr.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** The host ends on the networks' bridges (none once every container is removed). */
    List<String> bridgePorts() throws IOException {
        List<String> out = new ArrayList<>();
        for (Network n : runtime.networks().list()) {
            if (Bridge.exists(n.bridge())) {
                out.addAll(Bridge.portsOf(n.bridge()));
            }
        }
        return out;
    }

    /**
     * The host ends left on the bridges once the kernel has finished with the removed containers' netns: it removes
     * their pairs asynchronously, in its netns cleanup work (milliseconds on a quiet host, seconds on a loaded one or
     * in the emulated v2 guest): polled for up to 30 s until none is left.
     */
    List<String> bridgePortsSettled() throws Exception {
        try {
            return awaitValue(this::bridgePorts, List::isEmpty, Duration.ofSeconds(30), "the bridges' ports to go");
        } catch (AssertionError stillThere) {
            return bridgePorts(); // the caller asserts on what is left, naming it
        }
    }

    /**
     * The DNAT of published ports in the agent's table: the elements of its published-port maps (host . port :
     * container address . port), and any DNAT rule other than the two that look those maps up.
     */
    List<String> dnatRules() throws IOException {
        List<String> out = new ArrayList<>();
        try {
            for (String line : HostCommands.run("nft", "list", "table", "inet", options.table()).split("\n")) {
                String l = line.strip().replaceFirst("^elements = \\{", "").replaceFirst("[,}]$", "").strip();
                if (l.contains(" : ") && !l.startsWith("type ")
                        || l.contains("dnat") && !l.matches(".*dnat ip to .* map @published_(ip|any)")) {
                    out.add(l);
                }
            }
        } catch (IOException e) {
            // no table: no rules
        }
        return out;
    }

    /** GET from the host (to 127.0.0.1 or a test container's address), retried for up to 10 s while it starts. */
    static String fetch(String url) throws Exception {
        return awaitValue(() -> {
            try {
                java.net.HttpURLConnection c = (java.net.HttpURLConnection) new java.net.URL(url).openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(2000);
                try (java.io.InputStream in = c.getInputStream()) {
                    return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                return null; // not serving yet
            }
        }, java.util.Objects::nonNull, Duration.ofSeconds(10), "a page from " + url);
    }

    static String sh(String... argv) throws IOException {
        return HostCommands.run(argv);
    }

    @Override
    public void close() throws Exception {
        List<String> left = new ArrayList<>();
        try {
            TestParent.removeContainers(runtime);
            left.addAll(bridgePortsSettled());
            left.addAll(dnatRules());
        } finally {
            runtime.close();
            try {
                runtime.networks().removeAll();
            } finally {
                dev.corral.agent.image.Trees.delete(rootfs);
                dirs.close();
            }
        }
        if (!left.isEmpty()) {
            throw new AssertionError("left after removing every container: " + left);
        }
    }
}
