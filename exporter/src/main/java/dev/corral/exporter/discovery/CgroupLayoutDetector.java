package dev.corral.exporter.discovery;

import dev.corral.exporter.io.KernelText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Works out the cgroup layout from {@code /proc/self/mountinfo}, {@code /proc/self/cgroup} and
 * {@code /proc/cgroups}; no path is assumed.
 */
public final class CgroupLayoutDetector {

    /** Used when /proc/cgroups is unreadable: the v1 controllers Linux has. */
    private static final Set<String> KNOWN_V1_CONTROLLERS = Set.of("cpu", "cpuacct", "cpuset", "memory", "devices",
            "freezer", "net_cls", "net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc");

    private final HostPaths paths;

    public CgroupLayoutDetector(HostPaths paths) {
        this.paths = paths;
    }

    public static CgroupLayout detectSystem() throws IOException {
        return new CgroupLayoutDetector(HostPaths.system()).detect();
    }

    public CgroupLayout detect() throws IOException {
        List<MountInfo> mounts = MountInfo.parseAll(KernelText.read(paths.procRoot().resolve("self/mountinfo")));
        Set<String> v1Names = v1ControllerNames();
        List<Hierarchy> hierarchies = new ArrayList<>();
        Hierarchy unified = null;
        for (MountInfo m : mounts) {
            if (m.fsType().equals("cgroup2")) {
                Hierarchy h = new Hierarchy(2, unifiedControllers(m), paths.mountPoint(m.mountPoint()), m.root());
                unified = better(unified, h);
            } else if (m.fsType().equals("cgroup")) {
                Set<String> controllers = new LinkedHashSet<>();
                for (String opt : m.superOptions()) {
                    if (v1Names.contains(opt) || opt.startsWith("name=")) {
                        controllers.add(opt);
                    }
                }
                addOrPrefer(hierarchies, new Hierarchy(1, controllers, paths.mountPoint(m.mountPoint()), m.root()));
            }
        }
        boolean hasV1Resources = hierarchies.stream()
                .anyMatch(h -> h.controllers().stream().anyMatch(c -> !c.startsWith("name=")));
        boolean hasV1Accounting = hierarchies.stream()
                .anyMatch(h -> h.controllers().stream().anyMatch(CgroupLayout.ACCOUNTING_CONTROLLERS::contains));
        CgroupMode mode;
        if (unified != null && !hasV1Accounting) {
            mode = CgroupMode.V2;
            hierarchies.clear(); // v1 mounts beside v2 without accounting (name=systemd, net_cls) are not read
        } else if (hasV1Resources) {
            mode = unified == null ? CgroupMode.V1 : CgroupMode.HYBRID;
        } else {
            throw new IOException("no cgroup filesystem is mounted (looked in "
                    + paths.procRoot().resolve("self/mountinfo") + ")");
        }
        if (unified != null) {
            hierarchies.add(unified);
        }
        return new CgroupLayout(mode, hierarchies, selfPaths());
    }

    private Set<String> v1ControllerNames() throws IOException {
        try {
            Set<String> names = new LinkedHashSet<>();
            for (String line : Files.readAllLines(paths.procRoot().resolve("cgroups"))) {
                if (!line.startsWith("#") && !line.isBlank()) {
                    names.add(line.substring(0, line.indexOf('\t') > 0 ? line.indexOf('\t') : line.length()).trim());
                }
            }
            return names;
        } catch (NoSuchFileException e) {
            return KNOWN_V1_CONTROLLERS;
        }
    }

    private Set<String> unifiedControllers(MountInfo m) throws IOException {
        Path file = paths.mountPoint(m.mountPoint()).resolve("cgroup.controllers");
        try {
            String content = KernelText.read(file).trim();
            return content.isEmpty() ? Set.of() : Set.of(content.split(" "));
        } catch (NoSuchFileException e) {
            return Set.of();
        }
    }

    private Map<String, String> selfPaths() throws IOException {
        Map<String, String> out = new HashMap<>();
        Path file = paths.procRoot().resolve("self/cgroup");
        if (!Files.exists(file)) {
            return out;
        }
        for (ProcCgroupEntry e : ProcCgroupEntry.parseAll(KernelText.read(file))) {
            if (e.isUnified()) {
                out.put("", e.path());
            }
            for (String c : e.controllers()) {
                out.put(c, e.path());
            }
        }
        return out;
    }

    /** The same hierarchy may be mounted twice (bind mounts, containers); the one showing its root wins. */
    private static void addOrPrefer(List<Hierarchy> hierarchies, Hierarchy candidate) {
        for (int i = 0; i < hierarchies.size(); i++) {
            if (hierarchies.get(i).controllers().equals(candidate.controllers())) {
                hierarchies.set(i, better(hierarchies.get(i), candidate));
                return;
            }
        }
        hierarchies.add(candidate);
    }

    private static Hierarchy better(Hierarchy current, Hierarchy candidate) {
        if (current == null) {
            return candidate;
        }
        return candidate.mountRoot().length() < current.mountRoot().length() ? candidate : current;
    }
}
