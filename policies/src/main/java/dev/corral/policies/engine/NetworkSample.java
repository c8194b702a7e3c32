package dev.corral.policies.engine;

/**
 * A bridge container's traffic counters as read at {@code atMillis} (the host end of its veth: what it receives there
 * the container sent), and the rates its own spec asks for.
 *
 * @param egressLimit  its own rate for what it sends, bytes per second; {@link dev.corral.exporter.sample.Limits#UNLIMITED}
 *                     when none
 * @param ingressLimit the same for what it receives
 */
public record NetworkSample(long atMillis, long transmitBytes, long receiveBytes, long egressLimit,
                            long ingressLimit) {
}
