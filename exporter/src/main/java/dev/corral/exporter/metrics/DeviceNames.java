package dev.corral.exporter.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/** Block device names ("/dev/vda") by major:minor, from /sys/dev/block/MAJ:MIN/uevent; cached. */
public final class DeviceNames {

    private final Path sysDevBlock;
    private final ConcurrentHashMap<String, String> cache = new ConcurrentHashMap<>();

    public DeviceNames(Path sysDevBlock) {
        this.sysDevBlock = sysDevBlock;
    }

    /** The device's name, or "MAJ:MIN" when sysfs does not know it. */
    public String nameOf(String majorMinor) {
        return cache.computeIfAbsent(majorMinor, this::lookup);
    }

    private String lookup(String majorMinor) {
        try {
            for (String line : Files.readAllLines(sysDevBlock.resolve(majorMinor).resolve("uevent"))) {
                if (line.startsWith("DEVNAME=")) {
                    return "/dev/" + line.substring("DEVNAME=".length());
                }
            }
        } catch (IOException e) {
            // not a known block device: fall through
        }
        return majorMinor;
    }
}
