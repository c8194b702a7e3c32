package dev.corral.agent.foreign;

import static dev.corral.exporter.testing.Await.awaitValue;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.cli.CorralMain;
import dev.corral.agent.client.CorralClient;
import dev.corral.agent.client.DaemonAddress;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.testing.TestParent;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.HostPaths;
import dev.corral.exporter.testing.PromText;
import dev.corral.exporter.testing.TestCgroup;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Kubernetes (cgroupfs and systemd drivers) and systemd layouts as real cgroups with their exact paths, named by
 * a stub Docker API answering with label sets recorded from cri-dockerd containers; and a runtime that hangs or
 * is absent, which must not stall collection.
 */
@Tag("root")
@Tag("guest") // also in the v2 guest: Kubernetes and systemd layouts as real v2 cgroups (3 of 3 passed there)
class RecordedLayoutsNamingTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static {
        // as Agent.start does, but before the stub's Vert.x loads Netty (see Agent)
        System.setProperty("io.netty.jfr.enabled", "false");
    }

    static String hex64() {
        StringBuilder b = new StringBuilder();
        while (b.length() < 64) {
            b.append(Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE));
        }
        return b.substring(0, 64);
    }

    /** Real cgroups, made in order and removed in reverse. */
    static final class Tree implements AutoCloseable {
        final CgroupLayout layout;
        final List<TestCgroup> made = new ArrayList<>();

        Tree() throws java.io.IOException {
            layout = CgroupLayoutDetector.detectSystem();
        }

        String make(String... parts) throws Exception {
            String path = "";
            for (String p : parts) {
                path += "/" + p;
                String at = path;
                if (made.stream().noneMatch(c -> c.path().equals(at))) {
                    made.add(TestCgroup.create(layout, path));
                }
            }
            return path;
        }

        @Override
        public void close() throws Exception {
            List<TestCgroup> reversed = new ArrayList<>(made);
            Collections.reverse(reversed);
            for (TestCgroup c : reversed) {
                c.close();
            }
        }
    }

    static JsonObject inspect(String id, String name, String image, Map<String, String> labels) {
        JsonObject l = new JsonObject();
        labels.forEach(l::put);
        return new JsonObject().put("Id", id).put("Name", "/" + name)
                .put("Config", new JsonObject().put("Image", image).put("Labels", l));
    }

    /** The labels cri-dockerd stores on a pod's container (recorded from a kubelet 1.28 node). */
    static Map<String, String> criLabels(String container, String pod, String namespace, String uid, String sandbox) {
        return Map.of("annotation.io.kubernetes.container.hash", "5a3e8c1f",
                "annotation.io.kubernetes.container.restartCount", "0",
                "annotation.io.kubernetes.container.terminationMessagePath", "/dev/termination-log",
                "io.kubernetes.container.logpath", "/var/log/pods/" + namespace + "_" + pod + "_" + uid + "/"
                        + container + "/0.log",
                "io.kubernetes.container.name", container,
                "io.kubernetes.docker.type", "container",
                "io.kubernetes.pod.name", pod,
                "io.kubernetes.pod.namespace", namespace,
                "io.kubernetes.pod.uid", uid,
                "io.kubernetes.sandbox.id", sandbox);
    }

    static PromText scrape(Agent agent) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort()
                + "/metrics")).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return PromText.parse(r.body());
    }

    static PromText until(Agent agent, Duration max, Predicate<PromText> done) throws Exception {
        return awaitValue(() -> scrape(agent), done, max, "the metrics");
    }

    static Map<String, String> labels(PromText page, String id) {
        List<PromText.Sample> s = page.find("container_cpu_usage_seconds_total", "id", id);
        return s.isEmpty() ? Map.of() : s.get(0).labels();
    }

    static ExporterConfig config() {
        return new ExporterConfig(HostPaths.system(), List.of("/"), Duration.ofMillis(250), Duration.ofMinutes(5), 60);
    }

    @Test
    void kubernetesPodsAndSystemdUnitsAreNamedFromThePathAndTheRecordedLabelsAskedOncePerContainer() throws Exception {
        String uid = UUID.randomUUID().toString();
        String uid2 = UUID.randomUUID().toString();
        String app = hex64();
        String sandbox = hex64();
        String scoped = hex64();
        String unknown = hex64();
        String unit = "corral-test-" + uid.substring(0, 8) + ".service";
        try (TestParent dirs = new TestParent("corral-test-foreign"); Tree tree = new Tree()) {
            Path socket = dirs.stateDir.resolve("docker.sock");
            Map<String, JsonObject> recorded = Map.of(
                    app, inspect(app, "k8s_app_web-0_shop_" + uid + "_0", "registry.example/shop/web:1.2",
                            criLabels("app", "web-0", "shop", uid, sandbox)),
                    sandbox, inspect(sandbox, "k8s_POD_web-0_shop_" + uid + "_0", "registry.k8s.io/pause:3.9",
                            Map.of("io.kubernetes.container.name", "POD", "io.kubernetes.docker.type", "podsandbox",
                                    "io.kubernetes.pod.name", "web-0", "io.kubernetes.pod.namespace", "shop",
                                    "io.kubernetes.pod.uid", uid, "app", "web", "tier", "front")),
                    scoped, inspect(scoped, "k8s_worker_batch-7_jobs_" + uid2 + "_1", "jobs/worker:9",
                            criLabels("worker", "batch-7", "jobs", uid2, hex64())));
            try (StubDockerApi stub = new StubDockerApi(socket, recorded, false)) {
                // cgroupfs driver, Burstable pod: pod cgroup, sandbox and app container
                String podPath = tree.make("kubepods", "burstable", "pod" + uid);
                String appPath = tree.make("kubepods", "burstable", "pod" + uid, app);
                String sandboxPath = tree.make("kubepods", "burstable", "pod" + uid, sandbox);
                String unknownPath = tree.make("kubepods", "burstable", "pod" + uid, unknown);
                // systemd driver, BestEffort pod, docker-<id>.scope
                String scopedPath = tree.make("kubepods.slice", "kubepods-besteffort.slice",
                        "kubepods-besteffort-pod" + uid2.replace('-', '_') + ".slice", "docker-" + scoped + ".scope");
                String unitPath = tree.make("system.slice", unit);

                AgentOptions options = new AgentOptions("127.0.0.1", 0, config(),
                        AgentOptions.RuntimeOptions.in(dirs.stateDir, dirs.path), null,
                        new AgentOptions.ForeignOptions(socket, null, Set.of("annotation.io.kubernetes.container.hash", "tier"),
                                Duration.ofSeconds(2)));
                try (Agent agent = Agent.start(options)) {
                  try {
                    // a bound that only catches a hang: a cold JVM in the emulated v2 guest took over 20 s
                    PromText page = until(agent, Duration.ofSeconds(90), p -> "app".equals(labels(p, appPath)
                            .get("container")) && "worker".equals(labels(p, scopedPath).get("container")));

                    assertThat(labels(page, appPath)).containsEntry("name", "k8s_app_web-0_shop_" + uid + "_0")
                            .containsEntry("image", "registry.example/shop/web:1.2").containsEntry("pod", "web-0")
                            .containsEntry("namespace", "shop").containsEntry("container", "app");
                    assertThat(labels(page, sandboxPath)).containsEntry("container", "POD")
                            .containsEntry("image", "registry.k8s.io/pause:3.9").containsEntry("pod", "web-0");
                    assertThat(labels(page, podPath)).containsEntry("pod", "web-0").containsEntry("namespace", "shop")
                            .containsEntry("name", "").doesNotContainKeys("image", "container");
                    assertThat(labels(page, scopedPath)).containsEntry("pod", "batch-7").containsEntry("namespace",
                            "jobs").containsEntry("container", "worker").containsEntry("image", "jobs/worker:9");
                    assertThat(labels(page, unknownPath)).containsEntry("name", "").doesNotContainKeys("image", "pod");
                    assertThat(labels(page, unitPath)).containsEntry("name", unit);

                    Map<String, String> info = page.find("container_info", "id", appPath).get(0).labels();
                    assertThat(info).containsEntry("runtime", "docker")
                            .containsEntry("container_label_annotation_io_kubernetes_container_hash", "5a3e8c1f")
                            .doesNotContainKeys("container_label_io_kubernetes_container_logpath",
                                    "container_label_io_kubernetes_pod_uid");
                    assertThat(page.find("container_info", "id", sandboxPath).get(0).labels())
                            .containsEntry("container_label_tier", "front").doesNotContainKey("container_label_app");
                    assertThat(page.find("container_info", "id", unitPath).get(0).labels())
                            .containsEntry("runtime", "systemd");
                    assertThat(page.find("container_info", "id", unknownPath).get(0).labels())
                            .containsEntry("runtime", "cri");

                    // more cycles: no more lookups. Once per container (the unknown one included); a lookup
                    // is repeated only when it missed its deadline, which a loaded host can make happen.
                    Thread.sleep(4000); // past the retries of a lookup that missed its deadline
                    Map<String, Integer> asked = new java.util.HashMap<>();
                    for (String id : List.of(app, sandbox, scoped, unknown)) {
                        asked.put(id, stub.inspectsOf(id));
                        // 1 on the host; 4 seen in the emulated v2 guest, whose lookups missed the 2 s deadline
                        assertThat(stub.inspectsOf(id)).as("lookups of " + id).isPositive();
                    }
                    double cycles = scrape(agent).value("corral_collection_duration_seconds_count").orElseThrow();
                    until(agent, Duration.ofSeconds(20), p -> p.value("corral_collection_duration_seconds_count")
                            .orElseThrow() >= cycles + 8);
                    for (String id : List.of(app, sandbox, scoped, unknown)) {
                        assertThat(stub.inspectsOf(id)).as("lookups of " + id + " after 8 more cycles")
                                .isEqualTo(asked.get(id));
                    }
                    System.out.println("inspects per container: " + asked.values());
                    assertThat(stub.eventStreams.get()).isEqualTo(1);

                    // the API and the CLI list them, read-only, with their runtime
                    JsonArray listed = new JsonArray(get(dirs.stateDir, "/v1/foreign-containers"));
                    assertThat(listed.size()).isGreaterThanOrEqualTo(4);
                    JsonObject a = find(listed, app);
                    assertThat(a.getString("runtime")).isEqualTo("docker");
                    assertThat(a.getString("pod")).isEqualTo("web-0");
                    assertThat(a.getString("qosClass")).isEqualTo("burstable");
                    assertThat(a.getBoolean("readOnly")).isTrue();
                    assertThat(find(listed, scoped).getString("qosClass")).isEqualTo("besteffort");
                    assertThat(find(listed, unknown).getString("runtime")).isEqualTo("cri");

                    StringWriter out = new StringWriter();
                    CommandLine cli = CorralMain.commandLine();
                    cli.setOut(new PrintWriter(out, true));
                    cli.setErr(new PrintWriter(new StringWriter(), true));
                    int code = cli.execute("ps", "--all-runtimes", "-H", "unix://" + dirs.stateDir.resolve(
                            "corral.sock"));
                    assertThat(code).isZero();
                    String table = out.toString();
                    assertThat(table.lines().findFirst().orElseThrow()).matches("NAME +RUNTIME +IMAGE +POD +STATUS");
                    assertThat(table).containsPattern("k8s_app_web-0_shop_" + uid + "_0 +docker +registry\\.example/"
                            + "shop/web:1\\.2 +shop/web-0 +Running \\(read-only\\)");
                    assertThat(table).contains(unknown.substring(0, 12) + " ");
                  } finally {
                    TestParent.removeContainers(agent.runtime().orElseThrow());
                  }
                }
            }
        }
    }

    private static JsonObject find(JsonArray list, String id) {
        for (int i = 0; i < list.size(); i++) {
            if (id.equals(list.getJsonObject(i).getString("containerId"))) {
                return list.getJsonObject(i);
            }
        }
        throw new AssertionError(id + " not listed in " + list.encode());
    }

    private static String get(Path stateDir, String path) throws Exception {
        return new CorralClient(DaemonAddress.unix(stateDir.resolve("corral.sock").toString()), null).get(path)
                .toString();
    }

    /**
     * Podman's containers (its systemd layout, rootful) are asked of Podman's Docker-compatible API, not of
     * Docker's. Podman 4.3 cannot start containers on this host (see the notes), so its API answers are recorded.
     */
    @Test
    void podmanContainersAreAskedOfPodmansSocket() throws Exception {
        String id = hex64();
        try (TestParent dirs = new TestParent("corral-test-foreign"); Tree tree = new Tree()) {
            Path docker = dirs.stateDir.resolve("docker.sock");
            Path podman = dirs.stateDir.resolve("podman.sock");
            Map<String, JsonObject> recorded = Map.of(id, inspect(id, "cache", "docker.io/library/redis:7",
                    Map.of("io.containers.autoupdate", "registry", "PODMAN_SYSTEMD_UNIT", "cache.service")));
            try (StubDockerApi dockerStub = new StubDockerApi(docker, Map.of(), false);
                 StubDockerApi podmanStub = new StubDockerApi(podman, recorded, false)) {
                String path = tree.make("machine.slice", "libpod-" + id + ".scope");
                AgentOptions options = new AgentOptions("127.0.0.1", 0, config(), null, null,
                        new AgentOptions.ForeignOptions(docker, podman, Set.of("PODMAN_SYSTEMD_UNIT"),
                                Duration.ofSeconds(2)));
                try (Agent agent = Agent.start(options)) {
                    PromText page = until(agent, Duration.ofSeconds(20), p -> "cache".equals(labels(p, path)
                            .get("name")));
                    assertThat(labels(page, path)).containsEntry("image", "docker.io/library/redis:7");
                    assertThat(page.find("container_info", "id", path).get(0).labels())
                            .containsEntry("runtime", "podman")
                            .containsEntry("container_label_PODMAN_SYSTEMD_UNIT", "cache.service");
                    assertThat(dockerStub.inspectsOf(id)).isZero();
                    assertThat(podmanStub.inspectsOf(id)).isBetween(1, 3);
                }
            }
        }
    }

    @Test
    void aHungOrAbsentRuntimeNeverStallsCollection() throws Exception {
        String uid = UUID.randomUUID().toString();
        String id = hex64();
        try (TestParent dirs = new TestParent("corral-test-foreign"); Tree tree = new Tree()) {
            Path hung = dirs.stateDir.resolve("hung.sock");
            Path absent = dirs.stateDir.resolve("absent.sock");
            try (StubDockerApi stub = new StubDockerApi(hung, Map.of(), true)) {
                String path = tree.make("kubepods", "besteffort", "pod" + uid, id);
                AgentOptions options = new AgentOptions("127.0.0.1", 0, config(), null, null,
                        new AgentOptions.ForeignOptions(hung, absent, Set.of(), Duration.ofMillis(500)));
                long started = System.nanoTime();
                try (Agent agent = Agent.start(options)) {
                    PromText first = until(agent, Duration.ofSeconds(10), p -> !labels(p, path).isEmpty());
                    double cycles = first.value("corral_collection_duration_seconds_count").orElseThrow();
                    PromText later = until(agent, Duration.ofSeconds(20),
                            p -> p.value("corral_collection_duration_seconds_count").orElseThrow() >= cycles + 12);
                    assertThat(labels(later, path)).containsEntry("name", "").doesNotContainKey("image");
                    assertThat(later.find("container_info", "id", path).get(0).labels()).containsEntry("runtime", "cri");
                    assertThat(agent.foreign().following()).isEmpty();
                    System.out.println("12 cycles in " + (System.nanoTime() - started) / 1_000_000
                            + " ms with a hung Docker API and an absent Podman socket; longest cycle "
                            + later.value("corral_collection_duration_seconds_max").orElseThrow() + " s");
                }
            }
        }
    }
}
