package dev.corral.exporter.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a whole proc, sysctl or cgroup file as text. {@code Files.readString} must not be used for these: it
 * trusts the reported file size, and for sysctl files (e.g. /proc/sys/kernel/cap_last_cap, "40") it was seen
 * to return only the first byte.
 */
public final class KernelText {

    private KernelText() {
    }

    public static String read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
