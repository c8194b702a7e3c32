package dev.corral.agent.network;

import static dev.corral.exporter.testing.Await.awaitValue;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.exporter.collect.CgroupCollector;
import dev.corral.exporter.collect.CollectorStats;
import dev.corral.exporter.discovery.HostPaths;
import dev.corral.exporter.metrics.ContainerMetrics;
import dev.corral.exporter.metrics.DeviceNames;
import dev.corral.exporter.metrics.MachineInfo;
import dev.corral.exporter.metrics.MetricsPage;
import dev.corral.exporter.testing.PromText;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * container_network_* on the real kernel, scraped as Prometheus would: a container on the bridge counts what the
 * test sends it; host-network and none containers have no interface series (the host's interfaces are not
 * repeated, lo is never exported). Traffic goes only to the test's own container.
 */
@Tag("root")
class NetworkMetricsTest {

    private static final int SENT = 200_000;

    private NetFixture fx;
    private CgroupCollector collector;
    private MetricsPage page;
    private final Map<String, String> names = new HashMap<>();

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
        collector = new CgroupCollector(fx.dirs.layout, HostPaths.system(), List.of(fx.dirs.path),
                Duration.ofMinutes(1), 1, System::currentTimeMillis, CollectorStats.NONE);
        page = new MetricsPage(collector::latest, new ContainerMetrics(p -> names.getOrDefault(p, ""),
                new MachineInfo(1, 1), new DeviceNames(Path.of("/sys/dev/block"))),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            collector.close();
        } finally {
            fx.close();
        }
    }

    private PromText scrape() {
        collector.collect();
        return PromText.parse(page.render().text());
    }

    private ContainerRecord run(String name, String network, String... command) throws Exception {
        String ns = network == null ? "" : "'namespaces':{'network':'" + network + "'},";
        ContainerRecord r = fx.runtime.run(fx.spec("{'name':'" + name + "'," + ns + "'command':['"
                + String.join("','", command) + "']}"));
        names.put(r.cgroup(), name);
        return r;
    }

    @Test
    void aBridgedContainerCountsWhatItReceivesAndHostAndNoneHaveNoInterfaces() throws Exception {
        run("sink", null, "/bin/sh", "-c", "nc -l -p 9000 > /dev/null; sleep 60");
        run("hosty", "host", "/bin/sleep", "60");
        run("alone", "none", "/bin/sleep", "60");
        String address = fx.runtime.networks().attachment("sink").orElseThrow().address();

        PromText before = scrape();
        double received = before.value("container_network_receive_bytes_total", "name", "sink", "interface", "eth0")
                .orElseThrow();
        send(address, 9000, SENT);
        // the send returns once the bytes are in the host's socket buffer, not once they crossed the veth
        PromText after = awaitValue(this::scrape, p -> p.value("container_network_receive_bytes_total", "name",
                "sink", "interface", "eth0").orElseThrow() - received >= SENT, Duration.ofSeconds(10),
                "the sink's eth0 to count the " + SENT + " bytes sent to it");
        assertThat(after.value("container_network_receive_packets_total", "name", "sink", "interface", "eth0")
                .orElseThrow()).isPositive();
        assertThat(after.value("container_network_transmit_bytes_total", "name", "sink", "interface", "eth0")
                .orElseThrow()).isPositive(); // its ACKs
        assertThat(after.find("container_network_receive_bytes_total", "name", "sink"))
                .extracting(s -> s.labels().get("interface")).containsExactly("eth0");
        for (String family : List.of("receive_bytes", "receive_packets", "receive_errors", "receive_packets_dropped",
                "transmit_bytes", "transmit_packets", "transmit_errors", "transmit_packets_dropped")) {
            String name = "container_network_" + family + "_total";
            assertThat(after.find(name, "name", "hosty")).as(name + " of a host-network container").isEmpty();
            assertThat(after.find(name, "name", "alone")).as(name + " of a none container").isEmpty();
            assertThat(after.find(name)).as(name).extracting(s -> s.labels().get("name")).containsOnly("sink");
        }
        // the containers are there, only without interfaces
        assertThat(after.find("container_cpu_usage_seconds_total", "name", "hosty")).hasSize(1);
        assertThat(after.find("container_cpu_usage_seconds_total", "name", "alone")).hasSize(1);
    }

    /** Sends {@code bytes} zeros over TCP to the test's container, retrying the connect for up to 10 s. */
    private static void send(String address, int port, int bytes) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address, port), 1000);
                OutputStream out = s.getOutputStream();
                out.write(new byte[bytes]);
                out.flush();
                s.shutdownOutput();
                return;
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
