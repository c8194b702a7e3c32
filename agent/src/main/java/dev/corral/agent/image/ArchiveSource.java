package dev.corral.agent.image;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * The files of an image archive by their names inside it: a directory (an OCI layout, or an archive extracted),
 * or an uncompressed tar read in place, so a blob is read once from the upload instead of copied out first.
 * Names never leave the archive: absolute names, ".." and symlinks pointing out are refused.
 */
interface ArchiveSource extends Closeable {

    /** Whether the archive has this regular file (symlinks followed inside it). */
    boolean has(String name) throws IOException;

    long size(String name) throws IOException, BadArchiveException;

    InputStream open(String name) throws IOException, BadArchiveException;

    default byte[] readSmall(String name, long max, String what) throws IOException, BadArchiveException {
        if (size(name) > max) {
            throw new BadArchiveException(what + " is over " + max + " bytes");
        }
        try (InputStream in = open(name)) {
            return in.readAllBytes();
        }
    }

    static String normalize(String name) throws BadArchiveException {
        return String.join("/", LayerUnpacker.components(name, "the archive"));
    }

    /** A directory: an OCI layout as skopeo writes it, or a compressed archive extracted. */
    final class Dir implements ArchiveSource {
        private final Path dir;
        private final Path real;

        Dir(Path dir) throws IOException {
            this.dir = dir;
            this.real = dir.toRealPath();
        }

        private Path file(String name) throws IOException, BadArchiveException {
            String n = normalize(name);
            Path p = dir.resolve(n).normalize();
            if (n.isEmpty() || !Files.isRegularFile(p)) {
                throw new BadArchiveException("the archive has no file '" + LayerUnpacker.printable(name) + "'");
            }
            Path r = p.toRealPath();
            if (!r.startsWith(real)) {
                throw new BadArchiveException("'" + LayerUnpacker.printable(name) + "' points outside the archive");
            }
            return r;
        }

        @Override
        public boolean has(String name) throws IOException {
            try {
                file(name);
                return true;
            } catch (BadArchiveException e) {
                return false;
            }
        }

        @Override
        public long size(String name) throws IOException, BadArchiveException {
            return Files.size(file(name));
        }

        @Override
        public InputStream open(String name) throws IOException, BadArchiveException {
            return Files.newInputStream(file(name));
        }

        @Override
        public void close() {
        }
    }

    /** An uncompressed tar, its entries indexed once and read in place. */
    final class Tar implements ArchiveSource {
        private final TarFile tar;
        private final Map<String, TarArchiveEntry> entries = new HashMap<>();

        private Tar(TarFile tar) throws BadArchiveException {
            this.tar = tar;
            for (TarArchiveEntry e : tar.getEntries()) {
                List<String> parts = LayerUnpacker.components(e.getName(), "the archive");
                if (!parts.isEmpty()) {
                    entries.put(String.join("/", parts), e); // a later entry of the same name wins, as tar does
                }
            }
        }

        static Tar open(Path file) throws IOException, BadArchiveException {
            TarFile t;
            try {
                t = new TarFile(file);
            } catch (IOException | RuntimeException e) {
                throw new BadArchiveException("the archive is not a readable tar archive (truncated or corrupt): "
                        + e.getMessage());
            }
            try {
                return new Tar(t);
            } catch (BadArchiveException e) {
                t.close();
                throw e;
            }
        }

        boolean isEmpty() {
            return entries.isEmpty();
        }

        /** An image archive's symlinks must all stay inside it, used or not (as when it is extracted). */
        void checkLinksStayInside() throws BadArchiveException {
            for (Map.Entry<String, TarArchiveEntry> m : entries.entrySet()) {
                TarArchiveEntry e = m.getValue();
                if (e.isSymbolicLink() && (e.getLinkName().startsWith("/")
                        || LayerUnpacker.climbsOut(m.getKey().split("/").length - 1, e.getLinkName()))) {
                    throw new BadArchiveException("the archive: symlink '" + LayerUnpacker.printable(m.getKey())
                            + "' -> '" + LayerUnpacker.printable(e.getLinkName()) + "' points outside the archive");
                }
            }
        }

        /** The file entry a name leads to, through at most 8 symlinks that stay inside the archive. */
        private TarArchiveEntry entry(String name) throws BadArchiveException {
            String n = normalize(name);
            for (int hop = 0; hop < 8; hop++) {
                TarArchiveEntry e = entries.get(n);
                if (e == null) {
                    throw new BadArchiveException("the archive has no file '" + LayerUnpacker.printable(name) + "'");
                }
                if (LayerUnpacker.isRegular(e)) {
                    return e;
                }
                if (!e.isSymbolicLink()) {
                    throw new BadArchiveException("'" + LayerUnpacker.printable(name) + "' is not a file in the archive");
                }
                String target = e.getLinkName();
                int depth = n.split("/").length - 1;
                if (target.startsWith("/") || LayerUnpacker.climbsOut(depth, target)) {
                    throw new BadArchiveException("the archive: symlink '" + LayerUnpacker.printable(n) + "' -> '"
                            + LayerUnpacker.printable(target) + "' points outside the archive");
                }
                String dir = n.contains("/") ? n.substring(0, n.lastIndexOf('/') + 1) : "";
                n = Path.of(dir + target).normalize().toString();
            }
            throw new BadArchiveException("'" + LayerUnpacker.printable(name) + "': too many symlinks");
        }

        @Override
        public boolean has(String name) {
            try {
                entry(name);
                return true;
            } catch (BadArchiveException e) {
                return false;
            }
        }

        @Override
        public long size(String name) throws BadArchiveException {
            return entry(name).getSize();
        }

        @Override
        public InputStream open(String name) throws IOException, BadArchiveException {
            return tar.getInputStream(entry(name));
        }

        @Override
        public void close() throws IOException {
            tar.close();
        }
    }
}
