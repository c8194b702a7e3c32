package dev.corral.exporter.bench;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupScanner;
import dev.corral.exporter.discovery.Hierarchy;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.SortedSet;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One {@link CgroupScanner#scan()} (the listing part of the collector's rescan) of a real cgroup tree, which
 * a script must make first: bench/rescan-vs-inotify.sh makes {@code /corral-bench-scan} with 1000
 * children in every hierarchy the agent walks and passes {@code -p root=...}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ScanBench {

    /** The cgroup path whose subtree is listed. */
    @Param("/corral-bench-scan")
    public String root;

    private CgroupScanner scanner;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        CgroupLayout layout = RealTree.layoutWith(root);
        scanner = new CgroupScanner(layout, List.of(root));
        System.out.printf("%n[ScanBench] %s: %d cgroups in %d hierarchies%n", root, scanner.scan().size(),
                layout.walked().size());
    }

    @Benchmark
    public SortedSet<String> scan() {
        return scanner.scan();
    }
}

/** Shared by the benchmarks that need a real tree. */
final class RealTree {

    private RealTree() {
    }

    static CgroupLayout layoutWith(String root) throws IOException {
        CgroupLayout layout = CgroupLayoutDetector.detectSystem();
        boolean exists = false;
        for (Hierarchy h : layout.walked()) {
            exists |= h.dirOf(root).map(Files::isDirectory).orElse(false);
        }
        if (!exists) {
            throw new IllegalStateException("no cgroup " + root + " in any hierarchy: make the tree first "
                    + "(bench/rescan-vs-inotify.sh does)");
        }
        return layout;
    }
}
