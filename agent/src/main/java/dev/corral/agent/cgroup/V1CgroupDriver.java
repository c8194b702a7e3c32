package dev.corral.agent.cgroup;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupPaths;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cgroup v1 (and hybrid): one directory per hierarchy (cpu and cpuacct may be apart). On hybrid hosts each
 * container also gets a directory in the cgroup2 mount, as runc does, which yields per-container PSI,
 * cgroup.events (populated), cgroup.kill and cgroup.freeze.
 */
final class V1CgroupDriver implements CgroupDriver {

    private static final Logger LOG = LoggerFactory.getLogger(V1CgroupDriver.class);

    /** devices.list of a cgroup with exactly those rules, in the order the kernel keeps them (as written). */
    private static final String ALLOWED_LIST = String.join("\n", DeviceRules.DEFAULT);

    private final CgroupLayout layout;
    private final String parent;
    private final List<Hierarchy> hierarchies;

    V1CgroupDriver(CgroupLayout layout, String parent) {
        this.layout = layout;
        this.parent = parent;
        List<Hierarchy> hs = new ArrayList<>();
        for (Hierarchy h : layout.hierarchies()) {
            if (h.isUnified() || h.controllers().stream().anyMatch(c -> !c.startsWith("name="))) {
                hs.add(h);
            }
        }
        this.hierarchies = List.copyOf(hs);
    }

    @Override
    public CgroupLayout layout() {
        return layout;
    }

    @Override
    public String parent() {
        return parent;
    }

    @Override
    public boolean supportsMemoryHigh() {
        return false;
    }

    @Override
    public void ensureParent() throws CgroupException {
        for (Hierarchy h : hierarchies) {
            String current = "/";
            for (String part : parent.substring(1).split("/")) {
                String next = CgroupPaths.join(current, part);
                Path dir = dirIn(h, next);
                if (!Files.isDirectory(dir)) {
                    CgroupFiles.mkdir(dir);
                    if (h.has("cpuset")) {
                        inheritCpuset(dir);
                    }
                }
                current = next;
            }
        }
        allowDevicesOnParent();
    }

    /**
     * A v1 devices cgroup copies its parent's rules when it is made, so the allow-list written once on the
     * agent's parent saves each container 14 writes (about 1-2 ms of its launch). The kernel refuses "deny all"
     * on a cgroup that has children (EINVAL), e.g. after an agent restart with containers running: then the
     * parent keeps what it has and each new container gets its rules written as before (see create).
     */
    private void allowDevicesOnParent() {
        for (Hierarchy h : hierarchies) {
            if (h.has("devices")) {
                Path dir = dirIn(h, parent);
                try {
                    if (!CgroupFiles.read(dir.resolve("devices.list")).equals(ALLOWED_LIST)) {
                        writeDeviceRules(dir);
                    }
                } catch (CgroupException e) {
                    LOG.debug("device rules stay per container: {}", e.getMessage());
                }
            }
        }
    }

    private static void writeDeviceRules(Path dir) throws CgroupException {
        CgroupFiles.write(dir.resolve("devices.deny"), "a");
        for (String rule : DeviceRules.DEFAULT) {
            CgroupFiles.write(dir.resolve("devices.allow"), rule);
        }
    }

    /** A new v1 cpuset cgroup starts with no cpus and mems, and no task can join it until they are set. */
    private static void inheritCpuset(Path dir) throws CgroupException {
        for (String file : List.of("cpuset.cpus", "cpuset.mems")) {
            if (CgroupFiles.read(dir.resolve(file)).isEmpty()) {
                CgroupFiles.write(dir.resolve(file), CgroupFiles.read(dir.getParent().resolve(file)));
            }
        }
    }

    private static Path dirIn(Hierarchy h, String cgroupPath) {
        return h.dirOf(cgroupPath).orElseThrow(
                () -> new IllegalStateException(cgroupPath + " is outside " + h.mountPoint()));
    }

    @Override
    public ContainerCgroup create(String leaf, ResourceLimits limits) throws CgroupException {
        V1Cgroup cg = (V1Cgroup) open(leaf);
        List<Path> made = new ArrayList<>();
        try {
            for (Path dir : cg.dirs) {
                CgroupFiles.mkdirNew(dir);
                made.add(dir);
            }
        } catch (CgroupException e) {
            for (int i = made.size() - 1; i >= 0; i--) { // what this call made, not what was there
                try {
                    CgroupFiles.rmdir(made.get(i));
                } catch (CgroupException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        try {
            Optional<Path> cpuset = cg.controllerDir("cpuset");
            if (cpuset.isPresent()) {
                inheritCpuset(cpuset.get());
            }
            Optional<Path> devices = cg.controllerDir("devices");
            // Inherited from the parent when it has the rules (one read instead of 14 writes); else written.
            if (devices.isPresent() && !CgroupFiles.read(devices.get().resolve("devices.list")).equals(ALLOWED_LIST)) {
                writeDeviceRules(devices.get());
            }
            cg.update(limits);
        } catch (CgroupException | RuntimeException e) {
            try {
                cg.remove();
            } catch (CgroupException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return cg;
    }

    @Override
    public ContainerCgroup open(String leaf) {
        String path = CgroupPaths.join(parent, leaf);
        return new V1Cgroup(path, hierarchies);
    }

    @Override
    public java.util.Set<String> leaves() throws CgroupException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (Hierarchy h : hierarchies) {
            out.addAll(CgroupFiles.subdirs(dirIn(h, parent)));
        }
        return out;
    }

    @Override
    public ContainerCgroup openPath(String cgroupPath) {
        return new V1Cgroup(CgroupPaths.normalize(cgroupPath), hierarchies);
    }

    @Override
    public void removeParentIfEmpty() throws CgroupException {
        for (Hierarchy h : hierarchies) {
            Path d = dirIn(h, parent);
            if (Files.isDirectory(d)) {
                CgroupFiles.rmdir(d);
            }
        }
    }

    private static final class V1Cgroup extends DirsCgroup {
        private final List<Hierarchy> hierarchies;

        V1Cgroup(String path, List<Hierarchy> hierarchies) {
            super(path, hierarchies.stream().map(h -> dirIn(h, path)).toList());
            this.hierarchies = hierarchies;
        }

        Optional<Path> controllerDir(String controller) {
            for (int i = 0; i < hierarchies.size(); i++) {
                if (hierarchies.get(i).has(controller)) {
                    return Optional.of(dirs.get(i));
                }
            }
            return Optional.empty();
        }

        /**
         * A v1 child cannot be allowed what its parent is not, so each rule goes on the agent's parent first.
         * Containers made later then find the parent's list longer than the default and get the default written
         * (see create) instead of inheriting the extra rule.
         */
        @Override
        public void allowDevices(List<String> rules) throws CgroupException {
            Optional<Path> devices = controllerDir("devices");
            if (devices.isPresent()) {
                for (String rule : rules) {
                    CgroupFiles.write(devices.get().getParent().resolve("devices.allow"), rule);
                    CgroupFiles.write(devices.get().resolve("devices.allow"), rule);
                }
            }
        }

        /** A hybrid host without a mounted devices controller gets the v2 filter on its cgroup2 directory. */
        @Override
        public Optional<Path> deviceFilterDir() {
            return controllerDir("devices").isPresent() ? Optional.empty() : unifiedDir();
        }

        Optional<Path> unifiedDir() {
            for (int i = 0; i < hierarchies.size(); i++) {
                if (hierarchies.get(i).isUnified()) {
                    return Optional.of(dirs.get(i));
                }
            }
            return Optional.empty();
        }

        private Path file(String controller, String name) throws CgroupException {
            Path dir = controllerDir(controller).orElseThrow(() -> new CgroupException.Missing(
                    "the " + controller + " controller is not mounted on this host", null, null, null));
            return dir.resolve(name);
        }

        @Override
        public String knob(String name) {
            Optional<Path> dir = controllerDir(name.substring(0, Math.max(0, name.indexOf('.'))));
            return dir.map(d -> LimitWrites.readQuietly(d.resolve(name))).map(String::strip).orElse(null);
        }

        @Override
        public void setKnob(String name, String value) throws CgroupException {
            CgroupFiles.write(file(name.substring(0, Math.max(0, name.indexOf('.'))), name), value);
        }

        @Override
        public void update(ResourceLimits limits) throws CgroupException {
            LimitWrites w = new LimitWrites();
            if (limits.memory() != null) {
                memory(w, limits.memory());
            }
            if (limits.cpu() != null) {
                ResourceLimits.Cpu c = limits.cpu();
                if (c.periodMicros() != null) {
                    w.add(file("cpu", "cpu.cfs_period_us"), Long.toString(c.periodMicros()));
                }
                if (c.quotaMicros() != null) {
                    w.add(file("cpu", "cpu.cfs_quota_us"), Limits.isUnlimited(c.quotaMicros()) ? "-1"
                            : Long.toString(c.quotaMicros()));
                }
                Long shares = c.shares() != null ? c.shares()
                        : c.weight() != null ? CgroupConversions.weightToShares(c.weight()) : null;
                if (shares != null) {
                    w.add(file("cpu", "cpu.shares"), Long.toString(shares));
                }
                if (c.cpusetCpus() != null) {
                    w.add(file("cpuset", "cpuset.cpus"), c.cpusetCpus());
                }
                if (c.cpusetMems() != null) {
                    w.add(file("cpuset", "cpuset.mems"), c.cpusetMems());
                }
            }
            if (limits.io() != null) {
                if (limits.io().weight() != null) {
                    Path weight = file("blkio", "blkio.weight");
                    if (!Files.exists(weight)) {
                        weight = file("blkio", "blkio.bfq.weight");
                    }
                    if (!Files.exists(weight)) {
                        throw new CgroupException.Missing("blkio weight needs the BFQ (or CFQ) IO scheduler, "
                                + "which this kernel does not offer", weight, null, null);
                    }
                    w.add(weight, Long.toString(limits.io().weight()));
                }
                for (ResourceLimits.DeviceLimit d : limits.io().devices()) {
                    throttle(w, "blkio.throttle.read_bps_device", d, d.readBps());
                    throttle(w, "blkio.throttle.write_bps_device", d, d.writeBps());
                    throttle(w, "blkio.throttle.read_iops_device", d, d.readIops());
                    throttle(w, "blkio.throttle.write_iops_device", d, d.writeIops());
                }
            }
            if (limits.pids() != null && limits.pids().max() != null) {
                w.add(file("pids", "pids.max"), Limits.isUnlimited(limits.pids().max()) ? "max"
                        : Long.toString(limits.pids().max()));
            }
            w.apply();
        }

        /** v1 requires memsw >= limit at every moment, so the order of the two writes depends on the change. */
        private void memory(LimitWrites w, ResourceLimits.Memory m) throws CgroupException {
            if (m.high() != null) {
                throw new CgroupException.Missing("memory.high needs cgroup v2", null, null, null);
            }
            if (m.reservation() != null) {
                w.add(file("memory", "memory.soft_limit_in_bytes"), v1Bytes(m.reservation()));
            }
            Path limit = file("memory", "memory.limit_in_bytes");
            Path memsw = file("memory", "memory.memsw.limit_in_bytes");
            String newSwap = null;
            if (m.swap() != null) {
                if (!Files.exists(memsw)) {
                    throw new CgroupException.Missing("swap limits need swap accounting (memory.memsw.*), which "
                            + "this kernel does not have", memsw, null, null);
                }
                long max = m.max() != null ? m.max() : Long.parseLong(CgroupFiles.read(limit));
                newSwap = Limits.isUnlimited(m.swap()) || Limits.isUnlimited(max) ? "-1"
                        : Long.toString(max + m.swap());
            }
            boolean swapFirst = newSwap != null && m.max() != null && !Limits.isUnlimited(m.max())
                    && m.max() > Limits.normalizeV1Memory(Long.parseLong(CgroupFiles.read(memsw)));
            if (swapFirst) {
                w.add(memsw, newSwap);
            }
            if (m.max() != null) {
                w.add(limit, v1Bytes(m.max()));
            }
            if (newSwap != null && !swapFirst) {
                w.add(memsw, newSwap);
            }
        }

        private static String v1Bytes(long v) {
            return Limits.isUnlimited(v) ? "-1" : Long.toString(v);
        }

        private void throttle(LimitWrites w, String name, ResourceLimits.DeviceLimit d, Long value)
                throws CgroupException {
            if (value == null) {
                return;
            }
            Path f = file("blkio", name);
            String v = Limits.isUnlimited(value) ? "0" : Long.toString(value); // 0 removes the rule
            w.add(f, d.device() + " " + v, () -> {
                String content = LimitWrites.readQuietly(f);
                if (content != null) {
                    for (String line : content.split("\n")) {
                        if (line.startsWith(d.device() + " ")) {
                            return line;
                        }
                    }
                }
                return d.device() + " 0";
            });
        }

        @Override
        public void freeze() throws CgroupException {
            setFreezer("FROZEN");
        }

        @Override
        public void thaw() throws CgroupException {
            setFreezer("THAWED");
        }

        /** Freezing is asynchronous: the state reads FREEZING until every task has stopped. */
        private void setFreezer(String state) throws CgroupException {
            Path f = file("freezer", "freezer.state");
            long deadline = System.currentTimeMillis() + 5000;
            CgroupFiles.write(f, state);
            while (!CgroupFiles.read(f).equals(state)) {
                if (System.currentTimeMillis() > deadline) {
                    throw new CgroupException("cgroup " + path() + " did not become " + state + " within 5 s", f,
                            state, null);
                }
                CgroupFiles.write(f, state);
                sleep(5);
            }
        }

        @Override
        public boolean frozen() throws CgroupException {
            return CgroupFiles.read(file("freezer", "freezer.state")).equals("FROZEN");
        }

        @Override
        public void killAll() throws CgroupException {
            Optional<Path> unified = unifiedDir();
            if (unified.isPresent() && Files.exists(unified.get().resolve("cgroup.kill"))) {
                CgroupFiles.write(unified.get().resolve("cgroup.kill"), "1");
                return;
            }
            FreezeKill.killFrozen(this);
        }

        @Override
        public boolean populated() throws CgroupException {
            Optional<Path> unified = unifiedDir();
            if (unified.isPresent()) {
                return CgroupFiles.keyed(unified.get().resolve("cgroup.events"), "populated") == 1;
            }
            return !pids().isEmpty();
        }

        @Override
        public long oomKills() throws CgroupException {
            return CgroupFiles.keyed(file("memory", "memory.oom_control"), "oom_kill");
        }
    }
}
