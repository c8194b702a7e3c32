package dev.corral.agent.network;

/**
 * How the agent networks its containers (serve's --bridge, --bridge-subnet, --default-network).
 *
 * @param bridge         the default network's bridge ("corral0"); its nftables table is {@code inet corral}, or
 *                       {@code inet corral_<bridge>} for another bridge name (tests run their own)
 * @param subnet         its subnet; null to pick one no route of the host overlaps (10.77.0.0/16 first)
 * @param defaultNetwork what a spec without namespaces.network gets: "bridge", "none" or "host"
 */
public record NetworkOptions(String bridge, String subnet, String defaultNetwork) {

    public static final String DEFAULT_BRIDGE = "corral0";
    /** The default network's name ("bridge" is accepted for it too, as in Docker). */
    public static final String DEFAULT_NETWORK = "corral";

    public static NetworkOptions defaults() {
        return new NetworkOptions(DEFAULT_BRIDGE, null, "bridge");
    }

    /** For an agent without bridge networking (most tests): specs default to none, and bridge is refused. */
    public static NetworkOptions none() {
        return new NetworkOptions(null, null, "none");
    }

    public String table() {
        return bridge.equals(DEFAULT_BRIDGE) ? "corral" : "corral_" + bridge.replace('-', '_');
    }
}
