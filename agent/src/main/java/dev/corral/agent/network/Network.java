package dev.corral.agent.network;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * A bridge network: the default one ({@code corral}, from serve's options) or one made with
 * {@code corral network create} (kept in the state dir's networks/NAME.json).
 *
 * @param builtin true for the default network: its containers do not resolve each other by name (as Docker's)
 */
public record Network(String name, String bridge, String subnet, String gateway, boolean builtin) {

    static Network of(String name, String bridge, Subnet subnet, boolean builtin) {
        return new Network(name, bridge, subnet.toString(), Subnet.ip(subnet.gateway()), builtin);
    }

    @JsonIgnore
    Subnet parsedSubnet() {
        return Subnet.parse(subnet);
    }
}
