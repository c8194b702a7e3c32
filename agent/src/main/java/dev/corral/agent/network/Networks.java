package dev.corral.agent.network;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The agent's networks, each a bridge and a subnet, kept in the state's networks/ directory: the default one
 * (its subnet the bridge's, or given, or picked clear of what the host routes) and the user-defined ones. Knows
 * nothing of containers; {@link NetworkManager} owns this and calls it under its own lock.
 */
final class Networks {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}");
    /** Tried in order when no subnet is given: clear of Docker's 172.17/16 and podman's 10.88/16 and 10.89/16. */
    static final int FIRST_CANDIDATE = Subnet.parseIp("10.77.0.0");
    static final int CANDIDATES = 20;

    private final NetworkOptions options;
    private final Path dir;
    private final Map<String, Network> byName = new TreeMap<>();

    Networks(NetworkOptions options, Path dir) {
        this.options = options;
        this.dir = dir;
    }

    void load() throws IOException {
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
                for (Path f : files) {
                    Network n = JSON.readValue(f.toFile(), Network.class);
                    byName.put(n.name(), n);
                }
            }
        }
    }

    /** The networks made so far (the default one once used or listed). */
    Collection<Network> known() {
        return byName.values();
    }

    /** A network by its recorded name (as attachments name it), or null. */
    Network recorded(String name) {
        return byName.get(name);
    }

    /** A network as a user names it ("bridge" is the default one too); empty without bridge networking. */
    Optional<Network> find(String name) throws IOException {
        if (options.bridge() == null) {
            return Optional.empty();
        }
        if (name.equals("bridge") || name.equals(NetworkOptions.DEFAULT_NETWORK)) {
            return Optional.of(defaultNetwork());
        }
        return Optional.ofNullable(byName.get(name));
    }

    /** A user-defined network (its bridge is made with its first container). */
    Network create(String name, String subnet) throws SpecException, ContainerException, IOException {
        if (options.bridge() == null) {
            throw new SpecException(null, "this agent has no bridge networking (serve --bridge)");
        }
        if (name == null || !NAME.matcher(name).matches()) {
            throw new SpecException("name", "a network's name is 1-64 letters, digits, '_', '.' or '-', starting "
                    + "with a letter or digit; not '" + name + "'");
        }
        if (List.of("bridge", "none", "host", NetworkOptions.DEFAULT_NETWORK).contains(name)) {
            throw new SpecException("name", "'" + name + "' is reserved");
        }
        if (byName.containsKey(name)) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "a network named '" + name
                    + "' exists already");
        }
        defaultNetwork();
        Subnet s;
        if (subnet != null) {
            try {
                s = Subnet.parse(subnet);
            } catch (IllegalArgumentException e) {
                throw new SpecException("subnet", e.getMessage());
            }
            for (Network n : byName.values()) {
                if (n.parsedSubnet().overlaps(s)) {
                    throw new SpecException("subnet", s + " overlaps " + n.subnet() + " of network '" + n.name() + "'");
                }
            }
            for (Subnet r : Bridge.routedSubnets()) {
                if (r.overlaps(s) && byName.values().stream().noneMatch(n -> n.parsedSubnet().equals(r))) {
                    throw new SpecException("subnet", s + " overlaps " + r + ", which the host already routes");
                }
            }
        } else {
            s = pickSubnet();
        }
        Network n = Network.of(name, bridgeName(name), s, false);
        save(n);
        byName.put(name, n);
        return n;
    }

    /** Removes the network's bridge and record (the caller checked it has no containers). */
    void delete(Network n) throws IOException {
        Bridge.deleteLink(n.bridge());
        byName.remove(n.name());
        Files.deleteIfExists(dir.resolve(n.name() + ".json"));
    }

    /** A user network's bridge: 15 bytes at most, unique per agent (the default bridge's name is in the hash). */
    String bridgeName(String network) {
        return "cb" + hash(options.bridge() + "/" + network).substring(0, 10);
    }

    private void save(Network n) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(n.name() + ".json.tmp");
        JSON.writeValue(tmp.toFile(), n);
        Files.move(tmp, dir.resolve(n.name() + ".json"), StandardCopyOption.ATOMIC_MOVE);
    }

    /** The default network: its subnet is the bridge's, else the one given, else one picked (then recorded). */
    Network defaultNetwork() throws IOException {
        Network known = byName.get(NetworkOptions.DEFAULT_NETWORK);
        if (known != null) {
            return known;
        }
        String bridge = options.bridge();
        Subnet s;
        if (Bridge.exists(bridge)) {
            s = Bridge.subnetOf(bridge).orElseThrow(() -> new IOException("bridge " + bridge
                    + " exists but has no IPv4 address; remove it (ip link del " + bridge + ") or name another"));
        } else if (options.subnet() != null) {
            s = Subnet.parse(options.subnet());
            for (Subnet r : Bridge.routedSubnets()) {
                if (r.overlaps(s)) {
                    throw new IOException("the bridge subnet " + s + " overlaps " + r
                            + ", which the host already routes; give another (--bridge-subnet)");
                }
            }
        } else {
            s = pickSubnet();
        }
        Network n = Network.of(NetworkOptions.DEFAULT_NETWORK, bridge, s, true);
        save(n);
        byName.put(n.name(), n);
        return n;
    }

    private Subnet pickSubnet() throws IOException {
        List<Subnet> taken = new ArrayList<>(Bridge.routedSubnets());
        byName.values().forEach(n -> taken.add(n.parsedSubnet()));
        for (int i = 0; i < CANDIDATES; i++) {
            Subnet c = new Subnet(FIRST_CANDIDATE + (i << 16), 16);
            if (taken.stream().noneMatch(c::overlaps)) {
                return c;
            }
        }
        throw new IOException("no free subnet among 10.77.0.0/16..10.96.0.0/16; give one");
    }

    static String hash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(
                    s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
