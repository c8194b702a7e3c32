package dev.corral.exporter.read;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

/** Writes fake cgroup directories for reader tests. */
final class Tree {

    private Tree() {
    }

    static Path dir(Path dir, String... nameContentPairs) throws IOException {
        Files.createDirectories(dir);
        for (int i = 0; i < nameContentPairs.length; i += 2) {
            Files.writeString(dir.resolve(nameContentPairs[i]), nameContentPairs[i + 1]);
        }
        return dir;
    }

    static long ctimeMillis(Path dir) throws IOException {
        return ((FileTime) Files.getAttribute(dir, "unix:ctime", LinkOption.NOFOLLOW_LINKS)).toMillis();
    }
}
