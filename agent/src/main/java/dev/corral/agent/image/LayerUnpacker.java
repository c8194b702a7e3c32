package dev.corral.agent.image;

import dev.corral.agent.posix.Posix;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks one layer tar (plain or gzip) into an empty directory, refusing what could escape it: absolute or
 * {@code ..} entry names, writes through a symlink, hard links to anything but a file already in the layer,
 * relative symlinks that climb above the layer's root, device nodes outside /dev. Owners, modes,
 * modification times, file capabilities and user.* xattrs are kept. OCI whiteouts become overlayfs ones: {@code .wh.NAME} a 0/0 character device
 * NAME, {@code .wh..wh..opq} the {@code trusted.overlay.opaque=y} xattr on its directory.
 */
final class LayerUnpacker {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LayerUnpacker.class);

    static final String WHITEOUT = ".wh.";
    static final String OPAQUE = ".wh..wh..opq";
    private static final String PAX_XATTR = "SCHILY.xattr.";
    private static final int S_IFCHR = 0020000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFIFO = 0010000;

    private final Path root;
    private final List<Path> dirs = new ArrayList<>();
    private final List<TarArchiveEntry> dirEntries = new ArrayList<>();
    private long bytes;

    private LayerUnpacker(Path root) {
        this.root = root;
    }

    /**
     * @param tarStream the uncompressed layer tar (see {@link #decompressed}); read to its end marker, not closed
     * @return bytes of regular file content written
     * @throws BadArchiveException for an entry it refuses or a tar it cannot read
     */
    static long unpack(InputStream tarStream, Path root, String what) throws IOException, BadArchiveException {
        LayerUnpacker u = new LayerUnpacker(root);
        TarArchiveInputStream tar = new TarArchiveInputStream(tarStream);
        TarArchiveEntry e;
        while ((e = next(tar, what)) != null) {
            u.entry(tar, e, what);
        }
        u.finishDirs();
        return u.bytes;
    }

    /** commons-compress's isFile() is also true of links and devices (any type but a directory). */
    static boolean isRegular(TarArchiveEntry e) {
        return e.isFile() && !e.isSymbolicLink() && !e.isLink() && !e.isCharacterDevice() && !e.isBlockDevice()
                && !e.isFIFO();
    }

    static boolean isGzip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(2);
            return magic.length == 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b;
        }
    }

    /** The stream, gunzipped if it starts with gzip's magic; zstd is refused by name. */
    static InputStream decompressed(InputStream raw, String what) throws IOException, BadArchiveException {
        BufferedInputStream b = new BufferedInputStream(raw, 1 << 16);
        b.mark(4);
        byte[] magic = b.readNBytes(4);
        b.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            return new GZIPInputStream(b, 1 << 16);
        }
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            throw new BadArchiveException(what + ": zstd-compressed layers are not supported (gzip or none)");
        }
        return b;
    }

    static TarArchiveEntry next(TarArchiveInputStream tar, String what) throws BadArchiveException {
        try {
            return tar.getNextEntry();
        } catch (IOException | RuntimeException e) {
            throw new BadArchiveException(what + ": not a readable tar archive (truncated or corrupt): " + e.getMessage());
        }
    }

    /** The entry's path split into components, or an exception if it is absolute or climbs out with "..". */
    static List<String> components(String name, String what) throws BadArchiveException {
        if (name.startsWith("/")) {
            throw new BadArchiveException(what + ": entry '" + printable(name) + "' is an absolute path");
        }
        List<String> out = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                throw new BadArchiveException(what + ": entry '" + printable(name) + "' has a '..' component");
            }
            if (c.indexOf('\0') >= 0) {
                throw new BadArchiveException(what + ": entry '" + printable(name) + "' has a NUL byte");
            }
            out.add(c);
        }
        return out;
    }

    private void entry(TarArchiveInputStream tar, TarArchiveEntry e, String what)
            throws IOException, BadArchiveException {
        List<String> parts = components(e.getName(), what);
        if (parts.isEmpty()) {
            if (e.isDirectory()) { // "./": the layer's root directory itself
                dirs.add(root);
                dirEntries.add(e);
            }
            return;
        }
        Path parent = parentDir(parts, e.getName(), what);
        String base = parts.get(parts.size() - 1);
        if (base.equals(OPAQUE)) {
            check(Posix.get().setXattr(parent, "trusted.overlay.opaque", "y".getBytes(StandardCharsets.US_ASCII)),
                    "set trusted.overlay.opaque on " + parent);
            return;
        }
        if (base.startsWith(WHITEOUT)) {
            String hidden = base.substring(WHITEOUT.length());
            if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
                throw new BadArchiveException(what + ": bad whiteout entry '" + printable(e.getName()) + "'");
            }
            Path target = parent.resolve(hidden);
            clear(target, false);
            check(Posix.get().mknod(target, S_IFCHR, 0), "make whiteout " + target);
            return;
        }
        Path path = parent.resolve(base);
        if (e.isDirectory()) {
            clear(path, true);
            if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(path);
            }
            dirs.add(path);
            dirEntries.add(e);
            return; // owner and mode at the end, once its entries are written
        }
        clear(path, false);
        if (e.isSymbolicLink()) {
            String target = e.getLinkName();
            if (target.isEmpty() || target.indexOf('\0') >= 0) {
                throw new BadArchiveException(what + ": symlink '" + printable(e.getName()) + "' has an empty target");
            }
            if (!target.startsWith("/") && climbsOut(parts.size() - 1, target)) {
                throw new BadArchiveException(what + ": symlink '" + printable(e.getName()) + "' -> '"
                        + printable(target) + "' points outside the layer");
            }
            Files.createSymbolicLink(path, Path.of(target));
            owner(path, e);
            return;
        }
        if (e.isLink()) {
            List<String> tparts = components(e.getLinkName(), what);
            if (tparts.isEmpty()) {
                throw new BadArchiveException(what + ": hard link '" + printable(e.getName()) + "' has no target");
            }
            Path target = parentDir(tparts, e.getLinkName(), what).resolve(tparts.get(tparts.size() - 1));
            if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new BadArchiveException(what + ": hard link '" + printable(e.getName()) + "' -> '"
                        + printable(e.getLinkName()) + "' does not name a file earlier in the layer");
            }
            Files.createLink(path, target);
            return;
        }
        if (e.isCharacterDevice() || e.isBlockDevice()) {
            if (!parts.get(0).equals("dev")) {
                throw new BadArchiveException(what + ": device node '" + printable(e.getName())
                        + "' outside /dev");
            }
            int type = e.isCharacterDevice() ? S_IFCHR : S_IFBLK;
            long dev = makedev(e.getDevMajor(), e.getDevMinor());
            check(Posix.get().mknod(path, type | (e.getMode() & 07777), dev), "mknod " + path);
            meta(path, e);
            return;
        }
        if (e.isFIFO()) {
            check(Posix.get().mknod(path, S_IFIFO | (e.getMode() & 07777), 0), "mkfifo " + path);
            meta(path, e);
            return;
        }
        if (!isRegular(e)) {
            throw new BadArchiveException(what + ": entry '" + printable(e.getName()) + "' has an unsupported type");
        }
        try (OutputStream out = Files.newOutputStream(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            long n;
            try {
                n = tar.transferTo(out);
            } catch (IOException ex) {
                throw new BadArchiveException(what + ": truncated or corrupt at '" + printable(e.getName()) + "': "
                        + ex.getMessage());
            }
            bytes += n;
        }
        meta(path, e);
        xattrs(path, e, what);
        Files.setLastModifiedTime(path, FileTime.from(e.getLastModifiedTime().toInstant()));
    }

    /**
     * File capabilities and user.* attributes from PAX headers (SCHILY.xattr.NAME), after chown, which clears
     * security.capability. Other namespaces are dropped: a layer must not set trusted.overlay.* itself (overlayfs
     * would follow a redirect it names) nor security labels of the host.
     */
    private static void xattrs(Path path, TarArchiveEntry e, String what) throws IOException {
        for (Map.Entry<String, String> h : e.getExtraPaxHeaders().entrySet()) {
            String key = h.getKey();
            if (!key.startsWith(PAX_XATTR)) {
                continue;
            }
            String name = key.substring(PAX_XATTR.length());
            if (!name.equals("security.capability") && !name.startsWith("user.")) {
                continue;
            }
            // Tar writers store these binary values byte for byte; the tar reader decodes PAX values as UTF-8, so
            // a byte of 0x80 or more arrives as U+FFFD and cannot be recovered: such a value is skipped, never
            // applied corrupted.
            String v = h.getValue();
            if (v.chars().anyMatch(c -> c > 0x7f)) {
                LOG.warn("{}: the {} xattr of {} has bytes the tar reader cannot give back intact; not applied",
                        what, name, path);
                continue;
            }
            check(Posix.get().setXattr(path, name, v.getBytes(StandardCharsets.ISO_8859_1)), "set " + name + " on "
                    + path);
        }
    }

    /** The directory an entry goes in, made if missing; never reached through a symlink. */
    private Path parentDir(List<String> parts, String name, String what) throws IOException, BadArchiveException {
        Path dir = root;
        for (int i = 0; i < parts.size() - 1; i++) {
            dir = dir.resolve(parts.get(i));
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (java.nio.file.NoSuchFileException ex) {
                Files.createDirectory(dir);
                continue;
            }
            if (a.isSymbolicLink()) {
                throw new BadArchiveException(what + ": entry '" + printable(name) + "' would be written through the "
                        + "symlink '" + root.relativize(dir) + "'");
            }
            if (!a.isDirectory()) {
                throw new BadArchiveException(what + ": entry '" + printable(name) + "' is under '"
                        + root.relativize(dir) + "', which is not a directory");
            }
        }
        return dir;
    }

    /** A later entry replaces an earlier one of the same name (a directory stays for a directory). */
    private static void clear(Path path, boolean keepDir) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        if (a.isDirectory()) {
            if (!keepDir) {
                Trees.delete(path);
            }
        } else {
            Files.delete(path);
        }
    }

    /** Whether a relative symlink target, from a link at this depth, climbs above the layer's root. */
    static boolean climbsOut(int depth, String target) {
        int d = depth;
        for (String c : target.split("/")) {
            if (c.equals("..")) {
                if (--d < 0) {
                    return true;
                }
            } else if (!c.isEmpty() && !c.equals(".")) {
                d++;
            }
        }
        return false;
    }

    private void finishDirs() throws IOException {
        // Deepest first, so a directory's time is set after its entries changed it.
        for (int i = dirs.size() - 1; i >= 0; i--) {
            meta(dirs.get(i), dirEntries.get(i));
            Files.setLastModifiedTime(dirs.get(i), FileTime.from(dirEntries.get(i).getLastModifiedTime().toInstant()));
        }
    }

    private static void owner(Path path, TarArchiveEntry e) throws IOException {
        check(Posix.get().lchown(path, e.getLongUserId(), e.getLongGroupId()), "chown " + path);
    }

    /** Owner first: chown clears the setuid and setgid bits. */
    private static void meta(Path path, TarArchiveEntry e) throws IOException {
        owner(path, e);
        check(Posix.get().chmod(path, e.getMode() & 07777), "chmod " + path);
    }

    private static void check(int errno, String what) throws IOException {
        if (errno != 0) {
            throw new IOException(what + ": " + Posix.get().strerror(errno));
        }
    }

    private static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8) | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    static String printable(String s) {
        String p = s.replaceAll("\\p{Cntrl}", "?");
        return p.length() > 120 ? p.substring(0, 120) + "..." : p;
    }
}
