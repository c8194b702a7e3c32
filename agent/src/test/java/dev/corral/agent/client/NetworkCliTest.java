package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.image.Trees;
import dev.corral.agent.network.NetworkOptions;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.testing.TestParent;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.HostPaths;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/** corral network, run -p/--network, port and ps's PORTS against a real agent with a bridge of its own. */
@Tag("root")
class NetworkCliTest {

    @Test
    void networksPublishedPortsAndNamesFromTheCli() throws Exception {
        TestParent dirs = new TestParent("corral-test-netcli");
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        NetworkOptions net = new NetworkOptions("cn" + UUID.randomUUID().toString().substring(0, 8),
                "10." + rnd.nextInt(180, 220) + "." + rnd.nextInt(256) + ".0/24", "bridge");
        Path rootfs = Files.createTempDirectory("corral-netcli-rootfs");
        for (String d : List.of("bin", "etc", "www", "proc", "dev", "sys", "tmp")) {
            Files.createDirectories(rootfs.resolve(d));
        }
        Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
        for (String a : List.of("sh", "httpd", "wget")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(a), Path.of("busybox"));
        }
        Files.writeString(rootfs.resolve("www/index.html"), "hello\n");
        Agent agent = Agent.start(new AgentOptions("127.0.0.1", 0, new ExporterConfig(HostPaths.system(),
                List.of(dirs.path), Duration.ofMillis(500), Duration.ofMinutes(5), 1), new AgentOptions.RuntimeOptions(
                dirs.stateDir, dirs.path, dirs.stateDir.resolve("corral.sock"), dirs.stateDir.resolve("api-token"),
                false, net)));
        Cli.environment(Map.of("CORRAL_HOST", "unix://" + dirs.stateDir.resolve("corral.sock")));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String subnet = "10." + rnd.nextInt(220, 250) + "." + rnd.nextInt(256) + ".0/24";
        try {
            assertThat(Cli.ok("network", "create", "--subnet", subnet, "blue").out()).isEqualTo("blue\n");
            assertThat(Cli.ok("network", "ls", "-q").out()).isEqualTo("blue\ncorral\n");
            assertThat(Cli.ok("network", "ls").out()).containsPattern("(?m)^blue +cb[0-9a-f]{10} +"
                    + subnet.replace(".", "\\.") + " ");
            assertThat(Cli.ok("run", "-d", "--name", "web", "--rootfs", rootfs.toString(), "--network", "blue",
                    "-p", "127.0.0.1:" + port + ":80", "httpd", "-f", "-p", "80", "-h", "/www").out())
                    .isEqualTo("web\n");
            assertThat(Cli.ok("port", "web").out()).isEqualTo("80/tcp -> 127.0.0.1:" + port + "\n");
            assertThat(Cli.ok("ps").out()).containsPattern("(?m)^[0-9a-f]{12} .* Up .* 127\\.0\\.0\\.1:" + port
                    + "->80/tcp +web$");
            Cli.Result byName = Cli.run("run", "--rm", "--rootfs", rootfs.toString(), "--network", "blue", "wget",
                    "-q", "-O", "-", "http://web/");
            assertThat(byName.code()).as(byName.toString()).isZero();
            assertThat(byName.out()).as(byName.toString()).isEqualTo("hello\n");
            // --network container:NAME: web's netns, so its 127.0.0.1:80; what it cannot have exits 125
            Cli.Result joined = Cli.run("run", "--rm", "--rootfs", rootfs.toString(), "--network", "container:web",
                    "wget", "-q", "-O", "-", "http://127.0.0.1:80/");
            assertThat(joined.code()).as(joined.toString()).isZero();
            assertThat(joined.out()).as(joined.toString()).isEqualTo("hello\n");
            Cli.ok("create", "--name", "joiner", "--rootfs", rootfs.toString(), "--network", "container:web", "true");
            assertThat(Cli.ok("inspect", "--format", "{{.HostConfig.NetworkMode}}", "joiner").out())
                    .isEqualTo("container:web\n");
            Cli.ok("rm", "joiner");
            for (List<String> bad : List.of(List.of("-p", "8080:80", "ports"), List.of("--ip", "10.0.0.9", "ip"),
                    List.of("-h", "x", "hostname"))) {
                Cli.Result refused = Cli.run("run", "--rm", "--rootfs", rootfs.toString(), "--network",
                        "container:web", bad.get(0), bad.get(1), "true");
                assertThat(refused.code()).as(refused.toString()).isEqualTo(125);
                assertThat(refused.err()).as(refused.toString()).contains(bad.get(2)).contains("container:web");
            }
            Cli.Result unknown = Cli.run("run", "--rm", "--rootfs", rootfs.toString(), "--network", "container:nosuch",
                    "true");
            assertThat(unknown.code()).as(unknown.toString()).isEqualTo(125);
            assertThat(unknown.err()).contains("no container named 'nosuch'");
            assertThat(Cli.ok("ps", "-a", "-q").out().lines().count()).isEqualTo(1); // web: nothing else made
            Cli.Result busy = Cli.run("run", "-d", "--rootfs", rootfs.toString(), "-p", "127.0.0.1:" + port + ":80",
                    "httpd", "-f");
            assertThat(busy.code()).isNotZero();
            assertThat(busy.err()).contains("ports[0]").contains("127.0.0.1 is not free");
            Cli.Result inUse = Cli.run("network", "rm", "blue");
            assertThat(inUse.code()).isEqualTo(1);
            assertThat(inUse.err()).contains("has containers: web");
            Cli.ok("rm", "-f", "web");
            assertThat(Cli.ok("network", "rm", "blue").out()).isEqualTo("blue\n");
            assertThat(Cli.ok("network", "ls", "-q").out()).isEqualTo("corral\n");
        } finally {
            Cli.realEnvironment();
            try {
                TestParent.removeContainers(agent.runtime().orElseThrow());
                agent.runtime().orElseThrow().networks().removeAll();
            } finally {
                agent.close();
                Trees.delete(rootfs);
                dirs.close();
            }
        }
    }
}
