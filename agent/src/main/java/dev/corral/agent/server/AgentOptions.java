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
                           PolicyOptions policy, ForeignOptions foreign) {

    public AgentOptions(String httpHost, int httpPort, ExporterConfig exporter, RuntimeOptions runtime) {
        this(httpHost, httpPort, exporter, runtime, null);
    }

    /** Names foreign containers from their paths only: no runtime is asked (tests of other parts). */
    public AgentOptions(String httpHost, int httpPort, ExporterConfig exporter, RuntimeOptions runtime,
                        PolicyOptions policy) {
        this(httpHost, httpPort, exporter, runtime, policy, ForeignOptions.PATHS_ONLY);
    }

    /**
     * How containers other runtimes started are named.
     *
     * @param dockerSocket Docker's Engine API socket, null to not ask Docker
     * @param podmanSocket Podman's Docker-compatible API socket, null to not ask Podman
     * @param labelKeys    runtime label keys exported on {@code container_info}
     * @param deadline     how long one lookup may take
     */
    public record ForeignOptions(java.nio.file.Path dockerSocket, java.nio.file.Path podmanSocket,
                                 java.util.Set<String> labelKeys, java.time.Duration deadline) {

        public static final ForeignOptions PATHS_ONLY = new ForeignOptions(null, null, java.util.Set.of(),
                java.time.Duration.ofSeconds(2));

        public ForeignOptions {
            labelKeys = java.util.Set.copyOf(labelKeys);
        }
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
