package dev.corral.agent.spec;

import dev.corral.agent.cgroup.DeviceRules;
import dev.corral.agent.cgroup.ResourceLimits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Checks a {@link ContainerSpec} against the rules and the host, and fills in defaults. Limits are checked by
 * {@link LimitsValidator}, the rootfs and mounts by {@link MountValidator}; the rest (name, command, env, user,
 * namespaces, capabilities, device rules) here.
 */
public final class SpecValidator {

    public static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    /** Docker refuses less; below this a container cannot even start a shell reliably. */
    public static final long MIN_MEMORY = 6L << 20;
    private static final long MAX_ID = 4_294_967_294L;
    /** A container's PATH when neither its spec nor its image gives one. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private final HostFacts host;
    private final LimitsValidator limits;
    private final MountValidator mounts;

    public SpecValidator(HostFacts host) {
        this.host = host;
        this.limits = new LimitsValidator(host);
        this.mounts = new MountValidator(host);
    }

    /** Validates the name alone (also used for path parameters of the API). */
    public static String checkName(String name, String field) throws SpecException {
        if (name == null || name.isEmpty()) {
            throw new SpecException(field, "is required");
        }
        if (!NAME.matcher(name).matches()) {
            throw new SpecException(field, "'" + printable(name) + "' is not a valid name: use 1-64 letters, "
                    + "digits, '_', '.' or '-', starting with a letter or digit");
        }
        return name;
    }

    public ContainerConfig validate(ContainerSpec spec) throws SpecException {
        String name = checkName(spec.name(), "name");
        RestartRules.check(spec);
        List<String> command = command(spec.command());
        Map<String, String> env = env(spec.env());
        String cwd = spec.workingDir() == null ? "/" : MountValidator.containerPath(spec.workingDir(), "workingDir");
        ContainerSpec.User user = spec.user() == null ? new ContainerSpec.User(null, null, null) : spec.user();
        long uid = id(user.uid(), "user.uid");
        long gid = id(user.gid(), "user.gid");
        List<Long> groups = new ArrayList<>();
        if (user.additionalGids() != null) {
            for (int i = 0; i < user.additionalGids().size(); i++) {
                groups.add(id(user.additionalGids().get(i), "user.additionalGids[" + i + "]"));
            }
        }
        String hostname = spec.hostname() == null ? name : hostname(spec.hostname());
        Map<String, String> labels = labels(spec.labels());
        if (spec.rootfs() == null && spec.image() == null) {
            throw new SpecException("rootfs", "a container needs an image or a rootfs: give image, a rootfs "
                    + "directory, or rootfs '" + ContainerConfig.HOST + "' for the host's root (read-only)");
        }
        Path rootfs = MountValidator.rootfs(spec.rootfs());
        boolean allowHost = Boolean.TRUE.equals(spec.dangerouslyAllowHostPaths());

        ContainerSpec.Namespaces ns = spec.namespaces() == null
                ? new ContainerSpec.Namespaces(null, null, null, null, null, null, null) : spec.namespaces();
        Set<String> namespaces = new LinkedHashSet<>();
        addIf(namespaces, "pid", ns.pid());
        addIf(namespaces, "mount", ns.mount());
        addIf(namespaces, "uts", ns.uts());
        addIf(namespaces, "ipc", ns.ipc());
        String network = ns.network() == null ? "none" : ns.network();
        boolean joined = network.startsWith("container:"); // NAME's netns (network.JoinedNetwork)
        // bridge, none, host, a network's name (NetworkManager checks it) or container:NAME (Creation checks NAME)
        if (!NAME.matcher(joined ? network.substring("container:".length()) : network).matches()) {
            throw new SpecException("namespaces.network", "must be bridge, none, host, a network's name or "
                    + "container:NAME, not '" + printable(network) + "'");
        }
        if (joined && spec.hostname() != null) { // Docker: "conflicting options: hostname and the network mode"
            throw new SpecException("hostname", "cannot be set with network '" + network + "': the container has "
                    + "the hostname of the container whose network it joins");
        }
        if (!network.equals("host") && !joined) { // container:NAME joins NAME's (corral-shim's net_join)
            namespaces.add("net");
        }
        if (Boolean.TRUE.equals(ns.cgroup())) {
            namespaces.add("cgroup");
        }
        List<ContainerSpec.IdMapping> uidMap = List.of();
        List<ContainerSpec.IdMapping> gidMap = List.of();
        if (ns.user() != null) {
            namespaces.add("user");
            uidMap = mappings(ns.user().uidMappings(), "namespaces.user.uidMappings");
            gidMap = mappings(ns.user().gidMappings(), "namespaces.user.gidMappings");
        }
        if (rootfs != null && !namespaces.contains("mount")) {
            throw new SpecException("namespaces.mount", "a rootfs needs a mount namespace");
        }
        imageRules(spec, namespaces);
        boolean hostRoot = ContainerConfig.HOST_ROOT.equals(rootfs);
        boolean readOnly = hostRoot ? !Boolean.FALSE.equals(spec.readOnlyRootfs())
                : Boolean.TRUE.equals(spec.readOnlyRootfs());
        if (hostRoot) {
            HostRoot.check(readOnly, allowHost, namespaces);
        }

        ResourceLimits limits = this.limits.limits(spec.limits());
        NetworkRateCheck.check(spec);
        consoleSize(spec.consoleSize());
        ContainerSpec.Security sec = spec.security() == null ? new ContainerSpec.Security(null, null, null, null)
                : spec.security();
        Set<String> caps = capabilities(sec);
        List<ContainerConfig.MountPlan> mounts = this.mounts.mounts(spec.mounts(), allowHost, namespaces.contains("mount"));
        if (hostRoot) {
            mounts = HostRoot.mounts(readOnly, mounts, host.protectedPaths());
        }
        return new ContainerConfig(name, command, env, cwd, uid, gid, List.copyOf(groups), hostname, labels, rootfs,
                readOnly, Set.copyOf(namespaces), uidMap, gidMap, limits, caps,
                sec.noNewPrivileges() == null || sec.noNewPrivileges(), mounts, deviceRules(sec),
                UserAndUlimits.userName(spec.user()), UserAndUlimits.rlimits(spec.ulimits()));
    }

    /** [rows, columns] of a terminal: each 0..65535 (struct winsize's 16 bits). */
    private static void consoleSize(List<Integer> size) throws SpecException {
        if (size != null && (size.size() != 2 || size.stream().anyMatch(v -> v == null || v < 0 || v > 65535))) {
            throw new SpecException("consoleSize", "expected [rows, columns], each 0 to 65535, got " + size);
        }
    }

    private static List<String> deviceRules(ContainerSpec.Security sec) throws SpecException {
        if (sec.deviceCgroupRules() == null) {
            return List.of();
        }
        for (int i = 0; i < sec.deviceCgroupRules().size(); i++) {
            String rule = sec.deviceCgroupRules().get(i);
            if (rule == null || !DeviceRules.isValid(rule)) {
                throw new SpecException("security.deviceCgroupRules[" + i + "]", "expected 'TYPE MAJOR:MINOR ACCESS' "
                        + "(a, b or c; a number or *; some of rwm), e.g. 'b 8:16 rw', got '"
                        + (rule == null ? "null" : printable(rule)) + "'");
            }
        }
        return List.copyOf(sec.deviceCgroupRules());
    }

    /** The image itself is resolved by the runtime (it fills the image's defaults in before validation). */
    private static void imageRules(ContainerSpec spec, Set<String> namespaces) throws SpecException {
        if (spec.image() == null) {
            return;
        }
        if (spec.rootfs() != null) {
            throw new SpecException("image", "give an image or a rootfs, not both");
        }
        if (!namespaces.contains("mount")) {
            throw new SpecException("namespaces.mount", "an image needs a mount namespace");
        }
        if (namespaces.contains("user")) {
            throw new SpecException("namespaces.user", "an image root cannot be used with a user namespace yet: "
                    + "overlayfs there cannot read the layers' trusted.overlay xattrs");
        }
    }

    private static void addIf(Set<String> namespaces, String ns, Boolean wanted) {
        if (wanted == null || wanted) {
            namespaces.add(ns);
        }
    }

    private static List<String> command(List<String> command) throws SpecException {
        if (command == null || command.isEmpty()) {
            throw new SpecException("command", "is required: the program and its arguments");
        }
        for (int i = 0; i < command.size(); i++) {
            String arg = command.get(i);
            if (arg == null || arg.indexOf('\0') >= 0 || (i == 0 && arg.isEmpty())) {
                throw new SpecException("command[" + i + "]", "must be a non-empty string without NUL bytes");
            }
        }
        return List.copyOf(command);
    }

    private static Map<String, String> env(Map<String, String> env) throws SpecException {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("PATH", DEFAULT_PATH);
        if (env != null) {
            for (Map.Entry<String, String> e : env.entrySet()) {
                if (!ENV_NAME.matcher(e.getKey()).matches()) {
                    throw new SpecException("env." + printable(e.getKey()), "is not a valid variable name");
                }
                if (e.getValue() == null || e.getValue().indexOf('\0') >= 0) {
                    throw new SpecException("env." + e.getKey(), "must be a string without NUL bytes");
                }
                out.put(e.getKey(), e.getValue());
            }
        }
        return Map.copyOf(out);
    }

    private static long id(Long id, String field) throws SpecException {
        if (id == null) {
            return 0;
        }
        if (id < 0 || id > MAX_ID) {
            throw new SpecException(field, "must be between 0 and " + MAX_ID);
        }
        return id;
    }

    private static String hostname(String h) throws SpecException {
        if (h.isEmpty() || h.length() > 64 || !h.matches("[A-Za-z0-9][A-Za-z0-9.-]*")) {
            throw new SpecException("hostname", "must be 1-64 letters, digits, '.' or '-'");
        }
        return h;
    }

    private static Map<String, String> labels(Map<String, String> labels) throws SpecException {
        if (labels == null) {
            return Map.of();
        }
        for (Map.Entry<String, String> e : labels.entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().length() > 128 || e.getKey().indexOf('\0') >= 0) {
                throw new SpecException("labels", "keys must be 1-128 characters without NUL bytes");
            }
            if (e.getValue() == null || e.getValue().length() > 4096 || e.getValue().indexOf('\0') >= 0) {
                throw new SpecException("labels." + e.getKey(), "must be a string of at most 4096 characters");
            }
        }
        return Map.copyOf(labels);
    }

    private static List<ContainerSpec.IdMapping> mappings(List<ContainerSpec.IdMapping> maps, String field)
            throws SpecException {
        if (maps == null || maps.isEmpty()) {
            throw new SpecException(field, "a user namespace needs at least one mapping");
        }
        for (int i = 0; i < maps.size(); i++) {
            ContainerSpec.IdMapping m = maps.get(i);
            if (m.containerId() == null || m.hostId() == null || m.size() == null || m.containerId() < 0
                    || m.hostId() < 0 || m.size() < 1 || m.containerId() + m.size() > MAX_ID + 1
                    || m.hostId() + m.size() > MAX_ID + 1) {
                throw new SpecException(field + "[" + i + "]", "needs containerId, hostId >= 0 and size >= 1 "
                        + "within 32-bit ids");
            }
        }
        return List.copyOf(maps);
    }

    private Set<String> capabilities(ContainerSpec.Security sec) throws SpecException {
        Capabilities kernel = host.capabilities();
        Set<String> caps = new TreeSet<>(Capabilities.DEFAULT);
        caps.retainAll(kernel.all());
        // As Docker: drops apply first, so "drop ALL, add X" leaves exactly X.
        if (sec.capDrop() != null) {
            for (int i = 0; i < sec.capDrop().size(); i++) {
                caps.removeAll(capNames(sec.capDrop().get(i), "security.capDrop[" + i + "]"));
            }
        }
        if (sec.capAdd() != null) {
            for (int i = 0; i < sec.capAdd().size(); i++) {
                caps.addAll(capNames(sec.capAdd().get(i), "security.capAdd[" + i + "]"));
            }
        }
        return Set.copyOf(caps);
    }

    private Set<String> capNames(String name, String field) throws SpecException {
        if (name == null) {
            throw new SpecException(field, "must be a capability name");
        }
        if (name.equalsIgnoreCase("ALL")) {
            return host.capabilities().all();
        }
        String canonical = host.capabilities().canonical(name);
        if (canonical == null) {
            throw new SpecException(field, "unknown capability '" + printable(name) + "'");
        }
        return Set.of(canonical);
    }

    /** The user's text for a message: control characters as '?', cut after 80 characters. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
            if (b.length() > 80) {
                return b.append("...").toString();
            }
        }
        return b.toString();
    }
}
