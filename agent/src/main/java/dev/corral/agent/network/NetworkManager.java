package dev.corral.agent.network;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.corral.agent.ContainerException;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bridge networking (docs/design.md, "The network"): the networks' bridges and the agent's nftables table, made
 * when first needed; each networked container's address (IPAM), published ports and /etc files, from its create to
 * its removal. The state is the containers' network.json files and the networks' files: rebuilt from them at
 * start, when veths and rules that belong to no container are removed. Every method is synchronized: they are
 * short, and one at a time keeps addresses and ports unique under parallel starts.
 */
public final class NetworkManager implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NetworkManager.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
    static final String FILE = "network.json";

    private final NetworkOptions options;
    private final Path containers;
    private final Path hostResolvConf;
    private final Networks networks;
    private final Map<String, Attachment> attachments = new HashMap<>();
    private final Map<String, List<NetworkChannel>> holds = new HashMap<>();
    private final Set<String> ready = new HashSet<>();
    /** Removes a veth the kernel has not removed with its netns a moment after its container's removal. */
    private final java.util.concurrent.ScheduledExecutorService sweeper =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "corral-veth-sweeper");
                t.setDaemon(true);
                return t;
            });

    private NetworkManager(Path stateDir, NetworkOptions options, Path hostResolvConf) {
        this.options = options;
        this.containers = stateDir.resolve("containers");
        this.networks = new Networks(options, stateDir.resolve("networks"));
        this.hostResolvConf = hostResolvConf;
    }

    /** Reads the networks and every container's attachment; removes stale veths, rewrites the rules. */
    public static NetworkManager open(Path stateDir, NetworkOptions options) throws IOException {
        NetworkManager m = new NetworkManager(stateDir, options, Path.of("/etc/resolv.conf"));
        m.recover();
        return m;
    }

    public NetworkOptions options() {
        return options;
    }

    private synchronized void recover() throws IOException {
        if (options.bridge() == null) {
            return;
        }
        networks.load();
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
        Set<String> known = new HashSet<>();
        attachments.values().forEach(a -> known.add(a.veth()));
        boolean any = false;
        for (Network n : networks.known()) {
            if (!Bridge.exists(n.bridge())) {
                continue; // made again with its first container
            }
            any = true;
            for (String link : Bridge.portsOf(n.bridge())) {
                if (!known.contains(link)) {
                    LOG.info("removing {}: on {} but no container's", link, n.bridge());
                    Bridge.deleteLink(link);
                }
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
        if (any) {
            for (Network n : networks.known()) {
                if (Bridge.exists(n.bridge())) {
                    Bridge.enableForwarding(n.bridge());
                    ready.add(n.name());
                }
            }
            applyRules();
        }
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
        return s.withNamespaces(filled);
    }

    private static String networkOf(ContainerSpec s) {
        return s.namespaces() == null || s.namespaces().network() == null ? "none" : s.namespaces().network();
    }

    // ---- networks ------------------------------------------------------------------------------------

    /** Every network: the default one (with the subnet it has or will have) and the user-defined ones. */
    public synchronized List<Network> list() throws IOException {
        if (options.bridge() == null) {
            return List.of();
        }
        networks.defaultNetwork();
        return List.copyOf(networks.known());
    }

    public synchronized Network get(String name) throws ContainerException, IOException {
        return networks.find(name).orElseThrow(() -> new ContainerException(ContainerException.Kind.NOT_FOUND,
                "no network named '" + name + "'"));
    }

    /** The containers on a network, by name (their addresses and ports). */
    public synchronized Map<String, Attachment> containersOf(String network) {
        Map<String, Attachment> out = new TreeMap<>();
        attachments.forEach((c, a) -> {
            if (a.network().equals(network)) {
                out.put(c, a);
            }
        });
        return out;
    }

    /** A user-defined network (its bridge is made with its first container). */
    public synchronized Network create(String name, String subnet) throws SpecException, ContainerException,
            IOException {
        return networks.create(name, subnet);
    }

    /** Removes a network with no container on it (exited ones count: they keep their address until removed). */
    public synchronized void remove(String name) throws ContainerException, IOException {
        if (name.equals("bridge") || name.equals(NetworkOptions.DEFAULT_NETWORK)) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "the default network cannot be removed");
        }
        Network n = get(name);
        Set<String> on = containersOf(name).keySet();
        if (!on.isEmpty()) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "network '" + name + "' has containers: "
                    + String.join(", ", on) + "; remove them first");
        }
        networks.delete(n);
        ready.remove(name);
        if (!ready.isEmpty()) {
            applyRules();
        }
    }

    // ---- containers ----------------------------------------------------------------------------------

    /**
     * Gives a container of a bridge network its address, host ports and /etc files (nothing for none, host and
     * container:NAME).
     * Refuses, with nothing made, an unknown network, a bad or busy port.
     *
     * @param containerDir where network.json and etc/ are kept (removed with the container)
     */
    public synchronized Optional<Attachment> attach(String name, ContainerSpec spec, String hostname,
                                                    Path containerDir) throws SpecException, IOException {
        String networkName = networkOf(spec);
        List<ContainerSpec.Port> ports = spec.ports() == null ? List.of() : spec.ports();
        if (JoinedNetwork.target(networkName).isPresent()) {
            JoinedNetwork.refuseOwn(spec, networkName);
            return Optional.empty();
        }
        if (networkName.equals("none") || networkName.equals("host")) {
            if (!ports.isEmpty()) {
                throw new SpecException("ports", "publishing a port needs a bridge network, not '" + networkName
                        + "'");
            }
            for (String[] asked : new String[][] {{"ip", spec.ip()}, {"macAddress", spec.macAddress()}}) {
                if (asked[1] != null) {
                    throw new SpecException(asked[0], "an address needs a bridge network, not '" + networkName + "'");
                }
            }
            return Optional.empty();
        }
        if (options.bridge() == null) {
            throw new SpecException("namespaces.network", "this agent has no bridge networking (serve --bridge)");
        }
        Network net = networks.find(networkName).orElseThrow(() -> new SpecException("namespaces.network",
                "no network named '" + networkName + "' (corral network ls)"));
        List<Attachment.Published> wanted = Ports.validate(ports);
        int address = spec.ip() == null ? allocate(net) : reserve(net, spec.ip());
        String mac = spec.macAddress() == null ? Attachment.macOf(address) : mac(spec.macAddress());
        ensureBridge(net);
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
            Attachment a = new Attachment(net.name(), net.bridge(), Subnet.ip(address), net.parsedSubnet().prefix(),
                    net.gateway(), mac, vethName(net.bridge(), name), List.copyOf(published));
            attachments.put(name, a);
            holds.put(name, held);
            try {
                Path tmp = containerDir.resolve(FILE + ".tmp");
                JSON.writeValue(tmp.toFile(), a);
                Files.move(tmp, containerDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE);
                EtcFiles.write(containerDir, hostname, a.address(), peers(net, name), hostResolvConf);
                updatePeers(net, name);
                if (!published.isEmpty()) {
                    addPorts(a);
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

    /** On a user-defined network, the other containers by name; none on the default network (as Docker). */
    private Map<String, String> peers(Network net, String except) {
        Map<String, String> out = new LinkedHashMap<>();
        if (!net.builtin()) {
            containersOf(net.name()).forEach((c, a) -> {
                if (!c.equals(except)) {
                    out.put(c, a.address());
                }
            });
        }
        return out;
    }

    /** Rewrites the /etc/hosts of the network's other containers (their bind mounts see it at once). */
    private void updatePeers(Network net, String changed) {
        if (net.builtin()) {
            return;
        }
        containersOf(net.name()).forEach((c, a) -> {
            if (c.equals(changed)) {
                return;
            }
            Path dir = containers.resolve(c);
            try {
                String hostname = Files.readString(EtcFiles.dir(dir).resolve("hostname")).strip();
                EtcFiles.writeHosts(dir, hostname, a.address(), peers(net, c));
            } catch (IOException e) {
                LOG.warn("cannot update /etc/hosts of {}: {}", c, e.getMessage());
            }
        });
    }

    private Set<Integer> used(Network net) {
        Set<Integer> used = new HashSet<>();
        attachments.values().stream().filter(a -> a.network().equals(net.name()))
                .forEach(a -> used.add(Subnet.parseIp(a.address())));
        return used;
    }

    /** The address asked for (--ip), when it is a free host address of the network's subnet. */
    private int reserve(Network net, String ip) throws SpecException {
        int address;
        try {
            address = Subnet.parseIp(ip);
        } catch (IllegalArgumentException e) {
            throw new SpecException("ip", "'" + ip + "' is not an IPv4 address");
        }
        Subnet subnet = net.parsedSubnet();
        if (!subnet.contains(address) || Integer.compareUnsigned(address, subnet.firstHost()) < 0
                || Integer.compareUnsigned(address, subnet.lastHost()) > 0) {
            throw new SpecException("ip", ip + " is not a host address of network '" + net.name() + "' ("
                    + subnet + ", " + Subnet.ip(subnet.firstHost()) + "-" + Subnet.ip(subnet.lastHost()) + ")");
        }
        if (used(net).contains(address)) {
            String holder = attachments.entrySet().stream().filter(e -> e.getValue().network().equals(net.name())
                    && e.getValue().address().equals(Subnet.ip(address))).map(Map.Entry::getKey).findFirst()
                    .orElse("?");
            throw new SpecException("ip", ip + " is taken on network '" + net.name() + "' (by " + holder + ")");
        }
        return address;
    }

    /** A MAC address asked for (--mac-address): six hex pairs, unicast (the lowest bit of the first byte 0). */
    private static String mac(String mac) throws SpecException {
        if (!MAC.matcher(mac).matches()) {
            throw new SpecException("macAddress", "'" + mac + "' is not a MAC address like 02:42:ac:11:00:02");
        }
        if ((Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
            throw new SpecException("macAddress", mac + " is a multicast address; an interface needs a unicast one");
        }
        return mac.toLowerCase(java.util.Locale.ROOT);
    }

    /** The lowest free address of the network's subnet. */
    private int allocate(Network net) throws IOException {
        Subnet subnet = net.parsedSubnet();
        Set<Integer> used = used(net);
        for (int ip = subnet.firstHost(); ip <= subnet.lastHost(); ip++) {
            if (!used.contains(ip)) {
                return ip;
            }
        }
        throw new IOException("no free address left in " + subnet + " (network " + net.name() + ")");
    }

    /** The host end's name: 15 bytes at most, the same for the same container on the same bridge. */
    static String vethName(String bridge, String container) {
        return "cv" + Networks.hash(bridge + "/" + container).substring(0, 11);
    }

    /**
     * corral rename of a stopped container: its address, ports and veth go with its new name (its network.json moved
     * with its directory), and its network's other containers find it by that name in their /etc/hosts.
     */
    public synchronized void rename(String from, String to) {
        List<NetworkChannel> held = holds.remove(from);
        if (held != null) {
            holds.put(to, held);
        }
        Attachment a = attachments.remove(from);
        if (a == null) {
            return;
        }
        attachments.put(to, a);
        try {
            networks.find(a.network()).ifPresent(net -> updatePeers(net, to));
        } catch (IOException e) {
            LOG.warn("cannot update the /etc/hosts of {}'s network: {}", to, e.getMessage());
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
        Network net = networks.recorded(a.network());
        if (net == null) {
            throw new IOException("the network '" + a.network() + "' of '" + name + "' is gone");
        }
        ensureBridge(net);
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

    static void put(ByteArrayOutputStream out, String key, String value) {
        out.writeBytes(key.getBytes(StandardCharsets.UTF_8));
        out.write(0);
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    /**
     * Releases the container's address and ports, removes its rules and its veth if still there, and its name from
     * its network's other containers. Never throws: a removal goes on, and what could not be removed is logged
     * (and removed at the next start at the latest).
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
        if (Bridge.exists(a.veth())) {
            // Its netns is going (the container's processes are gone) and takes the pair with it: an `ip` process
            // here would add tens of milliseconds to every removal. Whatever is still there in a second goes then,
            // unless a container of the same name (the same veth name) has come meanwhile.
            sweeper.schedule(() -> sweep(a.veth()), 1, java.util.concurrent.TimeUnit.SECONDS);
        }
        try {
            Network net = networks.recorded(a.network());
            if (net != null) {
                updatePeers(net, name);
            }
            if (!a.ports().isEmpty()) {
                removePorts(a);
            }
        } catch (IOException e) {
            LOG.warn("cleaning up the network of {} failed: {}", name, e.getMessage());
        }
    }

    private synchronized void sweep(String veth) {
        if (attachments.values().stream().anyMatch(a -> a.veth().equals(veth))) {
            return;
        }
        try {
            Bridge.deleteLink(veth);
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", veth, e.getMessage());
        }
    }

    /** The bridge up with its gateway address, forwarding on and the rules in place. */
    private void ensureBridge(Network net) throws IOException {
        if (!Bridge.exists(net.bridge())) {
            Bridge.create(net.bridge(), net.parsedSubnet());
            ready.remove(net.name());
        }
        if (!ready.contains(net.name())) {
            Bridge.enableForwarding(net.bridge());
            ready.add(net.name());
            applyRules();
        }
    }

    /**
     * A container's published ports into the table's maps: one netlink transaction, no process. When the kernel
     * refuses (the table was removed or changed behind the agent's back), the whole table is written again, this
     * container's ports with it.
     */
    private void addPorts(Attachment a) throws IOException {
        try {
            NftMaps.add(options.table(), a);
        } catch (IOException | RuntimeException e) {
            LOG.info("{}; writing the whole table {} again", e.getMessage(), options.table());
            applyRules();
        }
    }

    /**
     * Deletes a removed container's ports from the maps (it is no longer in {@link #attachments}). When that fails
     * (an element not there, the table gone) the whole table is written again without them, so that no DNAT to the
     * released address stays in either case.
     */
    private void removePorts(Attachment a) throws IOException {
        try {
            NftMaps.delete(options.table(), a);
        } catch (IOException | RuntimeException e) {
            LOG.info("{}; writing the whole table {} again", e.getMessage(), options.table());
            applyRules();
        }
    }

    /** The whole table: every network whose bridge is up, with its containers' published ports. */
    private void applyRules() throws IOException {
        List<NatRules.Net> nets = new ArrayList<>();
        for (Network n : networks.known()) {
            if (ready.contains(n.name())) {
                nets.add(new NatRules.Net(n.bridge(), n.parsedSubnet(), containersOf(n.name()).values()));
            }
        }
        NatRules.apply(options.table(), nets);
    }

    /** The agent stops: its sockets holding published ports close (the next agent holds them again); rules stay. */
    @Override
    public synchronized void close() {
        sweeper.shutdownNow(); // the next agent removes what is left (stale veths at start)
        holds.values().forEach(PortHolds::closeAll);
        holds.clear();
    }

    /**
     * Removes what the agent made on the host for its networks: every bridge and the nftables table. For tests and
     * for an operator's clean-up; containers must be gone first.
     */
    public synchronized void removeAll() throws IOException {
        for (Network n : networks.known()) {
            Bridge.deleteLink(n.bridge());
        }
        ready.clear();
        NatRules.delete(options.table());
    }
}
