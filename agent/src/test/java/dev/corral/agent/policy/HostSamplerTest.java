package dev.corral.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.Absent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HostSampler's kept-open /proc/stat and /proc/meminfo against the same files read independently. */
@Tag("unit")
class HostSamplerTest {

    private static long busyTicks(Path stat) throws Exception {
        String[] f = Files.readAllLines(stat).get(0).trim().split("\\s+");
        long busy = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
            if (i != 4 && i != 5) {
                busy += Long.parseLong(f[i]);
            }
        }
        return busy;
    }

    private static long meminfoKb(String key) throws Exception {
        return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith(key + ":"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).findFirst().orElseThrow();
    }

    private static long rootCpu(HostSampler sampler) {
        return sampler.withRoot(new Snapshot(1, Map.of(), Map.of())).get("/").cpu().usageNanos();
    }

    @Test
    void theHostsBusyTimeIsBetweenTwoReadsOfProcStat() throws Exception {
        Path stat = Path.of("/proc/stat");
        try (HostSampler sampler = new HostSampler(Path.of("/proc"))) {
            for (int i = 0; i < 3; i++) { // the same kept-open file, read again
                long before = busyTicks(stat);
                long sampled = rootCpu(sampler);
                long after = busyTicks(stat);
                assertThat(sampled).isBetween(before * 10_000_000, after * 10_000_000);
                Thread.sleep(50);
            }
        }
    }

    @Test
    void memAvailableIsTheKernelsFigureInBytes() throws Exception {
        try (HostSampler sampler = new HostSampler(Path.of("/proc"))) {
            long sampled = sampler.memoryAvailable();
            assertThat(sampled % 1024).isZero();
            // other processes allocate and free meanwhile: within 5 % of the machine's memory
            assertThat((double) sampled).isCloseTo(meminfoKb("MemAvailable") * 1024.0,
                    offset(meminfoKb("MemTotal") * 1024 * 0.05));
        }
    }

    @Test
    void missingFieldsAndFilesAreAbsentAndChangesAreReadAgain(@TempDir Path proc) throws Exception {
        Files.writeString(proc.resolve("stat"), "cpu  100 1 50\nintr 0\n");
        Files.writeString(proc.resolve("meminfo"), "MemTotal:       1000 kB\n");
        try (HostSampler sampler = new HostSampler(proc)) {
            assertThat(sampler.memoryAvailable()).isEqualTo(Absent.VALUE);
            assertThat(rootCpu(sampler)).isEqualTo(Absent.VALUE);
            Files.writeString(proc.resolve("stat"), "cpu  100 1 50 7000 9 2 3 4 5 6\n");
            Files.writeString(proc.resolve("meminfo"), "MemTotal:       1000 kB\nMemAvailable:    600 kB\n");
            assertThat(sampler.memoryAvailable()).isEqualTo(600 * 1024);
            assertThat(rootCpu(sampler)).isEqualTo((100 + 1 + 50 + 2 + 3 + 4) * 10_000_000L);
        }
        try (HostSampler none = new HostSampler(proc.resolve("missing"))) {
            assertThat(none.memoryAvailable()).isEqualTo(Absent.VALUE);
            assertThat(rootCpu(none)).isEqualTo(Absent.VALUE);
        }
    }
}
