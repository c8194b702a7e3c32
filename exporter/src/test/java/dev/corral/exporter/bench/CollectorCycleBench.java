package dev.corral.exporter.bench;

import dev.corral.exporter.collect.CgroupCollector;
import dev.corral.exporter.collect.CollectorStats;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.discovery.HostPaths;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One {@link CgroupCollector#collect()} on a real cgroup tree made by a script (see {@link ScanBench}), back to
 * back: with {@code rescanEvery=1} a rescan (scan, reopen missing files, bookkeeping) plus the reads; with a
 * huge rescanEvery the reads alone. The collector keeps its counter files open (18 per cgroup on a hybrid
 * host), so the tree must fit the open-files limit.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CollectorCycleBench {

    /** The cgroup path whose subtree is read. */
    @Param("/corral-bench-scan")
    public String root;

    /** 1 rescans every cycle; 1000000000 never after the first cycle. */
    @Param({"1", "1000000000"})
    public int rescanEvery;

    private CgroupCollector collector;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        collector = new CgroupCollector(RealTree.layoutWith(root), HostPaths.system(), List.of(root),
                Duration.ofMinutes(5), rescanEvery, System::currentTimeMillis, CollectorStats.NONE);
        System.out.printf("%n[CollectorCycleBench] %s: %d cgroups%n", root, collector.collect().live().size());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        collector.close();
    }

    @Benchmark
    public Snapshot cycle() {
        return collector.collect();
    }
}
