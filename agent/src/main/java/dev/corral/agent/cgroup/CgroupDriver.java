package dev.corral.agent.cgroup;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.CgroupPaths;

/**
 * Makes and manages container cgroups under one agent-owned parent cgroup (e.g. "/corral"). The agent writes
 * only inside that parent; everything else on the host it only reads.
 */
public interface CgroupDriver {

    static CgroupDriver forLayout(CgroupLayout layout, String parent) {
        String p = CgroupPaths.normalize(parent);
        if (p.equals("/")) {
            throw new IllegalArgumentException("the agent's cgroup parent must not be the root cgroup");
        }
        return layout.mode() == CgroupMode.V2 ? new V2CgroupDriver(layout, p) : new V1CgroupDriver(layout, p);
    }

    CgroupLayout layout();

    /** The agent's parent cgroup path. */
    String parent();

    /** Creates the parent cgroup where missing and delegates the controllers containers need. */
    void ensureParent() throws CgroupException;

    /**
     * Creates a container's cgroup {@code <parent>/<leaf>} with limits; on any failure removes what it made and
     * throws ({@link CgroupException.Exists} when a directory of it is there already). The leaf is the container's
     * name when it is made (its id when a renamed container still holds that leaf) and stays through renames.
     */
    ContainerCgroup create(String leaf, ResourceLimits limits) throws CgroupException;

    /** The cgroup {@code <parent>/<leaf>} of an existing container (e.g. after an agent restart). */
    ContainerCgroup open(String leaf);

    /** The leaves of the cgroups under the parent (in any hierarchy). */
    java.util.Set<String> leaves() throws CgroupException;

    /**
     * Any cgroup by its full path, e.g. a Docker container's "/docker/3f1c…": for the policies that govern
     * containers another runtime started (only what a policy file's govern class selects is written).
     */
    ContainerCgroup openPath(String cgroupPath);

    /** Removes the parent if it is empty (used by tests and uninstall). */
    void removeParentIfEmpty() throws CgroupException;

    /** True when memory.high (and other v2-only knobs) can be applied. */
    boolean supportsMemoryHigh();
}
