package dev.corral.dashboards;

import dev.corral.agent.network.NetworkOptions;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.spec.SpecParser;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.discovery.HostPaths;
import dev.corral.exporter.testing.Workloads;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A real agent watching every cgroup (so the root cgroup, the host, is exported too) with its runtime on a temp
 * state dir under a {@code /corral-test-*} parent and the demo policy file ({@link #POLICY}), running real
 * containers: a CPU hog under a 0.2-core quota, a memory hog OOM-killed over and over under 32 MiB, a writer
 * under a 4 MiB/s write limit, a container whose working set grows steadily, and a busy "batch" (class weight
 * 0.5) pinned to one CPU that "web" (class weight 3), started by {@link #startWeb()}, comes to compete with there,
 * and a "talker" sending a UDP datagram to its gateway twice a second (the network panels' traffic). The containers
 * are on a bridge and subnet of the test's own (cd + random hex, a random 10.x.y.0/24).
 * {@link #close()} removes the containers, cgroups and files, also after a failure.
 */
final class AgentWithWorkloads implements AutoCloseable {

    static final List<String> CONTAINERS = List.of("cpu-hog", "mem-hog", "writer", "grower", "talker", "batch",
            "web");
    static final long WRITE_BPS = 4L << 20;
    /** Class weights 3 and 0.5 (cpu.shares 3072 and 512, cpu.weight 300 and 50): web gets 6 times batch's CPU. */
    static final double WEB_OVER_BATCH = 6;

    /**
     * The demo's policy (render-demo.sh uses it too): weighted classes for CPU fairness, admission on. Memory
     * relief, OOM protection and IO fairness are off in it: the OOM-killed, growing and write-limited workloads
     * are there for their own panels, which a policy squeezing, killing or throttling them on a busy shared
     * machine would make flaky.
     */
    static final Path POLICY = ShippedFiles.MODULE.resolve("tools/demo-policy.json");

    final String parent = "/corral-test-" + UUID.randomUUID().toString().substring(0, 8);
    final Path stateDir;
    final Path writeDir;
    final Agent agent;
    private final CgroupLayout layout;

    AgentWithWorkloads() throws Exception {
        layout = CgroupLayoutDetector.detectSystem();
        stateDir = Files.createTempDirectory("corral-test-dashboards");
        writeDir = Files.createTempDirectory(Path.of("/var/tmp"), "corral-test-dashboards");
        ExporterConfig exporter = new ExporterConfig(HostPaths.system(), List.of("/"), Duration.ofMillis(500),
                Duration.ofMinutes(5), 10);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        NetworkOptions network = new NetworkOptions("cd" + UUID.randomUUID().toString().substring(0, 8),
                "10." + r.nextInt(180, 220) + "." + r.nextInt(0, 256) + ".0/24", "bridge");
        AgentOptions.RuntimeOptions in = AgentOptions.RuntimeOptions.in(stateDir, parent);
        agent = Agent.start(new AgentOptions("127.0.0.1", 0, exporter, new AgentOptions.RuntimeOptions(in.stateDir(),
                in.cgroupParent(), in.socket(), in.tokenFile(), in.allowUnrestrictedDevices(), network),
                new AgentOptions.PolicyOptions(POLICY, false)));
        try {
            weighParent();
            startWorkloads();
        } catch (Exception | AssertionError e) {
            close();
            throw e;
        }
    }

    /**
     * Four times the default CPU weight for the parent: the kernel splits a group's weight across CPUs by the
     * load on each, so the busy pair on CPU 1 would otherwise leave cpu-hog on CPU 0 too little of it to reach
     * its quota on a loaded machine. With it, cpu-hog keeps about the weight it has alone.
     */
    private void weighParent() throws Exception {
        runtime().driver().ensureParent();
        boolean v2 = layout.mode() == CgroupMode.V2;
        Hierarchy cpu = v2 ? layout.unified().orElseThrow() : layout.hierarchyOf("cpu").orElseThrow();
        Files.writeString(cpu.dirOf(parent).orElseThrow().resolve(v2 ? "cpu.weight" : "cpu.shares"),
                v2 ? "400" : "4096");
    }

    private void startWorkloads() throws Exception {
        // On CPU 0: on CPU 1 batch and web would take the time it needs to reach its quota.
        run("""
                {"name": "cpu-hog", "command": ["sh", "-c", "while :; do :; done"],
                 "limits": {"cpu": {"cpus": 0.2, "cpusetCpus": "0"}, "memory": {"max": "64m"},
                            "pids": {"max": 32}}}""");
        // dd asks for 96 MiB at once: the kernel kills it, the shell lives on and tries again.
        run("""
                {"name": "mem-hog", "command": ["sh", "-c",
                   "while :; do dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; sleep 0.3; done"],
                 "limits": {"memory": {"max": "32m"}}}""");
        run("""
                {"name": "writer", "command": ["sh", "-c",
                   "while :; do dd if=/dev/zero of=%s/out bs=1M count=8 oflag=direct status=none; done"],
                 "mounts": [{"source": "%s", "target": "%s", "readOnly": false}],
                 "limits": {"io": {"devices": [{"device": "%s", "writeBps": %d}]}, "memory": {"max": "64m"}}}"""
                .formatted(writeDir, writeDir, writeDir, Workloads.writeDevice(), WRITE_BPS));
        // About 4 MiB a second of 8 KB strings (mawk's sprintf limit), toward a 512 MiB limit.
        run("""
                {"name": "grower", "command": ["awk", "BEGIN { while (1) { for (j = 0; j < 128; j++) \
                a[i++] = sprintf(\\"%8000s\\", \\"\\"); system(\\"sleep 0.25\\") } }"],
                 "limits": {"memory": {"max": "512m"}}}""");
        // To its gateway (the test's bridge), which answers with ICMP port unreachable: traffic both ways.
        run("""
                {"name": "talker", "command": ["bash", "-c", "gw=$(ip route | awk '/^default/ {print $3}'); \
                while :; do echo hello > /dev/udp/$gw/9; sleep 0.5; done"], "limits": {"memory": {"max": "32m"}}}""");
        run(hog("batch", "\"labels\": {\"tier\": \"batch\"},"));
    }

    /** web joins batch on its CPU: the policy sets web's class weight, the kernel splits the CPU by weight. */
    void startWeb() throws Exception {
        run(hog("web", ""));
    }

    /** Pinned to the same one CPU, so the two really compete (this machine has two cores). */
    private static String hog(String name, String labels) {
        return """
                {"name": "%s", %s "command": ["sh", "-c", "while :; do :; done"],
                 "limits": {"cpu": {"cpusetCpus": "1"}, "memory": {"max": "16m"}}}""".formatted(name, labels);
    }

    /** Each workload uses the host's tools (sh, dd, awk): it runs on the host's root, read-only. */
    private void run(String json) throws Exception {
        String onHostRoot = json.replaceFirst("\\{", "{\"rootfs\": \"host\", ");
        runtime().run(SpecParser.parse(onHostRoot.getBytes(StandardCharsets.UTF_8)));
    }

    ContainerRuntime runtime() {
        return agent.runtime().orElseThrow();
    }

    String target() {
        return "127.0.0.1:" + agent.httpPort();
    }

    String id(String container) {
        return parent + "/" + container;
    }

    @Override
    public void close() throws Exception {
        try {
            for (var r : runtime().list()) {
                runtime().remove(r.name(), true);
            }
            runtime().driver().removeParentIfEmpty();
            runtime().networks().removeAll();
        } finally {
            agent.close();
            PrometheusServer.deleteTree(stateDir);
            PrometheusServer.deleteTree(writeDir);
        }
        for (Hierarchy h : layout.hierarchies()) {
            if (Files.exists(h.dirOf(parent).orElseThrow())) {
                throw new AssertionError("cgroup left behind: " + h.dirOf(parent).orElseThrow());
            }
        }
    }
}
