package dev.corral.agent.spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The rules of a container on the host's root (rootfs "host"): whoever writes the host's root, or reaches the agent's
 * socket or token, owns the host, so it is read-only and the agent's paths are masked unless the spec says otherwise
 * in the loudly named override.
 */
final class HostRoot {

    private HostRoot() {
    }

    /**
     * Writable only with the override; and a pid namespace of its own unless the override is set: with the host's,
     * /proc/PID/root of a host process leads to the host's writable root.
     */
    static void check(boolean readOnly, boolean allowHost, Set<String> namespaces) throws SpecException {
        if (!readOnly && !allowHost) {
            throw new SpecException("readOnlyRootfs", "a writable host root lets the container own the host; set "
                    + "dangerouslyAllowHostPaths: true too if it may");
        }
        if (!namespaces.contains("pid") && !allowHost) {
            throw new SpecException("namespaces.pid", "the host's root needs a pid namespace: with the host's, "
                    + "/proc/1/root reaches the host's writable root; set dangerouslyAllowHostPaths: true if it may");
        }
    }

    /**
     * A read-only host root gets private tmpfs at /tmp and /run (the host's /run holds its daemons' sockets, and a
     * read-only mount does not stop a connect); the spec's own mounts come after, so theirs win. The agent's state,
     * socket and token are masked last, also on a writable host root.
     */
    static List<ContainerConfig.MountPlan> mounts(boolean readOnly, List<ContainerConfig.MountPlan> spec,
                                                  List<Path> protectedPaths) {
        List<ContainerConfig.MountPlan> out = new ArrayList<>();
        if (readOnly) {
            for (String dir : List.of("/tmp", "/run")) {
                out.add(new ContainerConfig.MountPlan("tmpfs", "tmpfs", dir, false, "mode=1777"));
            }
        }
        out.addAll(spec);
        for (Path p : protectedPaths) {
            out.add(ContainerConfig.MountPlan.mask(realPath(p)));
        }
        return List.copyOf(out);
    }

    /** Without symlinks: the shim resolves a mask under the container's root, where a symlink means another place. */
    private static String realPath(Path p) {
        try {
            return p.toRealPath().toString();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize().toString(); // not there (yet): nothing to mask, the shim skips it
        }
    }
}
