package dev.corral.agent.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import dev.corral.exporter.sample.Limits;
import java.io.RandomAccessFile;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * --network-rate on the real kernel: a busybox httpd in one container, wget in another (only between the test's
 * own containers), timed inside the client with busybox's time. Each transfer is 4 MB, about 4 s at 8 Mbit/s.
 */
@Tag("root")
class NetworkRateTest {

    private static final long MB4 = 4_000_000;
    private static final long MBIT8 = 1_000_000; // bytes per second
    private static final Pattern REAL = Pattern.compile("real\\s+(\\d+)m\\s*([0-9.]+)s");

    private NetFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
        try (RandomAccessFile f = new RandomAccessFile(fx.rootfs.resolve("www/big").toFile(), "rw")) {
            f.setLength(MB4);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    /**
     * Mbit/s of one fetch of /big from the server's address, by a new client container (with these limits). It waits
     * half a second first: its own rate is set just after its start (TrafficControl), and unshaped the whole 4 MB
     * takes some 60 ms.
     */
    private double fetch(String client, String server, String limits) throws Exception {
        String address = fx.runtime.networks().attachment(server).orElseThrow().address();
        ContainerRecord r = fx.runToExit("{'name':'" + client + "'," + limits + "'command':['/bin/sh','-c',"
                + "'sleep 0.5; busybox time wget -q -O /dev/null http://" + address + "/big']}");
        assertThat(r.exitCode()).as(client + ": " + fx.stderr(client)).isZero();
        Matcher m = REAL.matcher(fx.stderr(client));
        assertThat(m.find()).as(fx.stderr(client)).isTrue();
        double seconds = Integer.parseInt(m.group(1)) * 60 + Double.parseDouble(m.group(2));
        fx.runtime.remove(client, false);
        return MB4 * 8 / seconds / 1e6;
    }

    private static final String HTTPD = "'command':['/bin/httpd','-f','-p','80','-h','/www']";

    @Test
    void eightMbitMeasuresEightEachWayAndAnUpdateChangesItLive() throws Exception {
        String ifbs = NetFixture.sh("ip", "-o", "link", "show", "type", "ifb");
        ContainerRecord web = fx.runtime.run(fx.spec("{'name':'web'," + HTTPD
                + ",'limits':{'network':{'egress':'8mbit','ingress':'8mbit'}}}"));
        Attachment a = fx.runtime.networks().attachment("web").orElseThrow();
        assertThat(TrafficControl.rate(a.veth(), null)).contains(MBIT8);
        assertThat(TrafficControl.rate("eth0", web.initPid())).contains(MBIT8);

        // what web sends: shaped on its eth0
        double sent = fetch("c1", "web", "");
        assertThat(sent).as("Mbit/s web sent at --network-rate 8mbit").isBetween(6.4, 9.6);

        // live: 16mbit, then no limit at all
        fx.runtime.updateLimits("web", new ContainerSpec.Limits(null, null, null, null,
                new ContainerSpec.NetworkRate(2 * MBIT8, null)));
        assertThat(TrafficControl.rate("eth0", web.initPid())).contains(2 * MBIT8);
        assertThat(TrafficControl.rate(a.veth(), null)).as("ingress left as it was").contains(MBIT8);
        double faster = fetch("c2", "web", "");
        assertThat(faster).as("Mbit/s after update to 16mbit").isBetween(12.8, 19.2);
        ContainerRecord updated = fx.runtime.updateLimits("web", new ContainerSpec.Limits(null, null, null, null,
                new ContainerSpec.NetworkRate(Limits.UNLIMITED, Limits.UNLIMITED)));
        assertThat(TrafficControl.rate("eth0", web.initPid())).isEmpty();
        assertThat(TrafficControl.rate(a.veth(), null)).isEmpty();
        assertThat(updated.spec().limits().network()).isEqualTo(new ContainerSpec.NetworkRate(Limits.UNLIMITED,
                Limits.UNLIMITED));
        assertThat(fx.runtime.inspect("web").spec().limits().network().egress()).as("persisted")
                .isEqualTo(Limits.UNLIMITED);

        // what a client receives: shaped on the host end of its veth
        double received = fetch("c3", "web", "'limits':{'network':{'ingress':'8mbit'}},");
        assertThat(received).as("Mbit/s received at ingress 8mbit").isBetween(6.4, 9.6);
        System.out.printf("network rate: sent %.2f at 8mbit, %.2f at 16mbit, received %.2f at 8mbit%n", sent, faster,
                received);

        // removed with the container: the pair goes with its netns, and no ifb or other link is made
        fx.runtime.kill("web", 9);
        fx.runtime.waitFor("web").get(10, TimeUnit.SECONDS);
        fx.runtime.remove("web", false);
        assertThat(fx.bridgePortsSettled()).isEmpty();
        assertThat(Bridge.exists(a.veth())).isFalse();
        assertThat(NetFixture.sh("ip", "-o", "link", "show", "type", "ifb")).isEqualTo(ifbs);
    }

    @Test
    void aRateIsExportedAsASpecMetricWhileTheContainerHasIt() throws Exception {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        dev.corral.agent.server.NetworkRateMetrics.register(registry, fx.runtime);
        fx.runtime.run(fx.spec("{'name':'m','command':['/bin/sleep','30'],"
                + "'limits':{'network':{'egress':'8mbit','ingress':'1gbit'}}}"));
        assertThat(registry.get("container_spec_network_rate_bytes").tag("name", "m").tag("direction", "egress")
                .gauge().value()).isEqualTo(1e6);
        assertThat(registry.get("container_spec_network_rate_bytes").tag("name", "m").tag("direction", "ingress")
                .gauge().value()).isEqualTo(125e6);
        fx.runtime.updateLimits("m", new ContainerSpec.Limits(null, null, null, null,
                new ContainerSpec.NetworkRate(2 * MBIT8, Limits.UNLIMITED)));
        assertThat(registry.get("container_spec_network_rate_bytes").tag("name", "m").tag("direction", "egress")
                .gauge().value()).isEqualTo(2e6);
        assertThat(registry.find("container_spec_network_rate_bytes").tag("direction", "ingress").gauges()).isEmpty();
        fx.runtime.remove("m", true);
        assertThat(registry.find("container_spec_network_rate_bytes").gauges()).isEmpty();
    }

    @Test
    void aRateNeedsABridgeNetworkAndAUnit() throws Exception {
        assertThatThrownBy(() -> fx.runtime.run(fx.spec("{'name':'h','namespaces':{'network':'none'},"
                + "'command':['/bin/true'],'limits':{'network':{'egress':'8mbit'}}}")))
                .isInstanceOf(SpecException.class).hasMessageContaining("limits.network")
                .hasMessageContaining("needs a bridge network");
        assertThatThrownBy(() -> fx.spec("{'name':'u','command':['/bin/true'],'limits':{'network':{'egress':'8'}}}"))
                .hasMessageContaining("egress").hasMessageContaining("has no unit");
        assertThat(fx.runtime.list()).isEmpty();
    }
}
