package dev.corral.exporter.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.testing.TestCgroup;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The scanner on this host's real cgroupfs, where link counts come from kernfs. */
@Tag("root")
class RealCgroupScannerTest {

    @Test
    void findsExactlyTheTestCgroupAndItsChildren() throws Exception {
        try (TestCgroup cg = TestCgroup.create();
             TestCgroup scope = cg.child("x.scope");
             TestCgroup controlLike = cg.child("cpu.like");
             TestCgroup nested = scope.child("memory.y")) {
            CgroupLayout layout = CgroupLayoutDetector.detectSystem();

            assertThat(new CgroupScanner(layout, List.of(cg.path())).scan()).containsExactly(cg.path(),
                    cg.path() + "/cpu.like", cg.path() + "/x.scope", cg.path() + "/x.scope/memory.y");
            assertThat(new CgroupScanner(layout, List.of(controlLike.path())).scan())
                    .containsExactly(controlLike.path());
            assertThat(new CgroupScanner(layout, List.of("/")).scan())
                    .contains("/", cg.path(), scope.path(), controlLike.path(), nested.path());
        }
    }

    @Test
    void aRemovedCgroupIsNoLongerFound() throws Exception {
        String path;
        try (TestCgroup cg = TestCgroup.create()) {
            path = cg.path();
            assertThat(new CgroupScanner(cg.layout(), List.of(path)).scan()).containsExactly(path);
        }
        assertThat(new CgroupScanner(CgroupLayoutDetector.detectSystem(), List.of(path)).scan()).isEmpty();
    }
}
