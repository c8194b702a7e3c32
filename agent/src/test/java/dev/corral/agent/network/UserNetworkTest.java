package dev.corral.agent.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.ContainerException;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/** User-defined networks: name resolution through a kept-current /etc/hosts, isolation between networks. */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class UserNetworkTest {

    private NetFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    private static String subnet() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return "10." + r.nextInt(220, 250) + "." + r.nextInt(0, 256) + ".0/24";
    }

    private Path hostsOf(String container) {
        return fx.dirs.stateDir.resolve("containers").resolve(container).resolve("etc/hosts");
    }

    @Test
    void containersOfANetworkReachEachOtherByNameAndOtherNetworksCannotReachThem() throws Exception {
        Network blue = fx.runtime.networks().create("blue", subnet());
        fx.runtime.networks().create("red", subnet());
        // started before web exists: it sees web's name arrive in its (bind-mounted) /etc/hosts
        fx.runtime.run(fx.spec("{'name':'early','namespaces':{'network':'blue'},'command':['/bin/sh','-c',"
                + "'for i in $(seq 100); do grep -q web /etc/hosts && wget -q -O - http://web/ && exit 0; sleep 0.1;"
                + " done; exit 1']}"));
        fx.runtime.run(fx.spec("{'name':'web','namespaces':{'network':'blue'},"
                + "'command':['/bin/httpd','-f','-p','80','-h','/www']}"));
        Attachment web = fx.runtime.networks().attachment("web").orElseThrow();
        assertThat(web.network()).isEqualTo("blue");
        assertThat(Subnet.parse(blue.subnet()).contains(Subnet.parseIp(web.address()))).isTrue();
        ContainerRecord early = fx.runtime.waitFor("early").get(60, TimeUnit.SECONDS);
        assertThat(early.exitCode()).as(fx.stderr("early")).isZero();
        assertThat(fx.stdout("early")).isEqualTo("hello from corral\n");

        ContainerRecord later = fx.runToExit("{'name':'later','namespaces':{'network':'blue'},"
                + "'command':['/bin/wget','-q','-O','-','http://web/']}");
        assertThat(later.exitCode()).as(fx.stderr("later")).isZero();

        String probe = "timeout 3 wget -q -O - http://" + web.address() + "/ && echo reached || echo blocked";
        ContainerRecord red = fx.runToExit("{'name':'onred','namespaces':{'network':'red'},'command':['/bin/sh',"
                + "'-c','" + probe + "']}");
        assertThat(red.exitCode()).isZero();
        assertThat(fx.stdout("onred")).isEqualTo("blocked\n");
        ContainerRecord dflt = fx.runToExit("{'name':'ondefault','command':['/bin/sh','-c','" + probe
                + "; grep -c web /etc/hosts']}");
        assertThat(dflt.exitCode()).isNotNull();
        assertThat(fx.stdout("ondefault")).isEqualTo("blocked\n0\n");

        // the names go with the removal
        assertThat(Files.readString(hostsOf("later"))).contains(web.address() + "\tweb\n");
        fx.runtime.remove("web", true);
        assertThat(Files.readString(hostsOf("later"))).doesNotContain("web");
    }

    @Test
    void aNetworkWithContainersCannotBeRemovedAndNamesAreChecked() throws Exception {
        Network green = fx.runtime.networks().create("green", subnet());
        assertThatThrownBy(() -> fx.runtime.networks().create("green", subnet()))
                .isInstanceOf(ContainerException.class).hasMessageContaining("exists already");
        assertThatThrownBy(() -> fx.runtime.networks().create("host", null))
                .isInstanceOf(SpecException.class).hasMessageContaining("reserved");
        assertThatThrownBy(() -> fx.runtime.networks().create("x", "10.1.2.3"))
                .isInstanceOf(SpecException.class).hasMessageContaining("subnet");
        assertThatThrownBy(() -> fx.runtime.networks().create("overlap", green.subnet()))
                .isInstanceOf(SpecException.class).hasMessageContaining("overlaps");
        fx.runToExit("{'name':'g1','namespaces':{'network':'green'},'command':['/bin/true']}");
        assertThat(Bridge.exists(green.bridge())).isTrue();
        assertThatThrownBy(() -> fx.runtime.networks().remove("green"))
                .isInstanceOf(ContainerException.class).hasMessageContaining("has containers: g1");
        assertThatThrownBy(() -> fx.runtime.networks().remove("bridge"))
                .isInstanceOf(ContainerException.class).hasMessageContaining("default network");
        fx.runtime.remove("g1", false);
        fx.runtime.networks().remove("green");
        assertThat(Bridge.exists(green.bridge())).isFalse();
        assertThat(fx.runtime.networks().list()).extracting(Network::name).doesNotContain("green");
    }
}
