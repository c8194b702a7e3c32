package dev.corral.exporter.discovery;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * A mounted cgroup hierarchy: v1 with its controllers, or the v2 unified one.
 *
 * @param mountRoot the cgroup path that appears at {@code mountPoint} (the mountinfo "root" field); "/" except
 *                  inside containers that see only their own subtree
 */
public record Hierarchy(int version, Set<String> controllers, Path mountPoint, String mountRoot) {

    public Hierarchy {
        controllers = Set.copyOf(controllers);
    }

    public boolean isUnified() {
        return version == 2;
    }

    public boolean has(String controller) {
        return controllers.contains(controller);
    }

    /** The directory of a cgroup path (as in /proc/PID/cgroup), or empty when it lies outside this mount. */
    public Optional<Path> dirOf(String cgroupPath) {
        String relative = CgroupPaths.relativeTo(mountRoot, cgroupPath);
        if (relative == null) {
            return Optional.empty();
        }
        return Optional.of(relative.isEmpty() ? mountPoint : mountPoint.resolve(relative));
    }

    /** The cgroup path of a directory under this mount. */
    public String cgroupPathOf(Path dir) {
        Path rel = mountPoint.relativize(dir);
        String tail = rel.toString();
        return CgroupPaths.join(mountRoot, tail);
    }
}
