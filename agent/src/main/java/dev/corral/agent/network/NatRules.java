package dev.corral.agent.network;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The agent's own nftables table ({@code inet corral} for the default bridge): masquerade of traffic leaving each
 * network's subnet, the DNAT of published ports (also from the host itself, output hook) and the isolation of the
 * networks from each other. Nothing else on the host is touched. Written whole, in one nft transaction, when a
 * network comes or goes and when the agent starts: what an earlier agent left is replaced.
 *
 * <p>Published ports are elements of two maps, {@code published_ip} (host address . protocol . host port) and
 * {@code published_any} (protocol . host port, for any local address), each to the container's address . port; the
 * DNAT rules look the packet up in them. A container's ports are added and deleted as elements ({@link NftMaps},
 * netlink from the agent, no process), so a launch and a removal never rewrite the table and never list it.
 */
final class NatRules {

    /** One network with what is attached to it. */
    record Net(String bridge, Subnet subnet, Collection<Attachment> attachments) {
    }

    private NatRules() {
    }

    static String render(String table, List<Net> nets) {
        List<String> byAddress = new ArrayList<>();
        List<String> anyAddress = new ArrayList<>();
        for (Net n : nets) {
            for (Attachment a : n.attachments()) {
                for (Attachment.Published p : a.ports()) {
                    String to = " : " + a.address() + " . " + p.containerPort();
                    if (p.hostIp() == null) {
                        anyAddress.add(p.protocol() + " . " + p.hostPort() + to);
                    } else {
                        byAddress.add(p.hostIp() + " . " + p.protocol() + " . " + p.hostPort() + to);
                    }
                }
            }
        }
        String dnat = "    meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @" + NftMaps.BY_ADDRESS
                + "\n    meta nfproto ipv4 fib daddr type local dnat ip to meta l4proto . th dport map @"
                + NftMaps.ANY_ADDRESS + "\n";
        StringBuilder b = new StringBuilder();
        b.append("table inet ").append(table).append(" {}\n");
        b.append("delete table inet ").append(table).append('\n');
        b.append("table inet ").append(table).append(" {\n");
        map(b, NftMaps.BY_ADDRESS, "ipv4_addr . inet_proto . inet_service", byAddress);
        map(b, NftMaps.ANY_ADDRESS, "inet_proto . inet_service", anyAddress);
        b.append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n")
                .append(dnat).append("  }\n");
        b.append("  chain output {\n    type nat hook output priority -100; policy accept;\n")
                .append(dnat).append("  }\n");
        b.append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
        for (Net n : nets) {
            b.append("    ip saddr ").append(n.subnet()).append(" oifname != \"").append(n.bridge())
                    .append("\" masquerade\n");
            // what reached a container through a port published on 127.0.0.1 answers the bridge's address
            b.append("    oifname \"").append(n.bridge()).append("\" ip saddr 127.0.0.0/8 masquerade\n");
        }
        b.append("  }\n");
        b.append("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
        for (Net from : nets) {
            for (Net to : nets) {
                if (from != to) {
                    b.append("    iifname \"").append(from.bridge()).append("\" oifname \"").append(to.bridge())
                            .append("\" drop\n");
                }
            }
        }
        b.append("  }\n}\n");
        return b.toString();
    }

    private static void map(StringBuilder b, String name, String key, List<String> elements) {
        b.append("  map ").append(name).append(" {\n    type ").append(key).append(" : ipv4_addr . inet_service\n");
        if (!elements.isEmpty()) {
            b.append("    elements = { ").append(String.join(",\n      ", elements)).append(" }\n");
        }
        b.append("  }\n");
    }

    static void apply(String table, List<Net> nets) throws IOException {
        HostCommands.run(List.of("nft", "-f", "-"), render(table, nets));
    }

    static void delete(String table) throws IOException {
        HostCommands.run(List.of("nft", "-f", "-"), "table inet " + table + " {}\ndelete table inet " + table + "\n");
    }
}
