package dev.corral.agent.network;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * A container's place on a bridge network, kept in its state directory (network.json) from its create to its
 * removal: the agent's address management is rebuilt from these files at start.
 *
 * @param veth the host end of the pair (corral-shim makes it at each start; it goes with the container's netns)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Attachment(String network, String bridge, String address, int prefix, String gateway, String mac,
                         String veth, List<Published> ports) {

    /** A published port as it is in effect (the host port chosen when the spec left it open). */
    public record Published(String hostIp, int hostPort, int containerPort, String protocol) {

        /** Docker's form: 127.0.0.1:8080->80/tcp */
        @Override
        public String toString() {
            return (hostIp == null ? "0.0.0.0" : hostIp) + ":" + hostPort + "->" + containerPort + "/" + protocol;
        }
    }

    /** Docker's MAC for an address: 02:42 and the address's four bytes. */
    static String macOf(int address) {
        return String.format("02:42:%02x:%02x:%02x:%02x", address >>> 24, address >>> 16 & 255, address >>> 8 & 255,
                address & 255);
    }
}
