package dev.corral.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.foreign.DockerDaemon;
import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.HostPaths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Docker containers that Corral did not start, on the dashboards people use: a private dockerd (its containers on
 * a bridge the test made) runs two containers started with {@code docker run -d --name … --label …}, one pinging
 * the bridge's address (bounded); a real agent asks that dockerd for their names ({@code --docker-socket}) and a
 * real Prometheus scrapes it. Then (a) the community cAdvisor dashboards' queries, which select and group by
 * {@code name} and {@code image}, and (b) the shipped dashboards' queries with a {@code name} or network dimension
 * return the Docker containers by name, network panels included.
 */
@Tag("root")
class DockerContainersDashboardTest {

    private static final long DEADLINE_MILLIS = 60_000;

    /**
     * Queries in the form the community cAdvisor dashboards write them (written from those dashboards' panels, not
     * copied from their JSON; their {@code $host}/{@code $container} variables set to "all", {@code .+}), each
     * selecting or grouping by {@code name} or {@code image}.
     */
    static final List<String> COMMUNITY = List.of(
            // Grafana dashboard 893 "Docker and system monitoring" (CPU, memory, network panels, per container)
            "sum(rate(container_cpu_usage_seconds_total{image!=\"\"}[1m])) by (name)",
            "sum(container_memory_rss{image!=\"\"}) by (name)",
            "sum(rate(container_network_receive_bytes_total{image!=\"\"}[1m])) by (name)",
            "sum(rate(container_network_transmit_bytes_total{image!=\"\"}[1m])) by (name)",
            // Grafana dashboard 14282 "Cadvisor exporter" (instance=~"$host", name=~"$container", name=~".+")
            "sum(rate(container_cpu_usage_seconds_total{instance=~\".+\",name=~\".+\",name=~\".+\"}[5m])) by (name) *100",
            "sum(container_memory_usage_bytes{instance=~\".+\",name=~\".+\",name=~\".+\"}) by (name)",
            "sum(container_memory_cache{instance=~\".+\",name=~\".+\",name=~\".+\"}) by (name)",
            "sum(rate(container_network_receive_bytes_total{instance=~\".+\",name=~\".+\",name=~\".+\"}[5m])) by (name)",
            "sum(rate(container_network_transmit_bytes_total{instance=~\".+\",name=~\".+\",name=~\".+\"}[5m])) by (name)",
            "container_spec_memory_limit_bytes{name=~\".+\"}",
            // kubernetes-mixin (rules/apps.libsonnet: image!="" selects leaf containers; job="cadvisor" there)
            "container_memory_working_set_bytes{image!=\"\"}",
            "sum by (name, image) (irate(container_cpu_usage_seconds_total{image!=\"\"}[5m]))");

    private static final String BLKIO = "these busybox containers do no disk IO of their own (the image's files are"
            + " in the page cache): a start's reads show now and then";

    /** Shipped panel queries with a name or network dimension that may lack a Docker container here, and why. */
    static final Map<String, String> MAY_LACK = Map.of(
            "corral-container-detail / annotation OOM kills / -", "marks OOM kills only (\"> 0\"): none here",
            // (DashboardDataTest's writer fills them; a v1 cgroup's blkio counters start with its first disk IO)
            "corral-container-detail / Block IO by device and operation / A", BLKIO,
            "corral-container-detail / Block IO operations / A", BLKIO,
            "corral-container-detail / Block IO operations / B", BLKIO);

    @Test
    void dockerContainersShowByNameAndImageOnCommunityAndShippedDashboards() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 6);
        String bridge = "cq" + suffix;
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String prefix = "10." + r.nextInt(180, 220) + "." + r.nextInt(0, 256);
        String gateway = prefix + ".1";
        String talker = "talker-cadvisorq-" + suffix;
        String idler = "idler-cadvisorq-" + suffix;
        DockerDaemon docker = null;
        Agent agent = null;
        PrometheusServer prometheus = null;
        try {
            sh("ip", "link", "add", bridge, "type", "bridge");
            sh("ip", "addr", "add", gateway + "/24", "dev", bridge);
            sh("ip", "link", "set", bridge, "up");
            docker = DockerDaemon.start(bridge);
            agent = Agent.start(new AgentOptions("127.0.0.1", 0, new ExporterConfig(HostPaths.system(), List.of("/"),
                    Duration.ofMillis(500), Duration.ofMinutes(5), 10), null, null,
                    new AgentOptions.ForeignOptions(docker.socket, null, Set.of("team"), Duration.ofSeconds(2))));
            // Pings the bridge's address (the test's own) twice a second for 2 minutes at most (the test takes one
            // at most; a container that ends takes its limits' series with it): traffic both ways on its eth0.
            String talkerId = docker.run("run", "-d", "--name", talker, "--label", "team=blue", "-m", "64m",
                    "--cpus", "0.5", DockerDaemon.IMAGE, "busybox", "ping", "-c", "240", "-i", "0.5", gateway);
            // Wakes five times a second (CFS periods for the throttling panels), 2 minutes at most.
            String idlerId = docker.run("run", "-d", "--name", idler, "--label", "team=green", "-m", "32m",
                    "--cpus", "0.25", DockerDaemon.IMAGE, "sh", "-c",
                    "i=0; while [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done");
            Map<String, String> names = Map.of("/docker/" + talkerId, talker, "/docker/" + idlerId, idler);
            String target = "127.0.0.1:" + agent.httpPort();
            prometheus = PrometheusServer.start(target, ShippedFiles.RULES);

            List<Dashboard.Query> shipped = shippedQueriesByNameOrNetwork();
            assertThat(MAY_LACK.keySet()).isSubsetOf(shipped.stream().map(Dashboard.Query::key).toList());
            Map<String, String> values = Map.of("__rate_interval", "10s", "instance", target, "container",
                    String.join("|", names.keySet()), "datasource", "prometheus");
            long start = System.currentTimeMillis();
            Map<String, String> missing = new LinkedHashMap<>();
            do {
                missing.clear();
                // (a) each community query has a series for each Docker container's name 
                for (String q : COMMUNITY) {
                    List<JsonNode> result = prometheus.query(q);
                    for (String name : List.of(talker, idler)) { // both on the bridge: both have network series
                        if (!hasName(result, name)) {
                            missing.put("community: " + q + " / " + name, q);
                        }
                    }
                }
                // ... and every series named after a Docker container carries its image
                String imageOf = "count by (name, image) (container_cpu_usage_seconds_total{name=~\"" + talker + "|"
                        + idler + "\", image=\"" + DockerDaemon.IMAGE + "\"})";
                if (prometheus.query(imageOf).size() != 2) {
                    missing.put("both containers' image", imageOf);
                }
                String info = "container_info{name=\"" + talker + "\", image=\"" + DockerDaemon.IMAGE
                        + "\", container_label_team=\"blue\"}";
                if (prometheus.query(info).isEmpty()) {
                    missing.put("talker's container_info with its label", info);
                }
                // (b) the shipped panels show them by name, network panels the talker's eth0 traffic
                for (Dashboard.Query q : shipped) {
                    if (MAY_LACK.containsKey(q.key())) {
                        continue;
                    }
                    String expr = Dashboard.substitute(q.expr(), values);
                    List<JsonNode> result = prometheus.query(expr);
                    for (String name : List.of(talker, idler)) {
                        if (!hasName(result, name)) {
                            missing.put("shipped: " + q.key() + " / " + name, expr);
                        }
                    }
                }
                for (String dir : List.of("receive", "transmit")) {
                    String rate = "rate(container_network_" + dir + "_bytes_total{name=\"" + talker
                            + "\", interface=\"eth0\"}[10s])";
                    if (prometheus.query(rate + " > 10").isEmpty()) {
                        missing.put("talker " + dir + "s on eth0", rate + " (is " + prometheus.query(rate) + ")");
                    }
                }
                // the dashboards' container variable lists them
                String variable = "container_last_seen{instance=\"" + target + "\", id=~\""
                        + String.join("|", names.keySet()) + "\"}";
                if (prometheus.query(variable).size() != 2) {
                    missing.put("the $container variable lists both", variable);
                }
                if (missing.isEmpty()) {
                    break;
                }
                Thread.sleep(1000);
            } while (System.currentTimeMillis() - start < DEADLINE_MILLIS);
            System.out.printf("docker containers on the dashboards after %.1f s: %d community and %d shipped queries"
                    + " (load %s)%n", (System.currentTimeMillis() - start) / 1000.0, COMMUNITY.size(), shipped.size(),
                    java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).strip());
            assertThat(missing).as("without the Docker containers after " + DEADLINE_MILLIS / 1000 + " s").isEmpty();
        } finally {
            try {
                if (prometheus != null) {
                    prometheus.close();
                }
            } finally {
                try {
                    if (agent != null) {
                        agent.close();
                    }
                } finally {
                    try {
                        if (docker != null) {
                            docker.close(); // removes the containers, stops dockerd, deletes its data-root
                        }
                    } finally {
                        new ProcessBuilder("ip", "link", "del", bridge).start().waitFor(10, TimeUnit.SECONDS);
                    }
                }
            }
        }
    }

    /** The shipped panels' queries that group by name or show network counters. */
    static List<Dashboard.Query> shippedQueriesByNameOrNetwork() {
        Pattern byName = Pattern.compile("by \\([^)]*\\bname\\b");
        List<Dashboard.Query> out = new ArrayList<>();
        for (Dashboard d : Dashboard.all()) {
            for (Dashboard.Query q : d.queries()) {
                // count(...) panels (e.g. "Running containers") aggregate the names away: nothing to find by name
                if ((byName.matcher(q.expr()).find() || q.expr().contains("container_network_"))
                        && !q.expr().startsWith("count(")) {
                    out.add(q);
                }
            }
        }
        return out;
    }

    private static boolean hasName(List<JsonNode> result, String name) {
        return result.stream().anyMatch(s -> name.equals(s.path("metric").path("name").asText()));
    }

    private static void sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
