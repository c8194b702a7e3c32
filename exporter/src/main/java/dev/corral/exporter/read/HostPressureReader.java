package dev.corral.exporter.read;

import dev.corral.exporter.sample.PressureStats;
import java.nio.file.Path;

/** Host-wide PSI from /proc/pressure/{cpu,memory,io}. */
public final class HostPressureReader {

    private final PressureFiles files;

    public HostPressureReader(Path procPressureDir) {
        this.files = new PressureFiles(java.nio.file.Files.isDirectory(procPressureDir) ? procPressureDir : null, true);
    }

    /** Null when the kernel has no PSI. */
    public PressureStats read(ReadBuffer buffer, ReadErrors errors) {
        return files.read(buffer, errors);
    }
}
