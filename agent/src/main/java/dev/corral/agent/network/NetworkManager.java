package dev.corral.agent.network;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.NetworkChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bridge networking (docs/design.md, "The network"): the default network's bridge and nftables table, made on the
 * first container that needs them; each networked container's address (IPAM), published ports and /etc files,
 * from its create to its removal. The state is the containers' network.json files: rebuilt from them at start, when
 * veths and rules that belong to no container are removed. Every method is synchronized: they are short, and one
 * at a time keeps addresses and ports unique under parallel starts.
 */
public final class NetworkManager implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NetworkManager.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String FILE = "network.json";
    /** Tried in order for the default network when no subnet is given: clear of Docker's 172.17/16 and podman's. */
    static final int FIRST_CANDIDATE = Subnet.parseIp("10.77.0.0");
    static final int CANDIDATES = 20;

    private final NetworkOptions options;
    private final Path containers;
    private final Path networksDir;
    private final Path hostResolvConf;
    private final Map<String, Attachment> attachments = new HashMap<>();
    private final Map<String, List<NetworkChannel>> holds = new HashMap<>();
    private Subnet subnet;
    private boolean ready;

    private NetworkManager(Path stateDir, NetworkOptions options, Path hostResolvConf) {
        this.options = options;
        this.containers = stateDir.resolve("containers");
        this.networksDir = stateDir.resolve("networks");
        this.hostResolvConf = hostResolvConf;
    }

    /** Reads every container's attachment; if the bridge exists, removes stale veths and rewrites the rules. */
    public static NetworkManager open(Path stateDir, NetworkOptions options) throws IOException {
        NetworkManager m = new NetworkManager(stateDir, options, Path.of("/etc/resolv.conf"));
        m.recover();
        return m;
    }

    public NetworkOptions options() {
        return options;
    }

    private synchronized void recover() throws IOException {
        if (Files.isDirectory(containers)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(containers)) {
                for (Path d : dirs) {
                    Path f = d.resolve(FILE);
                    if (Files.exists(f)) {
                        try {
                            attachments.put(d.getFileName().toString(), JSON.readValue(f.toFile(), Attachment.class));
                        } catch (IOException e) {
                            LOG.warn("unreadable {}: {}", f, e.getMessage());
                        }
                    }
                }
            }
        }
        if (options.bridge() == null || !Bridge.exists(options.bridge())) {
            return; // made with the first networked container
        }
        Set<String> known = new HashSet<>();
        attachments.values().forEach(a -> known.add(a.veth()));
        for (String link : Bridge.portsOf(options.bridge())) {
            if (!known.contains(link)) {
                LOG.info("removing {}: on {} but no container's", link, options.bridge());
                Bridge.deleteLink(link);
            }
        }
        for (Map.Entry<String, Attachment> e : attachments.entrySet()) {
            List<NetworkChannel> held = new ArrayList<>();
            for (Attachment.Published p : e.getValue().ports()) {
                try {
                    held.add(PortHolds.hold(p.hostIp(), p.hostPort(), p.protocol()));
                } catch (IOException ex) {
                    LOG.warn("cannot hold {} of {} again (taken meanwhile?): {}", p, e.getKey(), ex.getMessage());
                }
            }
            holds.put(e.getKey(), held);
        }
        ensureBridge();
    }

    /** The spec with namespaces.network filled in with this agent's default where it is silent. */
    public ContainerSpec withDefault(ContainerSpec s) {
        ContainerSpec.Namespaces ns = s.namespaces();
        if (ns != null && ns.network() != null) {
            return s;
        }
        ContainerSpec.Namespaces filled = ns == null
                ? new ContainerSpec.Namespaces(null, null, null, null, options.defaultNetwork(), null, null)
                : new ContainerSpec.Namespaces(ns.pid(), ns.mount(), ns.uts(), ns.ipc(), options.defaultNetwork(),
                        ns.user(), ns.cgroup());
        return new ContainerSpec(s.name(), s.command(), s.env(), s.workingDir(), s.user(), s.hostname(), s.labels(),
                s.rootfs(), s.readOnlyRootfs(), filled, s.limits(), s.security(), s.mounts(),
                s.dangerouslyAllowHostPaths(), s.image(), s.ports());
    }

    private static String networkOf(ContainerSpec s) {
        return s.namespaces() == null || s.namespaces().network() == null ? "none" : s.namespaces().network();
    }

    /**
     * Gives a container of a bridge network its address, host ports and /etc files (nothing for none and host).
     * Refuses, with nothing made, an unknown network, a bad or busy port.
     *
     * @param containerDir where network.json and etc/ are kept (removed with the container)
     */
    public synchronized Optional<Attachment> attach(String name, ContainerSpec spec, String hostname,
                                                    Path containerDir) throws SpecException, IOException {
        String network = networkOf(spec);
        List<ContainerSpec.Port> ports = spec.ports() == null ? List.of() : spec.ports();
        if (network.equals("none") || network.equals("host")) {
            if (!ports.isEmpty()) {
                throw new SpecException("ports", "publishing a port needs a bridge network, not '" + network + "'");
            }
            return Optional.empty();
        }
        if (!network.equals("bridge") && !network.equals(NetworkOptions.DEFAULT_NETWORK)) {
            throw new SpecException("namespaces.network", "no network named '" + network + "'");
        }
        if (options.bridge() == null) {
            throw new SpecException("namespaces.network", "this agent has no bridge networking (serve --bridge)");
        }
        List<Attachment.Published> wanted = Ports.validate(ports);
        ensureBridge();
        List<NetworkChannel> held = new ArrayList<>();
        List<Attachment.Published> published = new ArrayList<>();
        try {
            for (int i = 0; i < wanted.size(); i++) {
                Attachment.Published p = wanted.get(i);
                NetworkChannel ch;
                try {
                    ch = PortHolds.hold(p.hostIp(), p.hostPort(), p.protocol());
                } catch (IOException e) {
                    throw new SpecException("ports[" + i + "]", "host port " + p.hostPort() + "/" + p.protocol()
                            + " on " + (p.hostIp() == null ? "0.0.0.0" : p.hostIp()) + " is not free: "
                            + e.getMessage());
                }
                held.add(ch);
                published.add(new Attachment.Published(p.hostIp(), PortHolds.port(ch), p.containerPort(),
                        p.protocol()));
            }
            int address = allocate();
            Attachment a = new Attachment(NetworkOptions.DEFAULT_NETWORK, options.bridge(), Subnet.ip(address),
                    subnet.prefix(), Subnet.ip(subnet.gateway()), Attachment.macOf(address),
                    vethName(options.bridge(), name), List.copyOf(published));
            attachments.put(name, a);
            holds.put(name, held);
            try {
                Path tmp = containerDir.resolve(FILE + ".tmp");
                JSON.writeValue(tmp.toFile(), a);
                Files.move(tmp, containerDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE);
                EtcFiles.write(containerDir, hostname, a.address(), Map.of(), hostResolvConf);
                if (!published.isEmpty()) {
                    applyRules();
                }
            } catch (IOException e) {
                detach(name);
                throw e;
            }
            return Optional.of(a);
        } catch (SpecException | IOException | RuntimeException e) {
            if (!attachments.containsKey(name)) {
                PortHolds.closeAll(held);
            }
            throw e;
        }
    }

    /** The lowest free address of the subnet. */
    private int allocate() throws IOException {
        Set<Integer> used = new HashSet<>();
        attachments.values().forEach(a -> used.add(Subnet.parseIp(a.address())));
        for (int ip = subnet.firstHost(); ip <= subnet.lastHost(); ip++) {
            if (!used.contains(ip)) {
                return ip;
            }
        }
        throw new IOException("no free address left in " + subnet);
    }

    /** The host end's name: 15 bytes at most, the same for the same container on the same bridge. */
    static String vethName(String bridge, String container) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((bridge + "/" + container)
                    .getBytes(StandardCharsets.UTF_8));
            return "cv" + HexFormat.of().formatHex(h).substring(0, 11);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public synchronized Optional<Attachment> attachment(String name) {
        return Optional.ofNullable(attachments.get(name));
    }

    /**
     * The launch config's network records (corral-shim's net_* keys, and the binds of the /etc files unless the
     * spec mounts its own there); empty for a container without a bridge network. Remakes the bridge if it went.
     */
    public synchronized byte[] launchKeys(String name, Path containerDir, boolean mountNamespace,
                                          Set<String> userMountTargets) throws IOException {
        Attachment a = attachments.get(name);
        if (a == null) {
            return new byte[0];
        }
        ensureBridge();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        put(out, "net_veth", a.veth());
        put(out, "net_bridge", a.bridge());
        put(out, "net_mac", a.mac());
        put(out, "net_address", a.address() + "/" + a.prefix());
        put(out, "net_gateway", a.gateway());
        if (mountNamespace) {
            for (String f : List.of("hosts", "hostname", "resolv.conf")) {
                if (!userMountTargets.contains("/etc/" + f)) {
                    put(out, "mount", "bind\t" + EtcFiles.dir(containerDir).resolve(f) + "\t/etc/" + f + "\trw");
                }
            }
        }
        return out.toByteArray();
    }

    private static void put(ByteArrayOutputStream out, String key, String value) {
        out.writeBytes(key.getBytes(StandardCharsets.UTF_8));
        out.write(0);
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    /**
     * Releases the container's address and ports, removes its rules and its veth if still there. Never throws: a
     * removal goes on, and what could not be removed is logged (and removed at the next start at the latest).
     */
    public synchronized void detach(String name) {
        Attachment a = attachments.remove(name);
        List<NetworkChannel> held = holds.remove(name);
        if (held != null) {
            PortHolds.closeAll(held);
        }
        if (a == null) {
            return;
        }
        try {
            Bridge.deleteLink(a.veth());
            if (!a.ports().isEmpty()) {
                applyRules();
            }
        } catch (IOException e) {
            LOG.warn("cleaning up the network of {} failed: {}", name, e.getMessage());
        }
    }

    /** The default network's subnet: the bridge's, else the one recorded, given, or picked (then recorded). */
    private Subnet subnet() throws IOException {
        if (subnet != null) {
            return subnet;
        }
        String bridge = options.bridge();
        Path recorded = networksDir.resolve(NetworkOptions.DEFAULT_NETWORK + ".subnet");
        if (Bridge.exists(bridge)) {
            subnet = Bridge.subnetOf(bridge).orElseThrow(() -> new IOException("bridge " + bridge
                    + " exists but has no IPv4 address; remove it (ip link del " + bridge + ") or name another"));
        } else if (Files.exists(recorded)) {
            subnet = Subnet.parse(Files.readString(recorded).strip());
        } else {
            List<Subnet> routed = Bridge.routedSubnets();
            if (options.subnet() != null) {
                Subnet given = Subnet.parse(options.subnet());
                for (Subnet r : routed) {
                    if (r.overlaps(given)) {
                        throw new IOException("the bridge subnet " + given + " overlaps " + r
                                + ", which the host already routes; give another (--bridge-subnet)");
                    }
                }
                subnet = given;
            } else {
                for (int i = 0; i < CANDIDATES && subnet == null; i++) {
                    Subnet c = new Subnet(FIRST_CANDIDATE + (i << 16), 16);
                    if (routed.stream().noneMatch(c::overlaps)) {
                        subnet = c;
                    }
                }
                if (subnet == null) {
                    throw new IOException("no free subnet among 10.77.0.0/16..10.96.0.0/16; give one (--bridge-subnet)");
                }
            }
        }
        Files.createDirectories(networksDir);
        Files.writeString(recorded, subnet + "\n");
        return subnet;
    }

    /** The bridge up with its gateway address, forwarding on and the rules in place. */
    private void ensureBridge() throws IOException {
        Subnet s = subnet();
        if (!Bridge.exists(options.bridge())) {
            Bridge.create(options.bridge(), s);
            ready = false;
        }
        if (!ready) {
            Bridge.enableForwarding(options.bridge());
            applyRules();
            ready = true;
        }
    }

    private void applyRules() throws IOException {
        NatRules.apply(options.table(), List.of(new NatRules.Net(options.bridge(), subnet(),
                List.copyOf(attachments.values()))));
    }

    /** The agent stops: its sockets holding published ports close (the next agent holds them again); rules stay. */
    @Override
    public synchronized void close() {
        holds.values().forEach(PortHolds::closeAll);
        holds.clear();
    }
}
