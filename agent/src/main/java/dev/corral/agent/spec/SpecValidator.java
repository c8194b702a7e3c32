package dev.corral.agent.spec;

import dev.corral.agent.cgroup.DeviceRules;
import dev.corral.agent.cgroup.ResourceLimits;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** Checks a {@link ContainerSpec} against the rules and the host, and fills in defaults. */
public final class SpecValidator {

    public static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern CPU_LIST = Pattern.compile("[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*");
    private static final Pattern MAJOR_MINOR = Pattern.compile("[0-9]{1,10}:[0-9]{1,10}");
    private static final Pattern OCTAL_MODE = Pattern.compile("[0-7]{3,4}");
    /** Docker refuses less; below this a container cannot even start a shell reliably. */
    public static final long MIN_MEMORY = 6L << 20;
    /** The kernel's least CFS quota (cpu.cfs_quota_us, cpu.max), in microseconds per period. */
    private static final long MIN_QUOTA_MICROS = 1000;
    private static final long MAX_ID = 4_294_967_294L;
    /** A container's PATH when neither its spec nor its image gives one. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private final HostFacts host;

    public SpecValidator(HostFacts host) {
        this.host = host;
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
        List<String> command = command(spec.command());
        Map<String, String> env = env(spec.env());
        String cwd = spec.workingDir() == null ? "/" : containerPath(spec.workingDir(), "workingDir");
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
        Path rootfs = rootfs(spec.rootfs());
        boolean allowHost = Boolean.TRUE.equals(spec.dangerouslyAllowHostPaths());

        ContainerSpec.Namespaces ns = spec.namespaces() == null
                ? new ContainerSpec.Namespaces(null, null, null, null, null, null, null) : spec.namespaces();
        Set<String> namespaces = new LinkedHashSet<>();
        addIf(namespaces, "pid", ns.pid());
        addIf(namespaces, "mount", ns.mount());
        addIf(namespaces, "uts", ns.uts());
        addIf(namespaces, "ipc", ns.ipc());
        String network = ns.network() == null ? "none" : ns.network();
        if (!NAME.matcher(network).matches()) { // a network's name, or bridge, none, host (NetworkManager checks it)
            throw new SpecException("namespaces.network", "must be bridge, none, host or a network's name, not '"
                    + printable(network) + "'");
        }
        if (!network.equals("host")) {
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

        ResourceLimits limits = limits(spec.limits());
        NetworkRateCheck.check(spec);
        ContainerSpec.Security sec = spec.security() == null ? new ContainerSpec.Security(null, null, null, null)
                : spec.security();
        Set<String> caps = capabilities(sec);
        List<ContainerConfig.MountPlan> mounts = mounts(spec.mounts(), allowHost, namespaces.contains("mount"));
        if (hostRoot) {
            mounts = HostRoot.mounts(readOnly, mounts, host.protectedPaths());
        }
        return new ContainerConfig(name, command, env, cwd, uid, gid, List.copyOf(groups), hostname, labels, rootfs,
                readOnly, Set.copyOf(namespaces), uidMap, gidMap, limits, caps,
                sec.noNewPrivileges() == null || sec.noNewPrivileges(), mounts, deviceRules(sec));
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

    private static Path rootfs(String rootfs) throws SpecException {
        if (rootfs == null) {
            return null;
        }
        if (rootfs.equals(ContainerConfig.HOST)) {
            return ContainerConfig.HOST_ROOT;
        }
        Path p = hostPath(rootfs, "rootfs");
        if (p.toString().equals("/")) {
            throw new SpecException("rootfs", "use rootfs '" + ContainerConfig.HOST + "' for the host's root (read-only "
                    + "unless dangerouslyAllowHostPaths); '/' is not a container root");
        }
        if (!Files.isDirectory(p)) {
            throw new SpecException("rootfs", "'" + rootfs + "' is not a directory");
        }
        return p;
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

    private ResourceLimits limits(ContainerSpec.Limits l) throws SpecException {
        if (l == null) {
            return ResourceLimits.NONE;
        }
        ResourceLimits.Memory memory = null;
        if (l.memory() != null) {
            ContainerSpec.Memory m = l.memory();
            Long max = bytes(m.max(), "limits.memory.max");
            if (max != null && !Limits.isUnlimited(max) && max < MIN_MEMORY) {
                throw new SpecException("limits.memory.max", "must be at least 6m");
            }
            Long high = bytes(m.high(), "limits.memory.high");
            if (high != null && !host.cgroupV2()) {
                throw new SpecException("limits.memory.high", "needs cgroup v2; this host's memory controller is v1");
            }
            Long reservation = bytes(m.reservation(), "limits.memory.reservation");
            if (reservation != null && max != null && !Limits.isUnlimited(max) && reservation > max) {
                throw new SpecException("limits.memory.reservation", "must not exceed limits.memory.max");
            }
            memory = new ResourceLimits.Memory(max, high, bytes(m.swap(), "limits.memory.swap"), reservation);
        }
        ResourceLimits.Cpu cpu = l.cpu() == null ? null : cpu(l.cpu());
        ResourceLimits.Io io = l.io() == null ? null : io(l.io());
        ResourceLimits.Pids pids = null;
        if (l.pids() != null && l.pids().max() != null) {
            long max = l.pids().max();
            if (max == -1) {
                max = Limits.UNLIMITED;
            } else if (max < 1) {
                throw new SpecException("limits.pids.max", "must be at least 1 (or -1 for unlimited)");
            }
            pids = new ResourceLimits.Pids(max);
        }
        return new ResourceLimits(memory, cpu, io, pids);
    }

    private static Long bytes(Long v, String field) throws SpecException {
        if (v != null && v < 0) {
            throw new SpecException(field, "must not be negative");
        }
        return v;
    }

    private ResourceLimits.Cpu cpu(ContainerSpec.Cpu c) throws SpecException {
        Long period = c.period();
        if (period != null && (period < 1000 || period > 1_000_000)) {
            throw new SpecException("limits.cpu.period", "must be between 1000 and 1000000 microseconds");
        }
        Long quota = c.quota();
        if (c.cpus() != null) {
            if (quota != null) {
                throw new SpecException("limits.cpu.cpus", "give either cpus or quota, not both");
            }
            if (c.cpus().isNaN() || c.cpus() <= 0 || c.cpus() > host.cpus()) {
                throw new SpecException("limits.cpu.cpus", "must be more than 0 and at most " + host.cpus()
                        + " (this host's CPUs)");
            }
            if (period == null) {
                period = CgroupConversions.DEFAULT_CPU_PERIOD_MICROS;
            }
            // The kernel's least CFS quota is 1 ms a period; cpusToQuotaMicros would round up to it silently
            if (Math.round(c.cpus() * period) < MIN_QUOTA_MICROS) {
                throw new SpecException("limits.cpu.cpus", plain(c.cpus()) + " is below the kernel's minimum of "
                        + minCpus(period) + " (a CFS quota of at least 1 ms per " + plain(period / 1000.0)
                        + " ms period)");
            }
            quota = CgroupConversions.cpusToQuotaMicros(c.cpus(), period);
        } else if (quota != null) {
            if (quota == -1) {
                quota = Limits.UNLIMITED;
            } else if (quota < MIN_QUOTA_MICROS) {
                throw new SpecException("limits.cpu.quota", "must be at least 1000 microseconds (or -1 for none)");
            }
        }
        if (c.shares() != null && c.weight() != null) {
            throw new SpecException("limits.cpu.shares", "give either shares or weight, not both");
        }
        if (c.shares() != null && (c.shares() < 2 || c.shares() > 262_144)) {
            throw new SpecException("limits.cpu.shares", "must be between 2 and 262144");
        }
        if (c.weight() != null && (c.weight() < 1 || c.weight() > 10_000)) {
            throw new SpecException("limits.cpu.weight", "must be between 1 and 10000");
        }
        cpuList(c.cpusetCpus(), "limits.cpu.cpusetCpus", host.onlineCpus(), "CPUs");
        cpuList(c.cpusetMems(), "limits.cpu.cpusetMems", host.memoryNodes(), "memory nodes");
        return new ResourceLimits.Cpu(quota, period, c.shares(), c.weight(), c.cpusetCpus(), c.cpusetMems());
    }

    private static void cpuList(String list, String field, CpuSet host, String what) throws SpecException {
        if (list == null) {
            return;
        }
        if (!CPU_LIST.matcher(list).matches()) {
            throw new SpecException(field, "'" + printable(list) + "' is not a list like 0-3,5");
        }
        if (host != null) {
            CpuSet wanted = CpuSet.parse(list);
            if (wanted == null || !wanted.intersect(host).equals(wanted)) {
                throw new SpecException(field, "'" + list + "': this host has " + what + " " + host);
            }
        }
    }

    /** The least cpus a period allows, e.g. 0.01 for 100 ms. */
    private static String minCpus(long periodMicros) {
        return plain((double) MIN_QUOTA_MICROS / periodMicros);
    }

    /** 0.0001, not 1.0E-4. */
    private static String plain(double v) {
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    private ResourceLimits.Io io(ContainerSpec.Io io) throws SpecException {
        if (io.weight() != null && (io.weight() < 10 || io.weight() > 1000)) {
            throw new SpecException("limits.io.weight", "must be between 10 and 1000");
        }
        List<ResourceLimits.DeviceLimit> devices = new ArrayList<>();
        if (io.devices() != null) {
            for (int i = 0; i < io.devices().size(); i++) {
                ContainerSpec.IoDevice d = io.devices().get(i);
                String field = "limits.io.devices[" + i + "]";
                if (d.device() == null) {
                    throw new SpecException(field + ".device", "is required: MAJOR:MINOR or a block device path");
                }
                String mm = MAJOR_MINOR.matcher(d.device()).matches() ? d.device() : host.devices().majorMinor(d.device());
                if (mm == null) {
                    throw new SpecException(field + ".device", "'" + printable(d.device())
                            + "' is not a block device");
                }
                String[] parts = mm.split(":");
                devices.add(new ResourceLimits.DeviceLimit(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
                        rate(d.readBps(), field + ".readBps"), rate(d.writeBps(), field + ".writeBps"),
                        rate(d.readIops(), field + ".readIops"), rate(d.writeIops(), field + ".writeIops")));
            }
        }
        return new ResourceLimits.Io(io.weight(), devices);
    }

    private static Long rate(Long v, String field) throws SpecException {
        if (v != null && v < 1) {
            throw new SpecException(field, "must be at least 1 (or \"max\" for no limit)");
        }
        return v;
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

    private List<ContainerConfig.MountPlan> mounts(List<ContainerSpec.Mount> mounts, boolean allowHost,
                                                   boolean mountNs) throws SpecException {
        if (mounts == null || mounts.isEmpty()) {
            return List.of();
        }
        if (!mountNs) {
            throw new SpecException("mounts", "mounts need a mount namespace");
        }
        List<ContainerConfig.MountPlan> out = new ArrayList<>();
        for (int i = 0; i < mounts.size(); i++) {
            ContainerSpec.Mount m = mounts.get(i);
            String field = "mounts[" + i + "]";
            String type = m.type() == null ? "bind" : m.type();
            String target = containerPath(m.target(), field + ".target");
            if (target.equals("/")) {
                throw new SpecException(field + ".target", "must not be '/'");
            }
            switch (type) {
                case "bind" -> {
                    Path source = hostPath(m.source(), field + ".source");
                    if (!Files.exists(source)) {
                        throw new SpecException(field + ".source", "'" + m.source() + "' does not exist");
                    }
                    if (!allowHost) {
                        refuseHostPath(source, field + ".source");
                    }
                    out.add(new ContainerConfig.MountPlan("bind", source.toString(), target,
                            m.readOnly() == null || m.readOnly(), null));
                }
                case "tmpfs" -> {
                    if (m.source() != null) {
                        throw new SpecException(field + ".source", "a tmpfs has no source");
                    }
                    StringBuilder data = new StringBuilder("mode=");
                    if (m.mode() != null && !OCTAL_MODE.matcher(m.mode()).matches()) {
                        throw new SpecException(field + ".mode", "must be octal like 1777");
                    }
                    data.append(m.mode() == null ? "1777" : m.mode());
                    if (m.size() != null) {
                        if (m.size() < 4096 || Limits.isUnlimited(m.size())) {
                            throw new SpecException(field + ".size", "must be at least 4k");
                        }
                        data.append(",size=").append(m.size());
                    }
                    out.add(new ContainerConfig.MountPlan("tmpfs", "tmpfs", target,
                            Boolean.TRUE.equals(m.readOnly()), data.toString()));
                }
                default -> throw new SpecException(field + ".type", "must be 'bind' or 'tmpfs'");
            }
        }
        return List.copyOf(out);
    }

    /**
     * A container given the host's root, its /proc or /sys, or the agent's own state owns the host: such
     * binds need the loudly named override.
     */
    private void refuseHostPath(Path source, String field) throws SpecException {
        Path real;
        try {
            real = source.toRealPath();
        } catch (java.io.IOException e) {
            throw new SpecException(field, "cannot resolve '" + source + "': " + e.getMessage());
        }
        String why = null;
        if (real.toString().equals("/")) {
            why = "the host's root";
        } else if (real.startsWith("/proc") || real.startsWith("/sys") || real.startsWith("/dev")) {
            why = "host kernel interfaces (" + real.getName(0) + ")";
        } else {
            for (Path p : host.protectedPaths()) {
                if (p.startsWith(real) || real.startsWith(p)) {
                    why = "the agent's own state (" + p + ")";
                }
            }
        }
        if (why != null) {
            throw new SpecException(field, "binding '" + source + "' would expose " + why + " to the container; "
                    + "set dangerouslyAllowHostPaths: true only if the container may own the host");
        }
    }

    private static String containerPath(String p, String field) throws SpecException {
        if (p == null || p.isEmpty()) {
            throw new SpecException(field, "is required");
        }
        checkPath(p, field);
        return Path.of(p).normalize().toString();
    }

    private static Path hostPath(String p, String field) throws SpecException {
        if (p == null || p.isEmpty()) {
            throw new SpecException(field, "is required");
        }
        checkPath(p, field);
        return Path.of(p).normalize();
    }

    private static void checkPath(String p, String field) throws SpecException {
        if (!p.startsWith("/")) {
            throw new SpecException(field, "must be an absolute path");
        }
        for (String part : p.split("/")) {
            if (part.equals("..")) {
                throw new SpecException(field, "must not contain '..'");
            }
        }
        if (p.indexOf('\0') >= 0 || p.indexOf('\t') >= 0 || p.indexOf('\n') >= 0 || p.length() > 4096) {
            throw new SpecException(field, "must not contain NUL, tab or newline characters");
        }
    }

    private static String printable(String s) {
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
