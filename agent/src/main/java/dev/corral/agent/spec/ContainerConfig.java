package dev.corral.agent.spec;

import dev.corral.agent.cgroup.ResourceLimits;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A validated spec with every default filled in: what the runtime launches.
 *
 * @param rootfs     a directory, {@link #HOST_ROOT} for the host's root, or null for an image's root
 * @param namespaces the namespaces to create: pid, mount, uts, ipc, net, user, cgroup
 * @param userName   "USER[:GROUP]" for the shim to resolve in the container's files, or null (then uid, gid)
 * @param rlimits    "NAME SOFT HARD" (numbers or "unlimited"), for the shim's setrlimit
 */
public record ContainerConfig(String name, List<String> command, Map<String, String> env, String workingDir,
                              long uid, long gid, List<Long> groups, String hostname, Map<String, String> labels,
                              Path rootfs, boolean readOnlyRootfs, Set<String> namespaces,
                              List<ContainerSpec.IdMapping> uidMappings, List<ContainerSpec.IdMapping> gidMappings,
                              ResourceLimits limits, Set<String> capabilities, boolean noNewPrivileges,
                              List<MountPlan> mounts, List<String> deviceRules, String userName,
                              List<String> rlimits) {

    /** The spec's rootfs value that asks for the host's root. */
    public static final String HOST = "host";
    /** {@link #rootfs} of a container on the host's root. */
    public static final Path HOST_ROOT = Path.of("/");

    public boolean hostRoot() {
        return HOST_ROOT.equals(rootfs);
    }

    /** The same config with another hostname (a container:NAME container takes NAME's). */
    public ContainerConfig withHostname(String hostname) {
        return new ContainerConfig(name, command, env, workingDir, uid, gid, groups, hostname, labels, rootfs,
                readOnlyRootfs, namespaces, uidMappings, gidMappings, limits, capabilities, noNewPrivileges, mounts,
                deviceRules, userName, rlimits);
    }

    /**
     * @param type "bind", "tmpfs" or "mask" (target hidden: an empty read-only tmpfs over a directory, /dev/null
     *             over a file; skipped when missing)
     * @param data tmpfs options such as "size=64m,mode=1777"; null for binds
     */
    public record MountPlan(String type, String source, String target, boolean readOnly, String data) {

        public static MountPlan mask(String target) {
            return new MountPlan("mask", null, target, true, null);
        }
    }
}
