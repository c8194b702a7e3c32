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

    private static void walk(Hierarchy h, Path dir, String cgroupPath, SortedSet<String> found) {
        int subdirs;
        try {
            subdirs = (Integer) Files.getAttribute(dir, "unix:nlink", LinkOption.NOFOLLOW_LINKS) - 2;
        } catch (NoSuchFileException | NotDirectoryException e) {
            return; // removed while we looked: normal
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        found.add(cgroupPath);
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
                } else if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    seen++;
                    walk(h, entry, CgroupPaths.join(cgroupPath, name), found);
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
            if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                seen++;
                walk(h, entry, CgroupPaths.join(cgroupPath, entry.getFileName().toString()), found);
            }
        }
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
