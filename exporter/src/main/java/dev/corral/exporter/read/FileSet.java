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
 *
 * <p>A set made {@link #onFirstRead} opens its files at its first read instead of at once: a cgroup's reader
 * opens its change indicators when the cgroup is found and its other files at its first full read, so when a
 * rescan finds thousands of cgroups their indicators (read every cycle) take the open-file budget
 * ({@link KernelFile}) before the files read only on a change or the sweep.
 */
final class FileSet {

    private final Path dir;
    private final String[] names;
    private final KernelFile[] files;
    private final boolean keepOpen;
    private boolean opened;
    private boolean gone;

    FileSet(Path dir, String... names) {
        this(dir, true, false, names);
    }

    private FileSet(Path dir, boolean keepOpen, boolean lazy, String... names) {
        this.dir = dir;
        this.names = names;
        this.keepOpen = keepOpen;
        this.files = new KernelFile[names.length];
        if (!lazy) {
            reopenMissing();
        }
    }

    /** Kept-open files opened at the first {@link #load} or {@link #has}, not now. */
    static FileSet onFirstRead(Path dir, String... names) {
        return dir == null ? absent() : new FileSet(dir, true, true, names);
    }

    /** Files opened for each read, for those read only now and then: they hold no descriptor in between. */
    static FileSet perRead(Path dir, String... names) {
        return dir == null ? absent() : new FileSet(dir, false, false, names);
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
        openOnce();
        return !gone && files[index] != null;
    }

    private void openOnce() {
        if (!opened) {
            reopenMissing();
            if (dir != null && !Files.isDirectory(dir)) {
                close(); // removed before its first read: gone, as a read failing on a removed cgroup says
            }
        }
    }

    void reopenMissing() {
        opened = true;
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
        openOnce();
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
