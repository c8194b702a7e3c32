package dev.corral.agent.api;

import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.POST;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import dev.corral.exporter.testing.Workloads;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The policies on real contention, through a real agent and runtime: CPU hogs, a memory hog under a parent
 * limit, an IO flooder (stress-ng, fio), admission and hot reload. Assertions are on what the policy controls
 * (the knobs it writes, usage measured over a window after it acted), since other work shares this machine.
 */
class PolicyEndToEndTest {

    /** stress-ng needs a writable directory: the JVM's temp dir is one here and in the v2 guest, where /tmp may be
     *  the host's read-only one (a checkout under /tmp). */
    private static final String TMP = System.getProperty("java.io.tmpdir");

    private static final String ONLY = "'policies':{'cpuFairness':{'enabled':%s},'memoryPressure':{'enabled':false},"
            + "'oomProtection':{'enabled':%s},'ioFairness':{'enabled':%s}%s}";

    /**
     * Waits for things that take real work (allocating, starting processes) are this much longer in the v2 guest,
     * where qemu emulates the CPU. Measurement windows and the policies' own targets are not scaled.
     */
    private static final int SLOW = Workloads.inV2Guest() ? 4 : 1;

    private static String json(String s) {
        return s.replace('\'', '"');
    }

    private static String policies(boolean cpu, boolean oom, boolean io, String extra) {
        return String.format(ONLY, cpu, oom, io, extra);
    }

    private static void run(AgentFixture fx, String spec) throws Exception {
        AgentFixture.Response r = fx.unix(POST, "/v1/containers?start=true", json(spec));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    private static long number(Path file) throws Exception {
        return Long.parseLong(Files.readString(file).strip());
    }

    /** cpuacct.usage (v1) or cpu.stat usage_usec (v2), in nanoseconds. */
    private static long cpuNanos(AgentFixture fx, String name) throws Exception {
        if (fx.v2()) {
            for (String line : Files.readAllLines(fx.cgroupFile(name, "cpu", "cpu.stat"))) {
                if (line.startsWith("usage_usec ")) {
                    return Long.parseLong(line.substring(11).strip()) * 1000;
                }
            }
            throw new AssertionError("no usage_usec");
        }
        return number(fx.cgroupFile(name, "cpuacct", "cpuacct.usage"));
    }

    private static long throttledPeriods(AgentFixture fx, String name) throws Exception {
        for (String line : Files.readAllLines(fx.cgroupFile(name, "cpu", "cpu.stat"))) {
            if (line.startsWith("nr_throttled ")) {
                return Long.parseLong(line.substring(13).strip());
            }
        }
        throw new AssertionError("no nr_throttled");
    }

    /** {idle + iowait, all} ticks of one CPU's line in /proc/stat. */
    private static long[] cpuTicks(String cpu) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
            if (line.startsWith(cpu + " ")) {
                String[] f = line.trim().split("\\s+");
                long all = 0;
                for (int i = 1; i <= 8 && i < f.length; i++) {
                    all += Long.parseLong(f[i]);
                }
                return new long[] {Long.parseLong(f[4]) + Long.parseLong(f[5]), all};
            }
        }
        throw new AssertionError("no " + cpu + " in /proc/stat");
    }

    private static String hog(String name) {
        // pinned to one CPU together, so the two hogs really compete (this machine has two cores)
        return "{'name':'" + name + "','command':['sh','-c','while :; do :; done'],"
                + "'limits':{'cpu':{'cpusetCpus':'1'}}}";
    }

    @Test
    void cpuWeights1To3GiveAUsageRatioOf1To3AndALoneHogIsNotCut() throws Exception {
        String policy = "{'classes':[{'name':'hi','weight':3,'selector':{'names':['hi']}},{'name':'lo','weight':1}],"
                + policies(true, false, false, "") + "}";
        try (AgentFixture fx = new AgentFixture(json(policy), false); EventRecorder events = new EventRecorder(fx)) {
            run(fx, hog("lo"));
            run(fx, hog("hi"));
            JsonObject set = events.await(e -> e.getString("type").equals("policy") && e.getString("name").equals("hi")
                    && e.getJsonObject("attributes").getString("action").equals("set-cpu-weight"), 10_000);
            assertThat(set.getJsonObject("attributes").getString("after")).isEqualTo(fx.v2() ? "cpu.weight 300"
                    : "cpu.shares 3072");
            String weightFile = fx.v2() ? "cpu.weight" : "cpu.shares";
            assertThat(number(fx.cgroupFile("hi", "cpu", weightFile))).isEqualTo(fx.v2() ? 300 : 3072);
            assertThat(number(fx.cgroupFile("lo", "cpu", weightFile))).isEqualTo(fx.v2() ? 100 : 1024);
            Thread.sleep(1000); // the kernel settles on the new weights
            long lo0 = cpuNanos(fx, "lo");
            long hi0 = cpuNanos(fx, "hi");
            long t0 = System.nanoTime();
            Thread.sleep(6000);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double lo = (cpuNanos(fx, "lo") - lo0) / 1e9 / seconds;
            double hi = (cpuNanos(fx, "hi") - hi0) / 1e9 / seconds;
            System.out.printf("cpu 1:3 — lo %.3f cores, hi %.3f cores, ratio hi/lo %.2f%n", lo, hi, hi / lo);
            assertThat(hi / lo).as("usage ratio hi/lo (lo %.3f, hi %.3f cores)", lo, hi).isBetween(2.7, 3.3);

            String metrics = fx.unix(GET, "/metrics", null).body();
            assertThat(metrics).contains("corral_policy_actions_total{action=\"set-cpu-weight\",policy=\"cpuFairness\","
                    + "reason=\"class-weight\"}");
            assertThat(metrics).containsPattern("corral_policy_cpu_entitled_cores\\{id=\"" + fx.parent
                    + "/hi\",name=\"hi\"\\} [0-9.]+");
            assertThat(metrics).containsPattern("corral_policy_dominant_share\\{id=\"" + fx.parent
                    + "/lo\",name=\"lo\"\\} 0\\.[0-9]+");

            // hi goes: lo, alone, is never given a quota and keeps what the pair had.
            fx.unix(DELETE, "/v1/containers/hi?force=true", null);
            Thread.sleep(500);
            long throttled0 = throttledPeriods(fx, "lo");
            lo0 = cpuNanos(fx, "lo");
            long[] cpu1 = cpuTicks("cpu1");
            t0 = System.nanoTime();
            Thread.sleep(4000);
            long[] cpu1End = cpuTicks("cpu1");
            double idle = (double) (cpu1End[0] - cpu1[0]) / Math.max(1, cpu1End[1] - cpu1[1]);
            double alone = (cpuNanos(fx, "lo") - lo0) / 1e9 / ((System.nanoTime() - t0) / 1e9);
            System.out.printf("cpu lone hog — %.3f cores (the pair had %.3f), CPU 1 idle %.0f %%%n", alone, lo + hi,
                    idle * 100);
            assertThat(Files.readString(fx.cgroupFile("lo", "cpu", fx.v2() ? "cpu.max" : "cpu.cfs_quota_us")).strip())
                    .startsWith(fx.v2() ? "max" : "-1");
            assertThat(throttledPeriods(fx, "lo")).isEqualTo(throttled0);
            assertThat(events.policy("cpuFairness", "set-cpu-quota")).as("no quota for a lone hog")
                    .noneMatch(e -> e.getString("name").equals("lo")
                            && e.getLong("timeMillis") > System.currentTimeMillis() - 4500);
            // No quota and no throttled period: the policy took nothing from it (what it gets is the kernel's and
            // the other work's on this machine): it leaves CPU 1 idle no more than when it had hi next to it,
            // or gets back what hi had (other helpers' load on CPU 1 can take it).
            assertThat(alone >= 1.5 * lo || idle < 0.05).as("alone %.3f cores vs. %.3f next to hi; CPU 1 idle %.0f %%",
                    alone, lo, idle * 100).isTrue();
        }
    }

    @Test
    void dryRunDecidesAndPublishesButChangesNothing() throws Exception {
        String policy = "{'classes':[{'name':'hi','weight':3,'selector':{'names':['hi']}},{'name':'lo','weight':1}],"
                + policies(true, false, false, "") + "}";
        try (AgentFixture fx = new AgentFixture(json(policy), true); EventRecorder events = new EventRecorder(fx)) {
            run(fx, hog("lo"));
            run(fx, hog("hi"));
            JsonObject set = events.await(e -> e.getString("type").equals("policy") && e.getString("name").equals("hi")
                    && e.getJsonObject("attributes").getString("action").equals("set-cpu-weight"), 10_000);
            assertThat(set.getJsonObject("attributes").getBoolean("dryRun")).isTrue();
            Thread.sleep(2000);
            String weightFile = fx.v2() ? "cpu.weight" : "cpu.shares";
            assertThat(number(fx.cgroupFile("hi", "cpu", weightFile))).isEqualTo(fx.v2() ? 100 : 1024);
            assertThat(Files.readString(fx.cgroupFile("hi", "cpu", fx.v2() ? "cpu.max" : "cpu.cfs_quota_us")).strip())
                    .startsWith(fx.v2() ? "max" : "-1");
            assertThat(events.policy(null, null)).allSatisfy(e ->
                    assertThat(e.getJsonObject("attributes").getBoolean("dryRun")).isTrue());
        }
    }

    @Test
    void aLowPriorityMemoryHogIsKilledBeforeTheKernelOomKillerWhileTheHighPriorityOneSurvives() throws Exception {
        String policy = "{'classes':[{'name':'hi','priority':100,'selector':{'names':['hi']}},"
                + "{'name':'lo','priority':10}]," + policies(false, true, false,
                ",'oomProtection':{'parentUsageAbove':0.8,'cooldown':'3s'}") + "}";
        try (AgentFixture fx = new AgentFixture(json(policy), false); EventRecorder events = new EventRecorder(fx)) {
            long limit = 1L << 30;
            Path parentLimit = fx.parentFile("memory", fx.v2() ? "memory.max" : "memory.limit_in_bytes");
            Files.writeString(parentLimit, Long.toString(limit));
            Path usageFile = fx.parentFile("memory", fx.v2() ? "memory.current" : "memory.usage_in_bytes");
            run(fx, "{'name':'hi','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','300M',"
                    + "'--vm-keep','--vm-hang','0','-t','60']}");
            long deadline = System.currentTimeMillis() + 15_000L * SLOW;
            while (number(fx.cgroupFile("hi", "memory", fx.v2() ? "memory.current" : "memory.usage_in_bytes"))
                    < 280L << 20) {
                assertThat(System.currentTimeMillis()).as("hi allocates its 300 MiB").isLessThan(deadline);
                Thread.sleep(50);
            }
            // lo grows by 48 MiB every half second, to 768 MiB: together past the 1 GiB parent limit
            run(fx, "{'name':'lo','command':['sh','-c','for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do "
                    + "stress-ng --temp-path " + TMP + " --vm 1 --vm-bytes 48M --vm-keep --vm-hang 0 -t 60 >/dev/null 2>&1 & "
                    + "sleep 0.5; done; "
                    + "wait']}");
            long crossed = 0;
            deadline = System.currentTimeMillis() + 30_000L * SLOW;
            while (events.policy("oomProtection", "kill").isEmpty()) {
                if (crossed == 0 && number(usageFile) > 0.8 * limit) {
                    crossed = System.currentTimeMillis();
                }
                assertThat(System.currentTimeMillis()).as("a victim within %d s", 30 * SLOW).isLessThan(deadline);
                Thread.sleep(20);
            }
            JsonObject kill = events.policy("oomProtection", "kill").get(0);
            assertThat(kill.getString("name")).isEqualTo("lo");
            assertThat(kill.getJsonObject("attributes").getString("reason")).isEqualTo("parent-limit");
            System.out.printf("oom protection — parent crossed 80 %% at %d, kill decided at %d (%d ms)%n", crossed,
                    kill.getLong("timeMillis"), kill.getLong("timeMillis") - crossed);
            if (crossed > 0) {
                assertThat(kill.getLong("timeMillis") - crossed).as("threshold crossed → action").isLessThanOrEqualTo(2000);
            }
            JsonObject exit = new JsonObject(fx.unix(POST, "/v1/containers/lo/wait", null).body());
            assertThat(exit.getInteger("signal")).isEqualTo(9);
            assertThat(exit.getBoolean("oomKilled")).as("killed by the policy, not the kernel").isFalse();
            Thread.sleep(1000);
            JsonObject hi = new JsonObject(fx.unix(GET, "/v1/containers/hi", null).body());
            assertThat(hi.getString("state")).isEqualTo("running");
            assertThat(events.policy("oomProtection", null)).as("exactly one victim").hasSize(1);
            // v1 counts a kill in the victim's own memory cgroup (v2's memory.events also in its ancestors)
            assertThat(oomKills(fx.parentFile("memory", fx.v2() ? "memory.events" : "memory.oom_control"))
                    + oomKills(fx.cgroupFile("hi", "memory", fx.v2() ? "memory.events" : "memory.oom_control")))
                    .as("the kernel's OOM kills in the parent and hi").isZero();
            Files.writeString(parentLimit, fx.v2() ? "max" : "-1");
        }
    }

    @Test
    void memoryReliefSqueezesTheContainerAboveItsShareWhenTheParentIsTight() throws Exception {
        String policy = "{'policies':{'cpuFairness':{'enabled':false},'oomProtection':{'enabled':false},"
                + "'ioFairness':{'enabled':false},'admission':{'enabled':false},'memoryPressure':{'parentUsageAbove':0.8,"
                + "'tighten':0.1,'interval':'1s'}}}";
        try (AgentFixture fx = new AgentFixture(json(policy), false); EventRecorder events = new EventRecorder(fx)) {
            long limit = 1L << 30;
            Path parentLimit = fx.parentFile("memory", fx.v2() ? "memory.max" : "memory.limit_in_bytes");
            Files.writeString(parentLimit, Long.toString(limit));
            run(fx, "{'name':'small','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','100M',"
                    + "'--vm-keep','--vm-hang','0','-t','60']}");
            run(fx, "{'name':'big','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','750M',"
                    + "'--vm-keep','--vm-hang','0','-t','60']}");
            String knob = fx.v2() ? "memory.high" : "memory.soft_limit_in_bytes";
            JsonObject squeeze = events.await(e -> e.getString("type").equals("policy")
                    && e.getString("name").equals("big")
                    && e.getJsonObject("attributes").getString("policy").equals("memoryPressure"), 20_000L * SLOW);
            assertThat(squeeze.getJsonObject("attributes").getString("action"))
                    .isEqualTo(fx.v2() ? "set-memory-high" : "set-memory-soft-limit");
            assertThat(squeeze.getJsonObject("attributes").getString("reason")).isEqualTo("host-tight");
            long squeezed = number(fx.cgroupFile("big", "memory", knob));
            // never below its entitlement: half of the parent's 1 GiB
            assertThat(squeezed).isBetween(512L << 20, 750L << 20);
            assertThat(events.policy("memoryPressure", null)).as("small is within its share")
                    .noneMatch(e -> e.getString("name").equals("small"));
            Files.writeString(parentLimit, fx.v2() ? "max" : "-1");
        }
    }

    private static long oomKills(Path f) throws Exception {
        for (String line : Files.readAllLines(f)) {
            if (line.startsWith("oom_kill ")) {
                return Long.parseLong(line.substring(9).strip());
            }
        }
        throw new AssertionError("no oom_kill in " + f);
    }

    /** Bytes written to 254:0 (or the device of /var/tmp) by a container, from the blkio/io counters. */
    private static long written(AgentFixture fx, String name, String device) throws Exception {
        if (fx.v2()) {
            for (String line : Files.readAllLines(fx.cgroupFile(name, "blkio", "io.stat"))) {
                if (line.startsWith(device + " ")) {
                    for (String kv : line.split(" ")) {
                        if (kv.startsWith("wbytes=")) {
                            return Long.parseLong(kv.substring(7));
                        }
                    }
                }
            }
            return 0;
        }
        for (String line : Files.readAllLines(fx.cgroupFile(name, "blkio", "blkio.throttle.io_service_bytes"))) {
            if (line.startsWith(device + " Write ")) {
                return Long.parseLong(line.substring(device.length() + 7).strip());
            }
        }
        return 0;
    }

    /** The write limit on the device in force for a container, in bytes/s (blkio.throttle / io.max wbps). */
    private static long writeLimit(AgentFixture fx, String name, String device) throws Exception {
        Path file = fx.cgroupFile(name, "blkio", fx.v2() ? "io.max" : "blkio.throttle.write_bps_device");
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith(device + " ")) {
                for (String kv : line.split(" ")) {
                    if (fx.v2() && kv.startsWith("wbps=") && !kv.equals("wbps=max")) {
                        return Long.parseLong(kv.substring(5));
                    }
                }
                if (!fx.v2()) {
                    return Long.parseLong(line.substring(device.length() + 1).strip());
                }
            }
        }
        throw new AssertionError("no write limit on " + device + " in " + file);
    }

    /**
     * The flooder keeps 16 direct writes in flight, the other writer one at a time: without the policy the
     * kernel (mq-deadline, v1 has no IO fairness) gives the second about 1 % of the device here
     * (docs/benchmarks.md). Both want all they can get, so max-min entitles each to half of what the device does.
     */
    @Test
    void anIoFlooderIsThrottledSoAOneAtATimeWriterGetsItsShareAndTheThrottleGoesWhenContentionEnds()
            throws Exception {
        String policy = "{" + policies(false, false, true, ",'ioFairness':{'saturation':0.8,'headroom':0.8,"
                + "'liftAfter':'1s','minActive':'256k'}") + "}";
        String device = Workloads.writeDevice();
        String id = UUID.randomUUID().toString().substring(0, 8);
        // Here: two files on the root disk. In the v2 guest (/var/tmp is a tmpfs there): the two halves of its
        // scratch disk.
        Path floodFile = Workloads.writeTarget("corral-test-" + id + "-flood");
        Path singleFile = Workloads.writeTarget("corral-test-" + id + "-single");
        boolean scratch = !floodFile.startsWith("/var/tmp");
        String floodWhere = scratch ? "','--offset=0','--size=128M'" : "','--size=256M'";
        String singleWhere = scratch ? "','--offset=128M','--size=128M'" : "','--size=256M'";
        try (AgentFixture fx = new AgentFixture(json(policy), false); EventRecorder events = new EventRecorder(fx)) {
            run(fx, "{'name':'flood'," + Workloads.deviceRuleFor(floodFile)
                    + "'command':['fio','--name=flood','--filename=" + floodFile + floodWhere + ","
                    + "'--rw=write','--bs=1M','--direct=1','--ioengine=libaio','--iodepth=16','--time_based',"
                    + "'--runtime=" + 40 * SLOW + "']}");
            Thread.sleep(1500);
            run(fx, "{'name':'single'," + Workloads.deviceRuleFor(singleFile)
                    + "'command':['fio','--name=single','--filename=" + singleFile + singleWhere + ","
                    + "'--rw=write','--bs=1M','--direct=1','--ioengine=psync','--time_based',"
                    + "'--runtime=" + 40 * SLOW + "']}");
            JsonObject throttle = events.await(e -> e.getString("type").equals("policy")
                    && e.getString("name").equals("flood")
                    && e.getJsonObject("attributes").getString("action").equals("set-io-throttle"), 15_000L * SLOW);
            assertThat(throttle.getJsonObject("attributes").getJsonObject("inputs").getString("device")).isEqualTo(device);
            Path knob = fx.cgroupFile("flood", "blkio", fx.v2() ? "io.max" : "blkio.throttle.write_bps_device");
            assertThat(Files.readString(knob)).contains(device + " ");
            // the single writer takes what it is offered; the throttle follows. In the guest, rates swing with the
            // host's load (emulated IO needs host CPU): settle and average over twice as long.
            int window = SLOW > 1 ? 2 : 1;
            Thread.sleep(3000L * window);
            long limit0 = writeLimit(fx, "flood", device);
            long f0 = written(fx, "flood", device);
            long s0 = written(fx, "single", device);
            long t0 = System.nanoTime();
            Thread.sleep(5000L * window);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double flood = (written(fx, "flood", device) - f0) / seconds;
            double single = (written(fx, "single", device) - s0) / seconds;
            // the kernel holds the flooder to the limit in force (it may have moved during the window)
            long limit = Math.max(limit0, writeLimit(fx, "flood", device));
            assertThat(flood).as("flooder's rate vs. its write limit %d B/s", limit).isLessThanOrEqualTo(1.15 * limit);
            double half = (flood + single) / 2;
            double xf = Math.min(1, flood / half);
            double xs = Math.min(1, single / half);
            double jain = (xf + xs) * (xf + xs) / (2 * (xf * xf + xs * xs));
            System.out.printf("io — flooder %.1f MiB/s, one-at-a-time writer %.1f MiB/s, Jain %.3f; throttles: %s%n",
                    flood / 1048576, single / 1048576, jain, events.policy("ioFairness", null).stream()
                            .map(e -> e.getJsonObject("attributes").getString("after") + " (capacity "
                                    + e.getJsonObject("attributes").getJsonObject("inputs").getLong("capacityBytesPerSecond")
                                    / 1048576 + " MiB/s)").toList());
            assertThat(jain).as("Jain's index of used/entitled (flood %.1f, single %.1f MiB/s)", flood / 1048576,
                    single / 1048576).isGreaterThanOrEqualTo(0.9);

            fx.unix(DELETE, "/v1/containers/single?force=true", null);
            long stopped = System.currentTimeMillis();
            JsonObject lifted = events.await(e -> e.getString("type").equals("policy")
                    && e.getString("name").equals("flood")
                    && e.getJsonObject("attributes").getString("action").equals("lift-io-throttle"), 10_000L * SLOW);
            System.out.printf("io — throttle lifted %d ms after the other writer stopped%n",
                    lifted.getLong("timeMillis") - stopped);
            assertThat(lifted.getLong("timeMillis") - stopped).isLessThanOrEqualTo(2000);
            // v2 drops a device's line from io.max once all its limits are "max"
            assertThat(Files.readString(knob)).doesNotContain(device + " ");
        } finally {
            if (!scratch) {
                Files.deleteIfExists(floodFile);
                Files.deleteIfExists(singleFile);
            }
        }
    }

    @Test
    void admissionRefusesAnOvercommittingStartNamingTheResourceAndAReloadedPolicyLetsItIn() throws Exception {
        String big = "{'classes':[{'name':'big','guarantees':{'cpu':%s},'selector':{'labels':{'size':'big'}}}]}";
        try (AgentFixture fx = new AgentFixture(json(String.format(big, "1.5")), false);
             EventRecorder events = new EventRecorder(fx)) {
            run(fx, "{'name':'a','command':['sleep','60'],'labels':{'size':'big'}}");
            String b = json("{'name':'b','command':['sleep','60'],'labels':{'size':'big'}}");
            AgentFixture.Response refused = fx.unix(POST, "/v1/containers?start=true", b);
            assertThat(refused.status()).isEqualTo(409);
            assertThat(new JsonObject(refused.body()).getString("error")).contains("guaranteed cpu")
                    .contains("'b'");
            assertThat(fx.unix(GET, "/v1/containers/b", null).status()).as("nothing left behind").isEqualTo(404);
            assertThat(fx.unix(GET, "/metrics", null).body()).contains("corral_policy_actions_total{action=\"refuse\","
                    + "policy=\"admission\",reason=\"cpu-overcommitted\"} 1.0");

            // An invalid new file keeps the old policy and says why ...
            Files.writeString(fx.policyFile(), json("{'classes':[{'name':'big','weight':0}]}"));
            JsonObject rejected = events.await(e -> e.getString("type").equals("policy-rejected"), 5000);
            assertThat(rejected.getJsonObject("attributes").getString("path")).isEqualTo("classes[0].weight");
            assertThat(fx.unix(POST, "/v1/containers?start=true", b).status()).isEqualTo(409);
            // ... a valid one replaces it.
            Files.writeString(fx.policyFile(), json(String.format(big, "0.5")));
            events.await(e -> e.getString("type").equals("policy-loaded"), 5000);
            AgentFixture.Response admitted = fx.unix(POST, "/v1/containers?start=true", b);
            assertThat(admitted.status()).as(admitted.body()).isEqualTo(201);
            JsonObject admit = events.await(e -> e.getString("type").equals("policy") && e.getString("name").equals("b")
                    && e.getJsonObject("attributes").getString("action").equals("admit"), 5000);
            assertThat(admit.getJsonObject("attributes").getJsonObject("inputs").getDouble("dominantShare"))
                    .isEqualTo(0.25);
        }
    }
}
