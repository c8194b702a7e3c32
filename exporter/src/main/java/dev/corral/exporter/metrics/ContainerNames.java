package dev.corral.exporter.metrics;

/** Maps a cgroup path to the name of the container Corral runs there; "" for cgroups it does not own. */
@FunctionalInterface
public interface ContainerNames {

    ContainerNames NONE = path -> "";

    String nameOf(String cgroupPath);
}
