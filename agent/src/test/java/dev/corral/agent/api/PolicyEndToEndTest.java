package dev.corral.agent.api;

import static dev.corral.exporter.testing.Await.await;
import static dev.corral.agent.testing.TestRoots.HOST;
import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.POST;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import dev.corral.agent.testing.TestRoots;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import dev.corral.exporter.testing.Workloads;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The policies on real contention, through a real agent and runtime: CPU hogs, a memory hog under a parent
 * limit, an IO flooder (stress-ng, fio), admission and hot reload. Assertions are on what the policy controls
 * (the knobs it writes, usage measured over a window after it acted), since other work shares this machine.
 */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
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
        return fx.dirs.cpuUsageNanos(name);
    }

    private static long throttledPeriods(AgentFixture fx, String name) throws Exception {
        return fx.dirs.throttledPeriods(name);
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
        return "{" + HOST + "'name':'" + name + "','command':['sh','-c','while :; do :; done'],"
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
                    + "/lo\",name=\"lo\"\\} (0\\.[0-9]+|[1-9](\\.[0-9]+)?E-[0-9]+)"); // a fraction; Java prints a small one as 1.27E-4

            // hi goes: lo, alone, is never given a quota and keeps what the pair had. On their one CPU lo is
            // entitled to a quarter, which is what the kernel gives it, so noise may have capped it there: such a
            // quota is lifted liftAfter (2 s) after contention ends.
            fx.unix(DELETE, "/v1/containers/hi?force=true", null);
            Path loQuota = fx.cgroupFile("lo", "cpu", fx.v2() ? "cpu.max" : "cpu.cfs_quota_us");
            long liftBy = System.currentTimeMillis() + 5000L * SLOW;
            while (!Files.readString(loQuota).strip().startsWith(fx.v2() ? "max" : "-1")) {
                assertThat(System.currentTimeMillis()).as("lo's quota lifted").isLessThan(liftBy);
                Thread.sleep(100);
            }
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

    /**
     * Cores used by a and b over {@code millis}, and what the policy entitled them to on average over the same
     * time (its metric, sampled every 250 ms: one interval's entitlement follows that interval's noisy demand).
     */
    private static double[][] usedAndEntitled(AgentFixture fx, long millis) throws Exception {
        long a0 = cpuNanos(fx, "a");
        long b0 = cpuNanos(fx, "b");
        long t0 = System.nanoTime();
        double ea = 0, eb = 0;
        int n = 0;
        for (long end = System.currentTimeMillis() + millis; System.currentTimeMillis() < end; ) {
            Thread.sleep(250);
            String metrics = fx.unix(GET, "/metrics", null).body();
            double a = entitled(fx, metrics, "a");
            double b = entitled(fx, metrics, "b");
            if (!Double.isNaN(a) && !Double.isNaN(b)) { // a cycle without both samples publishes no row
                ea += a;
                eb += b;
                n++;
            }
        }
        assertThat(n).as("entitlements published during the window").isPositive();
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new double[][] {{(cpuNanos(fx, "a") - a0) / 1e9 / seconds, (cpuNanos(fx, "b") - b0) / 1e9 / seconds},
            {ea / n, eb / n}};
    }

    /** The policy's entitlement of a container, from corral_policy_cpu_entitled_cores; NaN without one. */
    private static double entitled(AgentFixture fx, String metrics, String name) {
        var m = java.util.regex.Pattern.compile("corral_policy_cpu_entitled_cores\\{id=\"" + fx.parent + "/" + name
                + "\",name=\"" + name + "\"\\} ([0-9.]+)").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** Weighted Jain's index of used / entitled. */
    private static double jain(double[] used, double[] entitled) {
        double sum = 0, squares = 0;
        for (int i = 0; i < used.length; i++) {
            double x = used[i] / entitled[i];
            sum += x;
            squares += x * x;
        }
        return sum * sum / (used.length * squares);
    }

    /**
     * On two CPUs: a, one hog, pinned to CPU 0 by its cpuset; b, on both CPUs, runs a hog on each (its threads
     * pinned inside it, which the load balancer cannot undo). Same weight. Weighted max-min with a's demand bounded
     * by its one CPU: a 1 core, b 1 core. The kernel applies the weights per CPU, and b's weight is split over its
     * two CPUs, so on CPU 0 a gets only 2/3 of it and b 1 1/3 cores in all. The policy caps b at its core: b's
     * over-use goes, and a gets CPU 0 whenever b is throttled.
     *
     * <p>The containers' parent gets the largest weight so that other work on this shared machine hardly takes
     * from them (what is measured is how the kernel splits CPU between the two).
     */
    /**
     * Whether cores used across both CPUs are measured. Not in the v2 guest: there the agent in this JVM, emulated,
     * takes about one of its two vCPUs (measured: a and b together got 1.0 core, 0.5 each, while a shell-only run
     * of the same containers in the same guest splits 0.81 : 1.52 as here), so the guest proves the decisions and
     * the knob (cpu.max), and this host the shares.
     */
    private static final boolean MEASURES_CPU = !Workloads.inV2Guest();

    @Test
    void aPinnedHogAndAnUnpinnedOneReachJain95OnlyOnceTheUnpinnedOneIsCappedAtItsShare() throws Exception {
        String policy = "{" + policies(true, false, false, "") + "}";
        String a = "{" + HOST + "'name':'a','command':['sh','-c','while :; do :; done'],'limits':{'cpu':{'cpusetCpus':'0'}}}";
        String b = "{" + HOST + "'name':'b','command':['sh','-c','taskset -c 0 sh -c \\\"while :; do :; done\\\" & "
                + "exec taskset -c 1 sh -c \\\"while :; do :; done\\\"'],'limits':{'cpu':{'cpusetCpus':'0-1'}}}";
        double[] kernel;
        double kernelJain;
        // the kernel alone: a dry run decides (and publishes) the same but applies nothing
        try (AgentFixture fx = new AgentFixture(json(policy), true); EventRecorder events = new EventRecorder(fx);
             AutoCloseable favoured = favour(fx)) {
            run(fx, a);
            run(fx, b);
            JsonObject decided = events.await(e -> e.getString("type").equals("policy") && e.getString("name").equals("b")
                    && e.getJsonObject("attributes").getString("action").equals("set-cpu-quota"), 10_000);
            assertThat(decided.getJsonObject("attributes").getBoolean("dryRun")).isTrue();
            if (!MEASURES_CPU) {
                Thread.sleep(2000);
                assertThat(Files.readString(fx.cgroupFile("b", "cpu", "cpu.max")).strip()).startsWith("max");
                return;
            }
            double[][] measured = usedAndEntitled(fx, 4000);
            kernel = measured[0];
            double[] entitled = measured[1];
            kernelJain = jain(kernel, entitled);
            System.out.printf("cpu pinned pair, kernel alone — a %.3f b %.3f cores (entitled %.2f, %.2f), Jain %.3f%n",
                    kernel[0], kernel[1], entitled[0], entitled[1], kernelJain);
            assertThat(entitled[0]).as("a: its one CPU").isBetween(0.95, 1.0);
            assertThat(entitled[1]).as("b: the other").isBetween(0.95, 1.05);
            // On CPU 0, a against b's half weight: 2/3 of it; b 1 1/3 cores, twice a's (1.7 to 2 here, with other
            // work on the machine). The target is not met by the kernel alone.
            assertThat(kernel[1] / kernel[0]).as("b/a with the kernel alone (a %.3f, b %.3f)", kernel[0], kernel[1])
                    .isGreaterThan(1.4);
            // (Its Jain, about 0.90 on a quiet machine, is not asserted: on a loaded one both get less than their CPU
            // and the index of used/entitled rises toward 0.95 while the split stays as unfair.)
            assertThat(Files.readString(fx.cgroupFile("b", "cpu", fx.v2() ? "cpu.max" : "cpu.cfs_quota_us")).strip())
                    .startsWith(fx.v2() ? "max" : "-1");
        }
        try (AgentFixture fx = new AgentFixture(json(policy), false); EventRecorder events = new EventRecorder(fx);
             AutoCloseable favoured = favour(fx)) {
            run(fx, a);
            run(fx, b);
            long started = System.currentTimeMillis();
            JsonObject capped = events.await(e -> e.getString("type").equals("policy") && e.getString("name").equals("b")
                    && e.getJsonObject("attributes").getString("action").equals("set-cpu-quota"), 10_000);
            double decided = capped.getJsonObject("attributes").getJsonObject("inputs").getDouble("entitledCores");
            String quota = Files.readString(fx.cgroupFile("b", "cpu", fx.v2() ? "cpu.max" : "cpu.cfs_quota_us")).strip();
            long micros = Long.parseLong(quota.split(" ")[0]);
            if (MEASURES_CPU) {
                assertThat(decided).isBetween(0.95, 1.05);
                assertThat(micros).as("b's quota in force: %s", quota).isBetween(95_000L, 105_000L);
            } else { // the quota decided is written (it may have moved since with the guest's noisy samples)
                assertThat(micros).as("b's quota in force: %s", quota).isBetween(1000L, 200_000L);
            }
            assertThat(fx.unix(GET, "/metrics", null).body()).contains("corral_policy_actions_total{"
                    + "action=\"set-cpu-quota\",policy=\"cpuFairness\",reason=\"contention\"}");
            assertThat(events.policy("cpuFairness", "set-cpu-quota")).as("a is never capped")
                    .noneMatch(e -> e.getString("name").equals("a"));
            if (!MEASURES_CPU) {
                return;
            }
            Thread.sleep(1000); // the kernel settles on the quota
            double[][] measured = usedAndEntitled(fx, 4000);
            long within = System.currentTimeMillis() - started;
            double[] policed = measured[0];
            double[] entitled = measured[1];
            double j = jain(policed, entitled);
            System.out.printf("cpu pinned pair, with the policy — a %.3f b %.3f cores (entitled %.2f, %.2f), Jain %.3f "
                    + "(kernel alone %.3f), measured by %d ms into contention%n", policed[0], policed[1], entitled[0],
                    entitled[1], j, kernelJain, within);
            assertThat(within).isLessThanOrEqualTo(10_000L * SLOW);
            assertThat(j).as("weighted Jain's index (a %.3f, b %.3f cores)", policed[0], policed[1])
                    .isGreaterThanOrEqualTo(0.95);
            assertThat(policed[1]).as("b held to its core").isLessThan(1.1);
            assertThat(policed[1] / policed[0]).as("b/a with the policy vs %.2f with the kernel alone",
                    kernel[1] / kernel[0]).isLessThan(kernel[1] / kernel[0]);
        }
    }

    /**
     * Other work on this shared machine hardly takes CPU from the containers: their parent gets the largest CPU
     * weight. So that the hogs do not starve the agent itself (its samples would come late and its rates be wrong),
     * this JVM moves to a sibling cgroup of the same weight until the returned handle is closed.
     */
    private static AutoCloseable favour(AgentFixture fx) throws Exception {
        String weightFile = fx.v2() ? "cpu.weight" : "cpu.shares";
        String max = fx.v2() ? "10000" : "262144";
        Files.writeString(fx.parentFile("cpu", weightFile), max);
        Path parentDir = fx.parentFile("cpu", weightFile).getParent();
        Path jvm = parentDir.resolveSibling(parentDir.getFileName() + "-jvm");
        String own = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String[] f = line.split(":", 3);
            if (fx.v2() ? f[0].equals("0") : List.of(f[1].split(",")).contains("cpu")) {
                own = f[2];
            }
        }
        Path home = parentDir.getParent().resolve(own.substring(1));
        String pid = Long.toString(ProcessHandle.current().pid());
        Files.createDirectory(jvm);
        try {
            Files.writeString(jvm.resolve(weightFile), max);
            Files.writeString(jvm.resolve("cgroup.procs"), pid);
        } catch (Exception e) {
            Files.delete(jvm);
            throw e;
        }
        return () -> {
            Files.writeString(home.resolve("cgroup.procs"), pid);
            Files.delete(jvm);
        };
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

    /**
     * Under a 1 GiB parent limit hi holds 300 MiB, then lo grows by 48 MiB every half second to 768 MiB: together
     * past the limit. Returns once OOM protection published its first {@code action}: when the parent crossed
     * 80 % (0 if that was not seen between two reads).
     */
    private static long hogsUntil(AgentFixture fx, EventRecorder events, String action) throws Exception {
        long limit = 1L << 30;
        Files.writeString(fx.parentFile("memory", fx.v2() ? "memory.max" : "memory.limit_in_bytes"),
                Long.toString(limit));
        Path usageFile = fx.parentFile("memory", fx.v2() ? "memory.current" : "memory.usage_in_bytes");
        run(fx, "{" + HOST + "'name':'hi','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','300M',"
                + "'--vm-keep','--vm-hang','0','-t','60']}");
        await(() -> number(fx.cgroupFile("hi", "memory", fx.v2() ? "memory.current" : "memory.usage_in_bytes"))
                >= 280L << 20, Duration.ofSeconds(15L * SLOW), "hi to allocate its 300 MiB");
        run(fx, "{" + HOST + "'name':'lo','command':['sh','-c','for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do "
                + "stress-ng --temp-path " + TMP + " --vm 1 --vm-bytes 48M --vm-keep --vm-hang 0 -t 60 >/dev/null 2>&1 & "
                + "sleep 0.5; done; "
                + "wait']}");
        long crossed = 0;
        long deadline = System.currentTimeMillis() + 30_000L * SLOW; // polled every 20 ms: it times the crossing
        while (events.policy("oomProtection", action).isEmpty()) {
            if (crossed == 0 && number(usageFile) > 0.8 * limit) {
                crossed = System.currentTimeMillis();
            }
            assertThat(System.currentTimeMillis()).as("a victim within %d s", 30 * SLOW).isLessThan(deadline);
            Thread.sleep(20);
        }
        return crossed;
    }

    @Test
    void aLowPriorityMemoryHogIsKilledBeforeTheKernelOomKillerWhileTheHighPriorityOneSurvives() throws Exception {
        String policy = "{'classes':[{'name':'hi','priority':100,'selector':{'names':['hi']}},"
                + "{'name':'lo','priority':10}]," + policies(false, true, false,
                ",'oomProtection':{'parentUsageAbove':0.8,'cooldown':'3s'}") + "}";
        try (AgentFixture fx = new AgentFixture(json(policy), false); EventRecorder events = new EventRecorder(fx)) {
            Path parentLimit = fx.parentFile("memory", fx.v2() ? "memory.max" : "memory.limit_in_bytes");
            long crossed = hogsUntil(fx, events, "kill");
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

    /**
     * As the kill test, with {@code action: freeze}: lo is frozen (v1 freezer.state FROZEN, v2 cgroup.freeze), stops
     * allocating although its loop had more to start, keeps its memory, and is not followed by hi: a frozen
     * victim frees nothing, but nothing still running grows. Removing the frozen container leaves no process and
     * no cgroup.
     */
    @Test
    void aLowPriorityMemoryHogIsFrozenBeforeTheKernelOomKillerTheHighPriorityOneRunsOnAndTheFrozenOneIsRemovedCleanly()
            throws Exception {
        String policy = "{'classes':[{'name':'hi','priority':100,'selector':{'names':['hi']}},"
                + "{'name':'lo','priority':10}]," + policies(false, true, false,
                ",'oomProtection':{'parentUsageAbove':0.8,'cooldown':'3s','action':'freeze'}") + "}";
        try (AgentFixture fx = new AgentFixture(json(policy), false); EventRecorder events = new EventRecorder(fx)) {
            Path parentLimit = fx.parentFile("memory", fx.v2() ? "memory.max" : "memory.limit_in_bytes");
            String usage = fx.v2() ? "memory.current" : "memory.usage_in_bytes";
            long crossed = hogsUntil(fx, events, "freeze");
            JsonObject freeze = events.policy("oomProtection", "freeze").get(0);
            assertThat(freeze.getString("name")).isEqualTo("lo");
            assertThat(freeze.getJsonObject("attributes").getString("reason")).isEqualTo("parent-limit");
            if (crossed > 0) {
                assertThat(freeze.getLong("timeMillis") - crossed).as("threshold crossed → action")
                        .isLessThanOrEqualTo(2000);
            }
            events.await(e -> e.getString("type").equals("paused") && e.getString("name").equals("lo"), 5000);
            if (fx.v2()) {
                assertThat(Files.readString(fx.cgroupFile("lo", "memory", "cgroup.freeze")).strip()).isEqualTo("1");
                assertThat(Files.readString(fx.cgroupFile("lo", "memory", "cgroup.events"))).contains("frozen 1");
            } else {
                assertThat(Files.readString(fx.cgroupFile("lo", "freezer", "freezer.state")).strip())
                        .isEqualTo("FROZEN");
            }
            List<String> pids = Files.readAllLines(fx.cgroupFile("lo", "memory", "cgroup.procs"));
            assertThat(pids).as("lo's shell and its hogs").hasSizeGreaterThan(1);
            long frozenAt = number(fx.cgroupFile("lo", "memory", usage));
            long cpuAt = cpuNanos(fx, "lo");
            // Its loop would have started another 48 MiB hog every half second for several seconds more.
            Thread.sleep(4000); // past the 3 s cooldown too
            long later = number(fx.cgroupFile("lo", "memory", usage));
            System.out.printf("oom protection (freeze) — parent crossed 80 %% at %d, freeze decided at %d (%d ms); "
                    + "lo frozen at %d MiB, %d MiB 4 s later, %d processes%n", crossed, freeze.getLong("timeMillis"),
                    freeze.getLong("timeMillis") - crossed, frozenAt >> 20, later >> 20, pids.size());
            assertThat(later).as("a frozen container allocates nothing").isLessThanOrEqualTo(frozenAt + (1L << 20));
            assertThat(later).as("and keeps what it had").isGreaterThan(frozenAt - (8L << 20));
            assertThat(cpuNanos(fx, "lo")).as("a frozen container runs nothing").isEqualTo(cpuAt);
            assertThat(Files.readAllLines(fx.cgroupFile("lo", "memory", "cgroup.procs"))).as("and forks nothing")
                    .containsExactlyInAnyOrderElementsOf(pids);
            assertThat(new JsonObject(fx.unix(GET, "/v1/containers/lo", null).body()).getString("state"))
                    .isEqualTo("paused");
            JsonObject hi = new JsonObject(fx.unix(GET, "/v1/containers/hi", null).body());
            assertThat(hi.getString("state")).isEqualTo("running");
            assertThat(events.policy("oomProtection", null)).as("exactly one victim").hasSize(1);
            assertThat(oomKills(fx.parentFile("memory", fx.v2() ? "memory.events" : "memory.oom_control"))
                    + oomKills(fx.cgroupFile("hi", "memory", fx.v2() ? "memory.events" : "memory.oom_control"))
                    + oomKills(fx.cgroupFile("lo", "memory", fx.v2() ? "memory.events" : "memory.oom_control")))
                    .as("the kernel's OOM kills in the parent, hi and lo").isZero();

            // The frozen container is removed cleanly: its processes are killed (thawed first on v1) and its
            // cgroups go.
            List<Path> dirs = fx.cgroupDirs("lo");
            AgentFixture.Response rm = fx.unix(DELETE, "/v1/containers/lo?force=true", null);
            assertThat(rm.status()).as(rm.body()).isEqualTo(204);
            assertThat(dirs).isNotEmpty().allSatisfy(d -> assertThat(d).doesNotExist());
            for (String pid : pids) {
                assertThat(Path.of("/proc", pid.strip())).as("process %s of lo", pid).doesNotExist();
            }
            assertThat(fx.stateDir.resolve("containers/lo")).doesNotExist();
            assertThat(new JsonObject(fx.unix(GET, "/v1/containers/hi", null).body()).getString("state"))
                    .isEqualTo("running");
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
            run(fx, "{" + HOST + "'name':'small','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','100M',"
                    + "'--vm-keep','--vm-hang','0','-t','60']}");
            run(fx, "{" + HOST + "'name':'big','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes','750M',"
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

    /** The class "hot" (weight 9) leaves the cache holder a tenth of the parent's 1 GiB: about 102 MiB. */
    private static final String CACHE_POLICY = "{'classes':[{'name':'hot','weight':9,'selector':{'names':['hot']}}],"
            + "'policies':{'cpuFairness':{'enabled':false},'oomProtection':{'enabled':false},"
            + "'ioFairness':{'enabled':false},'admission':{'enabled':false},'memoryPressure':{'enabled':%s,"
            + "'parentUsageAbove':0.2,'tighten':0.25,'interval':'1s','relaxAfter':'3s'}}}";

    private static final long V1_UNLIMITED = 9223372036854771712L;

    /** Memory limit (v1 limit_in_bytes, v2 memory.high) as a number, unlimited as Long.MAX_VALUE. */
    private static long limitOf(AgentFixture fx, String name) throws Exception {
        String v = Files.readString(fx.cgroupFile(name, "memory", fx.v2() ? "memory.high" : "memory.limit_in_bytes"))
                .strip();
        return v.equals("max") || v.equals(Long.toString(V1_UNLIMITED)) ? Long.MAX_VALUE : Long.parseLong(v);
    }

    private static long usageOf(AgentFixture fx, String name) throws Exception {
        return number(fx.cgroupFile(name, "memory", fx.v2() ? "memory.current" : "memory.usage_in_bytes"));
    }

    /**
     * "cache" holds 100 MiB of anonymous memory and 512 MiB of clean page cache (a file written once, so it is
     * inactive: not working set); "hot" (200 MiB) makes the parent tight (working set above 20 % of its 1 GiB).
     * With relief on v1, cache's memory.limit_in_bytes goes down step by step to its working set + 10 % (its
     * entitlement is lower), the kernel reclaims its cache, nothing is OOM-killed, and its own (unlimited) limit
     * comes back 3 s after hot is gone. Without relief (the control) nothing moves: the parent limit alone does not
     * take the cache. On v2 (the guest, whose temp dir is a tmpfs: its "cache" is shmem, which without swap cannot
     * be reclaimed) the same run proves the memory.high path: set below its usage, memory.max untouched, restored.
     * Prints the numbers recorded in docs/benchmarks.md.
     */
    private static void cacheScenario(boolean relief) throws Exception {
        try (AgentFixture fx = new AgentFixture(json(String.format(CACHE_POLICY, relief)), false);
             EventRecorder events = new EventRecorder(fx)) {
            Path parentLimit = fx.parentFile("memory", fx.v2() ? "memory.max" : "memory.limit_in_bytes");
            // a directory of its own bound into the read-only host root (its /tmp is private): page cache the test
            // can see, on the host's disk here (in the v2 guest /var/tmp is a tmpfs, as /tmp was)
            Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "corral-test-cache-");
            Path file = dir.resolve("fill");
            try {
                Files.writeString(parentLimit, Long.toString(1L << 30));
                run(fx, "{" + HOST + TestRoots.writable(file, null) + "'name':'cache','command':['sh','-c','stress-ng --temp-path " + TMP + " --vm 1 --vm-bytes 100M "
                        + "--vm-keep --vm-hang 0 -t 120 >/dev/null 2>&1 & dd if=/dev/zero of=" + file
                        + " bs=1M count=512 conv=fsync 2>/dev/null; wait']}");
                await(() -> usageOf(fx, "cache") >= 590L << 20 && Files.exists(file) && Files.size(file) >= 512L << 20,
                        Duration.ofSeconds(30L * SLOW), "cache to fill 100 MiB + 512 MiB");
                Thread.sleep(1000); // dd's fsync has returned and the page cache is clean
                long before = usageOf(fx, "cache");
                long t0 = System.currentTimeMillis();
                run(fx, "{" + HOST + "'name':'hot','command':['stress-ng','--temp-path','" + TMP + "','--vm','1','--vm-bytes',"
                        + "'200M','--vm-keep','--vm-hang','0','-t','120']}");
                long floor = 100L << 20;
                long settled;
                // the control watches as long as relief usually needs to settle
                long deadline = System.currentTimeMillis() + (relief ? 20_000L * SLOW : 8_000L);
                long limit = limitOf(fx, "cache");
                // the cap steps down once a second by 25 %: from ~610 MiB it reaches ~125 MiB in about 6 steps
                while (System.currentTimeMillis() < deadline && (limit = limitOf(fx, "cache")) > 160L << 20) {
                    Thread.sleep(200);
                }
                settled = System.currentTimeMillis() - t0;
                Thread.sleep(2000); // one more cycle or two: it must stay, not flap
                long after = usageOf(fx, "cache");
                limit = limitOf(fx, "cache");
                String oomFile = fx.v2() ? "memory.events" : "memory.oom_control";
                long kills = oomKills(fx.cgroupFile("cache", "memory", oomFile));
                String state = inspect(fx, "cache").getString("state");
                System.out.printf("memory relief %s (%s): cache usage %d MiB -> %d MiB, limit %s, %s after hot "
                                + "started; oom_kill %d; state %s%n", relief ? "on" : "off", fx.v2() ? "v2" : "v1",
                        before >> 20, after >> 20, limit == Long.MAX_VALUE ? "unlimited" : (limit >> 20) + " MiB",
                        relief ? settled + " ms" : "-", kills, state);
                assertThat(kills).as("no OOM kill in cache").isZero();
                assertThat(state).isEqualTo("running");
                assertThat(Files.readString(fx.cgroupFile("cache", "memory", "cgroup.procs")).strip())
                        .as("its processes are all alive").contains("\n");
                if (!relief) {
                    assertThat(limit).as("nothing sets a limit").isEqualTo(Long.MAX_VALUE);
                    assertThat(after).as("the parent limit alone does not take the cache").isGreaterThan(before * 9 / 10);
                    assertThat(events.policy("memoryPressure", null)).isEmpty();
                    return;
                }
                JsonObject first = events.policy("memoryPressure", null).get(0);
                assertThat(first.getString("name")).isEqualTo("cache");
                assertThat(first.getJsonObject("attributes").getString("action"))
                        .isEqualTo(fx.v2() ? "set-memory-high" : "set-memory-limit");
                assertThat(first.getJsonObject("attributes").getString("reason")).isEqualTo("host-tight");
                assertThat(events.policy("memoryPressure", null)).as("hot is within its share")
                        .noneMatch(e -> e.getString("name").equals("hot"));
                assertThat(limit).as("down from ~610 MiB, never below its 100 MiB of anonymous memory")
                        .isBetween(floor, 160L << 20);
                if (fx.v2()) {
                    assertThat(Files.readString(fx.cgroupFile("cache", "memory", "memory.max")).strip())
                            .isEqualTo("max");
                } else {
                    assertThat(after).as("its page cache was reclaimed").isLessThanOrEqualTo(limit)
                            .isLessThan(before / 3);
                }
                // contention ends: hot goes, cache's share is the whole parent again, far above its cap: its own
                // (unlimited) limit comes back at once (the soft limit follows relaxAfter later)
                long gone = System.currentTimeMillis();
                fx.unix(DELETE, "/v1/containers/hot?force=true", null);
                if (fx.v2()) {
                    // its "cache" is shmem here, working set: 60 % of the parent's 1 GiB keeps the parent tight by
                    // itself, so contention ends by lifting the parent's limit; memory.high follows relaxAfter later
                    Files.writeString(parentLimit, "max");
                }
                // the limit is written before its audit event is sent: wait for both
                String lift = fx.v2() ? "lift-memory-high" : "lift-memory-limit";
                await(() -> limitOf(fx, "cache") == Long.MAX_VALUE && !events.policy("memoryPressure", lift).isEmpty(),
                        Duration.ofSeconds(15L * SLOW), "the user's limit to be restored, and its " + lift + " event");
                System.out.printf("memory relief on (%s): cache's limit restored %d ms after hot was removed%n",
                        fx.v2() ? "v2" : "v1", System.currentTimeMillis() - gone);
                assertThat(events.policy("memoryPressure", lift))
                        .singleElement().satisfies(e -> assertThat(e.getJsonObject("attributes").getString("reason"))
                                .isEqualTo(fx.v2() ? "host-relaxed" : "entitlement-grew"));
                assertThat(inspect(fx, "cache").getString("state")).isEqualTo("running");
            } finally {
                Files.writeString(parentLimit, fx.v2() ? "max" : "-1");
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
            }
        }
    }

    @Test
    void memoryReliefTakesTheCacheOfTheContainerAboveItsShareDownToItsWorkingSetAndRestoresItsLimit()
            throws Exception {
        cacheScenario(true);
    }

    @Test
    void withoutMemoryReliefTheSameCacheStaysCharged() throws Exception {
        cacheScenario(false);
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
            run(fx, "{" + HOST + "'name':'flood'," + TestRoots.writable(floodFile, device)
                    + "'command':['fio','--name=flood','--filename=" + floodFile + floodWhere + ","
                    + "'--rw=write','--bs=1M','--direct=1','--ioengine=libaio','--iodepth=16','--time_based',"
                    + "'--runtime=" + 40 * SLOW + "']}");
            // what the writers did and what the policy set, second by second: printed with the result
            IoTrace trace = new IoTrace(fx, device);
            try {
                Thread.sleep(1500);
                run(fx, "{" + HOST + "'name':'single'," + TestRoots.writable(singleFile, device)
                        + "'command':['fio','--name=single','--filename=" + singleFile + singleWhere + ","
                        + "'--rw=write','--bs=1M','--direct=1','--ioengine=psync','--time_based',"
                        + "'--runtime=" + 40 * SLOW + "']}");
                JsonObject throttle;
                try {
                    throttle = events.await(e -> e.getString("type").equals("policy")
                            && e.getString("name").equals("flood")
                            && e.getJsonObject("attributes").getString("action").equals("set-io-throttle"), 15_000L * SLOW);
                } catch (AssertionError e) {
                    // Seen once in the v2 guest's full run only (alone it passes): say what the writers were doing.
                    throw new AssertionError(e.getMessage() + "\nwriters: " + ioState(fx, "flood") + "\n"
                            + ioState(fx, "single") + "\nhost load: " + Files.readString(Path.of("/proc/loadavg")).strip()
                            + ", io pressure: " + Files.readString(Path.of("/proc/pressure/io")).strip(), e);
                }
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

                // The lift that counts comes after the removal began (a stalled guest may have ended contention for a
                // moment earlier, and the policy lifted and set the throttle again then); it may come while the removal
                // still runs (slow in the guest): the writer stops when it is killed.
                long stopping = System.currentTimeMillis();
                fx.unix(DELETE, "/v1/containers/single?force=true", null);
                long stopped = System.currentTimeMillis();
                JsonObject lifted = events.await(e -> e.getString("type").equals("policy")
                        && e.getString("name").equals("flood") && e.getLong("timeMillis") >= stopping
                        && e.getJsonObject("attributes").getString("action").equals("lift-io-throttle"), 10_000L * SLOW);
                System.out.printf("io — throttle lifted %d ms after the other writer stopped%n",
                        lifted.getLong("timeMillis") - stopped);
                assertThat(lifted.getLong("timeMillis") - stopped).isLessThanOrEqualTo(2000);
                // v2 drops a device's line from io.max once all its limits are "max"
                assertThat(Files.readString(knob)).doesNotContain(device + " ");
            } finally {
                trace.close();
                System.out.println("io trace:\n" + trace.dump(events));
            }
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
            run(fx, "{" + HOST + "'name':'a','command':['sleep','60'],'labels':{'size':'big'}}");
            String b = json("{" + HOST + "'name':'b','command':['sleep','60'],'labels':{'size':'big'}}");
            AgentFixture.Response refused = fx.unix(POST, "/v1/containers?start=true", b);
            assertThat(refused.status()).isEqualTo(409);
            assertThat(new JsonObject(refused.body()).getString("error")).contains("guaranteed cpu")
                    .contains("'b'");
            assertThat(fx.unix(GET, "/v1/containers/b", null).status()).as("nothing left behind").isEqualTo(404);
            assertThat(fx.unix(GET, "/metrics", null).body()).contains("corral_policy_actions_total{action=\"refuse\","
                    + "policy=\"admission\",reason=\"cpu-overcommitted\"} 1.0");

            // An invalid new file keeps the old policy and says why ...
            fx.replacePolicy(json("{'classes':[{'name':'big','weight':0}]}"));
            JsonObject rejected = events.await(e -> e.getString("type").equals("policy-rejected"), 5000);
            assertThat(rejected.getJsonObject("attributes").getString("path")).isEqualTo("classes[0].weight");
            assertThat(fx.unix(POST, "/v1/containers?start=true", b).status()).isEqualTo(409);
            // ... a valid one replaces it.
            fx.replacePolicy(json(String.format(big, "0.5")));
            events.await(e -> e.getString("type").equals("policy-loaded"), 5000);
            AgentFixture.Response admitted = fx.unix(POST, "/v1/containers?start=true", b);
            assertThat(admitted.status()).as(admitted.body()).isEqualTo(201);
            JsonObject admit = events.await(e -> e.getString("type").equals("policy") && e.getString("name").equals("b")
                    && e.getJsonObject("attributes").getString("action").equals("admit"), 5000);
            assertThat(admit.getJsonObject("attributes").getJsonObject("inputs").getDouble("dominantShare"))
                    .isEqualTo(0.25);
        }
    }

    private static final String QUEUEING = "{'classes':[{'name':'big','guarantees':{'cpu':1.5},"
            + "'selector':{'labels':{'size':'big'}}}],'policies':{'cpuFairness':{'enabled':false},"
            + "'memoryPressure':{'enabled':false},'oomProtection':{'enabled':false},'ioFairness':{'enabled':false},"
            + "'admission':{'onOvercommit':'queue','queueTimeout':'%s'}}}";

    /** A container of class big (1.5 of the 2 cores guaranteed: two do not fit) running a shell command. */
    private static String big(String name, String command) {
        return json("{" + HOST + "'name':'" + name + "','command':['sh','-c','" + command + "'],'labels':{'size':'big'}}");
    }

    private static JsonObject inspect(AgentFixture fx, String name) throws Exception {
        AgentFixture.Response r = fx.unix(GET, "/v1/containers/" + name, null);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return new JsonObject(r.body());
    }

    private static boolean admission(JsonObject e, String action, String name) {
        return e.getString("type").equals("policy") && e.getString("name").equals(name)
                && e.getJsonObject("attributes").getString("policy").equals("admission")
                && e.getJsonObject("attributes").getString("action").equals(action);
    }

    @Test
    void anOvercommittingStartIsQueuedStartsByItselfWhenTheRunningOneExitsAndTheNextTimesOutWithTheReason()
            throws Exception {
        Path go = Path.of("/var/tmp", "corral-test-go-" + UUID.randomUUID().toString().substring(0, 8));
        try (AgentFixture fx = new AgentFixture(json(String.format(QUEUEING, 8 * SLOW + "s")), false);
             EventRecorder events = new EventRecorder(fx)) {
            run(fx, big("a", "while [ ! -e " + go + " ]; do sleep 0.1; done")); // exits once go exists
            AgentFixture.Response b = fx.unix(POST, "/v1/containers?start=true", big("b", "exec sleep 600"));
            assertThat(b.status()).as("accepted, not started: " + b.body()).isEqualTo(202);
            JsonObject queued = new JsonObject(b.body());
            assertThat(queued.getString("state")).isEqualTo("queued");
            assertThat(queued.getString("queueReason")).contains("'b'").contains("guaranteed cpu")
                    .contains("3.00 cores");
            assertThat(Files.readString(fx.cgroupFile("b", "cpu", "cgroup.procs"))).as("no process yet").isEmpty();
            AgentFixture.Response c = fx.unix(POST, "/v1/containers?start=true", big("c", "exec sleep 600"));
            assertThat(c.status()).as(c.body()).isEqualTo(202);
            assertThat(new JsonObject(c.body()).getString("queueReason")).contains("guaranteed cpu");
            assertThat(events.await(e -> admission(e, "queue", "c"), 5000).getJsonObject("attributes")
                    .getString("reason")).isEqualTo("cpu-overcommitted");
            assertThat(events.matching(e -> admission(e, "queue", "b"))).hasSize(1);
            assertThat(fx.unix(GET, "/v1/containers", null).body()).as("ps lists the queue")
                    .contains("\"name\":\"b\"").contains("\"state\":\"queued\"");
            AgentFixture.Response again = fx.unix(POST, "/v1/containers/b/start", null);
            assertThat(again.status()).isEqualTo(409);
            assertThat(new JsonObject(again.body()).getString("error")).contains("queued");

            // a exits by itself: b, the head of the queue, starts; c still does not fit next to b.
            Files.createFile(go);
            JsonObject exited = events.await(e -> e.getString("type").equals("exited") && e.getString("name")
                    .equals("a"), 10_000L * SLOW);
            JsonObject started = events.await(e -> e.getString("type").equals("started")
                    && e.getString("name").equals("b"), 10_000L * SLOW);
            System.out.printf("admission queue — b started %d ms after a exited%n",
                    started.getLong("timeMillis") - exited.getLong("timeMillis"));
            JsonObject dequeue = events.await(e -> admission(e, "dequeue", "b"), 1000);
            assertThat(dequeue.getJsonObject("attributes").getString("before")).isEqualTo("queued");
            assertThat(inspect(fx, "b").getString("state")).isEqualTo("running");
            assertThat(Files.readString(fx.cgroupFile("b", "cpu", "cgroup.procs"))).isNotEmpty();
            assertThat(inspect(fx, "c").getString("state")).isEqualTo("queued");

            // c is refused at its deadline, with the reason, and is created again (nothing ran).
            JsonObject timeout = events.await(e -> admission(e, "timeout", "c"), 20_000L * SLOW);
            assertThat(timeout.getJsonObject("attributes").getString("reason")).isEqualTo("queue-timeout");
            JsonObject refused = inspect(fx, "c");
            assertThat(refused.getString("state")).isEqualTo("created");
            assertThat(refused.getString("error")).contains("still queued after").contains("guaranteed cpu");
            assertThat(refused.containsKey("queuedAtMillis")).isFalse();
            assertThat(events.matching(e -> admission(e, "dequeue", "c"))).isEmpty();
            String metrics = fx.unix(GET, "/metrics", null).body();
            assertThat(metrics).contains("corral_policy_actions_total{action=\"queue\",policy=\"admission\","
                    + "reason=\"cpu-overcommitted\"} 2.0");
            assertThat(metrics).contains("corral_policy_actions_total{action=\"dequeue\",policy=\"admission\","
                    + "reason=\"fits\"} 1.0");
            assertThat(metrics).contains("corral_policy_actions_total{action=\"timeout\",policy=\"admission\","
                    + "reason=\"queue-timeout\"} 1.0");
        } finally {
            Files.deleteIfExists(go);
        }
    }

    /** The queue is bounded: past maxQueued a start is refused at once, and what waits keeps its place. */
    @Test
    void aStartBeyondMaxQueuedIsRefusedAtOnceAndTheQueuedOneKeepsItsPlace() throws Exception {
        String policy = json(String.format(QUEUEING, "600s"))
                .replace("\"queueTimeout\"", "\"maxQueued\":1,\"queueTimeout\"");
        try (AgentFixture fx = new AgentFixture(policy, false)) {
            run(fx, big("a", "exec sleep 600"));
            AgentFixture.Response b = fx.unix(POST, "/v1/containers?start=true", big("b", "exec sleep 600"));
            assertThat(b.status()).as(b.body()).isEqualTo(202);
            AgentFixture.Response c = fx.unix(POST, "/v1/containers?start=true", big("c", "exec sleep 600"));
            assertThat(c.status()).as(c.body()).isEqualTo(409);
            assertThat(new JsonObject(c.body()).getString("error")).contains("'c'")
                    .contains("the admission queue is full (1 waiting, maxQueued 1)");
            assertThat(fx.unix(GET, "/v1/containers/c", null).status()).as("a refused create-and-start leaves "
                    + "nothing").isEqualTo(404);
            assertThat(fx.cgroupFile("c", "cpu", "cgroup.procs").getParent()).doesNotExist();
            assertThat(inspect(fx, "b").getString("state")).isEqualTo("queued");
            assertThat(fx.unix(GET, "/metrics", null).body()).contains("corral_policy_actions_total{action="
                    + "\"refuse\",policy=\"admission\",reason=\"queue-full\"} 1.0");
        }
    }

    /** The one-request run (start, wait, rm) waits through the queue, and leaves nothing whether it ran or not. */
    @Test
    void aOneRequestRunWaitsThroughTheQueueAndLeavesNothingRunOrRefused() throws Exception {
        Path go = Path.of("/var/tmp", "corral-test-go-" + UUID.randomUUID().toString().substring(0, 8));
        try (AgentFixture fx = new AgentFixture(json(String.format(QUEUEING, 6 * SLOW + "s")), false);
             EventRecorder events = new EventRecorder(fx)) {
            run(fx, big("a", "while [ ! -e " + go + " ]; do sleep 0.1; done"));
            var ran = java.util.concurrent.CompletableFuture.supplyAsync(() -> oneRequestRun(fx, big("b", "exit 7")));
            events.await(e -> admission(e, "queue", "b"), 10_000L * SLOW);
            Files.createFile(go); // a exits: b starts, exits 7 and is removed
            AgentFixture.Response b = ran.get(60L * SLOW, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(b.status()).as(b.body()).isEqualTo(200);
            assertThat(new JsonObject(b.body()).getInteger("exitCode")).isEqualTo(7);
            assertThat(fx.unix(GET, "/v1/containers/b", null).status()).isEqualTo(404);
            assertThat(fx.cgroupDirs("b")).isEmpty();

            run(fx, big("c", "exec sleep 600"));
            var refused = java.util.concurrent.CompletableFuture.supplyAsync(() -> oneRequestRun(fx, big("d", "true")));
            AgentFixture.Response d = refused.get(60L * SLOW, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(d.status()).as(d.body()).isEqualTo(200);
            assertThat(new JsonObject(d.body()).getString("state")).isEqualTo("created");
            assertThat(new JsonObject(d.body()).getString("error")).contains("still queued after");
            assertThat(fx.unix(GET, "/v1/containers/d", null).status()).isEqualTo(404);
            assertThat(fx.cgroupDirs("d")).isEmpty();
            assertThat(fx.stateDir.resolve("containers/d")).doesNotExist();
        } finally {
            Files.deleteIfExists(go);
        }
    }

    /** The writers' rates and the flooder's write limit every 500 ms, and the policy's IO decisions. */
    private static final class IoTrace implements AutoCloseable {
        final StringBuffer lines = new StringBuffer();
        final long start = System.nanoTime();
        final long startMillis = System.currentTimeMillis();
        final Thread t;

        IoTrace(AgentFixture fx, String device) {
            t = new Thread(() -> {
                long pf = 0, ps = 0, pt = System.nanoTime();
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        Thread.sleep(500);
                        long now = System.nanoTime();
                        long f = safe(() -> written(fx, "flood", device));
                        long s = safe(() -> written(fx, "single", device));
                        String lim;
                        try {
                            lim = String.valueOf(writeLimit(fx, "flood", device) / 1048576.0);
                        } catch (Throwable e) {
                            lim = "-";
                        }
                        double dt = (now - pt) / 1e9;
                        lines.append(String.format("t=%.1f dt=%.2f flood=%.1f single=%.1f limit=%s%n",
                                (now - start) / 1e9, dt, (f - pf) / dt / 1048576, (s - ps) / dt / 1048576, lim));
                        pf = f;
                        ps = s;
                        pt = now;
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "io-trace");
            t.setDaemon(true);
            t.start();
        }

        interface X {
            long get() throws Exception;
        }

        static long safe(X x) {
            try {
                return x.get();
            } catch (Throwable e) {
                return 0;
            }
        }

        String dump(EventRecorder events) {
            StringBuilder b = new StringBuilder(lines);
            for (JsonObject e : events.policy("ioFairness", null)) {
                JsonObject a = e.getJsonObject("attributes");
                b.append(String.format("ev t=%.1f %s %s %s->%s %s%n", (e.getLong("timeMillis") - startMillis) / 1e3,
                        e.getString("name"), a.getString("action"), a.getString("before"), a.getString("after"),
                        a.getJsonObject("inputs")));
            }
            return b.toString();
        }

        @Override
        public void close() throws InterruptedException {
            t.interrupt();
            t.join(2000);
        }
    }

    /** A container's state, IO counters and output, for a failure message. */
    private static String ioState(AgentFixture fx, String name) {
        StringBuilder b = new StringBuilder(name).append(": ");
        try {
            b.append(new JsonObject(fx.unix(GET, "/v1/containers/" + name, null).body()).getString("state"));
            b.append("; io: ").append(Files.readString(fx.cgroupFile(name, "blkio",
                    fx.v2() ? "io.stat" : "blkio.throttle.io_service_bytes_recursive")).strip().replace('\n', '|'));
            b.append("; stdout: ").append(fx.unix(GET, "/v1/containers/" + name + "/logs?tail=5&stream=stdout", null)
                    .body().strip());
            b.append("; stderr: ").append(fx.unix(GET, "/v1/containers/" + name + "/logs?tail=5&stream=stderr", null)
                    .body().strip());
        } catch (Exception e) {
            b.append("(").append(e).append(")");
        }
        return b.toString();
    }

    private static AgentFixture.Response oneRequestRun(AgentFixture fx, String spec) {
        try {
            return fx.unix(POST, "/v1/containers?start=true&wait=true&rm=true", spec);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aQueuedContainerIsRemovedWithoutATraceAndTheQueueSurvivesAnAgentRestart() throws Exception {
        try (AgentFixture fx = new AgentFixture(json(String.format(QUEUEING, "10m")), false)) {
            try (EventRecorder events = new EventRecorder(fx)) {
                run(fx, big("a", "exec sleep 600"));
                assertThat(fx.unix(POST, "/v1/containers?start=true", big("b", "exec sleep 600")).status())
                        .isEqualTo(202);
                List<Path> dirs = fx.cgroupDirs("b");
                assertThat(dirs).as("a queued container has its cgroup").isNotEmpty();
                // someone waits for b to leave the queue: removing it answers them
                java.util.concurrent.CompletableFuture<AgentFixture.Response> waiting =
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                            try {
                                return fx.unix(POST, "/v1/containers/b/wait?condition=not-queued", null);
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        });
                Thread.sleep(300);
                assertThat(waiting).isNotDone();
                assertThat(fx.unix(DELETE, "/v1/containers/b", null).status()).isEqualTo(204);
                assertThat(waiting.get(10, java.util.concurrent.TimeUnit.SECONDS).status()).isEqualTo(404);
                assertThat(dirs).allSatisfy(d -> assertThat(d).doesNotExist());
                assertThat(fx.stateDir.resolve("containers/b")).doesNotExist();
                assertThat(fx.unix(GET, "/v1/containers/b", null).status()).isEqualTo(404);
                events.await(e -> e.getString("type").equals("removed") && e.getString("name").equals("b"), 5000);
                assertThat(events.matching(e -> admission(e, "dequeue", "b"))).as("removed, never started").isEmpty();

                assertThat(fx.unix(POST, "/v1/containers?start=true", big("c", "exec sleep 600")).status())
                        .isEqualTo(202);
            }
            JsonObject before = inspect(fx, "c");
            fx.restart();
            // The queue is kept in the container records: after the restart c still waits, in its place and with
            // its deadline, and a (re-adopted) still holds the room.
            JsonObject after = inspect(fx, "c");
            assertThat(after.getString("state")).isEqualTo("queued");
            assertThat(after.getLong("queuedAtMillis")).isEqualTo(before.getLong("queuedAtMillis"));
            assertThat(after.getLong("queueDeadlineMillis")).isEqualTo(before.getLong("queueDeadlineMillis"));
            assertThat(inspect(fx, "a").getString("state")).isEqualTo("running");
            try (EventRecorder events = new EventRecorder(fx)) {
                assertThat(fx.unix(DELETE, "/v1/containers/a?force=true", null).status()).isEqualTo(204);
                events.await(e -> e.getString("type").equals("started") && e.getString("name").equals("c"),
                        10_000L * SLOW);
                assertThat(inspect(fx, "c").getString("state")).isEqualTo("running");
            }
        }
    }

    @Test
    void aDryRunRecordsTheQueueingButStartsAtOnce() throws Exception {
        try (AgentFixture fx = new AgentFixture(json(String.format(QUEUEING, "10m")), true);
             EventRecorder events = new EventRecorder(fx)) {
            run(fx, big("a", "exec sleep 600"));
            AgentFixture.Response b = fx.unix(POST, "/v1/containers?start=true", big("b", "exec sleep 600"));
            assertThat(b.status()).as(b.body()).isEqualTo(201);
            assertThat(new JsonObject(b.body()).getString("state")).isEqualTo("running");
            JsonObject queue = events.await(e -> admission(e, "queue", "b"), 5000);
            assertThat(queue.getJsonObject("attributes").getBoolean("dryRun")).isTrue();
            assertThat(queue.getJsonObject("attributes").getString("reason")).isEqualTo("cpu-overcommitted");
            assertThat(queue.getJsonObject("attributes").getString("after")).isEqualTo("started");
            assertThat(events.matching(e -> e.getString("type").equals("queued"))).isEmpty();
        }
    }
}
