package dev.corral.exporter.discovery;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The host's cgroup hierarchies as found in mountinfo, and the agent's own cgroup in each.
 *
 * @param selfPaths this process's cgroup per controller ("" keys the unified hierarchy)
 */
public record CgroupLayout(CgroupMode mode, List<Hierarchy> hierarchies, Map<String, String> selfPaths) {

    /** The v1 controllers whose files Corral reads; hierarchies holding none of them are not walked. */
    public static final Set<String> ACCOUNTING_CONTROLLERS = Set.of("cpu", "cpuacct", "memory", "blkio", "pids");

    public CgroupLayout {
        hierarchies = List.copyOf(hierarchies);
        selfPaths = Map.copyOf(selfPaths);
    }

    public Optional<Hierarchy> unified() {
        return hierarchies.stream().filter(Hierarchy::isUnified).findFirst();
    }

    /** The hierarchy holding a controller: on v2 the unified one if it has the controller enabled. */
    public Optional<Hierarchy> hierarchyOf(String controller) {
        return hierarchies.stream().filter(h -> h.has(controller)).findFirst();
    }

    /** Hierarchies whose directory trees make up the set of cgroups that are read. */
    public List<Hierarchy> walked() {
        List<Hierarchy> out = new ArrayList<>();
        for (Hierarchy h : hierarchies) {
            if (h.isUnified() || h.controllers().stream().anyMatch(ACCOUNTING_CONTROLLERS::contains)) {
                out.add(h);
            }
        }
        return out;
    }

    /** This process's own cgroup path in a hierarchy ("/" if unknown). */
    public String selfPath(Hierarchy h) {
        if (h.isUnified()) {
            return selfPaths.getOrDefault("", "/");
        }
        for (String c : h.controllers()) {
            String p = selfPaths.get(c);
            if (p != null) {
                return p;
            }
        }
        return "/";
    }
}
