package dev.corral.agent.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * /etc/hosts, /etc/hostname and /etc/resolv.conf of a networked container, kept in its state directory and bound
 * over the image's (as Docker does). Rewritten in place, never replaced: a bind mount holds the inode.
 */
final class EtcFiles {

    /** Docker's fallback when the host has only loopback resolvers (which a container cannot reach). */
    static final List<String> FALLBACK_DNS = List.of("8.8.8.8", "8.8.4.4");

    private EtcFiles() {
    }

    static Path dir(Path containerDir) {
        return containerDir.resolve("etc");
    }

    static void write(Path containerDir, String hostname, String address, Map<String, String> peers,
                      Path hostResolvConf) throws IOException {
        Path dir = Files.createDirectories(dir(containerDir));
        writeInPlace(dir.resolve("hostname"), hostname + "\n");
        writeHosts(containerDir, hostname, address, peers);
        writeInPlace(dir.resolve("resolv.conf"), resolvConf(hostResolvConf));
    }

    /** @param peers the other containers of a user-defined network, name to address */
    static void writeHosts(Path containerDir, String hostname, String address, Map<String, String> peers)
            throws IOException {
        StringBuilder b = new StringBuilder("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        b.append(address).append('\t').append(hostname).append('\n');
        peers.forEach((name, ip) -> b.append(ip).append('\t').append(name).append('\n'));
        writeInPlace(dir(containerDir).resolve("hosts"), b.toString());
    }

    /** The host's resolv.conf without loopback name servers. */
    static String resolvConf(Path host) throws IOException {
        List<String> lines = Files.exists(host) ? Files.readAllLines(host) : List.of();
        List<String> out = new ArrayList<>();
        boolean server = false;
        for (String line : lines) {
            String t = line.strip();
            if (t.startsWith("nameserver")) {
                String ip = t.substring("nameserver".length()).strip();
                if (ip.startsWith("127.") || ip.equals("::1")) {
                    continue;
                }
                server = true;
            }
            out.add(line);
        }
        if (!server) {
            FALLBACK_DNS.forEach(ip -> out.add("nameserver " + ip));
        }
        return String.join("\n", out) + "\n";
    }

    private static void writeInPlace(Path file, String text) throws IOException {
        Files.writeString(file, text); // truncates and writes the same inode
    }
}
