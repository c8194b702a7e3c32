package dev.corral.exporter.sample;

/** PSI of one cgroup (or the host); a resource is null where its pressure file does not exist. */
public record PressureStats(Pressure cpu, Pressure memory, Pressure io) {
}
