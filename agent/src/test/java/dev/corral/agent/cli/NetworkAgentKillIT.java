package dev.corral.agent.cli;

import static dev.corral.exporter.testing.Await.awaitValue;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.client.HttpTransport;
import dev.corral.agent.image.Trees;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The daemon, started through bin/corral with a bridge and subnet of the test's own, runs {@link #LIVE} httpd
 * containers on the bridge and is killed with SIGKILL. Its containers stay reachable at their addresses while it
 * is down and after it starts again on the same state (with the same addresses, all distinct); removing them
 * then leaves no veth on the bridge and no network.json. Traffic only to the test's containers. Sized by
 * -Dcorral.kill.live (the figure, 30, by default).
 */
@Tag("root")
@Tag("slow")
class NetworkAgentKillIT {

    private static final int LIVE = Integer.getInteger("corral.kill.live", 30);
    private static final Path CORRAL = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).resolve("bin/corral");

    private Process serve(Path state, String parent, String bridge, String subnet) throws Exception {
        Path log = state.resolveSibling("serve.log");
        Process p = new ProcessBuilder(CORRAL.toString(), "serve", "--listen", "127.0.0.1:0", "--state-dir",
                state.toString(), "--cgroup-parent", parent, "--socket", state.resolve("corral.sock").toString(),
                "--cgroup-root", parent, "--bridge", bridge, "--bridge-subnet", subnet, "--default-network", "bridge")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline && p.isAlive()) {
            try {
                if (call(state, "GET", "/v1/info", null).status() == 200) {
                    return p;
                }
            } catch (IOException e) {
                Thread.sleep(100); // not listening yet
            }
        }
        throw new AssertionError("the agent did not start: " + Files.readString(log));
    }

    private static HttpTransport.Response call(Path state, String method, String uri, String body) throws Exception {
        return HttpTransport.unix(state.resolve("corral.sock")).request(method, uri,
                body == null ? null : body.getBytes(StandardCharsets.UTF_8), body == null ? null : "application/json");
    }

    /** Each container's address, from its network.json in the state. */
    private static Map<String, String> addresses(Path state) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < LIVE; i++) {
            Path f = state.resolve("containers/web-" + i + "/network.json");
            out.put("web-" + i, new JsonObject(Files.readString(f)).getString("address"));
        }
        return out;
    }

    private static List<String> bridgePorts(String bridge) throws Exception {
        Process p = new ProcessBuilder("ip", "-o", "link", "show", "master", bridge).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        List<String> ports = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] f = line.split(": ");
            if (f.length > 1) {
                ports.add(f[1].replaceAll("@.*", ""));
            }
        }
        return ports;
    }

    /** GET from the host, retried for up to 20 s. */
    private static String fetch(String address) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        while (true) {
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create("http://" + address + "/").toURL().openConnection();
                c.setConnectTimeout(2000);
                c.setReadTimeout(3000);
                try (InputStream in = c.getInputStream()) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError(address + " unreachable: " + e);
                }
                Thread.sleep(200);
            }
        }
    }

    @Test
    void networkedContainersOutliveAKilledAgentAndLeaveNothingWhenRemoved() throws Exception {
        Path base = Files.createTempDirectory("corral-test-netkill");
        Path state = base.resolve("state");
        Path rootfs = base.resolve("rootfs");
        for (String d : List.of("bin", "etc", "www", "proc", "dev", "sys", "tmp")) {
            Files.createDirectories(rootfs.resolve(d));
        }
        Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
        Files.createSymbolicLink(rootfs.resolve("bin/httpd"), Path.of("busybox"));
        Files.writeString(rootfs.resolve("www/index.html"), "hello from corral\n");
        String parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
        String bridge = "cn" + UUID.randomUUID().toString().substring(0, 8);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String subnet = "10." + r.nextInt(180, 220) + "." + r.nextInt(0, 256) + ".0/24";
        Process agent = serve(state, parent, bridge, subnet);
        try {
            long started = System.nanoTime();
            for (int i = 0; i < LIVE; i++) {
                HttpTransport.Response made = call(state, "POST", "/v1/containers?start=true", "{\"rootfs\":\""
                        + rootfs + "\",\"name\":\"web-" + i + "\",\"command\":[\"/bin/httpd\",\"-f\",\"-p\",\"80\","
                        + "\"-h\",\"/www\"]}");
                assertThat(made.status()).as(made.bodyText()).isEqualTo(201);
            }
            System.out.printf("%d networked containers started in %.1f s%n", LIVE,
                    (System.nanoTime() - started) / 1e9);
            Map<String, String> before = addresses(state);
            assertThat(new HashSet<>(before.values())).as("distinct addresses").hasSize(LIVE);
            assertThat(bridgePorts(bridge)).hasSize(LIVE);

            new ProcessBuilder("kill", "-9", Long.toString(agent.pid())).start().waitFor();
            assertThat(agent.waitFor(10, TimeUnit.SECONDS)).isTrue();
            for (String address : before.values()) {
                assertThat(fetch(address)).as("while the agent is down: " + address).isEqualTo("hello from corral\n");
            }

            agent = serve(state, parent, bridge, subnet);
            assertThat(addresses(state)).isEqualTo(before);
            assertThat(bridgePorts(bridge)).as("no veth removed or added by the restart").hasSize(LIVE);
            for (Map.Entry<String, String> e : before.entrySet()) {
                JsonObject c = new JsonObject(call(state, "GET", "/v1/containers/" + e.getKey(), null).bodyText());
                assertThat(c.getString("state")).as(e.getKey()).isEqualTo("running");
                assertThat(fetch(e.getValue())).as("after the restart: " + e).isEqualTo("hello from corral\n");
            }
            // the restarted agent hands out none of the live addresses
            HttpTransport.Response next = call(state, "POST", "/v1/containers?start=true", "{\"rootfs\":\"" + rootfs
                    + "\",\"name\":\"next\",\"command\":[\"/bin/httpd\",\"-f\",\"-p\",\"80\",\"-h\",\"/www\"]}");
            assertThat(next.status()).as(next.bodyText()).isEqualTo(201);
            String nextAddress = new JsonObject(Files.readString(state.resolve("containers/next/network.json")))
                    .getString("address");
            assertThat(before.values()).doesNotContain(nextAddress);

            for (String name : new ArrayList<>(before.keySet())) {
                assertThat(call(state, "DELETE", "/v1/containers/" + name + "?force=true", null).status()).isLessThan(300);
            }
            assertThat(call(state, "DELETE", "/v1/containers/next?force=true", null).status()).isLessThan(300);
            // the kernel removes the pairs in its netns cleanup work, after the netns went: seconds when loaded
            awaitValue(() -> bridgePorts(bridge), List::isEmpty, Duration.ofSeconds(30), "no veths left on the bridge");
            try (Stream<Path> files = Files.walk(state.resolve("containers"))) {
                assertThat(files.filter(f -> f.getFileName().toString().equals("network.json")).toList())
                        .as("addresses left in network.json").isEmpty();
            }
        } finally {
            try {
                JsonArray all = new JsonArray(call(state, "GET", "/v1/containers?all=true", null).bodyText());
                for (Object o : all) {
                    call(state, "DELETE", "/v1/containers/" + ((JsonObject) o).getString("name") + "?force=true", null);
                }
            } finally {
                agent.destroy();
                agent.waitFor(15, TimeUnit.SECONDS);
                new ProcessBuilder("ip", "link", "del", bridge).start().waitFor();
                new ProcessBuilder("nft", "delete", "table", "inet", "corral_" + bridge).start().waitFor();
                CgroupDriver.forLayout(CgroupLayoutDetector.detectSystem(), parent).removeParentIfEmpty();
                Trees.delete(base);
            }
        }
    }
}
