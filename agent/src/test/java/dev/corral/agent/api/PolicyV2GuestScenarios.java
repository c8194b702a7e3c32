package dev.corral.agent.api;

import static dev.corral.exporter.testing.Await.await;
import static dev.corral.agent.testing.TestRoots.HOST;
import static io.vertx.core.http.HttpMethod.POST;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import dev.corral.exporter.testing.Workloads;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Policy behaviour only a cgroup v2 kernel has: memory relief through {@code memory.high}, loosened when the
 * container stalls on memory (its own PSI) and tightened slowly, never below its guarantee. Run by
 * {@code CgroupV2KernelTest} in the qemu guest only (the name keeps surefire from picking it up on this hybrid
 * host); it fails on any other layout. The rest of the policies run there from {@link PolicyEndToEndTest}.
 */
@Tag("vm")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class PolicyV2GuestScenarios {

    /** stress-ng needs a writable directory: the JVM's temp dir is one here and in the v2 guest, where /tmp may be
     *  the host's read-only one (a checkout under /tmp). */
    private static final String TMP = System.getProperty("java.io.tmpdir");

    private static final long MIB = 1L << 20;

    private static long number(Path file) throws Exception {
        return Long.parseLong(Files.readString(file).strip());
    }

    /** A field of a flat keyed file (memory.events) or of the "some" line of a PSI file (total=). */
    private static long field(Path file, String key) throws Exception {
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith(key + " ")) {
                return Long.parseLong(line.substring(key.length() + 1).strip());
            }
            if (line.startsWith("some ") && key.equals("total")) {
                return Long.parseLong(line.substring(line.indexOf("total=") + 6).strip());
            }
        }
        throw new AssertionError("no " + key + " in " + file);
    }

    /** An audit record's value: "261.0MiB", or "max". */
    private static long bytes(String audit) {
        if (audit.equals("max")) {
            return Long.MAX_VALUE;
        }
        assertThat(audit).endsWith("MiB");
        return (long) (Double.parseDouble(audit.substring(0, audit.length() - 3)) * MIB);
    }

    /**
     * The parent (640 MiB) holds a 260 MiB resident container of weight 3 and a hog of weight 1 that maps,
     * touches and unmaps 300 MiB over and over (no swap: only memory.high's throttling holds it back). Together
     * they pass 80 % of the parent, the hog is above its entitlement (its 240 MiB guarantee; its weighted share is
     * 160 MiB), so it is squeezed: the kernel then throttles it at memory.high (memory.events "high", PSI), the
     * policy sees it stall and loosens its memory.high, and squeezes it again later, one step per interval.
     */
    @Test
    void memoryHighIsTightenedSlowlyLoosenedWhenTheContainerStallsAndNeverSetBelowTheGuarantee() throws Exception {
        String policy = "{'classes':[{'name':'hog','weight':1,'guarantees':{'memory':'240M'},"
                + "'selector':{'names':['hog']}},{'name':'resident','weight':3}],"
                + "'policies':{'cpuFairness':{'enabled':false},'oomProtection':{'enabled':false},"
                + "'ioFairness':{'enabled':false},'admission':{'enabled':false},"
                + "'memoryPressure':{'parentUsageAbove':0.8,'pressureTarget':0.05,'tighten':0.1,'loosen':0.25,"
                + "'interval':'1s','relaxAfter':'60s'}}}";
        try (AgentFixture fx = new AgentFixture(policy.replace('\'', '"'), false);
             EventRecorder events = new EventRecorder(fx)) {
            Workloads.expectLayout(dev.corral.exporter.discovery.CgroupLayoutDetector.detectSystem());
            assertThat(fx.v2()).as("memory.high and per-cgroup PSI need a cgroup v2 kernel").isTrue();
            Path parentLimit = fx.parentFile("memory", "memory.max");
            Files.writeString(parentLimit, Long.toString(640 * MIB));
            run(fx, "{" + HOST + "'name':'resident','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','260M',"
                    + "'--vm-keep','--vm-hang','0','-t','120']}");
            await(() -> number(fx.cgroupFile("resident", "memory", "memory.current")) >= 250 * MIB,
                    Duration.ofSeconds(60), "resident to allocate its 260 MiB");
            run(fx, "{" + HOST + "'name':'hog','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','300M',"
                    + "'-t','120']}");
            Path events0 = fx.cgroupFile("hog", "memory", "memory.events");
            Path pressure = fx.cgroupFile("hog", "memory", "memory.pressure");
            // Counted before the squeeze (memory.high is still max): the kernel may throttle the hog, and the policy
            // loosen it, before the squeeze event is even seen here (CI once read +0 events after it).
            long highEvents0 = field(events0, "high");
            long stalled0 = field(pressure, "total");

            JsonObject squeeze = events.await(e -> isMemory(e, "hog", "host-tight"), 60_000);
            long high = bytes(squeeze.getJsonObject("attributes").getString("after"));
            assertThat(high).as("squeezed, never below the 240 MiB guarantee").isBetween(240 * MIB, 300 * MIB);

            // The kernel throttles the hog at memory.high; the policy sees the stall and gives room fast.
            JsonObject loosen = events.await(e -> isMemory(e, "hog", "stalled"), 60_000);
            JsonObject attrs = loosen.getJsonObject("attributes");
            long before = bytes(attrs.getString("before"));
            long after = bytes(attrs.getString("after"));
            System.out.printf("memory.high — squeezed to %d MiB; stalled %.0f %% of the time at %d MiB, loosened to "
                    + "%d MiB; memory.events high +%d, PSI some +%d us%n", high / MIB,
                    attrs.getJsonObject("inputs").getDouble("memoryPressure") * 100, before / MIB, after / MIB,
                    field(events0, "high") - highEvents0, field(pressure, "total") - stalled0);
            assertThat(attrs.getString("action")).isEqualTo("set-memory-high");
            assertThat(attrs.getJsonObject("inputs").getDouble("memoryPressure")).isGreaterThan(0.05);
            assertThat(after).as("loosened by a quarter").isBetween((long) (before * 1.2), (long) (before * 1.3));
            assertThat(field(events0, "high")).as("the kernel throttled the hog at memory.high")
                    .isGreaterThan(highEvents0);
            assertThat(field(pressure, "total")).as("the hog stalled on memory").isGreaterThan(stalled0);

            // Tightened again, slowly: one step per interval, never below the guarantee.
            long loosenedAt = loosen.getLong("timeMillis");
            events.await(e -> isMemory(e, "hog", "host-tight") && e.getLong("timeMillis") > loosenedAt, 60_000);
            List<JsonObject> changes = events.policy("memoryPressure", null).stream()
                    .filter(e -> e.getString("name").equals("hog")).toList();
            for (int i = 0; i < changes.size(); i++) {
                JsonObject a = changes.get(i).getJsonObject("attributes");
                assertThat(bytes(a.getString("after"))).as("change %d never below the guarantee", i)
                        .isGreaterThanOrEqualTo(240 * MIB);
                if (i > 0) {
                    assertThat(changes.get(i).getLong("timeMillis") - changes.get(i - 1).getLong("timeMillis"))
                            .as("changes at least an interval apart").isGreaterThanOrEqualTo(1000);
                }
                if (a.getString("reason").equals("host-tight")) {
                    long from = Math.min(bytes(a.getString("before")),
                            a.getJsonObject("inputs").getLong("workingSetBytes"));
                    assertThat(bytes(a.getString("after"))).as("a squeeze step takes at most 10 %% of %d", from)
                            .isGreaterThanOrEqualTo((long) (0.9 * from) - MIB);
                }
            }
            assertThat(events.policy("memoryPressure", null)).as("resident is within its share")
                    .noneMatch(e -> e.getString("name").equals("resident"));
            Files.writeString(parentLimit, "max");
        }
    }

    private static boolean isMemory(JsonObject e, String name, String reason) {
        return e.getString("type").equals("policy") && e.getString("name").equals(name)
                && e.getJsonObject("attributes").getString("policy").equals("memoryPressure")
                && e.getJsonObject("attributes").getString("reason").equals(reason);
    }

    private static void run(AgentFixture fx, String spec) throws Exception {
        AgentFixture.Response r = fx.unix(POST, "/v1/containers?start=true", spec.replace('\'', '"'));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }
}
