package dev.corral.exporter.sample;

/**
 * One network interface's counters from {@code /proc/<pid>/net/dev}, as cAdvisor exports them
 * ({@code container_network_*_total{interface}}).
 */
public record NetInterface(String name, long receiveBytes, long receivePackets, long receiveErrors,
                           long receiveDropped, long transmitBytes, long transmitPackets, long transmitErrors,
                           long transmitDropped) {
}
