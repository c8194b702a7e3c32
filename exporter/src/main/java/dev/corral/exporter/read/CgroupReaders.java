package dev.corral.exporter.read;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.Absent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Optional;

/** Makes the right reader for a cgroup on this host's layout. */
public final class CgroupReaders {

    private final CgroupLayout layout;

    public CgroupReaders(CgroupLayout layout) {
        this.layout = layout;
    }

    public CgroupReader open(String cgroupPath) {
        long start = startTimeMillis(cgroupPath);
        if (layout.mode() == CgroupMode.V2) {
            Path dir = layout.unified().flatMap(h -> h.dirOf(cgroupPath)).orElseThrow();
            return new V2CgroupReader(dir, cgroupPath, start);
        }
        return new V1CgroupReader(layout, cgroupPath, start);
    }

    /** When the cgroup was made: the change time of its oldest directory across hierarchies. */
    private long startTimeMillis(String cgroupPath) {
        long oldest = Long.MAX_VALUE;
        for (Hierarchy h : layout.walked()) {
            Optional<Path> dir = h.dirOf(cgroupPath);
            if (dir.isPresent()) {
                try {
                    FileTime t = (FileTime) Files.getAttribute(dir.get(), "unix:ctime", LinkOption.NOFOLLOW_LINKS);
                    oldest = Math.min(oldest, t.toMillis());
                } catch (IOException | UnsupportedOperationException e) {
                    // not in this hierarchy
                }
            }
        }
        return oldest == Long.MAX_VALUE ? Absent.VALUE : oldest;
    }
}
