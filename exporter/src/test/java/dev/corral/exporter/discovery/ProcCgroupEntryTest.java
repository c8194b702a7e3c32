package dev.corral.exporter.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** cgroups(7) /proc/PID/cgroup: {@code hierarchy-ID:controller-list:cgroup-path}. */
@Tag("unit")
class ProcCgroupEntryTest {

    private static List<ProcCgroupEntry> entries(String layout) {
        return ProcCgroupEntry.parseAll(Fixtures.read(layout, "proc/self/cgroup"));
    }

    @Test
    void thisHostsHybridSelfCgroup() {
        List<ProcCgroupEntry> entries = entries(Fixtures.HYBRID_THIS_HOST);

        assertThat(entries).hasSize(10);
        assertThat(entries.get(0)).isEqualTo(new ProcCgroupEntry(9, List.of("name=systemd"), "/"));
        assertThat(entries).contains(
                new ProcCgroupEntry(4, List.of("memory"), "/process_api/e7511c1c13200046890c83a1396aa685"),
                new ProcCgroupEntry(2, List.of("cpuacct"), "/"),
                new ProcCgroupEntry(1, List.of("cpu"), "/"));
        ProcCgroupEntry unified = entries.get(9);
        assertThat(unified).isEqualTo(new ProcCgroupEntry(0, List.of(), "/"));
        assertThat(unified.isUnified()).isTrue();
        assertThat(entries.subList(0, 9)).noneMatch(ProcCgroupEntry::isUnified);
    }

    @Test
    void comountedControllersShareOneLine() {
        List<ProcCgroupEntry> entries = entries(Fixtures.V1_COMOUNTED);

        assertThat(entries).hasSize(12).noneMatch(ProcCgroupEntry::isUnified);
        assertThat(entries).contains(
                new ProcCgroupEntry(4, List.of("cpu", "cpuacct"), "/system.slice/corral.service"),
                new ProcCgroupEntry(3, List.of("net_cls", "net_prio"), "/"),
                new ProcCgroupEntry(1, List.of("name=systemd"), "/system.slice/corral.service"));
    }

    @Test
    void pureV2HasOneLine() {
        assertThat(entries(Fixtures.V2_SYSTEMD))
                .containsExactly(new ProcCgroupEntry(0, List.of(), "/user.slice/user-1000.slice/session-2.scope"));
        assertThat(entries(Fixtures.V2_IN_CONTAINER))
                .containsExactly(new ProcCgroupEntry(0, List.of(), "/kubepods/pod123/abc"));
    }

    @Test
    void colonsInThePathBelongToThePath() {
        assertThat(entries(Fixtures.QUIRKS)).containsExactly(
                new ProcCgroupEntry(12, List.of("cpu", "cpuacct"), "/system.slice/foo:bar.service"),
                new ProcCgroupEntry(4, List.of("memory"), "/a:b::c"),
                new ProcCgroupEntry(1, List.of("name=systemd"), "/system.slice/foo:bar.service"),
                new ProcCgroupEntry(0, List.of(), "/system.slice/foo:bar.service"));
        assertThat(ProcCgroupEntry.parseAll("0::/system.slice/foo:bar.service").get(0).path())
                .isEqualTo("/system.slice/foo:bar.service");
    }

    @Test
    void blankLinesAndNoTrailingNewline() {
        assertThat(ProcCgroupEntry.parseAll("1:cpu:/a\n\n0::/b")).extracting(ProcCgroupEntry::path)
                .containsExactly("/a", "/b");
        assertThat(ProcCgroupEntry.parseAll("")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage", "1:cpu", "x:cpu:/a", ":cpu:/a", "99999999999:cpu:/a"})
    void malformedLineIsRejectedNamingTheLine(String bad) {
        assertThatThrownBy(() -> ProcCgroupEntry.parseAll("0::/\n" + bad + "\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(bad);
    }
}
