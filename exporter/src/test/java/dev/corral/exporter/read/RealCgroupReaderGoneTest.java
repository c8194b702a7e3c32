package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.testing.TestCgroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A removed cgroup must read as gone (null), so the collector keeps its last real sample. */
@Tag("root")
class RealCgroupReaderGoneTest {

    private final List<String> errors = new ArrayList<>();

    private CgroupSample read(CgroupReader reader) {
        return reader.read(new ReadBuffer(4096), System.currentTimeMillis(), (f, e) -> errors.add(f + ": " + e));
    }

    @Test
    void aRemovedCgroupReadsAsGone() throws Exception {
        CgroupLayout layout = CgroupLayoutDetector.detectSystem();
        CgroupReader reader;
        try (TestCgroup cg = TestCgroup.create()) {
            reader = new CgroupReaders(layout).open(cg.path());
            assertThat(read(reader)).isNotNull();
        }
        try {
            assertThat(read(reader)).isNull();
            assertThat(errors).isEmpty();
        } finally {
            reader.close();
        }
    }

    /**
     * On a hybrid host a cgroup often exists in some v1 hierarchies only (Docker's cgroupfs driver, or this
     * host's /process_api/* in memory alone), with no directory in the cgroup2 mount.
     */
    @Test
    void aRemovedV1OnlyCgroupReadsAsGoneOnAHybridHost() throws Exception {
        CgroupLayout layout = CgroupLayoutDetector.detectSystem();
        // Run on the hybrid hosts this case exists on (this machine and CI); the v2 VM runs other classes.
        assertThat(layout.mode()).as("this test needs a hybrid host").isEqualTo(CgroupMode.HYBRID);
        CgroupLayout memoryOnly = new CgroupLayout(layout.mode(), List.of(layout.hierarchyOf("memory").orElseThrow()),
                Map.of());
        CgroupReader reader;
        try (TestCgroup cg = TestCgroup.create(memoryOnly, "/corral-test-" + UUID.randomUUID().toString().substring(0, 8))) {
            reader = new CgroupReaders(layout).open(cg.path());
            CgroupSample live = read(reader);
            assertThat(live.memory()).isNotNull();
            assertThat(live.cpu()).isNull();
            assertThat(live.pressure()).isNull();
        }
        try {
            assertThat(read(reader)).isNull();
            assertThat(errors).isEmpty();
        } finally {
            reader.close();
        }
    }
}
