package dev.corral.exporter.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.naming.ContainerIdentity;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.NetInterface;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The labels that name foreign containers: where they go, in client_java's order and escaping. */
@Tag("unit")
class ContainerLabelsTest {

    @TempDir
    Path sysDevBlock;

    static final String K8S = "/kubepods/burstable/pod0c3b1b4e-6a2f-4f8e-9d1a-2b3c4d5e6f70/"
            + "3f1c8e2b9a7d4c6e5f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60";
    static final String DOCKER = "/docker/aaaa8e2b9a7d4c6e5f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60";
    static final String UNIT = "/system.slice/nginx.service";

    static final Map<String, ContainerIdentity> WHO = Map.of(
            K8S, new ContainerIdentity("k8s_app_web-0_shop_0c3b", "registry.example/shop/web:1.2", "web-0", "shop",
                    "app", "cri", Map.of("team", "a \"b\"")),
            DOCKER, new ContainerIdentity("cache", "redis:7", "", "", "", "docker",
                    Map.of("com.example.tier", "back", "owner", "ops")),
            UNIT, ContainerIdentity.named("nginx.service", "systemd"));

    private String render() throws Exception {
        ContainerNames names = new ContainerNames() {
            @Override
            public String nameOf(String path) {
                return identityOf(path).name();
            }

            @Override
            public ContainerIdentity identityOf(String path) {
                return WHO.getOrDefault(path, ContainerIdentity.NONE);
            }
        };
        Map<String, CgroupSample> live = new java.util.HashMap<>();
        for (String path : List.of(K8S, DOCKER, UNIT, "/plain")) {
            live.put(path, new CgroupSample(path, 1000, 0, new CpuStats(2_000_000_000L, 1, 1, 0, 0, 0), null,
                    List.of(new BlkioDevice(8, 0, 4096, 512, 1, 2)), null, null, null));
        }
        // K8S has a namespace of its own (the pod's sandbox would in life); the others have none of their own
        Map<String, List<NetInterface>> network = Map.of(K8S, List.of(
                new NetInterface("eth0", 1000, 10, 1, 2, 3000, 30, 3, 4),
                new NetInterface("eth1", 5, 1, 0, 0, 7, 1, 0, 0)), "/plain", List.of());
        MetricsPage page = new MetricsPage(() -> new Snapshot(1000, live, Map.of(), network),
                new ContainerMetrics(names, ScrapeFixture.MACHINE, ScrapeFixture.devices(sysDevBlock)),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        return page.render().text();
    }

    private static List<String> clientJava(MetricSnapshots snapshots) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, snapshots);
        return Arrays.stream(out.toString(StandardCharsets.UTF_8).split("\n")).filter(l -> !l.startsWith("#"))
                .toList();
    }

    private static Labels labels(String path, String... more) {
        ContainerIdentity who = WHO.getOrDefault(path, ContainerIdentity.NONE);
        Labels l = Labels.of("id", path, "name", who.name()).merge(Labels.of(more));
        for (String[] kv : new String[][] {{"image", who.image()}, {"pod", who.pod()},
                {"namespace", who.namespace()}, {"container", who.container()}}) {
            if (!kv[1].isEmpty()) {
                l = l.add(kv[0], kv[1]);
            }
        }
        return l;
    }

    @Test
    void everySeriesCarriesNameImageAndThePodLabelsWhereKnownAsClientJavaWritesThem() throws Exception {
        String ours = render();

        CounterSnapshot.Builder cpu = CounterSnapshot.builder().name("container_cpu_usage_seconds").help("h");
        CounterSnapshot.Builder blkio = CounterSnapshot.builder().name("container_blkio_device_usage").help("h");
        CounterSnapshot.Builder reads = CounterSnapshot.builder().name("container_fs_reads_bytes").help("h");
        for (String path : List.of(K8S, DOCKER, UNIT, "/plain")) {
            cpu.dataPoint(CounterDataPointSnapshot.builder().labels(labels(path)).value(2.0).build());
            for (String[] op : new String[][] {{"Read", "4096"}, {"Write", "512"}}) {
                blkio.dataPoint(CounterDataPointSnapshot.builder().labels(labels(path, "device", "/dev/sda", "major",
                        "8", "minor", "0", "operation", op[0])).value(Double.parseDouble(op[1])).build());
            }
            reads.dataPoint(CounterDataPointSnapshot.builder().labels(labels(path, "device", "/dev/sda"))
                    .value(4096).build());
        }
        List<String> expected = clientJava(MetricSnapshots.of(cpu.build(), blkio.build(), reads.build()));

        assertThat(expected).hasSize(4 + 8 + 4);
        assertThat(ours.split("\n")).contains(expected.toArray(String[]::new));
        assertThat(ours).contains("container_cpu_usage_seconds_total{container=\"app\",id=\"" + K8S
                + "\",image=\"registry.example/shop/web:1.2\",name=\"k8s_app_web-0_shop_0c3b\",namespace=\"shop\","
                + "pod=\"web-0\"} 2.0\n");
    }

    @Test
    void runtimeAndAllowListedLabelsGoOnlyOnTheInfoSeries() throws Exception {
        String ours = render();

        GaugeSnapshot info = GaugeSnapshot.builder().name("container_info").help("h")
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("container", "app", "id",
                        K8S, "image", "registry.example/shop/web:1.2", "name", "k8s_app_web-0_shop_0c3b", "namespace",
                        "shop", "pod", "web-0", "runtime", "cri", "container_label_team", "a \"b\"")).value(1).build())
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("id", DOCKER, "image",
                        "redis:7", "name", "cache", "runtime", "docker", "container_label_com_example_tier", "back",
                        "container_label_owner", "ops")).value(1).build())
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("id", UNIT, "name",
                        "nginx.service", "runtime", "systemd")).value(1).build())
                .build();

        List<String> expected = clientJava(MetricSnapshots.of(info));
        List<String> infoLines = Arrays.stream(ours.split("\n")).filter(l -> l.startsWith("container_info")).toList();
        assertThat(infoLines).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(ours).doesNotContain("container_info{id=\"/plain\"");
        assertThat(Arrays.stream(ours.split("\n")).filter(l -> !l.startsWith("container_info")))
                .noneMatch(l -> l.contains("runtime=") || l.contains("container_label_"));
        assertThat(ours.indexOf("# TYPE container_info gauge")).isBetween(ours.indexOf("# TYPE container_fs_writes"),
                ours.indexOf("# TYPE container_last_seen"));
    }

    @Test
    void networkSeriesCarryTheInterfaceAsClientJavaWritesThem() throws Exception {
        String ours = render();

        CounterSnapshot.Builder rx = CounterSnapshot.builder().name("container_network_receive_bytes").help("h");
        CounterSnapshot.Builder txDropped = CounterSnapshot.builder().name("container_network_transmit_packets_dropped")
                .help("h");
        rx.dataPoint(CounterDataPointSnapshot.builder().labels(labels(K8S, "interface", "eth0")).value(1000).build());
        rx.dataPoint(CounterDataPointSnapshot.builder().labels(labels(K8S, "interface", "eth1")).value(5).build());
        txDropped.dataPoint(CounterDataPointSnapshot.builder().labels(labels(K8S, "interface", "eth0")).value(4)
                .build());
        txDropped.dataPoint(CounterDataPointSnapshot.builder().labels(labels(K8S, "interface", "eth1")).value(0)
                .build());
        List<String> expected = clientJava(MetricSnapshots.of(rx.build(), txDropped.build()));

        List<String> lines = Arrays.stream(ours.split("\n")).toList();
        assertThat(lines.stream().filter(l -> l.startsWith("container_network_receive_bytes_total")
                || l.startsWith("container_network_transmit_packets_dropped_total")))
                .containsExactlyElementsOf(expected);
        for (String family : List.of("receive_bytes", "receive_packets", "receive_errors", "receive_packets_dropped",
                "transmit_bytes", "transmit_packets", "transmit_errors", "transmit_packets_dropped")) {
            assertThat(lines).contains("# TYPE container_network_" + family + "_total counter");
            assertThat(lines.stream().filter(l -> l.startsWith("container_network_" + family + "_total{"))).hasSize(2);
        }
        assertThat(lines).contains("container_network_transmit_errors_total{container=\"app\",id=\"" + K8S
                + "\",image=\"registry.example/shop/web:1.2\",interface=\"eth0\",name=\"k8s_app_web-0_shop_0c3b\","
                + "namespace=\"shop\",pod=\"web-0\"} 3.0");
    }
}
