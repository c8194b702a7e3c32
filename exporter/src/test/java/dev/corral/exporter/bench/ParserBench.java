package dev.corral.exporter.bench;

import dev.corral.exporter.read.BlkioParser;
import dev.corral.exporter.read.FlatKeyedParser;
import dev.corral.exporter.read.IoStatParser;
import dev.corral.exporter.read.KeyTable;
import dev.corral.exporter.read.PressureParser;
import dev.corral.exporter.read.ValueParser;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.Pressure;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The byte parsers of {@code exporter/read} on real kernel file contents, with the key tables the readers
 * use (V1CgroupReader, V2CgroupReader). One collection cycle runs each of these once per cgroup (memory.stat,
 * cpu.stat, 3 PSI files, 4 empty blkio files on v1, about 15 single values).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ParserBench {

    private static final KeyTable V1_MEM_STAT_KEYS =
            new KeyTable("total_rss", "total_cache", "total_mapped_file", "total_inactive_file");
    private static final KeyTable V1_CPU_STAT_KEYS = new KeyTable("nr_periods", "nr_throttled", "throttled_time");
    private static final KeyTable OOM_KEYS = new KeyTable("oom_kill");
    private static final KeyTable V2_MEM_STAT_KEYS = new KeyTable("anon", "file", "file_mapped", "inactive_file");
    private static final KeyTable V2_CPU_STAT_KEYS = new KeyTable("usage_usec", "user_usec", "system_usec",
            "nr_periods", "nr_throttled", "throttled_usec");

    private final byte[] v1MemoryStat = KernelSamples.bytes(KernelSamples.V1_MEMORY_STAT);
    private final byte[] v1CpuStat = KernelSamples.bytes(KernelSamples.V1_CPU_STAT);
    private final byte[] v1OomControl = KernelSamples.bytes(KernelSamples.V1_OOM_CONTROL);
    private final byte[] v2MemoryStat = KernelSamples.bytes(KernelSamples.V2_MEMORY_STAT);
    private final byte[] v2CpuStat = KernelSamples.bytes(KernelSamples.V2_CPU_STAT);
    private final byte[] pressure = KernelSamples.bytes(KernelSamples.PRESSURE);
    private final byte[] ioStat = KernelSamples.bytes(KernelSamples.V2_IO_STAT);
    private final byte[] blkioBytes = KernelSamples.bytes(KernelSamples.V1_BLKIO_BYTES);
    private final byte[] blkioOps = KernelSamples.bytes(KernelSamples.V1_BLKIO_OPS);
    private final byte[] blkioEmpty = KernelSamples.bytes(KernelSamples.V1_BLKIO_EMPTY);
    private final byte[] value = KernelSamples.bytes(KernelSamples.VALUE);
    private final byte[] cpuMax = KernelSamples.bytes(KernelSamples.CPU_MAX);
    private final long[] out = new long[8];

    @Benchmark
    public long[] flatKeyedV1MemoryStat() {
        FlatKeyedParser.parse(v1MemoryStat, v1MemoryStat.length, V1_MEM_STAT_KEYS, out);
        return out;
    }

    @Benchmark
    public long[] flatKeyedV1CpuStat() {
        FlatKeyedParser.parse(v1CpuStat, v1CpuStat.length, V1_CPU_STAT_KEYS, out);
        return out;
    }

    @Benchmark
    public long[] flatKeyedV1OomControl() {
        FlatKeyedParser.parse(v1OomControl, v1OomControl.length, OOM_KEYS, out);
        return out;
    }

    @Benchmark
    public long[] flatKeyedV2MemoryStat() {
        FlatKeyedParser.parse(v2MemoryStat, v2MemoryStat.length, V2_MEM_STAT_KEYS, out);
        return out;
    }

    @Benchmark
    public long[] flatKeyedV2CpuStat() {
        FlatKeyedParser.parse(v2CpuStat, v2CpuStat.length, V2_CPU_STAT_KEYS, out);
        return out;
    }

    @Benchmark
    public Pressure pressure() {
        return PressureParser.parse(pressure, pressure.length);
    }

    @Benchmark
    public List<BlkioDevice> ioStatTwoDevices() {
        return IoStatParser.parse(ioStat, ioStat.length);
    }

    /** Both files of one v1 source parsed and joined, as BlkioFiles does for a cgroup that did IO. */
    @Benchmark
    public List<BlkioDevice> blkioOneDevice() {
        return BlkioParser.join(BlkioParser.parseFile(blkioBytes, blkioBytes.length),
                BlkioParser.parseFile(blkioOps, blkioOps.length));
    }

    /** An empty v1 blkio file ("Total 0"), what most cgroups return for each of 4 files every cycle. */
    @Benchmark
    public List<long[]> blkioEmptyFile() {
        return BlkioParser.parseFile(blkioEmpty, blkioEmpty.length);
    }

    @Benchmark
    public long valueFirst() {
        return ValueParser.first(value, value.length);
    }

    @Benchmark
    public long valueSecondOfCpuMax() {
        return ValueParser.second(cpuMax, cpuMax.length);
    }
}
