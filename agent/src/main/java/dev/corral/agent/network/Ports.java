package dev.corral.agent.network;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.util.ArrayList;
import java.util.List;

/** Checks published ports (the spec's {@code ports}) and fills their defaults. */
final class Ports {

    private Ports() {
    }

    static List<Attachment.Published> validate(List<ContainerSpec.Port> ports) throws SpecException {
        List<Attachment.Published> out = new ArrayList<>();
        for (int i = 0; i < ports.size(); i++) {
            ContainerSpec.Port p = ports.get(i);
            String field = "ports[" + i + "]";
            if (p == null) {
                throw new SpecException(field, "must not be null");
            }
            if (p.containerPort() == null || p.containerPort() < 1 || p.containerPort() > 65535) {
                throw new SpecException(field + ".containerPort", "must be 1-65535, not " + p.containerPort());
            }
            int hostPort = p.hostPort() == null ? 0 : p.hostPort();
            if (hostPort < 0 || hostPort > 65535) {
                throw new SpecException(field + ".hostPort", "must be 1-65535 (or 0 for a free one), not " + hostPort);
            }
            String protocol = p.protocol() == null ? "tcp" : p.protocol();
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw new SpecException(field + ".protocol", "must be tcp or udp, not '" + protocol + "'");
            }
            String ip = p.hostIp() == null || p.hostIp().isEmpty() || p.hostIp().equals("0.0.0.0") ? null : p.hostIp();
            if (ip != null) {
                try {
                    ip = Subnet.ip(Subnet.parseIp(ip));
                } catch (IllegalArgumentException e) {
                    throw new SpecException(field + ".hostIp", "must be an IPv4 address, not '" + p.hostIp() + "'");
                }
            }
            out.add(new Attachment.Published(ip, hostPort, p.containerPort(), protocol));
        }
        return out;
    }
}
