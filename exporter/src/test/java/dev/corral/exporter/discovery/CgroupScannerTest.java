package dev.corral.exporter.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scanner on ordinary directories. It relies on a directory's link count being 2 + its number of
 * subdirectories, which kernfs (cgroupfs) guarantees and ext4 and tmpfs also keep; filesystems that do not
 * (btrfs reports 1) skip these tests. {@link RealCgroupScannerTest} covers real cgroupfs.
 */
@Tag("unit")
class CgroupScannerTest {

    @TempDir
    Path tmp;

    @BeforeEach
    void linkCountsCountSubdirectories() throws IOException {
        Path probe = Files.createDirectories(tmp.resolve("probe/a"));
        Files.createDirectories(tmp.resolve("probe/b"));
        Files.writeString(tmp.resolve("probe/file"), "");
        int links = (Integer) Files.getAttribute(tmp.resolve("probe"), "unix:nlink", LinkOption.NOFOLLOW_LINKS);
        // The temp-tree tests below rely on this, as the scanner relies on it for kernfs.
        assertThat(links).as("directory link counts on " + tmp + " count subdirectories").isEqualTo(4);
        Files.delete(tmp.resolve("probe/file"));
        Files.delete(probe);
        Files.delete(tmp.resolve("probe/b"));
        Files.delete(tmp.resolve("probe"));
    }

    /** A directory that looks like a cgroup: control files and child cgroups. */
    private static Path cgroup(Path dir, String... controlFiles) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cgroup.procs"), "");
        for (String f : controlFiles) {
            Files.writeString(dir.resolve(f), "0\n");
        }
        return dir;
    }

    private static CgroupLayout v2(Path mount) {
        return new CgroupLayout(CgroupMode.V2, List.of(new Hierarchy(2, Set.of("cpu", "memory"), mount, "/")),
                Map.of());
    }

    @Test
    void findsEveryCgroupIncludingChildrenNamedLikeControlFiles() throws IOException {
        Path mount = cgroup(tmp.resolve("cgroup"), "cgroup.controllers", "cpu.stat", "memory.stat", "tasks",
                "notify_on_release", "release_agent");
        cgroup(mount.resolve("system.slice"), "memory.stat");
        cgroup(mount.resolve("system.slice/docker-0123abcd.scope"), "memory.stat", "cpu.stat");
        cgroup(mount.resolve("system.slice/foo:bar.service"));
        cgroup(mount.resolve("memory.x"), "memory.stat");
        cgroup(mount.resolve("memory.x/cpu.y"));
        cgroup(mount.resolve("memory.x/tasks.d"));
        cgroup(mount.resolve("foo.slice"));
        cgroup(mount.resolve("plain"));
        cgroup(mount.resolve("plain/tasks")); // a child cgroup named like the v1 control file

        assertThat(new CgroupScanner(v2(mount), List.of("/")).scan()).containsExactly("/", "/foo.slice",
                "/memory.x", "/memory.x/cpu.y", "/memory.x/tasks.d", "/plain", "/plain/tasks", "/system.slice",
                "/system.slice/docker-0123abcd.scope", "/system.slice/foo:bar.service");
    }

    @Test
    void scansOnlyBelowTheRootsItIsGiven() throws IOException {
        Path mount = cgroup(tmp.resolve("cgroup"));
        cgroup(mount.resolve("corral/web/worker.scope"));
        cgroup(mount.resolve("corral/db"));
        cgroup(mount.resolve("other/x"));

        assertThat(new CgroupScanner(v2(mount), List.of("/corral/", "/missing")).scan())
                .containsExactly("/corral", "/corral/db", "/corral/web", "/corral/web/worker.scope");
        assertThat(new CgroupScanner(v2(mount), List.of("/corral/db")).scan()).containsExactly("/corral/db");
    }

    @Test
    void unionOfEveryWalkedHierarchy() throws IOException {
        Path cpu = cgroup(tmp.resolve("cpu"));
        cgroup(cpu.resolve("docker/abc"));
        Path memory = cgroup(tmp.resolve("memory"));
        cgroup(memory.resolve("docker/abc"));
        cgroup(memory.resolve("process_api/57bb"));
        Path devices = cgroup(tmp.resolve("devices"));
        cgroup(devices.resolve("not/walked"));
        Path unified = cgroup(tmp.resolve("unified"));
        cgroup(unified.resolve("init.scope"));
        CgroupLayout layout = new CgroupLayout(CgroupMode.HYBRID, List.of(
                new Hierarchy(1, Set.of("cpu"), cpu, "/"), new Hierarchy(1, Set.of("memory"), memory, "/"),
                new Hierarchy(1, Set.of("devices"), devices, "/"), new Hierarchy(2, Set.of(), unified, "/")),
                Map.of());

        assertThat(new CgroupScanner(layout, List.of("/")).scan()).containsExactly("/", "/docker", "/docker/abc",
                "/init.scope", "/process_api", "/process_api/57bb");
    }

    @Test
    void pathsAreCgroupPathsWhenTheMountRootIsNotSlash() throws IOException {
        Path mount = cgroup(tmp.resolve("cgroup"));
        cgroup(mount.resolve("sidecar"));
        CgroupLayout layout = new CgroupLayout(CgroupMode.V2,
                List.of(new Hierarchy(2, Set.of(), mount, "/kubepods/pod123/abc")), Map.of());

        assertThat(new CgroupScanner(layout, List.of("/")).scan()).isEmpty();
        assertThat(new CgroupScanner(layout, List.of("/kubepods/pod123/abc")).scan())
                .containsExactly("/kubepods/pod123/abc", "/kubepods/pod123/abc/sidecar");
    }

    @Test
    void aMissingRootDirectoryIsNoCgroup() {
        CgroupLayout layout = v2(tmp.resolve("nothing-mounted-here"));

        assertThat(new CgroupScanner(layout, List.of("/")).scan()).isEmpty();
    }
}
