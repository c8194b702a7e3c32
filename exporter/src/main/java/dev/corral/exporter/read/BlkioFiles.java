package dev.corral.exporter.read;

import dev.corral.exporter.sample.BlkioDevice;
import java.nio.file.Path;
import java.util.List;

/**
 * v1 blkio statistics with runc's fallbacks: BFQ's recursive stats when the device uses BFQ, then the
 * throttle layer's recursive stats (which see every bio), then its non-recursive ones on old kernels. The first
 * source that lists a device wins and is kept.
 */
final class BlkioFiles {

    private static final String[][] SOURCES = {
        {"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
        {"blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"},
        {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
        {"blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"},
    };

    private final FileSet files;
    private int chosen = -1;

    BlkioFiles(Path dir) {
        if (dir == null || !java.nio.file.Files.isDirectory(dir)) {
            files = FileSet.absent();
            return;
        }
        String[] names = new String[SOURCES.length * 2];
        for (int i = 0; i < SOURCES.length; i++) {
            names[2 * i] = SOURCES[i][0];
            names[2 * i + 1] = SOURCES[i][1];
        }
        files = new FileSet(dir, names);
    }

    boolean present() {
        return files.present();
    }

    /** Devices with IO, an empty list when there was none, null when blkio is absent. */
    List<BlkioDevice> read(ReadBuffer buf, ReadErrors errors) {
        if (!files.present()) {
            return null;
        }
        if (chosen >= 0) {
            return readSource(chosen, buf, errors);
        }
        for (int s = 0; s < SOURCES.length; s++) {
            if (!files.has(2 * s)) {
                continue;
            }
            // The plain throttle files are a fallback for kernels without the recursive ones (before 4.16) only.
            if (s == SOURCES.length - 1 && files.has(2 * (s - 1))) {
                break;
            }
            List<BlkioDevice> devices = readSource(s, buf, errors);
            if (devices != null && !devices.isEmpty()) {
                chosen = s;
                return devices;
            }
        }
        return files.present() ? List.of() : null;
    }

    private List<BlkioDevice> readSource(int s, ReadBuffer buf, ReadErrors errors) {
        if (!files.load(2 * s, buf, errors)) {
            return files.present() ? List.of() : null;
        }
        List<long[]> bytes = BlkioParser.parseFile(buf.bytes(), buf.length());
        if (!files.load(2 * s + 1, buf, errors)) {
            return files.present() ? List.of() : null;
        }
        return BlkioParser.join(bytes, BlkioParser.parseFile(buf.bytes(), buf.length()));
    }

    void reopenMissing() {
        files.reopenMissing();
    }

    void close() {
        files.close();
    }
}
