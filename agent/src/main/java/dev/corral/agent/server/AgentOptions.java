package dev.corral.agent.server;

import dev.corral.agent.network.NetworkOptions;
import dev.corral.exporter.ExporterConfig;
import java.nio.file.Path;

/**
 * Everything {@code corral serve} is told.
 *
 * @param runtime null to only observe (no containers, no API, no cgroup writes)
 * @param policy  null to run no policy (tests of other parts); {@code corral serve} always gives one
 */
public record AgentOptions(String httpHost, int httpPort, ExporterConfig exporter, RuntimeOptions runtime,
                           PolicyOptions policy) {

    public AgentOptions(String httpHost, int httpPort, ExporterConfig exporter, RuntimeOptions runtime) {
        this(httpHost, httpPort, exporter, runtime, null);
    }

    /**
     * @param file   the policy file, null for the embedded default
     * @param dryRun decide and publish, apply nothing
     */
    public record PolicyOptions(Path file, boolean dryRun) {
    }

    /**
     * @param cgroupParent the agent-owned cgroup all containers live under, e.g. "/corral"
     * @param socket       the unix socket serving the API without a token
     * @param tokenFile    the bearer token TCP API clients must send (made on first start)
     * @param allowUnrestrictedDevices on a cgroup v2 kernel that cannot load the BPF device filter, run containers
     *                     without device restriction instead of refusing to start them
     * @param network      bridge networking (serve's --bridge...), or NetworkOptions.none()
     */
    public record RuntimeOptions(Path stateDir, String cgroupParent, Path socket, Path tokenFile,
                                 boolean allowUnrestrictedDevices, NetworkOptions network) {

        /** Without bridge networking: containers default to none (NetworkOptions.none()). */
        public RuntimeOptions(Path stateDir, String cgroupParent, Path socket, Path tokenFile,
                              boolean allowUnrestrictedDevices) {
            this(stateDir, cgroupParent, socket, tokenFile, allowUnrestrictedDevices, NetworkOptions.none());
        }

        public static RuntimeOptions in(Path stateDir, String cgroupParent) {
            return new RuntimeOptions(stateDir, cgroupParent, stateDir.resolve("corral.sock"),
                    stateDir.resolve("api-token"), false);
        }
    }
}
