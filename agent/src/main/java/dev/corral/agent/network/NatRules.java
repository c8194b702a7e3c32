package dev.corral.agent.network;

import java.io.IOException;
import java.util.Collection;
import java.util.List;

/**
 * The agent's own nftables table ({@code inet corral} for the default bridge): masquerade of traffic leaving each
 * network's subnet, the DNAT of published ports (also from the host itself, output hook) and the isolation of the
 * networks from each other. Nothing else on the host is touched. Written whole, in one nft transaction, each time
 * it changes (only when a network or a published port comes or goes): what an earlier agent left is replaced.
 */
final class NatRules {

    /** One network with what is attached to it. */
    record Net(String bridge, Subnet subnet, Collection<Attachment> attachments) {
    }

    private NatRules() {
    }

    static String render(String table, List<Net> nets) {
        StringBuilder dnat = new StringBuilder();
        for (Net n : nets) {
            for (Attachment a : n.attachments()) {
                for (Attachment.Published p : a.ports()) {
                    String to = p.hostIp() == null ? "fib daddr type local" : "ip daddr " + p.hostIp();
                    dnat.append("    meta nfproto ipv4 ").append(to).append(" meta l4proto ").append(p.protocol())
                            .append(" th dport ").append(p.hostPort()).append(" dnat ip to ").append(a.address())
                            .append(':').append(p.containerPort()).append('\n');
                }
            }
        }
        StringBuilder b = new StringBuilder();
        b.append("table inet ").append(table).append(" {}\n");
        b.append("delete table inet ").append(table).append('\n');
        b.append("table inet ").append(table).append(" {\n");
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

    static void apply(String table, List<Net> nets) throws IOException {
        HostCommands.run(List.of("nft", "-f", "-"), render(table, nets));
    }

    static void delete(String table) throws IOException {
        HostCommands.run(List.of("nft", "-f", "-"), "table inet " + table + " {}\ndelete table inet " + table + "\n");
    }
}
