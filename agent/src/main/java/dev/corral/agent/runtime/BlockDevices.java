package dev.corral.agent.runtime;

import dev.corral.exporter.sample.DeviceNumbers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resolves a block device path to MAJOR:MINOR. */
public final class BlockDevices {

    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private BlockDevices() {
    }

    /** "254:0" for /dev/vda; null when the path is not a block device. */
    public static String majorMinor(String device) {
        try {
            Path p = Path.of(device);
            if (!p.isAbsolute() || ((Integer) Files.getAttribute(p, "unix:mode") & S_IFMT) != S_IFBLK) {
                return null;
            }
            return DeviceNumbers.format((Long) Files.getAttribute(p, "unix:rdev"));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
