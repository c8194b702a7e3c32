package dev.corral.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A network's bridge on the host, and the host's links and routes it must fit with (iproute2's {@code ip -json}). */
final class Bridge {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Bridge() {
    }

    static boolean exists(String link) {
        return Files.exists(Path.of("/sys/class/net", link));
    }

    /** The bridge's IPv4 subnet, from its address (the gateway); empty if it has none. */
    static Optional<Subnet> subnetOf(String bridge) throws IOException {
        for (JsonNode link : JSON.readTree(HostCommands.run("ip", "-json", "-4", "addr", "show", "dev", bridge))) {
            for (JsonNode a : link.path("addr_info")) {
                if (a.has("local")) {
                    return Optional.of(new Subnet(Subnet.parseIp(a.get("local").asText()), a.get("prefixlen").asInt()));
                }
            }
        }
        return Optional.empty();
    }

    /** Made up, with its gateway address; removed again if a step fails. */
    static void create(String bridge, Subnet subnet) throws IOException {
        HostCommands.run("ip", "link", "add", bridge, "type", "bridge");
        try {
            HostCommands.run("ip", "addr", "add", Subnet.ip(subnet.gateway()) + "/" + subnet.prefix(), "dev", bridge);
            HostCommands.run("ip", "link", "set", bridge, "up");
        } catch (IOException e) {
            deleteLink(bridge);
            throw e;
        }
    }

    /**
     * Forwarding on, and route_localnet on the bridge: a port published on 127.0.0.1 is DNAT'ed from loopback to
     * the container, which the kernel routes only with it (netavark does the same).
     */
    static void enableForwarding(String bridge) throws IOException {
        Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), "1");
        Files.writeString(Path.of("/proc/sys/net/ipv4/conf", bridge, "route_localnet"), "1");
    }

    /** The IPv4 destinations the host routes (its main table), without the default route. */
    static List<Subnet> routedSubnets() throws IOException {
        List<Subnet> out = new ArrayList<>();
        for (JsonNode r : JSON.readTree(HostCommands.run("ip", "-json", "-4", "route", "show", "table", "main"))) {
            String dst = r.path("dst").asText("");
            if (dst.isEmpty() || dst.equals("default")) {
                continue;
            }
            try {
                out.add(dst.contains("/") ? Subnet.parse(dst) : new Subnet(Subnet.parseIp(dst), 30));
            } catch (IllegalArgumentException e) {
                // a /31, /32 or shorter than /8: not worth avoiding precisely
                if (dst.contains("/")) {
                    int slash = dst.indexOf('/');
                    int p = Integer.parseInt(dst.substring(slash + 1));
                    out.add(new Subnet(Subnet.parseIp(dst.substring(0, slash)), Math.max(8, Math.min(30, p))));
                }
            }
        }
        return out;
    }

    /** The links enslaved to the bridge (the host ends of its containers' pairs). */
    static List<String> portsOf(String bridge) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode l : JSON.readTree(HostCommands.run("ip", "-json", "link", "show", "master", bridge))) {
            out.add(l.get("ifname").asText());
        }
        return out;
    }

    /** Deletes a link (a veth goes with its peer); a link already gone is not an error. */
    static void deleteLink(String link) throws IOException {
        if (exists(link)) {
            try {
                HostCommands.run("ip", "link", "del", link);
            } catch (IOException e) {
                if (exists(link)) {
                    throw e;
                }
            }
        }
    }
}
