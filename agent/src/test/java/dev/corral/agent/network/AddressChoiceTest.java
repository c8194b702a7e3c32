package dev.corral.agent.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.spec.SpecException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * --ip and --mac-address on the real kernel: the container's eth0 has them, the address is reserved (also across
 * an agent restart), and an address taken, outside the subnet or without a bridge network, or a bad MAC, is
 * refused with nothing made.
 */
@Tag("root")
class AddressChoiceTest {

    private NetFixture fx;
    private Subnet subnet;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
        subnet = Subnet.parse(fx.options.subnet());
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    private String host(int n) {
        return Subnet.ip(subnet.base() + n);
    }

    private void refused(String json, String field, String message) throws Exception {
        int before = fx.runtime.list().size();
        assertThatThrownBy(() -> fx.runtime.run(fx.spec(json))).isInstanceOf(SpecException.class)
                .hasMessageContaining(field).hasMessageContaining(message);
        assertThat(fx.runtime.list()).hasSize(before);
        assertThat(fx.bridgePorts()).as("no veth of a refused container").hasSize(1);
    }

    @Test
    void theAddressAndMacAskedForAreEth0sAndTheAddressIsReserved() throws Exception {
        String ip = host(50);
        ContainerRecord r = fx.runtime.run(fx.spec("{'name':'fixed','ip':'" + ip + "','macAddress':'02:00:00:AA:bb:cc',"
                + "'command':['/bin/sh','-c','ip -4 addr show eth0 | grep -o inet.[0-9./]*; "
                + "cat /sys/class/net/eth0/address; exec httpd -f -p 80 -h /www']}"));
        Attachment a = fx.runtime.networks().attachment("fixed").orElseThrow();
        assertThat(a.address()).isEqualTo(ip);
        assertThat(a.mac()).isEqualTo("02:00:00:aa:bb:cc");
        assertThat(NetFixture.fetch("http://" + ip + "/")).isEqualTo("hello from corral\n");
        assertThat(fx.stdout("fixed")).isEqualTo("inet " + ip + "/" + subnet.prefix() + "\n02:00:00:aa:bb:cc\n");
        assertThat(r.state().isLive()).isTrue();

        refused("{'name':'twin','ip':'" + ip + "','command':['/bin/true']}", "ip",
                ip + " is taken on network 'corral' (by fixed)");
        refused("{'name':'far','ip':'192.0.2.7','command':['/bin/true']}", "ip", "192.0.2.7 is not a host address");
        refused("{'name':'gw','ip':'" + host(1) + "','command':['/bin/true']}", "ip", "is not a host address");
        refused("{'name':'bad','ip':'10.1.2','command':['/bin/true']}", "ip", "is not an IPv4 address");
        refused("{'name':'multi','macAddress':'01:00:5e:00:00:01','command':['/bin/true']}", "macAddress",
                "multicast");
        refused("{'name':'badmac','macAddress':'02:00:00:aa:bb','command':['/bin/true']}", "macAddress",
                "is not a MAC address");
        refused("{'name':'alone','namespaces':{'network':'none'},'ip':'" + host(51) + "','command':['/bin/true']}",
                "ip", "needs a bridge network, not 'none'");

        // an address left free by the refusals is the next one handed out; the reserved one survives a restart
        fx.runToExit("{'name':'next','command':['/bin/true']}");
        assertThat(fx.runtime.networks().attachment("next").orElseThrow().address())
                .isEqualTo(Subnet.ip(subnet.firstHost()));
        fx.restart();
        refused("{'name':'twin2','ip':'" + ip + "','command':['/bin/true']}", "ip", "is taken");
        fx.runtime.remove("fixed", true);
        fx.runToExit("{'name':'again','ip':'" + ip + "','command':['/bin/true']}");
        assertThat(fx.runtime.networks().attachment("again").orElseThrow().address()).isEqualTo(ip);
    }
}
