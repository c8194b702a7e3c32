package dev.corral.exporter.metrics;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.PidsStats;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import dev.corral.exporter.sample.SpecStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A snapshot with every shape the exposition has to get right: absent components and fields, unlimited limits,
 * a CPU quota, v2 memory events, two block devices (one named by sysfs, one not), a removed cgroup still
 * retained, names and paths needing escapes or UTF-8, and counters beyond 2^53. {@code scrape-golden.txt} is
 * what micrometer-registry-prometheus (PrometheusTextFormatWriter) rendered for it before Corral wrote the
 * container families itself.
 */
final class ScrapeFixture {

    static final long NOW = 1_795_947_374_019L;
    static final MachineInfo MACHINE = new MachineInfo(2, 25_325_268_992L);

    static final Map<String, String> NAMES = Map.of(
            "/corral/web", "web",
            "/corral/quote", "a \"quoted\" \\ back\nslash",
            "/corral/utf", "caf\u00e9-\u65e5\u672c");

    private ScrapeFixture() {
    }

    static ContainerNames names() {
        return path -> NAMES.getOrDefault(path, "");
    }

    /** A /sys/dev/block with one device that has a name (8:0 = sda); 254:0 stays "254:0". */
    static DeviceNames devices(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("8:0"));
        Files.writeString(dir.resolve("8:0/uevent"), "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n");
        return new DeviceNames(dir);
    }

    static Snapshot snapshot() {
        long a = Absent.VALUE;
        long u = Limits.UNLIMITED;
        CgroupSample root = new CgroupSample("/", NOW, a,
                new CpuStats(22_014_100_277_856L, 19_785_737_724_149L, 2_186_108_994_729L, 0, 0, 0),
                new MemoryStats(2_527_891_456L, 1_617_862_656L, 1_218_359_296L, 910_028_800L, 155_004_928L, 0,
                        4_294_967_296L, 0, 3, a, a),
                List.of(new BlkioDevice(254, 0, 1_217_302_528L, 33_365_102_592L, 17_070, 511_997),
                        new BlkioDevice(8, 0, 4096, 0, 1, 0)),
                new PidsStats(812, u),
                new PressureStats(new Pressure(123_456_789, 0), new Pressure(1, 2), new Pressure(9_999_999, 10_000_000)),
                new SpecStats(u, u, u, u, 100_000, 1024));
        CgroupSample web = new CgroupSample("/corral/web", NOW, NOW - 60_123,
                new CpuStats(9_007_199_254_740_993L, 1_000_000_000L, 999_999_999L, 12_345, 678, 1_234_567_890L),
                new MemoryStats(268_435_456L, 0, 123, 10_000_000, 9_999_999, 1L << 40, 268_435_456L, 42, 1, 17, 4),
                List.of(new BlkioDevice(8, 0, 123_456_789_012_345_678L, 1, 0, 7)),
                new PidsStats(3, 64),
                new PressureStats(new Pressure(5, 0), null, new Pressure(0, 1_000_001)),
                new SpecStats(268_435_456L, 536_870_912L, 134_217_728L, 50_000, 100_000, 512));
        CgroupSample quote = new CgroupSample("/corral/quote", NOW - 1, a,
                null,
                new MemoryStats(a, a, a, a, a, a, a, a, a, a, a),
                List.of(),
                null,
                null,
                new SpecStats(a, a, a, a, a, a));
        CgroupSample utf = new CgroupSample("/corral/utf", NOW, NOW - 1,
                new CpuStats(1, a, a, a, a, a),
                null,
                null,
                new PidsStats(0, Limits.UNLIMITED),
                new PressureStats(null, null, null),
                null);
        CgroupSample spaces = new CgroupSample("/odd dir/with \"quote\" and \\", NOW, 1_000,
                new CpuStats(0, 0, 0, 0, 0, 0), null, null, null, null, null);
        CgroupSample gone = new CgroupSample("/corral/gone", NOW - 4_000, NOW - 90_000,
                new CpuStats(5_000_000_000L, 4_000_000_000L, 1_000_000_000L, 0, 0, 0),
                new MemoryStats(0, 0, 0, 0, 0, 0, 500_000_000, 7, 2, a, a),
                List.of(new BlkioDevice(254, 0, 10, 20, 1, 2)),
                new PidsStats(0, 10),
                new PressureStats(new Pressure(1, 1), new Pressure(2, 2), new Pressure(3, 3)),
                new SpecStats(1L << 30, 0, 0, 20_000, 100_000, 2));
        return new Snapshot(NOW, Map.of("/", root, "/corral/web", web, "/corral/quote", quote, "/corral/utf", utf,
                spaces.path(), spaces), Map.of(gone.path(), gone));
    }
}
