package dev.corral.agent.api;

import static dev.corral.exporter.testing.Await.await;
import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.POST;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupMode;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Issue #14: two busy containers pinned to CPU 0 with --cpu-shares 256 and 768, started while eight busy loops
 * in a cgroup of their own load both CPUs, under the embedded default policy. The kernel alone splits CPU 0 1:3
 * between them; the policy once made it 1:7 in about one start of three (a cgroup sampled before its cpuset was
 * written was entitled to nothing and quota'd at 1 % of a core, then the quota flapped). Repeated, each start
 * measured from its first moments: the split never goes below the kernel's 1:3 beyond noise, no quota is ever set
 * below a container's weighted share of CPU 0, none is entitled to nothing, and no quota is set, lifted and set
 * again.
 */
@Tag("root")
class CpuFairnessUnderLoadTest {

    private static final int REPEATS = 9;
    private static final int OUTSIDE_LOOPS = 8;
    /** The kernel's 3:1 from the shares, plus what noise on a shared 2-CPU machine adds to a 3.5 s window. */
    private static final double MAX_RATIO = 3.9;

    @Test
    void twoPinnedContainersStartedUnderHeavyOutsideLoadAreNeverSplitWorseThanTheKernelsOneToThree()
            throws Exception {
        Path rootfs = busyboxRootfs();
        List<String> ratios = new ArrayList<>();
        // The containers' parent and the outside load get four times the default weight, so that the load is heavy
        // for the containers and they get enough of CPU 0 to count as busy whatever else runs on this shared
        // machine, while this JVM (the agent) stays at the default, slowed by the load as it was in the issue.
        try (AgentFixture fx = new AgentFixture(null, false); EventRecorder events = new EventRecorder(fx);
             OutsideLoad load = new OutsideLoad(OUTSIDE_LOOPS)) {
            Files.writeString(fx.parentFile("cpu", fx.v2() ? "cpu.weight" : "cpu.shares"), fx.v2() ? "400" : "4096");
            Thread.sleep(500);
            for (int i = 0; i < REPEATS; i++) {
                String w1 = "w1-" + i;
                String w3 = "w3-" + i;
                run(fx, spec(w1, 256, rootfs));
                run(fx, spec(w3, 768, rootfs));
                Thread.sleep(300);
                long a0 = fx.dirs.cpuUsageNanos(w1);
                long b0 = fx.dirs.cpuUsageNanos(w3);
                long t0 = System.nanoTime();
                Thread.sleep(3500);
                double seconds = (System.nanoTime() - t0) / 1e9;
                double a = (fx.dirs.cpuUsageNanos(w1) - a0) / 1e9 / seconds;
                double b = (fx.dirs.cpuUsageNanos(w3) - b0) / 1e9 / seconds;
                ratios.add(String.format(Locale.ROOT, "%.2f (%.3f/%.3f)", b / a, b, a));
                System.out.printf("cpu under outside load, start %d — w1 %.3f w3 %.3f cores, 1:%.2f%n", i, a, b, b / a);
                assertThat(a).as("w1 runs (start %d; w3 %.3f cores)", i, b).isGreaterThan(0.01);
                assertThat(b / a).as("w3/w1 at start %d (w1 %.3f, w3 %.3f cores); so far %s", i, a, b, ratios)
                        .isLessThanOrEqualTo(MAX_RATIO);
                assertThat(fx.unix(DELETE, "/v1/containers/" + w1 + "?force=true", null).status()).isEqualTo(204);
                assertThat(fx.unix(DELETE, "/v1/containers/" + w3 + "?force=true", null).status()).isEqualTo(204);
            }
            System.out.println("cpu under outside load, w3/w1 per start: " + ratios);
            List<JsonObject> cpu = events.policy("cpuFairness", null);
            for (JsonObject e : cpu) {
                JsonObject at = e.getJsonObject("attributes");
                String action = at.getString("action");
                if (!action.equals("set-cpu-quota")) {
                    continue;
                }
                double weightedShare = e.getString("name").startsWith("w1-") ? 0.25 : 0.75; // of CPU 0
                double entitled = at.getJsonObject("inputs").getDouble("entitledCores");
                double after = Double.parseDouble(at.getString("after").replace(" cores", ""));
                assertThat(entitled).as("%s", e).isGreaterThanOrEqualTo(weightedShare - 0.005);
                assertThat(after).as("%s", e).isGreaterThanOrEqualTo(weightedShare - 0.005);
            }
            for (int i = 0; i < REPEATS; i++) {
                for (String name : List.of("w1-" + i, "w3-" + i)) {
                    List<String> sequence = cpu.stream().filter(e -> e.getString("name").equals(name))
                            .map(e -> e.getJsonObject("attributes").getString("action"))
                            .filter(a -> a.endsWith("-cpu-quota")).toList();
                    assertThat(String.join(",", sequence)).as("%s: set, lifted and set again", name)
                            .doesNotContain("set-cpu-quota,lift-cpu-quota,set-cpu-quota");
                }
            }
        } finally {
            dev.corral.agent.image.Trees.delete(rootfs);
        }
    }

    private static String spec(String name, long shares, Path rootfs) {
        return ("{'name':'" + name + "','rootfs':'" + rootfs + "','command':['sh','-c','while :; do :; done'],"
                + "'limits':{'cpu':{'shares':" + shares + ",'cpusetCpus':'0'}}}").replace('\'', '"');
    }

    private static void run(AgentFixture fx, String spec) throws Exception {
        AgentFixture.Response r = fx.unix(POST, "/v1/containers?start=true", spec);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    /** A root with busybox as /bin/sh. */
    private static Path busyboxRootfs() throws Exception {
        Path root = Files.createTempDirectory("corral-cpufair-rootfs");
        Path bin = Files.createDirectories(root.resolve("bin"));
        Files.copy(dev.corral.agent.image.TestImages.BUSYBOX, bin.resolve("busybox"));
        Files.createSymbolicLink(bin.resolve("sh"), Path.of("busybox"));
        for (String dir : List.of("proc", "dev", "tmp", "etc", "sys")) {
            Files.createDirectories(root.resolve(dir));
        }
        return root;
    }

    /**
     * Busy loops pinned in turn to CPU 0 and CPU 1, in a cpu cgroup of their own made for them (a sibling of the
     * agent's parent, four times the default weight); closing kills them (by their pids) and removes the cgroup.
     */
    static final class OutsideLoad implements AutoCloseable {

        private final Path dir;
        private final List<Process> loops = new ArrayList<>();

        OutsideLoad(int n) throws Exception {
            CgroupLayout layout = CgroupLayoutDetector.detectSystem();
            var h = layout.mode() == CgroupMode.V2 ? layout.unified().orElseThrow() : layout.hierarchyOf("cpu").orElseThrow();
            dir = h.dirOf("/corral-test-cpufair-load-" + UUID.randomUUID().toString().substring(0, 8)).orElseThrow();
            Files.createDirectory(dir);
            try {
                boolean v2 = layout.mode() == CgroupMode.V2;
                Files.writeString(dir.resolve(v2 ? "cpu.weight" : "cpu.shares"), v2 ? "400" : "4096");
                for (int i = 0; i < n; i++) {
                    Process p = new ProcessBuilder("taskset", "-c", Integer.toString(i % 2), "sh", "-c",
                            "while :; do :; done").redirectErrorStream(true).start();
                    loops.add(p);
                    Files.writeString(dir.resolve("cgroup.procs"), Long.toString(p.pid()));
                }
            } catch (Exception e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() throws Exception {
            for (Process p : loops) {
                p.destroyForcibly();
            }
            for (Process p : loops) {
                p.waitFor();
            }
            await(() -> {
                try {
                    Files.deleteIfExists(dir);
                    return true;
                } catch (java.nio.file.FileSystemException e) { // busy until the killed loops are gone
                    return false;
                }
            }, Duration.ofSeconds(5), "the cgroup " + dir + " to be removable");
        }
    }
}
