package dev.corral.agent.runtime;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Rewrites the paths in a live container's launch config (NUL-separated keys and values, see {@link ShimConfig})
 * when it is renamed: exec reads it from the state directory it names (its cgroups keep their paths). Replaced in place (a new file renamed over the old one), so
 * an exec reads either the old config or the new one.
 */
final class LaunchConf {

    private LaunchConf() {
    }

    /**
     * Each value (and each tab-separated field of one, as a mount's) equal to a key of {@code paths} or under it is
     * moved to that key's value. Idempotent: a path already rewritten is under none of the keys (each ends its
     * component).
     */
    static void rewrite(Path file, Map<String, String> paths) throws IOException {
        if (!Files.exists(file)) {
            return; // started by a corral without launch configs kept: nothing joins by it
        }
        String[] parts = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).split("\0", -1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        for (int i = 0; i + 1 < parts.length; i++) {
            String s = (i % 2 == 1) ? rewriteValue(parts[i], paths) : parts[i];
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
            out.write(0);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.write(tmp, out.toByteArray());
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static String rewriteValue(String value, Map<String, String> paths) {
        String[] fields = value.split("\t", -1);
        for (int f = 0; f < fields.length; f++) {
            for (Map.Entry<String, String> p : paths.entrySet()) {
                String old = p.getKey();
                if (fields[f].equals(old) || fields[f].startsWith(old + "/")) {
                    fields[f] = p.getValue() + fields[f].substring(old.length());
                    break;
                }
            }
        }
        return String.join("\t", fields);
    }
}
