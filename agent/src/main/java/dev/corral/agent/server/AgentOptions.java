package dev.corral.agent.server;

import dev.corral.exporter.ExporterConfig;

/** Everything {@code corral serve} is told. */
public record AgentOptions(String httpHost, int httpPort, ExporterConfig exporter) {
}
