package dev.corral.dashboards;

import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.spec.SpecParser;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.CgroupLayout;
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

/**
 * A real agent watching every cgroup (so the root cgroup, the host, is exported too) with its runtime on a temp
 * state dir under a {@code /corral-test-*} parent, running real containers: a CPU hog under a 0.2-core quota,
 * a memory hog OOM-killed over and over under 32 MiB, a writer under a 4 MiB/s write limit, and a container
 * whose working set grows steadily. {@link #close()} removes the containers, cgroups and files, also after a
 * failure.
 */
final class AgentWithWorkloads implements AutoCloseable {

    static final List<String> CONTAINERS = List.of("cpu-hog", "mem-hog", "writer", "grower");
    static final long WRITE_BPS = 4L << 20;

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
        agent = Agent.start(new AgentOptions("127.0.0.1", 0, exporter,
                AgentOptions.RuntimeOptions.in(stateDir, parent)));
        try {
            startWorkloads();
        } catch (Exception | AssertionError e) {
            close();
            throw e;
        }
    }

    private void startWorkloads() throws Exception {
        run("""
                {"name": "cpu-hog", "command": ["sh", "-c", "while :; do :; done"],
                 "limits": {"cpu": {"cpus": 0.2}, "memory": {"max": "64m"}, "pids": {"max": 32}}}""");
        // dd asks for 96 MiB at once: the kernel kills it, the shell lives on and tries again.
        run("""
                {"name": "mem-hog", "command": ["sh", "-c",
                   "while :; do dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; sleep 0.3; done"],
                 "limits": {"memory": {"max": "32m"}}}""");
        run("""
                {"name": "writer", "command": ["sh", "-c",
                   "while :; do dd if=/dev/zero of=%s/out bs=1M count=8 oflag=direct status=none; done"],
                 "limits": {"io": {"devices": [{"device": "%s", "writeBps": %d}]}, "memory": {"max": "64m"}}}"""
                .formatted(writeDir, Workloads.writeDevice(), WRITE_BPS));
        // About 4 MiB a second of 8 KB strings (mawk's sprintf limit), toward a 512 MiB limit.
        run("""
                {"name": "grower", "command": ["awk", "BEGIN { while (1) { for (j = 0; j < 128; j++) \
                a[i++] = sprintf(\\"%8000s\\", \\"\\"); system(\\"sleep 0.25\\") } }"],
                 "limits": {"memory": {"max": "512m"}}}""");
    }

    private void run(String json) throws Exception {
        runtime().run(SpecParser.parse(json.getBytes(StandardCharsets.UTF_8)));
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
