package dev.corral.agent.server;

import dev.corral.exporter.ExporterConfig;
import java.nio.file.Path;

/**
 * Everything {@code corral serve} is told.
 *
 * @param runtime null to only observe (no containers, no cgroup writes)
 */
public record AgentOptions(String httpHost, int httpPort, ExporterConfig exporter, RuntimeOptions runtime) {

    /** @param cgroupParent the agent-owned cgroup all containers live under, e.g. "/corral" */
    public record RuntimeOptions(Path stateDir, String cgroupParent) {
    }
}
