package dev.corral.agent.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The published-port maps written by netlink from the agent ({@link NftMaps}) against the same maps written whole by
 * nft ({@link NatRules#render}): the same elements, as nft lists them. Real nftables, tables of the test's own.
 */
@Tag("root")
class NatRulesTest {

    private final String id = UUID.randomUUID().toString().substring(0, 8);
    private final String incremental = "corral_natperf_a" + id;
    private final String whole = "corral_natperf_b" + id;
    private final Subnet subnet = Subnet.parse("10.201.7.0/24");

    private static Attachment attachment(String address, List<Attachment.Published> ports) {
        return new Attachment("bridge", "cnnatperf", address, 24, "10.201.7.1", Attachment.macOf(1), "cvnatperf",
                ports);
    }

    private final Attachment first = attachment("10.201.7.2", List.of(
            new Attachment.Published("127.0.0.1", 41001, 80, "tcp"),
            new Attachment.Published(null, 41002, 53, "udp")));
    private final Attachment second = attachment("10.201.7.3", List.of(
            new Attachment.Published("127.0.0.1", 41003, 8080, "tcp"),
            new Attachment.Published("10.9.8.7", 65535, 1, "udp"),
            new Attachment.Published(null, 41004, 443, "tcp"),
            new Attachment.Published(null, 1, 65535, "udp")));

    @AfterEach
    void dropTables() {
        for (String t : List.of(incremental, whole)) {
            try {
                NatRules.delete(t);
            } catch (IOException e) {
                // not made
            }
        }
    }

    private void write(String table, Attachment... attached) throws IOException {
        NatRules.apply(table, List.of(new NatRules.Net("cnnatperf", subnet, List.of(attached))));
    }

    /** The two maps as nft lists them, without the table's line. */
    private static List<String> maps(String table) throws IOException {
        List<String> out = new ArrayList<>();
        for (String map : List.of(NftMaps.BY_ADDRESS, NftMaps.ANY_ADDRESS)) {
            for (String line : HostCommands.run("nft", "list", "map", "inet", table, map).split("\n")) {
                if (!line.startsWith("table ")) {
                    out.add(line.strip());
                }
            }
        }
        return out;
    }

    @Test
    void elementsAddedAndDeletedByNetlinkAreTheOnesNftWrites() throws IOException {
        write(incremental, first);
        NftMaps.add(incremental, second);
        write(whole, first, second);
        assertThat(maps(incremental)).isEqualTo(maps(whole)).anyMatch(l -> l.contains("10.9.8.7 . udp . 65535 : "
                + "10.201.7.3 . 1")).anyMatch(l -> l.contains("udp . 1 : 10.201.7.3 . 65535"));

        NftMaps.delete(incremental, second);
        write(whole, first);
        assertThat(maps(incremental)).isEqualTo(maps(whole)).anyMatch(l -> l.contains("127.0.0.1 . tcp . 41001"));
        NftMaps.delete(incremental, first);
        assertThat(String.join("\n", maps(incremental))).doesNotContain("elements");
    }

    @Test
    void whatTheKernelRefusesIsAnIoException() throws IOException {
        assertThatThrownBy(() -> NftMaps.add(incremental, first)).isInstanceOf(IOException.class)
                .hasMessageContaining("ENOENT").hasMessageContaining(incremental);
        write(incremental, first);
        assertThatThrownBy(() -> NftMaps.delete(incremental, second)).isInstanceOf(IOException.class)
                .hasMessageContaining("ENOENT");
        // the same key to another container: refused, the element stays as it was
        assertThatThrownBy(() -> NftMaps.add(incremental, attachment("10.201.7.9", first.ports())))
                .isInstanceOf(IOException.class);
        write(whole, first);
        assertThat(maps(incremental)).isEqualTo(maps(whole));
    }
}
