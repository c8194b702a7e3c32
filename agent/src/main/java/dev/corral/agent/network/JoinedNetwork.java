package dev.corral.agent.network;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code --network container:NAME}, as Docker: the container joins the network namespace of the running container
 * NAME (corral-shim clones its init into it), shares its /etc/hosts, /etc/hostname and /etc/resolv.conf (bound
 * read-only) and gets no veth, address or port of its own. The namespace is the kernel's: it lives as long as a
 * process is in it, so NAME may stop or be removed while this container runs.
 */
public final class JoinedNetwork {

    public static final String PREFIX = "container:";

    private JoinedNetwork() {
    }

    /** NAME of "container:NAME", or empty for any other network. */
    public static Optional<String> target(String network) {
        return network != null && network.startsWith(PREFIX) ? Optional.of(network.substring(PREFIX.length()))
                : Optional.empty();
    }

    public static Optional<String> target(ContainerSpec spec) {
        return target(spec.namespaces() == null ? null : spec.namespaces().network());
    }

    /** What a joined network cannot have: it is NAME's, with NAME's address, ports and hostname. */
    static void refuseOwn(ContainerSpec spec, String network) throws SpecException {
        String why = " is the network of the container it joins ('" + network + "')";
        if (spec.ports() != null && !spec.ports().isEmpty()) {
            throw new SpecException("ports", "cannot publish ports: the network" + why + "; publish them there");
        }
        if (spec.ip() != null) {
            throw new SpecException("ip", "cannot set an address: the address" + why);
        }
        if (spec.macAddress() != null) {
            throw new SpecException("macAddress", "cannot set a MAC address: the interface" + why);
        }
    }

    /**
     * corral-shim's net_join record (NAME's init and monitor pids: the shim checks that the one is still the
     * other's child) and, with a mount namespace, read-only binds of NAME's /etc files where it has them (a
     * container on a bridge network) and the spec mounts nothing there.
     *
     * @param targetDir NAME's state directory
     */
    public static byte[] launchKeys(long initPid, long monitorPid, Path targetDir, boolean mountNamespace,
                                    Set<String> userMountTargets) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NetworkManager.put(out, "net_join", initPid + " " + monitorPid);
        if (mountNamespace) {
            for (String f : List.of("hosts", "hostname", "resolv.conf")) {
                Path file = EtcFiles.dir(targetDir).resolve(f);
                if (!userMountTargets.contains("/etc/" + f) && Files.isRegularFile(file)) {
                    NetworkManager.put(out, "mount", "bind\t" + file + "\t/etc/" + f + "\tro");
                }
            }
        }
        return out.toByteArray();
    }
}
