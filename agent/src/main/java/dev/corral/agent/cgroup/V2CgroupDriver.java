package dev.corral.agent.cgroup;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupPaths;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** cgroup v2: one directory per container; controllers delegated through cgroup.subtree_control. */
final class V2CgroupDriver implements CgroupDriver {

    private static final List<String> WANTED = List.of("cpuset", "cpu", "io", "memory", "pids");

    private final CgroupLayout layout;
    private final String parent;
    private final Hierarchy unified;

    V2CgroupDriver(CgroupLayout layout, String parent) {
        this.layout = layout;
        this.parent = parent;
        this.unified = layout.unified().orElseThrow();
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
        return true;
    }

    @Override
    public void ensureParent() throws CgroupException {
        // Walk down from the root: each level must delegate the controllers to the next.
        String current = "/";
        for (String part : parent.substring(1).split("/")) {
            enableControllers(dir(current));
            current = CgroupPaths.join(current, part);
            CgroupFiles.mkdir(dir(current));
        }
        enableControllers(dir(current));
    }

    private void enableControllers(Path dir) throws CgroupException {
        Set<String> available = Set.of(CgroupFiles.read(dir.resolve("cgroup.controllers")).split(" "));
        Set<String> enabled = Set.of(CgroupFiles.read(dir.resolve("cgroup.subtree_control")).split(" "));
        StringBuilder add = new StringBuilder();
        for (String c : WANTED) {
            if (available.contains(c) && !enabled.contains(c)) {
                add.append(add.length() == 0 ? "" : " ").append('+').append(c);
            }
        }
        if (add.length() > 0) {
            CgroupFiles.write(dir.resolve("cgroup.subtree_control"), add.toString());
        }
    }

    private Path dir(String cgroupPath) {
        return unified.dirOf(cgroupPath).orElseThrow(
                () -> new IllegalStateException(cgroupPath + " is outside the cgroup2 mount"));
    }

    @Override
    public ContainerCgroup create(String leaf, ResourceLimits limits) throws CgroupException {
        V2Cgroup cg = (V2Cgroup) open(leaf);
        CgroupFiles.mkdirNew(cg.dir);
        try {
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
        return new V2Cgroup(path, dir(path));
    }

    @Override
    public java.util.Set<String> leaves() throws CgroupException {
        return CgroupFiles.subdirs(dir(parent));
    }

    @Override
    public ContainerCgroup openPath(String cgroupPath) {
        String path = CgroupPaths.normalize(cgroupPath);
        return new V2Cgroup(path, dir(path));
    }

    @Override
    public void removeParentIfEmpty() throws CgroupException {
        Path d = dir(parent);
        if (Files.isDirectory(d)) {
            CgroupFiles.rmdir(d);
        }
    }

    private static final class V2Cgroup extends DirsCgroup {
        private final Path dir;

        V2Cgroup(String path, Path dir) {
            super(path, List.of(dir));
            this.dir = dir;
        }

        /** v2 has no devices controller: corral-shim attaches the BPF device filter here. */
        @Override
        public Optional<Path> deviceFilterDir() {
            return Optional.of(dir);
        }

        @Override
        public String knob(String name) {
            String v = LimitWrites.readQuietly(dir.resolve(name));
            return v == null ? null : v.strip();
        }

        @Override
        public void setKnob(String name, String value) throws CgroupException {
            CgroupFiles.write(dir.resolve(name), value);
        }

        @Override
        public void update(ResourceLimits limits) throws CgroupException {
            LimitWrites w = new LimitWrites();
            if (limits.memory() != null) {
                ResourceLimits.Memory m = limits.memory();
                addValue(w, "memory.low", m.reservation());
                addValue(w, "memory.high", m.high());
                addValue(w, "memory.max", m.max());
                addValue(w, "memory.swap.max", m.swap());
            }
            if (limits.cpu() != null) {
                ResourceLimits.Cpu c = limits.cpu();
                if (c.quotaMicros() != null || c.periodMicros() != null) {
                    String[] current = LimitWrites.readQuietly(dir.resolve("cpu.max")).split(" ");
                    String quota = c.quotaMicros() == null ? current[0] : value(c.quotaMicros());
                    String period = c.periodMicros() == null ? current[1] : Long.toString(c.periodMicros());
                    w.add(dir.resolve("cpu.max"), quota + " " + period);
                }
                Long weight = c.shares() != null ? Long.valueOf(CgroupConversions.sharesToWeight(c.shares()))
                        : c.weight();
                addValue(w, "cpu.weight", weight);
                if (c.cpusetCpus() != null) {
                    w.add(dir.resolve("cpuset.cpus"), c.cpusetCpus());
                }
                if (c.cpusetMems() != null) {
                    w.add(dir.resolve("cpuset.mems"), c.cpusetMems());
                }
            }
            if (limits.io() != null) {
                if (limits.io().weight() != null) {
                    long weight = CgroupConversions.blkioWeightToIoWeight(limits.io().weight());
                    if (Files.exists(dir.resolve("io.weight"))) {
                        w.add(dir.resolve("io.weight"), "default " + weight, () -> "default "
                                + defaultWeight(LimitWrites.readQuietly(dir.resolve("io.weight"))));
                    } else {
                        w.add(dir.resolve("io.bfq.weight"), Long.toString(weight));
                    }
                }
                for (ResourceLimits.DeviceLimit d : limits.io().devices()) {
                    w.add(dir.resolve("io.max"), d.device() + " rbps=" + opt(d.readBps()) + " wbps="
                            + opt(d.writeBps()) + " riops=" + opt(d.readIops()) + " wiops=" + opt(d.writeIops()),
                            () -> previousIoMax(d.device()));
                }
            }
            if (limits.pids() != null) {
                addValue(w, "pids.max", limits.pids().max());
            }
            w.apply();
        }

        private void addValue(LimitWrites w, String file, Long v) {
            if (v != null) {
                w.add(dir.resolve(file), value(v));
            }
        }

        private static String value(long v) {
            return Limits.isUnlimited(v) ? "max" : Long.toString(v);
        }

        /** io.max keys left out of a line keep their value, so "max" is written for unset ones explicitly. */
        private static String opt(Long v) {
            return v == null ? "max" : value(v);
        }

        private String previousIoMax(String device) {
            String content = LimitWrites.readQuietly(dir.resolve("io.max"));
            if (content != null) {
                for (String line : content.split("\n")) {
                    if (line.startsWith(device + " ")) {
                        return line;
                    }
                }
            }
            return device + " rbps=max wbps=max riops=max wiops=max";
        }

        private static String defaultWeight(String ioWeight) {
            if (ioWeight != null) {
                for (String line : ioWeight.split("\n")) {
                    if (line.startsWith("default ")) {
                        return line.substring(8).trim();
                    }
                }
            }
            return "100";
        }

        @Override
        public void freeze() throws CgroupException {
            CgroupFiles.write(dir.resolve("cgroup.freeze"), "1");
            awaitFrozen(true);
        }

        @Override
        public void thaw() throws CgroupException {
            CgroupFiles.write(dir.resolve("cgroup.freeze"), "0");
            awaitFrozen(false);
        }

        /** cgroup.events "frozen" turns 1 once every task has stopped; freezing is asynchronous. */
        private void awaitFrozen(boolean want) throws CgroupException {
            long deadline = System.currentTimeMillis() + 5000;
            while (frozen() != want) {
                if (System.currentTimeMillis() > deadline) {
                    throw new CgroupException("cgroup " + path() + " did not " + (want ? "freeze" : "thaw")
                            + " within 5 s", dir.resolve("cgroup.events"), null, null);
                }
                sleep(5);
            }
        }

        @Override
        public boolean frozen() throws CgroupException {
            return CgroupFiles.keyed(dir.resolve("cgroup.events"), "frozen") == 1;
        }

        @Override
        public void killAll() throws CgroupException {
            if (Files.exists(dir.resolve("cgroup.kill"))) {
                CgroupFiles.write(dir.resolve("cgroup.kill"), "1");
                return;
            }
            FreezeKill.killFrozen(this);
        }

        @Override
        public boolean populated() throws CgroupException {
            return CgroupFiles.keyed(dir.resolve("cgroup.events"), "populated") == 1;
        }

        @Override
        public long oomKills() throws CgroupException {
            return CgroupFiles.keyed(dir.resolve("memory.events"), "oom_kill");
        }
    }
}
