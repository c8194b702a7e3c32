package dev.corral.agent.network;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;

/**
 * A published port is DNAT'ed by the kernel and never reaches these sockets; the agent binds it anyway, as podman's
 * conmon does, so no host process can take it meanwhile and an in-use port is refused before anything is made.
 */
final class PortHolds {

    private PortHolds() {
    }

    /** A socket bound to the port (port 0: a free one, read back with {@link #port}). */
    static NetworkChannel hold(String hostIp, int port, String protocol) throws IOException {
        InetSocketAddress at = new InetSocketAddress(hostIp == null ? "0.0.0.0" : hostIp, port);
        NetworkChannel ch = protocol.equals("udp") ? DatagramChannel.open() : ServerSocketChannel.open();
        try {
            ch.bind(at);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return ch;
    }

    static int port(NetworkChannel ch) throws IOException {
        return ((InetSocketAddress) ch.getLocalAddress()).getPort();
    }

    static void closeAll(Iterable<? extends Closeable> all) {
        for (Closeable c : all) {
            try {
                c.close();
            } catch (IOException e) {
                // closing a socket does not fail in a way that matters here
            }
        }
    }
}
