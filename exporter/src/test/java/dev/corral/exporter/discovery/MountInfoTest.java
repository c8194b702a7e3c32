package dev.corral.exporter.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** proc(5) mountinfo: {@code id parent maj:min root mount-point options [optional...] - fstype source super-options}. */
@Tag("unit")
class MountInfoTest {

    private static List<MountInfo> mounts(String layout) {
        return MountInfo.parseAll(Fixtures.read(layout, "proc/self/mountinfo"));
    }

    private static MountInfo at(List<MountInfo> mounts, String mountPoint) {
        return mounts.stream().filter(m -> m.mountPoint().equals(mountPoint)).findFirst().orElseThrow();
    }

    @Test
    void thisHostsHybridMountinfo() {
        List<MountInfo> mounts = mounts(Fixtures.HYBRID_THIS_HOST);

        assertThat(mounts).hasSize(20);
        assertThat(mounts.get(0)).isEqualTo(new MountInfo(22, 27, "/", "/proc", "proc", "proc", List.of("rw")));
        assertThat(at(mounts, "/sys/fs/cgroup/cpu"))
                .isEqualTo(new MountInfo(32, 31, "/", "/sys/fs/cgroup/cpu", "cgroup", "cgroup", List.of("rw", "cpu")));
        assertThat(at(mounts, "/sys/fs/cgroup/cpuacct").superOptions()).containsExactly("rw", "cpuacct");
        assertThat(at(mounts, "/sys/fs/cgroup/systemd").superOptions()).containsExactly("rw", "name=systemd");
        assertThat(at(mounts, "/sys/fs/cgroup/unified"))
                .isEqualTo(new MountInfo(41, 31, "/", "/sys/fs/cgroup/unified", "cgroup2", "cgroup2", List.of("rw")));
        assertThat(at(mounts, "/").superOptions())
                .containsExactly("rw", "discard", "resv_strict", "resuid=65534", "resgid=65534");
        assertThat(mounts).filteredOn(m -> m.fsType().equals("cgroup")).hasSize(9);
        assertThat(mounts).filteredOn(m -> m.fsType().equals("cgroup2")).hasSize(1);
    }

    @Test
    void v1HostWithComountedControllersAndOptionalFields() {
        List<MountInfo> mounts = mounts(Fixtures.V1_COMOUNTED);

        // "32 28 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct"
        assertThat(at(mounts, "/sys/fs/cgroup/cpu,cpuacct")).isEqualTo(new MountInfo(32, 28, "/",
                "/sys/fs/cgroup/cpu,cpuacct", "cgroup", "cgroup", List.of("rw", "cpu", "cpuacct")));
        assertThat(at(mounts, "/sys/fs/cgroup/net_cls,net_prio").superOptions())
                .containsExactly("rw", "net_cls", "net_prio");
        assertThat(at(mounts, "/sys/fs/cgroup/systemd").superOptions()).containsExactly("rw", "xattr",
                "release_agent=/lib/systemd/systemd-cgroups-agent", "name=systemd");
        // no optional fields at all
        assertThat(at(mounts, "/var/lib/docker/overlay2/4f1c0b6e2a7d/merged").fsType()).isEqualTo("overlay");
        // a root that is not a path (nsfs)
        assertThat(at(mounts, "/run/docker/netns/6a3d1c2b9f0e").root()).isEqualTo("net:[4026532571]");
        assertThat(mounts).filteredOn(m -> m.fsType().equals("cgroup")).hasSize(12);
    }

    @Test
    void systemdV2Host() {
        MountInfo cgroup2 = at(mounts(Fixtures.V2_SYSTEMD), "/sys/fs/cgroup");

        assertThat(cgroup2).isEqualTo(new MountInfo(31, 23, "/", "/sys/fs/cgroup", "cgroup2", "cgroup2",
                List.of("rw", "nsdelegate", "memory_recursiveprot")));
    }

    @Test
    void containerSeesAMountRootThatIsNotSlash() {
        List<MountInfo> mounts = mounts(Fixtures.V2_IN_CONTAINER);

        assertThat(at(mounts, "/sys/fs/cgroup"))
                .isEqualTo(new MountInfo(1192, 1191, "/kubepods/pod123/abc", "/sys/fs/cgroup", "cgroup2", "cgroup",
                        List.of("rw", "nsdelegate", "memory_recursiveprot")));
        assertThat(at(mounts, "/").fsType()).isEqualTo("overlay"); // optional field "master:512"
        assertThat(at(mounts, "/etc/hosts").root()).isEqualTo("/var/lib/docker/containers/abc/hosts");
    }

    @Test
    void octalEscapesInRootMountPointAndSource() {
        List<MountInfo> mounts = mounts(Fixtures.QUIRKS);

        assertThat(mounts).extracting(MountInfo::mountPoint).containsExactly("/", "/sys/fs/cgroup",
                "/mnt/my cgroups", "/mnt/tab\tdir", "/mnt/back\\slash", "/mnt/odd\\x\\04", "/mnt/new\nline");
        MountInfo twoOptionalFields = mounts.get(2); // "shared:9 master:1"
        assertThat(twoOptionalFields.fsType()).isEqualTo("cgroup");
        assertThat(twoOptionalFields.superOptions()).containsExactly("rw", "cpu", "cpuacct");
        MountInfo backslash = mounts.get(4); // "master:3 propagate_from:2"
        assertThat(backslash.root()).isEqualTo("/sub\\dir");
        assertThat(backslash.fsType()).isEqualTo("cgroup2");
        assertThat(mounts.get(5).source()).isEqualTo("none src");
    }

    @Test
    void unescapeLeavesWhatIsNotAThreeDigitOctalEscape() {
        assertThat(MountInfo.unescape("/plain")).isEqualTo("/plain");
        assertThat(MountInfo.unescape("a\\040b\\011c\\012d\\134e")).isEqualTo("a b\tc\nd\\e");
        assertThat(MountInfo.unescape("\\040\\040")).isEqualTo("  ");
        assertThat(MountInfo.unescape("end\\")).isEqualTo("end\\");
        assertThat(MountInfo.unescape("short\\04")).isEqualTo("short\\04");
        assertThat(MountInfo.unescape("not\\089octal")).isEqualTo("not\\089octal");
        assertThat(MountInfo.unescape("\\1345")).isEqualTo("\\5");
    }

    @Test
    void blankLinesAndAMissingTrailingNewlineAreFine() {
        String a = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu";
        String b = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

        assertThat(MountInfo.parseAll(a + "\n\n" + b)).extracting(MountInfo::mountId).containsExactly(32, 41);
        assertThat(MountInfo.parseAll("")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 cgroup cgroup rw", // no "-" separator
        "36 35 98:0 /mnt1 /mnt2 rw,noatime - cgroup cgroup",          // super options missing
        "36 35 98:0 /mnt1 /mnt2 rw,noatime -",                         // nothing after "-"
        "x 35 98:0 /mnt1 /mnt2 rw,noatime - cgroup cgroup rw",          // mount id not a number
        "36 35 98:0 /mnt1",                                             // truncated
    })
    void malformedLineIsRejectedNamingTheLine(String bad) {
        String content = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" + bad + "\n";

        assertThatThrownBy(() -> MountInfo.parseAll(content))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2")
                .hasMessageContaining(bad);
    }
}
