package dev.corral.exporter.discovery;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Recorded host files under {@code src/test/resources/fixtures/<layout>/}: {@code proc/self/mountinfo},
 * {@code proc/self/cgroup}, {@code proc/cgroups} and, for cgroup2 mounts, {@code cgroup.controllers} below the
 * mount point.
 */
final class Fixtures {

    static final String HYBRID_THIS_HOST = "hybrid-this-host";
    static final String V1_COMOUNTED = "v1-comounted";
    static final String V2_SYSTEMD = "v2-systemd";
    static final String V2_IN_CONTAINER = "v2-in-container";
    static final String QUIRKS = "quirks";

    static final List<String> ALL = List.of(HYBRID_THIS_HOST, V1_COMOUNTED, V2_SYSTEMD, V2_IN_CONTAINER, QUIRKS);

    private Fixtures() {
    }

    static Path root(String layout) {
        URL url = Fixtures.class.getResource("/fixtures/" + layout);
        if (url == null) {
            throw new IllegalArgumentException("no fixture " + layout);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static String read(String layout, String file) {
        try {
            return Files.readString(root(layout).resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static HostPaths hostPaths(Path root) {
        return new HostPaths(root.resolve("proc"), root);
    }

    /** A writable copy of a fixture tree, for tests that add or remove files. */
    static Path copy(String layout, Path to) throws IOException {
        Path from = root(layout);
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }
}
