package dev.corral.exporter.bench;

import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.read.NetworkReader;
import dev.corral.exporter.read.ReadBuffer;
import dev.corral.exporter.sample.NetInterface;
import dev.corral.exporter.testing.TestCgroup;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * One {@link NetworkReader#read} cycle over {@code cgroups} real cgroups of one {@code kind}, each with one
 * process: {@code own} a network namespace of its own with a veth pair (a container on a bridge: readlink of
 * ns/net plus one net/dev read), {@code host} the host's namespace (readlink only), {@code empty} no process (one
 * cgroup.procs read). Divide by {@code cgroups} for the cost per container. Needs root.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class NetworkReadBench {

    @Param({"own", "host", "empty"})
    public String kind;

    @Param("20")
    public int cgroups;

    private final List<TestCgroup> made = new ArrayList<>();
    private final List<String> paths = new ArrayList<>();
    private final ReadBuffer buffer = new ReadBuffer(16 * 1024);
    private NetworkReader reader;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        for (int i = 0; i < cgroups; i++) {
            TestCgroup cg = TestCgroup.create();
            made.add(cg);
            paths.add(cg.path());
            switch (kind) {
                case "own" -> cg.start("unshare", "--net", "sh", "-c",
                        "ip link add eth0 type veth peer name eth1 && exec sleep 600");
                case "host" -> cg.start("sleep", "600");
                default -> { }
            }
        }
        reader = new NetworkReader(CgroupLayoutDetector.detectSystem(), Path.of("/proc"));
        try {
            Thread.sleep(500); // the unshared shells made their veths and exec'd
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.out.printf("%n[NetworkReadBench] %s: %d of %d cgroups with interfaces%n", kind,
                reader.read(paths, buffer).size(), cgroups);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        for (TestCgroup cg : made) {
            cg.close();
        }
    }

    @Benchmark
    public Map<String, List<NetInterface>> cycle() {
        return reader.read(paths, buffer);
    }
}
