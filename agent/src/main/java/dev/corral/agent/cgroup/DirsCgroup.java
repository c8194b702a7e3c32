package dev.corral.agent.cgroup;

import dev.corral.agent.posix.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import jnr.constants.platform.Errno;

/** What v1 and v2 container cgroups share: a set of directories, one per hierarchy. */
abstract class DirsCgroup implements ContainerCgroup {

    private final String path;
    /** Every directory of this cgroup; the first is where pids are listed. */
    protected final List<Path> dirs;

    DirsCgroup(String path, List<Path> dirs) {
        this.path = path;
        this.dirs = List.copyOf(dirs);
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public List<Path> procsFiles() {
        return dirs.stream().map(d -> d.resolve("cgroup.procs")).toList();
    }

    @Override
    public List<Long> pids() throws CgroupException {
        Set<Long> pids = new LinkedHashSet<>();
        for (Path dir : dirs) {
            // null when the cgroup is not there (no existence check first: one syscall less per hierarchy)
            String content = LimitWrites.readQuietly(dir.resolve("cgroup.procs"));
            if (content != null && !content.isEmpty()) {
                for (String line : content.split("\n")) {
                    pids.add(Long.parseLong(line.trim()));
                }
            }
        }
        return new ArrayList<>(pids);
    }

    @Override
    public boolean exists() {
        return dirs.stream().anyMatch(Files::isDirectory);
    }

    @Override
    public void remove() throws CgroupException {
        CgroupException first = null;
        for (Path dir : dirs) {
            try {
                removeTree(dir);
            } catch (CgroupException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Child cgroups a container made itself (with a cgroup namespace) go first. Most containers have none, so
     * one rmdir is tried before listing: a listing stats each of the directory's ~30 control files.
     */
    private static void removeTree(Path dir) throws CgroupException {
        int errno = Posix.get().rmdir(dir);
        if (errno == 0 || errno == Errno.ENOENT.intValue() || !Files.isDirectory(dir)) {
            return;
        }
        // children, or tasks still leaving (EBUSY): list and retry below
        try (var children = Files.list(dir)) {
            for (Path child : children.filter(Files::isDirectory).toList()) {
                removeTree(child);
            }
        } catch (IOException e) {
            throw new CgroupException("list " + dir + ": " + e.getMessage(), dir, null, e);
        }
        CgroupFiles.rmdir(dir);
    }

    static void sleep(long millis) throws CgroupException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CgroupException("interrupted", null, null, e);
        }
    }
}
