package dev.corral.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The Prometheus scrape config, Grafana provisioning and Kubernetes manifests parse and agree. */
@Tag("unit")
class DeployFilesTest {

    @Test
    void promtoolAcceptsTheScrapeConfigAndItsRules() throws Exception {
        Promtool.Result r = Promtool.run(ShippedFiles.PROMETHEUS_CONFIG.getParent(), "check", "config",
                ShippedFiles.PROMETHEUS_CONFIG.getFileName().toString());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS: 1 rule files found");
    }

    @Test
    @SuppressWarnings("unchecked")
    void theScrapeJobIsCorralWithStaticAndHttpDiscovery() {
        Map<String, Object> config = ShippedFiles.yaml(ShippedFiles.PROMETHEUS_CONFIG);
        List<Map<String, Object>> jobs = (List<Map<String, Object>>) config.get("scrape_configs");
        Map<String, Object> corral = jobs.stream().filter(j -> "corral".equals(j.get("job_name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no job_name corral (the alerts expect job=\"corral\")"));
        assertThat((List<?>) corral.get("static_configs")).isNotEmpty();
        assertThat((List<?>) corral.get("http_sd_configs")).isNotEmpty();
        assertThat((List<String>) config.get("rule_files")).hasSize(1);
        assertThat(ShippedFiles.PROMETHEUS_CONFIG.getParent()
                .resolve(((List<String>) config.get("rule_files")).get(0)).normalize())
                .isEqualTo(ShippedFiles.RULES);
    }

    /** $__rate_interval is right only if Grafana knows the scrape interval. */
    @Test
    @SuppressWarnings("unchecked")
    void theDatasourceTimeIntervalIsTheScrapeInterval() {
        Map<String, Object> global = (Map<String, Object>) ShippedFiles.yaml(ShippedFiles.PROMETHEUS_CONFIG)
                .get("global");
        List<Path> files = ShippedFiles.list(ShippedFiles.PROVISIONING.resolve("datasources"), ".yaml");
        assertThat(files).hasSize(1);
        Map<String, Object> ds = ((List<Map<String, Object>>) ShippedFiles.yaml(files.get(0)).get("datasources"))
                .get(0);
        assertThat(ds.get("type")).isEqualTo("prometheus");
        assertThat(((Map<String, Object>) ds.get("jsonData")).get("timeInterval"))
                .isEqualTo(global.get("scrape_interval"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theDashboardProviderIsAFileProvider() {
        List<Path> files = ShippedFiles.list(ShippedFiles.PROVISIONING.resolve("dashboards"), ".yaml");
        assertThat(files).hasSize(1);
        Map<String, Object> provisioning = ShippedFiles.yaml(files.get(0));
        assertThat(provisioning.get("apiVersion")).isEqualTo(1);
        Map<String, Object> provider = ((List<Map<String, Object>>) provisioning.get("providers")).get(0);
        assertThat(provider.get("type")).isEqualTo("file");
        assertThat((String) ((Map<String, Object>) provider.get("options")).get("path")).startsWith("/");
    }

    @Test
    @SuppressWarnings("unchecked")
    void theDaemonSetSeesTheHostsProcessesAndCgroups() {
        Map<String, Map<String, Object>> byKind = manifestsByKind();
        assertThat(byKind).containsKeys("DaemonSet", "Service", "ServiceMonitor", "PrometheusRule");
        Map<String, Object> pod = (Map<String, Object>) ((Map<String, Object>) byKind.get("DaemonSet")
                .get("spec")).get("template");
        Map<String, Object> podSpec = (Map<String, Object>) pod.get("spec");
        assertThat(podSpec.get("hostPID")).isEqualTo(true);
        Map<String, Object> container = ((List<Map<String, Object>>) podSpec.get("containers")).get(0);
        assertThat((List<String>) container.get("args")).contains("serve", "--monitor-only");
        List<Map<String, Object>> mounts = (List<Map<String, Object>>) container.get("volumeMounts");
        Map<String, Object> cgroup = mounts.stream().filter(m -> "/sys/fs/cgroup".equals(m.get("mountPath")))
                .findFirst().orElseThrow(() -> new AssertionError("no /sys/fs/cgroup mount"));
        Map<String, Object> volume = ((List<Map<String, Object>>) podSpec.get("volumes")).stream()
                .filter(v -> v.get("name").equals(cgroup.get("name"))).findFirst().orElseThrow();
        assertThat(((Map<String, Object>) volume.get("hostPath")).get("path")).isEqualTo("/sys/fs/cgroup");
        // The Service's name becomes the job label, which CorralAgentDown selects.
        assertThat(((Map<String, Object>) byKind.get("Service").get("metadata")).get("name")).isEqualTo("corral");
        Map<String, Object> endpoint = ((List<Map<String, Object>>) ((Map<String, Object>) byKind
                .get("ServiceMonitor").get("spec")).get("endpoints")).get(0);
        List<Map<String, Object>> ports = (List<Map<String, Object>>) ((Map<String, Object>) byKind.get("Service")
                .get("spec")).get("ports");
        assertThat(ports).extracting(p -> p.get("name")).contains(endpoint.get("port"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void thePrometheusRuleHoldsExactlyTheTestedRuleGroups() {
        Map<String, Object> spec = (Map<String, Object>) manifestsByKind().get("PrometheusRule").get("spec");
        assertThat(spec.get("groups")).isEqualTo(RulesTest.groups());
    }

    private static Map<String, Map<String, Object>> manifestsByKind() {
        Map<String, Map<String, Object>> byKind = new java.util.HashMap<>();
        for (Path file : ShippedFiles.list(ShippedFiles.KUBERNETES, ".yaml")) {
            for (Map<String, Object> doc : ShippedFiles.yamlDocuments(file)) {
                assertThat(doc).as(file + " document").containsKeys("apiVersion", "kind", "metadata");
                assertThat(byKind.put((String) doc.get("kind"), doc)).as("one " + doc.get("kind")).isNull();
            }
        }
        return byKind;
    }
}
