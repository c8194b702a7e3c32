package dev.corral.exporter.read;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The files of one controller directory of one cgroup, kept open (read every cycle) or opened per read (read
 * now and then). A file that does not exist is null: its metrics are absent. Reads that fail because the
 * directory has gone mark the whole set gone.
 */
final class FileSet {

    private final Path dir;
    private final String[] names;
    private final KernelFile[] files;
    private final boolean keepOpen;
    private boolean gone;

    FileSet(Path dir, String... names) {
        this(dir, true, names);
    }

    private FileSet(Path dir, boolean keepOpen, String... names) {
        this.dir = dir;
        this.names = names;
        this.keepOpen = keepOpen;
        this.files = new KernelFile[names.length];
        reopenMissing();
    }

    /** Files opened for each read, for those read only now and then: they hold no descriptor in between. */
    static FileSet perRead(Path dir, String... names) {
        return dir == null ? absent() : new FileSet(dir, false, names);
    }

    /** A set for a directory that does not exist in this hierarchy. */
    static FileSet absent() {
        FileSet s = new FileSet(null);
        s.gone = true;
        return s;
    }

    boolean present() {
        return !gone;
    }

    Path dir() {
        return dir;
    }

    boolean has(int index) {
        return !gone && files[index] != null;
    }

    void reopenMissing() {
        if (dir == null || gone) {
            return;
        }
        for (int i = 0; i < names.length; i++) {
            if (files[i] == null) {
                try {
                    Path file = dir.resolve(names[i]);
                    files[i] = keepOpen ? KernelFile.openIfPresent(file) : KernelFile.perRead(file);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    /**
     * Reads file {@code index} into the buffer. Returns false if it does not exist, or if reading failed: then
     * either the cgroup is gone (the set closes itself) or the failure is reported to {@code errors}.
     */
    boolean load(int index, ReadBuffer buffer, ReadErrors errors) {
        KernelFile f = gone ? null : files[index];
        if (f == null) {
            return false;
        }
        try {
            f.readInto(buffer);
            return true;
        } catch (IOException e) {
            if (Files.isDirectory(dir)) {
                errors.failed(f.path(), e);
            } else {
                close();
            }
            return false;
        }
    }

    void close() {
        gone = true;
        List<KernelFile> open = new ArrayList<>();
        for (int i = 0; i < files.length; i++) {
            if (files[i] != null) {
                open.add(files[i]);
                files[i] = null;
            }
        }
        for (KernelFile f : open) {
            try {
                f.close();
            } catch (IOException ignored) {
                // closing a read-only kernel file cannot lose data
            }
        }
    }
}
