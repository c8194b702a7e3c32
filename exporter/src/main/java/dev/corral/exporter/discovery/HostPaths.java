package dev.corral.exporter.discovery;

import java.nio.file.Path;

/**
 * Where procfs is and where mount points from mountinfo are found. Production uses {@link #system()}; tests
 * point both at fixture trees.
 *
 * @param procRoot    procfs, normally {@code /proc}
 * @param mountPrefix prepended to every mount point read from mountinfo, normally {@code /}
 */
public record HostPaths(Path procRoot, Path mountPrefix) {

    public static HostPaths system() {
        return new HostPaths(Path.of("/proc"), Path.of("/"));
    }

    public Path mountPoint(String mountPoint) {
        return mountPrefix.resolve(mountPoint.startsWith("/") ? mountPoint.substring(1) : mountPoint);
    }
}
