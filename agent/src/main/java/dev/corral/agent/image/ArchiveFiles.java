package dev.corral.agent.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * The outer archive of an import (an OCI layout or docker-save tar): whether it is one, and its files
 * extracted to a staging directory. Only files, directories and symlinks that stay inside are accepted.
 */
final class ArchiveFiles {

    private ArchiveFiles() {
    }

    /** Whether the tar (plain or gzip) has an index.json or manifest.json at its top: an image, not a rootfs. */
    static boolean isImageArchive(Path file) throws IOException, BadArchiveException {
        try (InputStream in = LayerUnpacker.decompressed(Files.newInputStream(file), "the archive")) {
            TarArchiveInputStream tar = new TarArchiveInputStream(in);
            TarArchiveEntry e;
            int entries = 0;
            while ((e = LayerUnpacker.next(tar, "the archive")) != null) {
                entries++;
                List<String> parts = LayerUnpacker.components(e.getName(), "the archive");
                if (parts.size() == 1 && LayerUnpacker.isRegular(e)
                        && (parts.get(0).equals("index.json") || parts.get(0).equals("manifest.json"))) {
                    return true;
                }
            }
            if (entries == 0) {
                throw new BadArchiveException("the archive is empty or not a tar archive");
            }
            return false;
        }
    }

    static void extract(Path file, Path dir) throws IOException, BadArchiveException {
        try (InputStream in = LayerUnpacker.decompressed(Files.newInputStream(file), "the archive")) {
            TarArchiveInputStream tar = new TarArchiveInputStream(in);
            TarArchiveEntry e;
            while ((e = LayerUnpacker.next(tar, "the archive")) != null) {
                List<String> parts = LayerUnpacker.components(e.getName(), "the archive");
                if (parts.isEmpty()) {
                    continue;
                }
                Path p = dir;
                for (int i = 0; i < parts.size() - 1; i++) {
                    p = p.resolve(parts.get(i));
                    if (Files.isSymbolicLink(p)) {
                        throw new BadArchiveException("the archive: entry '" + LayerUnpacker.printable(e.getName())
                                + "' would be written through a symlink");
                    }
                    Files.createDirectories(p);
                }
                p = p.resolve(parts.get(parts.size() - 1));
                if (e.isDirectory()) {
                    Files.createDirectories(p);
                } else if (e.isSymbolicLink()) {
                    String t = e.getLinkName();
                    if (t.startsWith("/") || LayerUnpacker.climbsOut(parts.size() - 1, t)) {
                        throw new BadArchiveException("the archive: symlink '" + LayerUnpacker.printable(e.getName())
                                + "' -> '" + LayerUnpacker.printable(t) + "' points outside the archive");
                    }
                    Files.deleteIfExists(p);
                    Files.createSymbolicLink(p, Path.of(t));
                } else if (LayerUnpacker.isRegular(e)) {
                    try (OutputStream out = Files.newOutputStream(p, StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                        tar.transferTo(out);
                    } catch (IOException ex) {
                        throw new BadArchiveException("the archive is truncated or corrupt at '"
                                + LayerUnpacker.printable(e.getName()) + "': " + ex.getMessage());
                    }
                } else {
                    throw new BadArchiveException("the archive: entry '" + LayerUnpacker.printable(e.getName())
                            + "' is neither a file, a directory nor a symlink");
                }
            }
        }
    }
}
