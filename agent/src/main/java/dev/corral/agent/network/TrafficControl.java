package dev.corral.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.NetworkRates;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A bridge container's network rates, with the kernel's traffic control (tc(8), iproute2), one token bucket (tbf)
 * per direction, on the two ends of its veth:
 * <ul>
 *   <li>what it receives: on the host end, as that end's egress (the bridge sends into it);</li>
 *   <li>what it sends: on its own eth0, as that end's egress, set from inside its network namespace.</li>
 * </ul>
 * Shaping the container's sends on the host end would need ingress policing or an ifb device: policing drops what
 * is over the rate (TCP then runs well below it, and act_police is not even loadable on some kernels, this
 * machine's included), and an ifb is one more link per container to name, remove and find again after a crash. A
 * qdisc on eth0 goes with the container's namespace, leaves nothing behind, and measured as close to the rate as an
 * ifb (8mbit: 7.6 against 7.7 Mbit/s TCP). A process with CAP_NET_ADMIN in the container could remove it: a
 * container is given that only on request, and then owns its network anyway. Both qdiscs go with the veth pair
 * when the container's namespace does: there is nothing to remove.
 * <p>
 * Runs tc (and nsenter for eth0): one or two processes at a start with a rate, at an update and at a policy change,
 * never on a start without one.
 */
public final class TrafficControl {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The most the bucket lets through at once, in time at the rate (and at least ten full frames). */
    private static final long BURST_MILLIS = 20;
    private static final long MIN_BURST = 15_140;
    /** How long a packet may wait in the bucket's queue: beyond, it is dropped (TCP then slows down). */
    private static final String LATENCY = "50ms";

    private TrafficControl() {
    }

    /**
     * Sets (or removes, where unlimited or null) both directions' rates of a running container.
     *
     * @param a   its attachment (nothing is done without one: not on a bridge network)
     * @param pid a process in its network namespace (its init)
     */
    public static void apply(Optional<Attachment> a, long pid, Long egress, Long ingress) throws IOException {
        if (a.isEmpty()) {
            return;
        }
        String host = hostEnd(a.get());
        try {
            set(host, null, ingress);
            set("eth0", pid, egress);
        } catch (IOException e) {
            if (Bridge.exists(host)) {
                throw e;
            }
            // it has exited meanwhile (its netns took the pair): there is nothing to shape
        }
    }

    /**
     * A policy's change: each direction given is set (or removed when unlimited), one null is left as it is.
     * Nothing for a container that has exited meanwhile.
     */
    public static void change(Optional<Attachment> a, long pid, Long egress, Long ingress) throws IOException {
        if (a.isEmpty()) {
            return;
        }
        String host = hostEnd(a.get());
        try {
            if (ingress != null) {
                set(host, null, ingress);
            }
            if (egress != null) {
                set("eth0", pid, egress);
            }
        } catch (IOException e) {
            if (Bridge.exists(host)) {
                throw e;
            }
        }
    }

    /**
     * The counters of its veth's host end: {what the container sent, what it received} in bytes (the host end
     * receives what the container sends). Two small sysfs reads; empty when the link is gone.
     */
    public static Optional<long[]> counters(Attachment a) {
        java.nio.file.Path stats = java.nio.file.Path.of("/sys/class/net", hostEnd(a), "statistics");
        try {
            long rx = Long.parseLong(java.nio.file.Files.readString(stats.resolve("rx_bytes")).strip());
            long tx = Long.parseLong(java.nio.file.Files.readString(stats.resolve("tx_bytes")).strip());
            return Optional.of(new long[] {rx, tx});
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** At a start: the spec's rates, if it has any (a start without one runs no process here). */
    public static void atStart(Optional<Attachment> a, long pid, ContainerSpec.Limits limits) throws IOException {
        ContainerSpec.NetworkRate r = limits == null ? null : limits.network();
        if (r != null && (limited(r.egress()) || limited(r.ingress()))) {
            apply(a, pid, r.egress(), r.ingress());
        }
    }

    /** At a live update that names a rate: the merged rates, if the container runs (else at its next start). */
    public static void atUpdate(Optional<Attachment> a, Long runningPid, ContainerSpec.Limits patch,
                                ContainerSpec.Limits merged) throws IOException {
        if (runningPid == null || patch == null || patch.network() == null || merged.network() == null) {
            return;
        }
        apply(a, runningPid, merged.network().egress(), merged.network().ingress());
    }

    private static boolean limited(Long v) {
        return v != null && !Limits.isUnlimited(v);
    }

    /** The host end of its veth pair. */
    public static String hostEnd(Attachment a) {
        return a.veth();
    }

    /** The root qdisc of a link: a tbf at the rate, or none. */
    static void set(String dev, Long pid, Long bytesPerSecond) throws IOException {
        if (!limited(bytesPerSecond)) {
            if (rate(dev, pid).isPresent()) {
                HostCommands.run(argv(pid, "qdisc", "del", "dev", dev, "root"), null);
            }
            return;
        }
        long burst = Math.max(MIN_BURST, bytesPerSecond * BURST_MILLIS / 1000);
        HostCommands.run(argv(pid, "qdisc", "replace", "dev", dev, "root", "tbf", "rate",
                NetworkRates.tc(bytesPerSecond), "burst", String.valueOf(burst), "latency", LATENCY), null);
    }

    /** The rate of the link's root tbf in bytes per second, if it has one (tests, and what the policy reads). */
    public static Optional<Long> rate(String dev, Long pid) throws IOException {
        String shown = HostCommands.run(argv(pid, "-json", "qdisc", "show", "dev", dev, "root"), null);
        for (JsonNode q : JSON.readTree(shown)) {
            if (q.path("kind").asText().equals("tbf") && q.path("root").asBoolean(false)) {
                JsonNode rate = q.path("options").path("rate");
                if (rate.isNumber()) {
                    return Optional.of(rate.asLong());
                }
            }
        }
        return Optional.empty();
    }

    private static List<String> argv(Long pid, String... tc) {
        List<String> out = new ArrayList<>();
        if (pid != null) {
            out.addAll(List.of("nsenter", "--net=/proc/" + pid + "/ns/net"));
        }
        out.add("tc");
        out.addAll(List.of(tc));
        return out;
    }
}
