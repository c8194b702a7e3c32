package dev.corral.agent.network;

import static dev.corral.exporter.testing.Await.awaitValue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code --network container:NAME} on the real kernel: the joining container is in NAME's network namespace (its
 * loopback, its eth0 and address, its /etc files and hostname) and gets nothing of its own on the host. Traffic goes
 * only to 127.0.0.1 inside the test's own containers; every wait is bounded.
 */
@Tag("root")
class JoinedNetworkTest {

    private NetFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    private static Set<String> hostLinks() throws Exception {
        Set<String> out = new TreeSet<>();
        for (String line : NetFixture.sh("ip", "-o", "link", "show").split("\n")) {
            String[] f = line.split(": ", 3);
            if (f.length > 1) {
                out.add(f[1].replaceAll("@.*", ""));
            }
        }
        return out;
    }

    /** The container's stdout once it has printed {@code marker} (polled for up to 20 s). */
    private String outputUntil(String name, String marker) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        String out = fx.stdout(name);
        while (!out.contains(marker) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
            out = fx.stdout(name);
        }
        assertThat(out).as("stderr: " + fx.stderr(name)).contains(marker);
        return out;
    }

    @Test
    void theJoinerSharesTheNetworkNamespaceAndGetsNothingOfItsOwn() throws Exception {
        ContainerRecord a = fx.runtime.run(fx.spec("{'name':'a','command':['/bin/httpd','-f','-p','80','-h','/www']}"));
        Attachment att = fx.runtime.networks().attachment("a").orElseThrow();
        Set<String> linksBefore = hostLinks();
        String aNetns = Files.readSymbolicLink(Path.of("/proc/" + a.initPid() + "/ns/net")).toString();

        fx.runtime.run(fx.spec("{'name':'b','namespaces':{'network':'container:a'},'command':['/bin/sh','-c',"
                + "'for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:80/ && break; sleep 0.3; done; "
                + "ip -4 addr show eth0 | grep -o inet.[0-9./]*; grep -c eth0: /proc/net/dev; "
                + "/bin/busybox readlink /proc/self/ns/net; cat /etc/hostname; hostname; grep -c a$ /etc/hosts; "
                + "echo x >> /etc/hosts || echo read-only; echo done; sleep 60']}"));
        String out = outputUntil("b", "done\n");
        assertThat(out).isEqualTo("hello from corral\ninet " + att.address() + "/24\n1\n" + aNetns + "\na\na\n1\n"
                + "read-only\ndone\n");
        // no veth, address or rule of its own: the host's links and the bridge are as they were
        assertThat(hostLinks()).isEqualTo(linksBefore);
        assertThat(fx.bridgePorts()).containsExactly(att.veth());
        assertThat(fx.runtime.networks().attachment("b")).isEmpty();
        assertThat(fx.runtime.inspect("b").spec().namespaces().network()).isEqualTo("container:a");

        // a joiner of the joiner is in the same netns, with a's files and hostname (as Docker)
        ContainerRecord c = fx.runToExit("{'name':'c','namespaces':{'network':'container:b'},'command':['/bin/sh',"
                + "'-c','/bin/busybox readlink /proc/self/ns/net; cat /etc/hostname; hostname; grep -c a$ /etc/hosts']}");
        assertThat(c.exitCode()).as(fx.stderr("c")).isZero();
        assertThat(fx.stdout("c")).isEqualTo(aNetns + "\na\na\n1\n");
        fx.runtime.remove("c", false);

        // NAME stops: the kernel keeps the namespace for b, which still has its loopback and eth0 (as Docker)
        fx.runtime.stop("a", Duration.ofSeconds(2));
        ContainerRecord b = fx.runtime.inspect("b");
        assertThat(b.state().isLive()).isTrue();
        String bNetns = Files.readSymbolicLink(Path.of("/proc/" + b.initPid() + "/ns/net")).toString();
        assertThat(bNetns).isEqualTo(aNetns);
        String bPid = String.valueOf(b.initPid());
        assertThat(NetFixture.sh("nsenter", "-t", bPid, "-n", "ip", "-4", "-o", "addr", "show"))
                .contains(" eth0 ").contains(att.address() + "/24");
        // and removing NAME while b is in its namespace is allowed, as Docker: its veth goes, b keeps its loopback
        fx.runtime.remove("a", true);
        // the veth's deletion is the kernel's, under the RTNL lock: slow on a loaded host
        String links = awaitValue(() -> NetFixture.sh("nsenter", "-t", bPid, "-n", "ip", "-o", "link", "show"),
                l -> !l.contains("eth0"), Duration.ofSeconds(20), "a's veth to leave b's namespace");
        assertThat(links).contains(": lo:");
        assertThat(fx.runtime.inspect("b").state().isLive()).isTrue();
        fx.runtime.remove("b", true);
    }

    @Test
    void whatAJoinedNetworkCannotHaveIsRefusedBeforeAnythingIsMade() throws Exception {
        fx.runtime.run(fx.spec("{'name':'a','command':['/bin/sleep','60']}"));
        fx.runToExit("{'name':'gone','command':['/bin/true']}");
        // gone's veth goes after its exit, with its netns (or the agent's sweep a second later): awaited, or the
        // links taken here would still have it and the comparison below fail once it went
        awaitValue(fx::bridgePorts, ports -> ports.size() == 1, Duration.ofSeconds(30), "only a's veth on the bridge");
        Set<String> linksBefore = hostLinks();
        for (String[] refused : List.of(
                new String[] {"'ports':[{'containerPort':80}]", "ports", "container:a"},
                new String[] {"'ip':'" + Subnet.ip(Subnet.parse(fx.options.subnet()).firstHost() + 5) + "'", "ip",
                        "container:a"},
                new String[] {"'macAddress':'02:42:0a:00:00:09'", "macAddress", "container:a"},
                new String[] {"'hostname':'other'", "hostname", "container:a"},
                new String[] {"'limits':{'network':{'egress':1000000}}", "limits.network", "container:a"},
                new String[] {"'command':['/bin/true']", "no container named 'nosuch'", "container:nosuch"},
                new String[] {"'command':['/bin/true']", "it is not running (exited)", "container:gone"},
                new String[] {"'command':['/bin/true']", "cannot join its own network", "container:joiner"})) {
            String json = "{'name':'joiner','namespaces':{'network':'" + refused[2] + "'},"
                    + (refused[0].startsWith("'command'") ? refused[0] : refused[0] + ",'command':['/bin/true']")
                    + "}";
            assertThatThrownBy(() -> fx.runtime.run(fx.spec(json))).as(json)
                    .isInstanceOf(SpecException.class).hasMessageContaining(refused[1]);
            assertThat(fx.runtime.list()).extracting(ContainerRecord::name).containsExactlyInAnyOrder("a", "gone");
        }
        assertThat(hostLinks()).isEqualTo(linksBefore);
        assertThat(fx.bridgePorts()).hasSize(1);
        assertThat(fx.dnatRules()).isEmpty();
    }

    /** A created joiner whose NAME stopped meanwhile is refused at start, with nothing launched. */
    @Test
    void aStartAfterNameStoppedIsRefused() throws Exception {
        fx.runtime.run(fx.spec("{'name':'a','command':['/bin/sleep','60']}"));
        fx.runtime.create(fx.spec("{'name':'b','namespaces':{'network':'container:a'},'command':['/bin/true']}"));
        fx.runtime.stop("a", Duration.ofSeconds(1));
        assertThatThrownBy(() -> fx.runtime.start("b")).hasMessageContaining("cannot join the network of 'a'")
                .hasMessageContaining("not running");
        assertThat(fx.runtime.inspect("b").initPid()).isNull();
        fx.runtime.start("a");
        ContainerRecord b = fx.runtime.start("b");
        assertThat(fx.runtime.waitFor("b").get(30, java.util.concurrent.TimeUnit.SECONDS).exitCode()).isZero();
        assertThat(b.name()).isEqualTo("b");
    }
}
