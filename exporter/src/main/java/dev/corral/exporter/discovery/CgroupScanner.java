package dev.corral.exporter.discovery;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Lists the cgroups below configured roots in every walked hierarchy.
 *
 * <p>Cheap by design: kernfs sets a directory's link count to 2 + its number of subdirectories, so a leaf
 * cgroup costs one stat and no readdir, and a parent's entries are only stat'ed until all of its children are
 * found (names that look like control files, e.g. {@code memory.stat}, are checked last).
 */
public final class CgroupScanner {

    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;

    private final CgroupLayout layout;
    private final List<String> roots;

    /** @param roots cgroup paths ("/" for the whole host) whose subtrees are listed */
    public CgroupScanner(CgroupLayout layout, List<String> roots) {
        this.layout = layout;
        this.roots = roots.stream().map(CgroupPaths::normalize).toList();
    }

    public SortedSet<String> scan() {
        SortedSet<String> found = new TreeSet<>();
        for (Hierarchy h : layout.walked()) {
            for (String root : roots) {
                Optional<Path> dir = h.dirOf(root);
                if (dir.isPresent()) {
                    walk(h, dir.get(), root, found);
                }
            }
        }
        return found;
    }

    /** The directories of these cgroups in every walked hierarchy (those that exist there). */
    public java.util.Set<Path> directoriesOf(java.util.Collection<String> cgroups) {
        java.util.Set<Path> dirs = new java.util.HashSet<>();
        for (Hierarchy h : layout.walked()) {
            for (String cgroup : cgroups) {
                h.dirOf(cgroup).filter(java.nio.file.Files::isDirectory).ifPresent(dirs::add);
            }
        }
        return dirs;
    }

    private static void walk(Hierarchy h, Path dir, String cgroupPath, SortedSet<String> found) {
        int links;
        try {
            links = (Integer) Files.getAttribute(dir, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException | NotDirectoryException e) {
            return; // removed while we looked: normal
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        walk(dir, cgroupPath, links, found);
    }

    /** @param links the directory's link count, already read with the stat that found it */
    private static void walk(Path dir, String cgroupPath, int links, SortedSet<String> found) {
        found.add(cgroupPath);
        int subdirs = links - 2;
        if (subdirs <= 0) {
            return;
        }
        List<Path> controlLike = new ArrayList<>();
        int seen = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (looksLikeControlFile(name)) {
                    controlLike.add(entry);
                } else if (walkIfDirectory(entry, CgroupPaths.join(cgroupPath, name), found)) {
                    seen++;
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            return;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path entry : controlLike) {
            if (seen >= subdirs) {
                break;
            }
            if (walkIfDirectory(entry, CgroupPaths.join(cgroupPath, entry.getFileName().toString()), found)) {
                seen++;
            }
        }
    }

    /** One stat tells both whether the entry is a directory and how many subdirectories it has. */
    private static boolean walkIfDirectory(Path entry, String cgroupPath, SortedSet<String> found) {
        java.util.Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(entry, "unix:mode,nlink", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (((Integer) attrs.get("mode") & S_IFMT) != S_IFDIR) {
            return false;
        }
        walk(entry, cgroupPath, (Integer) attrs.get("nlink"), found);
        return true;
    }

    private static boolean looksLikeControlFile(String name) {
        switch (name) {
            case "tasks", "notify_on_release", "release_agent":
                return true;
            default:
                int dot = name.indexOf('.');
                return dot > 0 && !name.endsWith(".slice") && !name.endsWith(".scope") && !name.endsWith(".service");
        }
    }
}
