package dev.corral.exporter.metrics;

import dev.corral.exporter.naming.ContainerIdentity;

/** Maps a cgroup path to the name of the container Corral runs there; "" for cgroups it does not own. */
@FunctionalInterface
public interface ContainerNames {

    ContainerNames NONE = path -> "";

    String nameOf(String cgroupPath);

    /**
     * Everything known about the container in the cgroup, for the series' labels; by default only the name (and
     * no runtime, so no {@code container_info} series).
     * Called once per cgroup per collection cycle, from the thread that renders: it must not block.
     */
    default ContainerIdentity identityOf(String cgroupPath) {
        String name = nameOf(cgroupPath);
        return name.isEmpty() ? ContainerIdentity.NONE : ContainerIdentity.named(name, "");
    }
}
