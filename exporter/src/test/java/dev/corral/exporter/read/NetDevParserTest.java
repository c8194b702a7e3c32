package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.NetInterface;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class NetDevParserTest {

    private static List<NetInterface> parse(String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        return NetDevParser.parse(b, b.length);
    }

    @Test
    void readsEveryInterfaceButLoopback() {
        List<NetInterface> nets = parse("""
                Inter-|   Receive                                                |  Transmit
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                    lo:  234167330   77848    0    0    0     0          0         0 234167330   77848    0    0    0     0       0          0
                  eth0: 1200 10 1 2 0 0 0 0 3400 20 3 4 0 0 0 0
                veth-a1b2c3:18446744073709551 5 0 0 0 0 0 0 7 1 0 9 0 0 0 0
                """);
        assertThat(nets).containsExactly(new NetInterface("eth0", 1200, 10, 1, 2, 3400, 20, 3, 4),
                new NetInterface("veth-a1b2c3", 18446744073709551L, 5, 0, 0, 7, 1, 0, 9));
    }

    @Test
    void aNamespaceWithLoopbackOnlyHasNoInterfaces() {
        assertThat(parse("Inter-|\n face |\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n")).isEmpty();
    }

    @Test
    void aTruncatedLineIsLeftOut() {
        assertThat(parse("h\nh\n  eth0: 1 2 3\n")).isEmpty();
    }
}
