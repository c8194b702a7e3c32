package dev.corral.agent.spec;

import dev.corral.exporter.sample.Limits;

/** The rules for limits.network (SpecValidator calls it): a rate is at least 1 byte/s, and needs a bridge network. */
public final class NetworkRateCheck {

    /** Below this tc's rate tables lose their precision (and nothing useful fits through). */
    static final long MIN = 1000 / 8;

    private NetworkRateCheck() {
    }

    public static void check(ContainerSpec spec) throws SpecException {
        ContainerSpec.NetworkRate r = spec.limits() == null ? null : spec.limits().network();
        if (r == null) {
            return;
        }
        check(r.egress(), "limits.network.egress");
        check(r.ingress(), "limits.network.ingress");
        String network = spec.namespaces() == null ? null : spec.namespaces().network();
        boolean limited = limited(r.egress()) || limited(r.ingress());
        if (limited && ("none".equals(network) || "host".equals(network) || network != null
                && network.startsWith("container:"))) {
            throw new SpecException("limits.network", "a network rate needs a bridge network (its veth); this "
                    + "container's network is '" + network + "'");
        }
    }

    private static boolean limited(Long v) {
        return v != null && !Limits.isUnlimited(v);
    }

    private static void check(Long v, String field) throws SpecException {
        if (v != null && !Limits.isUnlimited(v) && v < MIN) {
            throw new SpecException(field, "must be at least 1kbit (125 bytes/s), or -1 / max for none; got " + v);
        }
    }
}
