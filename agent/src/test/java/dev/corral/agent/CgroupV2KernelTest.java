package dev.corral.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Proves the v2 code on a real cgroup v2 kernel on every run: boots Debian's kernel under qemu
 * (tools/v2vm/run-in-v2vm.sh) and runs the real-cgroup test classes there, where the layout is pure v2 with
 * every controller. Production hosts are mostly v2; this host is hybrid.
 */
@Tag("vm")
@Tag("slow")
class CgroupV2KernelTest {

    /** Test classes that exercise real cgroups, and how many tests each has at least. */
    private static final List<String> GUEST_CLASSES = List.of(
            "dev.corral.exporter.collect.RealCgroupAccountingTest",
            // which cgroups own a network namespace, read through v2's cgroup.procs
            "dev.corral.exporter.read.RealNetworkReaderTest",
            "dev.corral.agent.server.AgentScrapeTest",
            "dev.corral.agent.cgroup.CgroupDriverTest",
            "dev.corral.agent.runtime.ContainerRuntimeTest",
            "dev.corral.agent.api.ApiTest",
            "dev.corral.agent.runtime.ImageContainerTest",
            // a host-root container's confinement (read-only, every submount too; the agent masked) on this kernel
            "dev.corral.agent.api.HostRootIsolationTest",
            // the kernel loads the BPF device filter (ContainerRuntimeTest proves what it allows and refuses)
            "dev.corral.agent.runtime.ShimDeviceProbeTest",
            // the policies on real contention: cpu.weight, memory.high with PSI, io.max, the v2 kill and freeze, the
            // admission queue
            "dev.corral.agent.api.PolicyEndToEndTest",
            "dev.corral.agent.api.PolicyV2GuestScenarios");
    /**
     * Tests run in a guest (and JVM) of their own. The IO policy test passes alone every time but, after the other
     * classes in the same guest JVM, twice saw the policy never act while both writers were busy (cause not found
     * yet: the failure message prints the writers' state); until then it runs alone, still on the real v2 kernel.
     */
    private static final List<String> ALONE = List.of(
            "dev.corral.agent.api.PolicyEndToEndTest#"
                    + "anIoFlooderIsThrottledSoAOneAtATimeWriterGetsItsShareAndTheThrottleGoesWhenContentionEnds");
    private static final int GUEST_TESTS = 73;

    @Test
    void realCgroupTestsPassOnACgroupV2Kernel() throws Exception {
        List<String> main = new ArrayList<>(GUEST_CLASSES);
        ALONE.forEach(t -> main.add("!" + t));
        int succeeded = runInGuest(main);
        for (String t : ALONE) {
            succeeded += runInGuest(List.of(t));
        }
        assertThat(succeeded).as("succeeded in the v2 guest").isGreaterThanOrEqualTo(GUEST_TESTS);
    }

    /** Boots the guest, runs the selected tests there and returns how many succeeded; fails on any failure. */
    private static int runInGuest(List<String> selected) throws Exception {
        Path repo = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).toAbsolutePath().normalize();
        Path harness = repo.resolve("tools/v2vm/run-in-v2vm.sh");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = ProcessHandle.current().info().command().orElse("java");

        // The scratch disk at a slow real disk's speed: the IO policy test must contend for the device, not for
        // the emulated CPU (uncapped, qemu writes it at whatever the host CPU allows; at 48 MiB/s a loaded host
        // left the guest unable to reach the cap, and the device never was the bottleneck).
        List<String> argv = new ArrayList<>(List.of(harness.toString(), "--timeout", "900", "--disk-mbps", "24", "--",
                java,
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath,
                "dev.corral.exporter.testing.GuestTestMain"));
        argv.addAll(selected);
        Path log = Files.createTempFile("corral-v2vm-", ".log");
        try {
            Process vm = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean finished = vm.waitFor(1000, TimeUnit.SECONDS);
            if (!finished) {
                vm.destroy();
                vm.waitFor(30, TimeUnit.SECONDS);
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            System.out.println(output);
            assertThat(finished).as("the VM run finished").isTrue();
            Matcher summary = Pattern.compile("GUEST-TESTS .* found=(\\d+) succeeded=(\\d+) failed=(\\d+) "
                    + "aborted=(\\d+)").matcher(output);
            assertThat(summary.find()).as("the guest printed its test summary").isTrue();
            List<String> failures = output.lines().filter(line -> line.startsWith("GUEST-FAILED ")).toList();
            assertThat(Integer.parseInt(summary.group(3))).as("failed in the v2 guest: %s", failures).isZero();
            assertThat(Integer.parseInt(summary.group(4))).as("aborted in the v2 guest").isZero();
            assertThat(vm.exitValue()).isZero();
            return Integer.parseInt(summary.group(2));
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
