package dev.corral.exporter.read;

import static dev.corral.exporter.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.sample.NetInterface;
import dev.corral.exporter.testing.TestCgroup;
import dev.corral.exporter.testing.Workloads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Real network namespaces (unshare, nsenter) in real cgroups: which cgroups get interfaces, and that a namespace
 * shared by two cgroups is counted once, on the one whose process made it.
 */
@Tag("root")
@Tag("guest") // also in the v2 guest: which cgroups own a network namespace, read through cgroup.procs
class RealNetworkReaderTest {

    /**
     * A new network namespace with a veth pair d0-d1 in it; a neighbour entry for 10.213.7.2 on d0 makes what is
     * sent there leave on d0 (counted) without an ARP answer.
     */
    private static final String[] OWN_NETNS = {"unshare", "--net", "sh", "-c",
        "ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up"
            + " && ip addr add 10.213.7.1/24 dev d0 && ip neigh add 10.213.7.2 lladdr 02:00:00:00:07:02 dev d0"
            + " && exec sleep 60"};

    private static Map<String, List<NetInterface>> read(NetworkReader reader, String... cgroups) {
        return reader.read(List.of(cgroups), new ReadBuffer(4096));
    }

    @Test
    void ownShareHostAndNone() throws Exception {
        CgroupLayout layout = CgroupLayoutDetector.detectSystem();
        NetworkReader reader = new NetworkReader(layout, Path.of("/proc"));
        try (TestCgroup own = TestCgroup.create(); TestCgroup joined = TestCgroup.create();
             TestCgroup host = TestCgroup.create(); TestCgroup none = TestCgroup.create();
             TestCgroup empty = TestCgroup.create()) {
            // The v2 guest's kernel has no veth module loaded (its initramfs has only virtio and 9p): there the
            // namespaces have only lo, and what is checked is which cgroups own one (on v2's cgroup.procs).
            boolean guest = Workloads.inV2Guest();
            Process maker = guest ? own.start("unshare", "--net", "sleep", "60") : own.start(OWN_NETNS);
            long sleeper = awaitInterface(maker.pid());
            Thread.sleep(20); // the joiner's process must start measurably later (start time is in 10 ms ticks)
            // each counts once it exec'd sleep: before that it is unshare or nsenter, still in the host's namespace
            awaitInterface(joined.start("nsenter", "--net=/proc/" + sleeper + "/ns/net", "sleep", "60").pid());
            host.start("sleep", "60");
            awaitInterface(none.start("unshare", "--net", "sleep", "60").pid());
            // the pod's case both ways round: the joiner listed first must not take the namespace
            for (List<String> order : List.of(List.of(joined.path(), own.path()), List.of(own.path(), joined.path()))) {
                Map<String, List<NetInterface>> nets = reader.read(List.of(order.get(0), order.get(1), host.path(),
                        none.path(), empty.path(), "/"), new ReadBuffer(4096));
                assertThat(nets).containsOnlyKeys(own.path(), none.path());
                assertThat(nets.get(own.path())).extracting(NetInterface::name)
                        .containsExactlyInAnyOrderElementsOf(guest ? List.of() : List.of("d0", "d1"));
                assertThat(nets.get(none.path())).isEmpty(); // loopback only: no series
            }
            if (guest) {
                return;
            }
            // what is sent on d0 is counted (to an address on its subnet, in the test's own namespace)
            long before = d0(read(reader, own.path()).get(own.path())).transmitBytes();
            Process send = new ProcessBuilder("nsenter", "--net=/proc/" + sleeper + "/ns/net", "bash", "-c",
                    "head -c 3000 /dev/zero > /dev/udp/10.213.7.2/9").inheritIO().start();
            send.waitFor();
            long after = d0(read(reader, own.path()).get(own.path())).transmitBytes();
            assertThat(after - before).isGreaterThanOrEqualTo(3000);
        }
    }

    private static NetInterface d0(List<NetInterface> nets) {
        return nets.stream().filter(n -> n.name().equals("d0")).findFirst().orElseThrow();
    }

    /** Waits until the process exec'd sleep (its namespace, and d0 if it makes one, exist), returns its pid. */
    private static long awaitInterface(long pid) throws Exception {
        await(() -> Files.readString(Path.of("/proc/" + pid + "/comm")).trim().equals("sleep"), Duration.ofSeconds(30),
                "process " + pid + " to exec sleep in its namespace");
        return pid;
    }
}
