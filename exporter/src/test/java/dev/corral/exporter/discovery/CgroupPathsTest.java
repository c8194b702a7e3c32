package dev.corral.exporter.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Tag("unit")
class CgroupPathsTest {

    @Test
    void normalize() {
        assertThat(CgroupPaths.normalize("/")).isEqualTo("/");
        assertThat(CgroupPaths.normalize("//")).isEqualTo("/");
        assertThat(CgroupPaths.normalize("/a/b/")).isEqualTo("/a/b");
        assertThat(CgroupPaths.normalize("/a//b")).isEqualTo("/a/b");
        assertThat(CgroupPaths.normalize("/system.slice/foo:bar.service")).isEqualTo("/system.slice/foo:bar.service");
        assertThat(CgroupPaths.normalize("/a/..b/.c")).isEqualTo("/a/..b/.c");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a/b", "/a/../b", "/..", "/a/.", "/a/b\0c"})
    void normalizeRejects(String bad) {
        assertThatThrownBy(() -> CgroupPaths.normalize(bad)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void normalizeRejectsNull() {
        assertThatThrownBy(() -> CgroupPaths.normalize(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void relativeTo() {
        assertThat(CgroupPaths.relativeTo("/", "/")).isEmpty();
        assertThat(CgroupPaths.relativeTo("/", "/a/b")).isEqualTo("a/b");
        assertThat(CgroupPaths.relativeTo("/a", "/a")).isEmpty();
        assertThat(CgroupPaths.relativeTo("/a", "/a/b")).isEqualTo("b");
        assertThat(CgroupPaths.relativeTo("/a", "/ab")).isNull();
        assertThat(CgroupPaths.relativeTo("/a/b", "/a")).isNull();
        assertThat(CgroupPaths.relativeTo("/a/b", "/")).isNull();
        assertThat(CgroupPaths.isWithin("/a", "/a/b/c")).isTrue();
        assertThat(CgroupPaths.isWithin("/a", "/b")).isFalse();
    }

    @Test
    void joinParentAndName() {
        assertThat(CgroupPaths.join("/", "a")).isEqualTo("/a");
        assertThat(CgroupPaths.join("/a", "b/c")).isEqualTo("/a/b/c");
        assertThat(CgroupPaths.join("/a", "")).isEqualTo("/a");
        assertThat(CgroupPaths.parentOf("/a/b")).isEqualTo("/a");
        assertThat(CgroupPaths.parentOf("/a")).isEqualTo("/");
        assertThat(CgroupPaths.parentOf("/")).isEqualTo("/");
        assertThat(CgroupPaths.nameOf("/a/b.scope")).isEqualTo("b.scope");
        assertThat(CgroupPaths.nameOf("/")).isEmpty();
    }

    @Test
    void hierarchyMapsPathsAndDirectories() {
        Path mount = Path.of("/sys/fs/cgroup/memory");
        Hierarchy h = new Hierarchy(1, Set.of("memory"), mount, "/");

        assertThat(h.dirOf("/")).contains(mount);
        assertThat(h.dirOf("/a/b")).contains(mount.resolve("a/b"));
        assertThat(h.cgroupPathOf(mount)).isEqualTo("/");
        assertThat(h.cgroupPathOf(mount.resolve("a/b"))).isEqualTo("/a/b");
        assertThat(h.isUnified()).isFalse();
        assertThat(h.has("memory")).isTrue();
        assertThat(h.has("cpu")).isFalse();

        Hierarchy nested = new Hierarchy(2, Set.of(), Path.of("/sys/fs/cgroup"), "/kubepods/pod123/abc");
        assertThat(nested.dirOf("/kubepods/pod123/abc/x")).contains(Path.of("/sys/fs/cgroup/x"));
        assertThat(nested.dirOf("/kubepods/pod123")).isEqualTo(Optional.empty());
        assertThat(nested.dirOf("/kubepods/pod123/abcd")).isEqualTo(Optional.empty());
        assertThat(nested.isUnified()).isTrue();
    }
}
