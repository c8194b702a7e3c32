package dev.corral.agent.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * The host's side of {@code corral cp}: a tar of host files for the daemon, and the daemon's tar written into a host
 * directory with docker cp's destination rules. An archive from a container is not trusted: entry names with
 * {@code ..} or leaving the top entry are refused, and nothing is written through a symlink the archive (or anyone)
 * put below the destination: each directory between the destination and an entry is checked not to be one.
 */
final class CopyArchives {

    /** A copy that cannot be done: one line for the user, exit 1. */
    static final class CopyException extends IOException {
        CopyException(String message) {
            super(message);
        }
    }

    private CopyArchives() {
    }

    /** A tar of {@code source} (not followed when a symlink), its top entry named {@code name}; null: its contents. */
    static void write(Path source, String name, Path tarFile) throws IOException {
        try (OutputStream out = Files.newOutputStream(tarFile);
             TarArchiveOutputStream t = new TarArchiveOutputStream(out);
             Stream<Path> walk = Files.walk(source)) {
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            t.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (Path p : (Iterable<Path>) walk::iterator) {
                String rel = source.relativize(p).toString();
                String entry = name == null ? rel : rel.isEmpty() ? name : name + "/" + rel;
                if (entry.isEmpty()) {
                    continue; // the directory whose contents are copied
                }
                if (Files.isSymbolicLink(p)) {
                    TarArchiveEntry e = new TarArchiveEntry(entry, TarConstants.LF_SYMLINK);
                    e.setLinkName(Files.readSymbolicLink(p).toString());
                    e.setModTime(Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
                    t.putArchiveEntry(e);
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                        || Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    TarArchiveEntry e = new TarArchiveEntry(p, entry, LinkOption.NOFOLLOW_LINKS);
                    int mode = (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                    e.setMode((e.isDirectory() ? 040000 : 0100000) | (mode & 07777));
                    e.setUserId((int) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS));
                    e.setGroupId((int) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS));
                    t.putArchiveEntry(e);
                    if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                        try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                            in.transferTo(t);
                        }
                    }
                } else {
                    continue; // fifos, sockets, devices: not copied from the host
                }
                t.closeArchiveEntry();
            }
            t.finish();
        }
    }

    /**
     * Writes the daemon's tar (its top entry named as the container path's last component) to {@code dest}, as docker
     * cp: into DEST/NAME when DEST is a directory (its contents into DEST with {@code contents}), over DEST when it
     * is a file and the source one too, as DEST when it does not exist (its parent must).
     */
    static void extract(InputStream in, Path dest, boolean destSlash, boolean contents, boolean keepOwner)
            throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        TarArchiveEntry first = tar.getNextEntry();
        if (first == null) {
            throw new CopyException("the daemon sent an empty archive");
        }
        String top = first.getName().split("/", 2)[0];
        boolean srcDir = first.isDirectory();
        Path target;
        Path base; // the directory the user named (or DEST's): symlinks are followed above it only
        if (Files.isDirectory(dest)) {
            base = dest;
            target = contents ? dest : dest.resolve(top);
        } else if (Files.exists(dest)) {
            if (srcDir) {
                throw new CopyException("cannot overwrite non-directory " + dest + " with directory");
            }
            base = parentOf(dest);
            target = dest;
        } else {
            if (destSlash && !srcDir) {
                throw new CopyException("no such directory: " + dest);
            }
            base = parentOf(dest);
            if (!Files.isDirectory(base)) {
                throw new CopyException("no such directory: " + base);
            }
            target = dest;
        }
        List<TarArchiveEntry> dirEntries = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        for (TarArchiveEntry e = first; e != null; e = tar.getNextEntry()) {
            Path p = below(target, base, relative(e.getName(), top));
            if (e.isDirectory()) {
                if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new CopyException("cannot overwrite non-directory " + p + " with directory");
                }
                if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(p);
                }
                dirs.add(p);
                dirEntries.add(e);
                continue;
            }
            if (!e.isSymbolicLink() && !e.isLink() && !e.isFile()) {
                continue; // fifos and devices are not made on the host
            }
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new CopyException("cannot overwrite directory " + p + " with non-directory");
            }
            Files.deleteIfExists(p); // a symlink there is removed, not followed
            if (e.isSymbolicLink()) {
                Files.createSymbolicLink(p, Path.of(e.getLinkName()));
            } else if (e.isLink()) {
                Files.createLink(p, below(target, base, relative(e.getLinkName(), top)));
            } else {
                Files.copy(tar, p);
                Files.setPosixFilePermissions(p, permissions(e.getMode()));
                Files.setLastModifiedTime(p, FileTime.fromMillis(e.getModTime().getTime()));
            }
            if (keepOwner) {
                owner(p, e);
            }
        }
        for (int i = dirs.size() - 1; i >= 0; i--) { // after their contents: a read-only one was still writable
            Files.setPosixFilePermissions(dirs.get(i), permissions(dirEntries.get(i).getMode()));
            Files.setLastModifiedTime(dirs.get(i), FileTime.fromMillis(dirEntries.get(i).getModTime().getTime()));
            if (keepOwner) {
                owner(dirs.get(i), dirEntries.get(i));
            }
        }
    }

    private static Path parentOf(Path p) {
        Path parent = p.toAbsolutePath().getParent();
        return parent == null ? Path.of("/") : parent;
    }

    /** The entry's path below the top entry ("" for the top itself); refused when it is not below it. */
    static String relative(String name, String top) throws CopyException {
        String n = name.replaceAll("/+$", "");
        if (n.startsWith("/") || !(n.equals(top) || n.startsWith(top + "/"))) {
            throw new CopyException("the archive's entry " + name + " is not below " + top);
        }
        String rest = n.substring(top.length()).replaceFirst("^/+", "");
        for (String part : rest.split("/")) {
            if (part.equals("..")) {
                throw new CopyException("the archive's entry " + name + " leaves the destination (..)");
            }
        }
        return rest;
    }

    /** target/rest, each directory from base down to its parent checked not to be a symlink. */
    private static Path below(Path target, Path base, String rest) throws CopyException {
        Path p = rest.isEmpty() ? target : target.resolve(rest);
        for (Path q = p.getParent(); q != null && !q.equals(base); q = q.getParent()) {
            if (Files.isSymbolicLink(q)) {
                throw new CopyException("not copied through the symlink " + q);
            }
        }
        return p;
    }

    private static void owner(Path p, TarArchiveEntry e) throws IOException {
        Files.setAttribute(p, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                s.add(bits[i]);
            }
        }
        return s;
    }
}
