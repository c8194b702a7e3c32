package dev.corral.exporter.read;

import dev.corral.exporter.sample.BlkioDevice;
import java.nio.file.Path;
import java.util.List;

/**
 * v1 blkio statistics with runc's fallbacks: BFQ's recursive stats when the device uses BFQ, then the
 * throttle layer's recursive stats (which see every bio), then its non-recursive ones on old kernels (only
 * opened there). The first source that lists a device wins and is kept.
 */
final class BlkioFiles {

    private static final String[][] SOURCES = {
        {"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
        {"blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"},
        {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
        {"blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"},
    };

    private static final int LEGACY = SOURCES.length - 1;

    private final Path dir;
    // opened at the first read (a change or the sweep, see FileSet.onFirstRead), not when the reader is made
    private FileSet files;  // every source but the last
    private FileSet legacy; // the last source, opened only where the recursive throttle files are missing
    private int chosen = -1;

    BlkioFiles(Path dir) {
        this.dir = dir;
        if (dir == null || !java.nio.file.Files.isDirectory(dir)) {
            files = FileSet.absent();
            legacy = FileSet.absent();
        }
    }

    private void open() {
        if (files != null) {
            return;
        }
        if (!java.nio.file.Files.isDirectory(dir)) { // removed before its first read: gone
            files = FileSet.absent();
            legacy = FileSet.absent();
            return;
        }
        String[] names = new String[LEGACY * 2];
        for (int i = 0; i < LEGACY; i++) {
            names[2 * i] = SOURCES[i][0];
            names[2 * i + 1] = SOURCES[i][1];
        }
        files = new FileSet(dir, names);
        legacy = files.has(2 * (LEGACY - 1)) ? FileSet.absent() : new FileSet(dir, SOURCES[LEGACY]);
    }

    boolean present() {
        return files == null || files.present();
    }

    /** Devices with IO, an empty list when there was none, null when blkio is absent. */
    List<BlkioDevice> read(ReadBuffer buf, ReadErrors errors) {
        open();
        if (!files.present()) {
            return null;
        }
        if (chosen >= 0) {
            return readSource(chosen, buf, errors);
        }
        for (int s = 0; s < SOURCES.length; s++) {
            if (!has(s, 0)) {
                continue;
            }
            List<BlkioDevice> devices = readSource(s, buf, errors);
            if (devices != null && !devices.isEmpty()) {
                chosen = s;
                return devices;
            }
        }
        return files.present() ? List.of() : null;
    }

    private boolean has(int source, int file) {
        return source == LEGACY ? legacy.has(file) : files.has(2 * source + file);
    }

    private boolean load(int source, int file, ReadBuffer buf, ReadErrors errors) {
        return source == LEGACY ? legacy.load(file, buf, errors) : files.load(2 * source + file, buf, errors);
    }

    private List<BlkioDevice> readSource(int s, ReadBuffer buf, ReadErrors errors) {
        if (!load(s, 0, buf, errors)) {
            return files.present() ? List.of() : null;
        }
        List<long[]> bytes = BlkioParser.parseFile(buf.bytes(), buf.length());
        if (!load(s, 1, buf, errors)) {
            return files.present() ? List.of() : null;
        }
        return BlkioParser.join(bytes, BlkioParser.parseFile(buf.bytes(), buf.length()));
    }

    void close() {
        if (files == null) {
            files = FileSet.absent();
            legacy = FileSet.absent();
            return;
        }
        files.close();
        legacy.close();
    }
}
