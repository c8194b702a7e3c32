package dev.corral.exporter.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("unit")
class CgroupLayoutDetectorTest {

    @TempDir
    Path tmp;

    private static CgroupLayout detect(Path root) throws IOException {
        return new CgroupLayoutDetector(Fixtures.hostPaths(root)).detect();
    }

    private static Hierarchy v1(Path root, String mountPoint, String... controllers) {
        return new Hierarchy(1, Set.of(controllers), root.resolve(mountPoint), "/");
    }

    @Test
    void thisHostIsHybridWithCpuAndCpuacctApart() throws IOException {
        Path root = Fixtures.root(Fixtures.HYBRID_THIS_HOST);
        CgroupLayout layout = detect(root);

        Hierarchy cpu = v1(root, "sys/fs/cgroup/cpu", "cpu");
        Hierarchy cpuacct = v1(root, "sys/fs/cgroup/cpuacct", "cpuacct");
        Hierarchy memory = v1(root, "sys/fs/cgroup/memory", "memory");
        Hierarchy blkio = v1(root, "sys/fs/cgroup/blkio", "blkio");
        Hierarchy pids = v1(root, "sys/fs/cgroup/pids", "pids");
        Hierarchy unified = new Hierarchy(2, Set.of("hugetlb"), root.resolve("sys/fs/cgroup/unified"), "/");
        assertThat(layout.mode()).isEqualTo(CgroupMode.HYBRID);
        assertThat(layout.hierarchies()).containsExactly(cpu, cpuacct, v1(root, "sys/fs/cgroup/cpuset", "cpuset"),
                memory, v1(root, "sys/fs/cgroup/devices", "devices"), v1(root, "sys/fs/cgroup/freezer", "freezer"),
                blkio, pids, v1(root, "sys/fs/cgroup/systemd", "name=systemd"), unified);
        assertThat(layout.walked()).containsExactly(cpu, cpuacct, memory, blkio, pids, unified);
        assertThat(layout.hierarchyOf("cpu")).contains(cpu);
        assertThat(layout.hierarchyOf("cpuacct")).contains(cpuacct);
        assertThat(layout.hierarchyOf("io")).isEmpty();
        assertThat(layout.unified()).contains(unified);

        String memoryPath = "/process_api/e7511c1c13200046890c83a1396aa685";
        assertThat(layout.selfPaths()).isEqualTo(Map.of("", "/", "name=systemd", "/", "pids", "/", "blkio", "/",
                "freezer", "/", "devices", "/", "memory", memoryPath, "cpuset", "/", "cpuacct", "/", "cpu", "/"));
        assertThat(layout.selfPath(memory)).isEqualTo(memoryPath);
        assertThat(layout.selfPath(cpu)).isEqualTo("/");
        assertThat(memory.dirOf(memoryPath)).contains(root.resolve("sys/fs/cgroup/memory" + memoryPath));
    }

    @Test
    void olderV1HostComountsCpuWithCpuacct() throws IOException {
        Path root = Fixtures.root(Fixtures.V1_COMOUNTED);
        CgroupLayout layout = detect(root);

        Hierarchy cpu = v1(root, "sys/fs/cgroup/cpu,cpuacct", "cpu", "cpuacct");
        Hierarchy memory = v1(root, "sys/fs/cgroup/memory", "memory");
        Hierarchy blkio = v1(root, "sys/fs/cgroup/blkio", "blkio");
        Hierarchy pids = v1(root, "sys/fs/cgroup/pids", "pids");
        assertThat(layout.mode()).isEqualTo(CgroupMode.V1);
        assertThat(layout.hierarchies()).containsExactly(v1(root, "sys/fs/cgroup/systemd", "name=systemd"),
                v1(root, "sys/fs/cgroup/net_cls,net_prio", "net_cls", "net_prio"), cpu,
                v1(root, "sys/fs/cgroup/hugetlb", "hugetlb"), v1(root, "sys/fs/cgroup/freezer", "freezer"), memory,
                v1(root, "sys/fs/cgroup/devices", "devices"), v1(root, "sys/fs/cgroup/perf_event", "perf_event"),
                blkio, v1(root, "sys/fs/cgroup/cpuset", "cpuset"), pids, v1(root, "sys/fs/cgroup/rdma", "rdma"));
        assertThat(layout.walked()).containsExactly(cpu, memory, blkio, pids);
        assertThat(layout.hierarchyOf("cpuacct")).contains(cpu);
        assertThat(layout.unified()).isEmpty();

        String self = "/system.slice/corral.service";
        assertThat(layout.selfPaths()).containsOnly(Map.entry("pids", self), Map.entry("cpuset", "/"),
                Map.entry("blkio", self), Map.entry("perf_event", "/"), Map.entry("devices", self),
                Map.entry("memory", self), Map.entry("freezer", "/"), Map.entry("hugetlb", "/"),
                Map.entry("cpu", self), Map.entry("cpuacct", self), Map.entry("net_cls", "/"),
                Map.entry("net_prio", "/"), Map.entry("rdma", "/"), Map.entry("name=systemd", self));
        assertThat(layout.selfPath(cpu)).isEqualTo(self);
        assertThat(cpu.dirOf(self)).contains(root.resolve("sys/fs/cgroup/cpu,cpuacct/system.slice/corral.service"));
    }

    @Test
    void systemdV2Host() throws IOException {
        Path root = Fixtures.root(Fixtures.V2_SYSTEMD);
        CgroupLayout layout = detect(root);

        Hierarchy unified = new Hierarchy(2, Set.of("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma",
                "misc"), root.resolve("sys/fs/cgroup"), "/");
        assertThat(layout.mode()).isEqualTo(CgroupMode.V2);
        assertThat(layout.hierarchies()).containsExactly(unified);
        assertThat(layout.walked()).containsExactly(unified);
        assertThat(layout.hierarchyOf("memory")).contains(unified);
        assertThat(layout.hierarchyOf("cpuacct")).isEmpty();
        assertThat(layout.selfPaths()).isEqualTo(Map.of("", "/user.slice/user-1000.slice/session-2.scope"));
        assertThat(layout.selfPath(unified)).isEqualTo("/user.slice/user-1000.slice/session-2.scope");
        assertThat(unified.dirOf(layout.selfPath(unified)))
                .contains(root.resolve("sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope"));
    }

    @Test
    void containerSeesOnlyItsSubtree() throws IOException {
        Path root = Fixtures.root(Fixtures.V2_IN_CONTAINER);
        CgroupLayout layout = detect(root);
        Path mount = root.resolve("sys/fs/cgroup");

        Hierarchy unified = new Hierarchy(2, Set.of("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma",
                "misc"), mount, "/kubepods/pod123/abc");
        assertThat(layout.mode()).isEqualTo(CgroupMode.V2);
        assertThat(layout.hierarchies()).containsExactly(unified);
        assertThat(layout.walked()).containsExactly(unified);
        String self = layout.selfPath(unified);
        assertThat(self).isEqualTo("/kubepods/pod123/abc");
        assertThat(unified.dirOf(self)).contains(mount);
        assertThat(unified.dirOf("/kubepods/pod123/abc/sidecar")).contains(mount.resolve("sidecar"));
        assertThat(unified.cgroupPathOf(mount.resolve("sidecar"))).isEqualTo("/kubepods/pod123/abc/sidecar");
        assertThat(unified.cgroupPathOf(mount)).isEqualTo("/kubepods/pod123/abc");
        for (String outside : new String[] {"/", "/kubepods", "/kubepods/pod123", "/kubepods/pod123/abcd",
            "/kubepods/pod124/abc", "/system.slice"}) {
            assertThat(unified.dirOf(outside)).as(outside).isEqualTo(Optional.empty());
        }
    }

    @Test
    void mountPointsWithEscapedCharactersResolveUnderThePrefix() throws IOException {
        Path root = Fixtures.copy(Fixtures.QUIRKS, tmp);
        Files.writeString(root.resolve("proc/cgroups"), "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                + "cpu\t12\t1\t1\ncpuacct\t12\t1\t1\nmemory\t4\t1\t1\n");
        Files.createDirectories(root.resolve("mnt/back\\slash"));
        Files.writeString(root.resolve("mnt/back\\slash/cgroup.controllers"), "pids\n");
        CgroupLayout layout = detect(root);

        Hierarchy unified = new Hierarchy(2, Set.of("pids"), root.resolve("mnt/back\\slash"), "/sub\\dir");
        assertThat(layout.mode()).isEqualTo(CgroupMode.HYBRID);
        assertThat(layout.hierarchies()).containsExactly(v1(root, "mnt/my cgroups", "cpu", "cpuacct"),
                v1(root, "mnt/tab\tdir", "memory"), unified);
        assertThat(layout.selfPaths()).containsEntry("", "/system.slice/foo:bar.service")
                .containsEntry("memory", "/a:b::c").containsEntry("cpuacct", "/system.slice/foo:bar.service");
    }

    @Test
    void withoutProcCgroupsTheKnownControllersAreUsed() throws IOException {
        Path root = Fixtures.copy(Fixtures.V1_COMOUNTED, tmp);
        CgroupLayout expected = detect(root);
        Files.delete(root.resolve("proc/cgroups"));

        assertThat(detect(root)).isEqualTo(expected);
    }

    @Test
    void withoutProcSelfCgroupEveryPathIsTheRoot() throws IOException {
        Path root = Fixtures.copy(Fixtures.HYBRID_THIS_HOST, tmp);
        Files.delete(root.resolve("proc/self/cgroup"));
        CgroupLayout layout = detect(root);

        assertThat(layout.selfPaths()).isEmpty();
        assertThat(layout.hierarchies()).allSatisfy(h -> assertThat(layout.selfPath(h)).isEqualTo("/"));
    }

    @Test
    void unreadableCgroupControllersMeansNoControllers() throws IOException {
        Path root = Fixtures.copy(Fixtures.V2_SYSTEMD, tmp);
        Files.delete(root.resolve("sys/fs/cgroup/cgroup.controllers"));
        CgroupLayout layout = detect(root);

        assertThat(layout.mode()).isEqualTo(CgroupMode.V2);
        assertThat(layout.hierarchies()).containsExactly(new Hierarchy(2, Set.of(), root.resolve("sys/fs/cgroup"), "/"));
    }

    @Test
    void emptyCgroupControllers() throws IOException {
        Path root = Fixtures.copy(Fixtures.V2_SYSTEMD, tmp);
        Files.writeString(root.resolve("sys/fs/cgroup/cgroup.controllers"), "\n");

        assertThat(detect(root).unified().orElseThrow().controllers()).isEmpty();
    }

    /** Docker on a v2 host running an old-systemd container mounts a name=systemd v1 hierarchy beside it. */
    @Test
    void aNameOnlyV1HierarchyBesideV2IsStillV2() throws IOException {
        Path root = Fixtures.copy(Fixtures.V2_SYSTEMD, tmp);
        appendMount(root, "600 23 0:60 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:300 - "
                + "cgroup cgroup rw,xattr,name=systemd");
        CgroupLayout layout = detect(root);

        assertThat(layout.mode()).isEqualTo(CgroupMode.V2);
        assertThat(layout.hierarchies()).extracting(Hierarchy::version).containsExactly(2);
    }

    /**
     * A v1 controller that Corral does not read, mounted on a v2 host (a net_cls hierarchy for packet
     * classification, as VPN split tunnelling uses), does not make the host hybrid: every accounting controller
     * is still on cgroup2, and the v1 reader would find none of its files there.
     */
    @Test
    void aNonAccountingV1ControllerBesideV2IsStillV2() throws IOException {
        Path root = Fixtures.copy(Fixtures.V2_SYSTEMD, tmp);
        Files.writeString(root.resolve("proc/cgroups"),
                Files.readString(root.resolve("proc/cgroups")).replace("net_cls\t0\t142\t1", "net_cls\t1\t1\t1"));
        appendMount(root, "600 27 0:60 / /run/net_cls rw,relatime shared:300 - cgroup net_cls rw,net_cls");
        CgroupLayout layout = detect(root);

        assertThat(layout.mode()).isEqualTo(CgroupMode.V2);
        assertThat(layout.hierarchyOf("cpu")).isEqualTo(layout.unified());
        assertThat(layout.walked()).containsExactly(layout.unified().orElseThrow());
    }

    @Test
    void aHierarchyMountedTwiceKeepsTheMountShowingMostOfIt() throws IOException {
        Path root = Fixtures.copy(Fixtures.V1_COMOUNTED, tmp);
        appendMount(root, "700 212 0:29 /docker/abc /var/lib/docker/overlay2/4f1c0b6e2a7d/merged/sys/fs/cgroup/memory"
                + " ro,nosuid,nodev,noexec,relatime master:17 - cgroup cgroup rw,memory");
        assertThat(detect(root).hierarchyOf("memory").orElseThrow().mountRoot()).isEqualTo("/");

        // the same with the container's mount listed first
        Path mountinfo = root.resolve("proc/self/mountinfo");
        String content = Files.readString(mountinfo);
        String last = content.substring(content.lastIndexOf("700 212"));
        Files.writeString(mountinfo, last + content.substring(0, content.lastIndexOf("700 212")));
        Hierarchy memory = detect(root).hierarchyOf("memory").orElseThrow();
        assertThat(memory.mountRoot()).isEqualTo("/");
        assertThat(memory.mountPoint()).isEqualTo(root.resolve("sys/fs/cgroup/memory"));
    }

    @Test
    void noCgroupMountIsAnError() throws IOException {
        Path root = Fixtures.copy(Fixtures.V2_SYSTEMD, tmp);
        Path mountinfo = root.resolve("proc/self/mountinfo");
        Files.writeString(mountinfo, Files.readString(mountinfo).replaceAll("(?m)^.* - cgroup2 .*\n", ""));

        assertThatThrownBy(() -> detect(root)).isInstanceOf(IOException.class).hasMessageContaining("mountinfo");
    }

    private static void appendMount(Path root, String line) throws IOException {
        Path mountinfo = root.resolve("proc/self/mountinfo");
        Files.writeString(mountinfo, Files.readString(mountinfo) + line + "\n");
    }
}
