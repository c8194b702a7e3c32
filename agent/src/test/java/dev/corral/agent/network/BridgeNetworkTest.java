package dev.corral.agent.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * Bridge networking on the real kernel: veth, address, route, NAT and published ports. Traffic goes only to
 * 127.0.0.1, to the test's containers and to a network namespace the test makes; every wait is bounded.
 */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class BridgeNetworkTest {

    private NetFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void aPortPublishedOnLoopbackServesTheHostAndContainersReachEachOtherByAddress() throws Exception {
        int port = freePort();
        ContainerRecord web = fx.runtime.run(fx.spec("{'name':'web','command':['/bin/httpd','-f','-p','80','-h','/www'],"
                + "'ports':[{'hostIp':'127.0.0.1','hostPort':" + port + ",'containerPort':80}]}"));
        Attachment a = fx.runtime.networks().attachment("web").orElseThrow();
        assertThat(a.ports()).containsExactly(new Attachment.Published("127.0.0.1", port, 80, "tcp"));
        assertThat(NetFixture.fetch("http://127.0.0.1:" + port + "/")).isEqualTo("hello from corral\n");
        assertThat(fx.bridgePorts()).containsExactly(a.veth());

        ContainerRecord client = fx.runToExit("{'name':'client','command':['/bin/sh','-c','cat /etc/hostname; "
                + "ip -4 addr show eth0 | grep -o inet.[0-9./]*; ip route | grep default; "
                + "wget -q -O - http://" + a.address() + "/']}");
        Attachment c = fx.runtime.networks().attachment("client").orElseThrow();
        assertThat(client.exitCode()).as(fx.stderr("client")).isZero();
        assertThat(fx.stdout("client")).isEqualTo("client\ninet " + c.address() + "/24\ndefault via " + c.gateway()
                + " dev eth0 \nhello from corral\n");
        assertThat(c.address()).isNotEqualTo(a.address());
        assertThat(web.state().isLive()).isTrue();
    }

    /** Published on every address (no hostIp): the host reaches it on 127.0.0.1; its removal takes the DNAT. */
    @Test
    void aPortPublishedOnEveryAddressServesTheHostOnLoopbackUntilRemoved() throws Exception {
        int port = freePort();
        fx.runtime.run(fx.spec("{'name':'any','command':['/bin/httpd','-f','-p','80','-h','/www'],"
                + "'ports':[{'hostPort':" + port + ",'containerPort':80},{'containerPort':80,'protocol':'udp'}]}"));
        Attachment a = fx.runtime.networks().attachment("any").orElseThrow();
        assertThat(a.ports()).hasSize(2).first().isEqualTo(new Attachment.Published(null, port, 80, "tcp"));
        assertThat(fx.dnatRules()).containsExactlyInAnyOrder("tcp . " + port + " : " + a.address() + " . 80",
                "udp . " + a.ports().get(1).hostPort() + " : " + a.address() + " . 80");
        assertThat(NetFixture.fetch("http://127.0.0.1:" + port + "/")).isEqualTo("hello from corral\n");
        fx.runtime.remove("any", true);
        assertThat(fx.dnatRules()).isEmpty();
    }

    /**
     * The table changed behind the agent's back: removed before a launch (the launch writes it whole again, the
     * running container's port with it), an element removed before its container's removal (the removal writes the
     * table whole again). Each port works while its container is there, and nothing of either is left.
     */
    @Test
    void publishedPortsSurviveATableChangedBehindTheAgentsBack() throws Exception {
        int first = freePort();
        fx.runtime.run(fx.spec("{'name':'one','command':['/bin/httpd','-f','-p','80','-h','/www'],"
                + "'ports':[{'hostIp':'127.0.0.1','hostPort':" + first + ",'containerPort':80}]}"));
        NetFixture.sh("nft", "delete", "table", "inet", fx.options.table());
        int second = freePort();
        fx.runtime.run(fx.spec("{'name':'two','command':['/bin/httpd','-f','-p','80','-h','/www'],"
                + "'ports':[{'hostIp':'127.0.0.1','hostPort':" + second + ",'containerPort':80}]}"));
        assertThat(NetFixture.fetch("http://127.0.0.1:" + first + "/")).isEqualTo("hello from corral\n");
        assertThat(NetFixture.fetch("http://127.0.0.1:" + second + "/")).isEqualTo("hello from corral\n");
        Attachment two = fx.runtime.networks().attachment("two").orElseThrow();
        NetFixture.sh("nft", "delete", "element", "inet", fx.options.table(), NftMaps.BY_ADDRESS,
                "{ 127.0.0.1 . tcp . " + second + " }");
        fx.runtime.remove("two", true);
        assertThat(fx.dnatRules()).containsExactly("127.0.0.1 . tcp . " + first + " : "
                + fx.runtime.networks().attachment("one").orElseThrow().address() + " . 80")
                .noneMatch(r -> r.contains(two.address()));
        assertThat(NetFixture.fetch("http://127.0.0.1:" + first + "/")).isEqualTo("hello from corral\n");
        fx.runtime.remove("one", true);
        assertThat(fx.dnatRules()).isEmpty();
    }

    @Test
    void noneHasNoRouteAndNoEth0() throws Exception {
        ContainerRecord r = fx.runToExit("{'name':'alone','namespaces':{'network':'none'},'command':['/bin/sh','-c',"
                + "'ls /sys/class/net; ip route; wget -q -O - http://" + Subnet.ip(Subnet.parse(fx.options.subnet())
                .gateway()) + "/ || echo unreachable']}");
        assertThat(r.exitCode()).isZero();
        assertThat(fx.stdout("alone")).isEqualTo("lo\nunreachable\n");
        assertThat(fx.stderr("alone")).contains("Network is unreachable");
        assertThat(fx.runtime.networks().attachment("alone")).isEmpty();
    }

    @Test
    void aBusyHostPortIsRefusedBeforeAnythingIsMade() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> fx.runtime.run(fx.spec("{'name':'busy','command':['/bin/true'],'ports':"
                    + "[{'hostIp':'127.0.0.1','hostPort':" + port + ",'containerPort':80}]}")))
                    .isInstanceOf(SpecException.class).hasMessageContaining("ports[0]")
                    .hasMessageContaining("host port " + port + "/tcp on 127.0.0.1 is not free");
        }
        assertThat(fx.runtime.list()).isEmpty();
        assertThat(fx.runtime.networks().attachment("busy")).isEmpty();
        assertThat(fx.bridgePortsSettled()).isEmpty();
        assertThat(fx.dnatRules()).isEmpty();
        // its address was not taken either: the next container gets the first one
        fx.runToExit("{'name':'next','command':['/bin/true']}");
        assertThat(fx.runtime.networks().attachment("next").orElseThrow().address())
                .isEqualTo(Subnet.ip(Subnet.parse(fx.options.subnet()).firstHost()));
    }

    /** A start that fails after the veth was made (the command does not exist): nothing is left on the bridge. */
    @Test
    void aFailedStartLeavesNoVeth() throws Exception {
        assertThatThrownBy(() -> fx.runtime.run(fx.spec(
                "{'name':'nosuch','command':['/bin/no-such-command']}"))).hasMessageContaining("no-such-command");
        assertThat(fx.bridgePortsSettled()).isEmpty();
        Attachment kept = fx.runtime.networks().attachment("nosuch").orElseThrow();
        fx.runtime.remove("nosuch", false);
        assertThat(fx.runtime.networks().attachment("nosuch")).isEmpty();
        fx.runToExit("{'name':'reuse','command':['/bin/true']}");
        assertThat(fx.runtime.networks().attachment("reuse").orElseThrow().address()).isEqualTo(kept.address());
    }

    @Test
    void portsNeedABridgeNetwork() {
        assertThatThrownBy(() -> fx.runtime.run(fx.spec("{'name':'h','namespaces':{'network':'host'},"
                + "'command':['/bin/true'],'ports':[{'containerPort':80}]}")))
                .isInstanceOf(SpecException.class).hasMessageContaining("needs a bridge network, not 'host'");
        assertThatThrownBy(() -> fx.runtime.run(fx.spec("{'name':'n','namespaces':{'network':'nowhere'},"
                + "'command':['/bin/true']}")))
                .isInstanceOf(SpecException.class).hasMessageContaining("no network named 'nowhere'");
    }

    /**
     * A test-made network namespace stands in for the outside, behind its own veth from the host: the container's
     * connection to it arrives from the host's address on that link (masquerade), not from the container's.
     */
    @Test
    void trafficLeavingTheBridgeIsMasqueraded() throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 6);
        String ns = "corral-net-out-" + id;
        String hostEnd = "cno" + id;
        int net = ThreadLocalRandom.current().nextInt(0, 256);
        String hostIp = "10.251." + net + ".1";
        String outsideIp = "10.251." + net + ".2";
        Path www = Files.createTempDirectory("corral-net-outside");
        Path log = www.resolve("httpd.log");
        Process httpd = null;
        try {
            NetFixture.sh("ip", "netns", "add", ns);
            NetFixture.sh("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", ns);
            NetFixture.sh("ip", "addr", "add", hostIp + "/30", "dev", hostEnd);
            NetFixture.sh("ip", "link", "set", hostEnd, "up");
            NetFixture.sh("ip", "-n", ns, "addr", "add", outsideIp + "/30", "dev", "eth0");
            NetFixture.sh("ip", "-n", ns, "link", "set", "eth0", "up");
            Files.writeString(www.resolve("index.html"), "outside\n");
            httpd = new ProcessBuilder("ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-vv", "-p",
                    outsideIp + ":8080", "-h", www.toString()).redirectErrorStream(true).redirectOutput(log.toFile())
                    .start();
            ContainerRecord r = fx.runToExit("{'name':'leaver','command':['/bin/sh','-c','for i in 1 2 3 4 5 6 7 8 9 10;"
                    + " do wget -q -O - http://" + outsideIp + ":8080/ && exit 0; sleep 0.3; done; exit 1']}");
            assertThat(r.exitCode()).as(fx.stderr("leaver")).isZero();
            assertThat(fx.stdout("leaver")).isEqualTo("outside\n");
            String container = fx.runtime.networks().attachment("leaver").orElseThrow().address();
            assertThat(Files.readString(log)).contains(hostIp).doesNotContain(container);
        } finally {
            if (httpd != null) {
                httpd.destroy();
                httpd.waitFor();
            }
            Bridge.deleteLink(hostEnd);
            try {
                NetFixture.sh("ip", "netns", "del", ns);
            } catch (IOException e) {
                // it was not made
            }
            dev.corral.agent.image.Trees.delete(www);
        }
    }

    /**
     * An agent that dies (no cleanup) and starts again: the running container keeps its address, veth and published
     * port; a veth on the bridge that is no container's is removed; after the removal nothing is left.
     */
    @Test
    void aRestartedAgentKeepsRunningContainersNetworkedAndRemovesWhatIsNoContainers() throws Exception {
        int port = freePort();
        fx.runtime.run(fx.spec("{'name':'web','command':['/bin/httpd','-f','-p','80','-h','/www'],"
                + "'ports':[{'hostIp':'127.0.0.1','hostPort':" + port + ",'containerPort':80}]}"));
        assertThat(NetFixture.fetch("http://127.0.0.1:" + port + "/")).isEqualTo("hello from corral\n");
        Attachment before = fx.runtime.networks().attachment("web").orElseThrow();
        String stale = "cvstale" + UUID.randomUUID().toString().substring(0, 6);
        NetFixture.sh("ip", "link", "add", stale, "master", fx.options.bridge(), "type", "veth", "peer", "name",
                stale + "p");
        fx.restart();
        assertThat(fx.bridgePorts()).containsExactly(before.veth());
        assertThat(Bridge.exists(stale + "p")).isFalse();
        assertThat(fx.runtime.networks().attachment("web")).contains(before);
        assertThat(NetFixture.fetch("http://127.0.0.1:" + port + "/")).isEqualTo("hello from corral\n");
        // the port is held again: a host process cannot take it
        assertThatThrownBy(() -> new ServerSocket(port, 1, InetAddress.getLoopbackAddress()).close())
                .isInstanceOf(IOException.class);
        ContainerRecord second = fx.runToExit("{'name':'second','command':['/bin/wget','-q','-O','-','http://"
                + before.address() + "/']}");
        assertThat(second.exitCode()).isZero();
        assertThat(fx.runtime.networks().attachment("second").orElseThrow().address()).isNotEqualTo(before.address());
        fx.runtime.remove("web", true);
        fx.runtime.remove("second", true);
        assertThat(fx.bridgePortsSettled()).isEmpty();
        assertThat(fx.dnatRules()).isEmpty();
        new ServerSocket(port, 1, InetAddress.getLoopbackAddress()).close(); // released
    }
}
