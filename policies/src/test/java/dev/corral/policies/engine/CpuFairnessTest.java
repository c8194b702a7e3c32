package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class CpuFairnessTest {

    static final String POLICY = "{'classes':[{'name':'hi','weight':3,'selector':{'names':['b']}},"
            + "{'name':'lo','weight':1}],'policies':{'memoryPressure':{'enabled':false},"
            + "'oomProtection':{'enabled':false},'ioFairness':{'enabled':false}}}";

    private static Recorded twoHogs(boolean v2, boolean dryRun) throws Exception {
        return new Recorded(POLICY, new HostView(2, 8 * GIB, 4 * GIB, v2, Recorded.PARENT), 1000, dryRun);
    }

    @Test
    void classWeightsBecomeSharesOnV1AndCpuWeightOnV2() throws Exception {
        Recorded r = twoHogs(false, false);
        Recorded.Cg a = r.container("a", Map.of());
        Recorded.Cg b = r.container("b", Map.of());
        List<Action.SetCpu> set = Recorded.of(r.cycle(r.cpu(0, a, 0.1, b, 0.1)), Action.SetCpu.class);
        assertThat(set).extracting(Action.SetCpu::container, Action.SetCpu::shares, Action.SetCpu::weight)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("b", 3072L, null));
        b.shares = 3072;
        assertThat(r.cycle(r.cpu(0, a, 0.1, b, 0.1)).actions()).isEmpty();

        Recorded v2 = twoHogs(true, false);
        Recorded.Cg b2 = v2.container("b", Map.of());
        Action.SetCpu w = Recorded.of(v2.cycle(v2.cpu(0, b2, 0.1)), Action.SetCpu.class).get(0);
        assertThat(w.weight()).isEqualTo(300L);
        assertThat(w.shares()).isNull();
        assertThat(w.audit().before()).isEqualTo("cpu.weight 100");
    }

    @Test
    void underContentionTheOneAboveItsShareGetsAQuotaAtItAndLaterTheQuotaIsLifted() throws Exception {
        Recorded r = twoHogs(false, false);
        Recorded.Cg a = r.container("a", Map.of());
        Recorded.Cg b = r.container("b", Map.of());
        b.shares = 3072;
        a.cpuStall = 1.0; // both hogs always have a thread waiting for CPU (their PSI)
        b.cpuStall = 1.0;
        // Both busy, the host saturated; a takes a whole core although its share is a quarter of two.
        Decision d = r.cycle(r.cpu(0, a, 1.0, b, 1.0));
        assertThat(d.entitledCores()).containsEntry("/corral/a", 0.5).containsEntry("/corral/b", 1.5);
        List<Action.SetCpu> quotas = Recorded.of(d, Action.SetCpu.class);
        assertThat(quotas).hasSize(1);
        Action.SetCpu q = quotas.get(0);
        assertThat(q.container()).isEqualTo("a");
        assertThat(q.quotaMicros()).isEqualTo(50_000L);
        assertThat(q.periodMicros()).isEqualTo(100_000L);
        assertThat(q.audit().policy()).isEqualTo("cpuFairness");
        assertThat(q.audit().action()).isEqualTo("set-cpu-quota");
        assertThat(q.audit().before()).isEqualTo("max");
        assertThat(q.audit().after()).isEqualTo("0.500 cores");
        assertThat(q.audit().inputs()).containsEntry("usedCores", 1.0).containsEntry("entitledCores", 0.5)
                .containsEntry("hostCpuBusy", 1.0);
        a.quota = 50_000;

        // Held at its quota (throttled), b takes the rest: nothing changes, nothing flaps.
        for (int i = 0; i < 5; i++) {
            a.throttled += 10;
            assertThat(r.cycle(r.cpu(0, a, 0.5, b, 1.5)).actions()).isEmpty();
        }
        // b stops: contention is over, but the quota stays for liftAfter (2 s) ...
        assertThat(r.cycle(r.cpu(0, a, 0.5, b, 0)).actions()).isEmpty();
        assertThat(r.cycle(r.cpu(0, a, 0.5, b, 0)).actions()).isEmpty();
        // ... and then goes back to the user's (none).
        List<Action.SetCpu> lifted = Recorded.of(r.cycle(r.cpu(0, a, 0.5, b, 0)), Action.SetCpu.class);
        assertThat(lifted).singleElement().satisfies(l -> {
            assertThat(l.container()).isEqualTo("a");
            assertThat(l.quotaMicros()).isEqualTo(Limits.UNLIMITED);
            assertThat(l.audit().action()).isEqualTo("lift-cpu-quota");
            assertThat(l.audit().reason()).isEqualTo("contention-over");
        });
    }

    @Test
    void aLoneHogKeepsTheWholeHost() throws Exception {
        Recorded r = twoHogs(false, false);
        Recorded.Cg a = r.container("a", Map.of());
        a.cpuStall = 0.3;
        r.container("b", Map.of()).shares = 3072;
        for (int i = 0; i < 10; i++) {
            // the host is saturated by others, but a is the only container busy
            Decision d = r.cycle(r.cpu(0.5, a, 1.5));
            assertThat(Recorded.of(d, Action.SetCpu.class)).isEmpty();
            // what it uses plus what it waited for: more than it uses, so no quota
            assertThat(d.entitledCores().get("/corral/a")).isCloseTo(1.82, org.assertj.core.api.Assertions.within(1e-9));
        }
    }

    @Test
    void aContainerHeldAtItsOwnQuotaIsEntitledToNoMoreAndTheOtherIsNotCappedForIt() throws Exception {
        Recorded r = twoHogs(false, false);
        // a's user asked for 0.3 cores: throttled there, it cannot use more
        Recorded.Cg a = r.container("a", Map.of(), new ContainerView.Baseline(30_000, 100_000, 0, Limits.UNLIMITED,
                Limits.UNLIMITED, 0, Map.of()));
        a.quota = 30_000;
        Recorded.Cg c = r.container("c", Map.of());
        a.cpuStall = 1.0;
        c.cpuStall = 1.0;
        for (int i = 0; i < 5; i++) {
            a.throttled += 10;
            // the host saturated by others; c, of the same weight, uses a core and a half
            Decision d = r.cycle(r.cpu(0.5, a, 0.3, c, 1.5));
            assertThat(d.entitledCores().get("/corral/a")).isCloseTo(0.3, org.assertj.core.api.Assertions.within(1e-9));
            assertThat(d.entitledCores().get("/corral/c")).isCloseTo(1.7, org.assertj.core.api.Assertions.within(1e-9));
            assertThat(Recorded.of(d, Action.SetCpu.class)).as("c is within the 1.7 cores a cannot use").isEmpty();
        }
    }

    @Test
    void quotasFollowTheShareOnlyPastTheToleranceAndTheCooldown() throws Exception {
        Recorded r = twoHogs(false, false);
        Recorded.Cg a = r.container("a", Map.of());
        Recorded.Cg b = r.container("b", Map.of());
        Recorded.Cg c = r.container("c", Map.of());
        b.shares = 3072;
        a.cpuStall = b.cpuStall = c.cpuStall = 1.0;
        Decision d = r.cycle(r.cpu(0, a, 0.8, b, 0.8, c, 0.4));
        // weights 1:3:1 over 2 cores, all backlogged: 0.4, 1.2, 0.4; a is above its share
        assertThat(Recorded.of(d, Action.SetCpu.class)).extracting(Action.SetCpu::container).containsExactly("a");
        a.quota = 40_000;
        a.throttled += 5;
        c.cpuStall = 0;
        // c goes idle: a's share rises to (2 - 0.02) / 4 (a change > 10 %), the cooldown (1 s) has passed: written
        Decision d2 = r.cycle(r.cpu(0, a, 0.4, b, 1.6, c, 0.0));
        assertThat(Recorded.of(d2, Action.SetCpu.class)).singleElement()
                .satisfies(s -> assertThat(s.quotaMicros()).isEqualTo(49_500L));
    }

    private static Recorded aWeighs3() throws Exception {
        return new Recorded(POLICY.replace("'names':['b']", "'names':['a']"),
                new HostView(2, 8 * GIB, 4 * GIB, false, Recorded.PARENT), 1000, false);
    }

    /**
     * Two cores; a (weight 3) pinned to CPU 0, b (weight 1) on both. Without cpusets a would be entitled to 1.5
     * cores it cannot use and b held to half a core, leaving CPU 1 half idle; bounded by its cpuset, a is
     * entitled to its one CPU and b to the other.
     */
    @Test
    void aPinnedContainerIsEntitledToNoMoreThanItsCpusAndTheOtherToTheRest() throws Exception {
        Recorded blind = aWeighs3();
        Recorded.Cg a0 = blind.container("a", Map.of());
        Recorded.Cg b0 = blind.container("b", Map.of());
        a0.cpuStall = b0.cpuStall = 1.0;
        Decision before = blind.cycle(blind.cpu(0, a0, 0.75, b0, 1.25));
        assertThat(before.entitledCores()).containsEntry("/corral/a", 1.5).containsEntry("/corral/b", 0.5);

        Recorded r = aWeighs3();
        Recorded.Cg a = r.container("a", Map.of());
        Recorded.Cg b = r.container("b", Map.of());
        a.shares = 3072;
        a.cpus = CpuSet.parse("0");
        b.cpus = CpuSet.parse("0-1");
        a.cpuStall = b.cpuStall = 1.0;
        // what the kernel gives when b's tasks stay on CPU 0 too: a 3:1 there
        Decision d = r.cycle(r.cpu(0, a, 0.75, b, 1.25));
        assertThat(d.entitledCores()).containsEntry("/corral/a", 1.0).containsEntry("/corral/b", 1.0);
        assertThat(Recorded.of(d, Action.SetCpu.class)).singleElement().satisfies(q -> {
            assertThat(q.container()).isEqualTo("b");
            assertThat(q.quotaMicros()).isEqualTo(100_000L);
            assertThat(q.audit().inputs()).containsEntry("entitledCores", 1.0).containsEntry("usedCores", 1.25);
        });
        b.quota = 100_000;
        for (int i = 0; i < 4; i++) {
            b.throttled += 10;
            // held at its core, b's demand is unbounded but for its two CPUs: nothing moves, nothing flaps
            Decision held = r.cycle(r.cpu(0, a, 0.9, b, 1.0));
            assertThat(held.entitledCores()).containsEntry("/corral/a", 1.0).containsEntry("/corral/b", 1.0);
            assertThat(held.actions()).isEmpty();
        }
    }

    /** Both on CPU 1 of two: they share one core (3:1, as the kernel splits it), not two: no quota. */
    @Test
    void containersSharingOneCpuShareOneCore() throws Exception {
        Recorded r = twoHogs(false, false);
        Recorded.Cg a = r.container("a", Map.of());
        Recorded.Cg b = r.container("b", Map.of());
        b.shares = 3072;
        a.cpus = b.cpus = CpuSet.parse("1");
        a.cpuStall = b.cpuStall = 1.0;
        for (int i = 0; i < 3; i++) {
            Decision d = r.cycle(r.cpu(0.9, a, 0.25, b, 0.75));
            assertThat(d.entitledCores()).containsEntry("/corral/a", 0.25).containsEntry("/corral/b", 0.75);
            assertThat(Recorded.of(d, Action.SetCpu.class)).isEmpty();
        }
        // b stops: a, alone on its CPU, is entitled to all of it and is never capped
        b.cpuStall = 0;
        Decision alone = r.cycle(r.cpu(1, a, 1.0, b, 0));
        assertThat(alone.entitledCores().get("/corral/a")).as("all but the 0.02 an idle container is left")
                .isCloseTo(0.98, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(Recorded.of(alone, Action.SetCpu.class)).isEmpty();
    }

    /**
     * The dashboards' demo: web (weight 3) and batch (weight 0.5) share CPU 1, a hog held at 0.2 cores by its own
     * quota runs on CPU 0. Web and batch together are entitled to CPU 1 alone, split 6:1 as the kernel splits it,
     * not to the 1.8 cores left of the host (which entitled batch to 0.73 and left it far below).
     */
    @Test
    void containersSharingACpuAreEntitledToThatCpuWhateverRunsOnTheOthers() throws Exception {
        Recorded r = new Recorded("{'classes':[{'name':'web','weight':3,'selector':{'names':['web']}},"
                + "{'name':'batch','weight':0.5,'selector':{'names':['batch']}}],'policies':{"
                + "'memoryPressure':{'enabled':false},'oomProtection':{'enabled':false},'ioFairness':{'enabled':false}}}",
                new HostView(2, 8 * GIB, 4 * GIB, false, Recorded.PARENT), 1000, false);
        Recorded.Cg hog = r.container("hog", Map.of(), new ContainerView.Baseline(20_000, 100_000, 0,
                Limits.UNLIMITED, Limits.UNLIMITED, 0, Map.of()));
        Recorded.Cg web = r.container("web", Map.of());
        Recorded.Cg batch = r.container("batch", Map.of());
        hog.quota = 20_000;
        hog.cpus = CpuSet.parse("0");
        web.cpus = batch.cpus = CpuSet.parse("1");
        web.shares = 3072;
        batch.shares = 512;
        web.cpuStall = batch.cpuStall = 1.0;
        for (int i = 0; i < 3; i++) {
            hog.throttled += 10;
            Decision d = r.cycle(r.cpu(0.5, hog, 0.2, web, 6 / 7.0, batch, 1 / 7.0));
            assertThat(d.entitledCores().get("/corral/hog")).isCloseTo(0.2, org.assertj.core.api.Assertions.within(1e-9));
            assertThat(d.entitledCores().get("/corral/web")).isCloseTo(6 / 7.0,
                    org.assertj.core.api.Assertions.within(1e-9));
            assertThat(d.entitledCores().get("/corral/batch")).isCloseTo(1 / 7.0,
                    org.assertj.core.api.Assertions.within(1e-9));
            assertThat(Recorded.of(d, Action.SetCpu.class)).as("everyone at its share").isEmpty();
        }
    }

    /**
     * Issue #14: w1 (--cpu-shares 256) and w3 (768), both --cpuset-cpus 0, started while the host is busy from
     * outside. w1's cgroup was sampled between its mkdir and the cpuset write (an empty v1 cpuset, kept until the
     * limits are read again): it was entitled to 0 cores and quota'd at 1 % of a core, which then made it look
     * idle, so the quota was lifted and set again. Its spec's cpuset stands in for the empty sample.
     */
    @Test
    void aContainerSampledWithAnEmptyCpusetIsEntitledToItsWeightedShareOfItsSpecsCpus() throws Exception {
        Recorded r = twoHogs(false, false);
        Recorded.Cg w1 = r.container("w1", Map.of(), pinned(256, "0"));
        Recorded.Cg w3 = r.container("w3", Map.of(), pinned(768, "0"));
        w1.shares = 256;
        w3.shares = 768;
        w1.cpus = CpuSet.EMPTY; // not written yet when sampled
        w3.cpus = CpuSet.parse("0");
        w1.cpuStall = w3.cpuStall = 0.9;
        for (int cycle = 0; cycle < 8; cycle++) {
            // the kernel's split of CPU 0, 1:3, less what the outside load (1.5 cores) takes of it
            Decision d = r.cycle(r.cpu(1.5, w1, 0.15, w3, 0.45));
            assertThat(d.entitledCores().get("/corral/w1")).as("cycle %d", cycle).isCloseTo(0.25,
                    org.assertj.core.api.Assertions.within(1e-9));
            assertThat(d.entitledCores().get("/corral/w3")).isCloseTo(0.75, org.assertj.core.api.Assertions.within(1e-9));
            assertThat(Recorded.of(d, Action.SetCpu.class)).as("cycle %d", cycle).isEmpty();
        }
    }

    /** A container held at a small quota uses little, yet still competes: its quota is not lifted for that. */
    @Test
    void aThrottledContainerStillCountsAsCompetingSoItsQuotaIsNotLiftedWhileContentionLasts() throws Exception {
        Recorded r = twoHogs(false, false);
        Recorded.Cg a = r.container("a", Map.of(), pinned(1024, "0"));
        Recorded.Cg b = r.container("b", Map.of(), pinned(1024 * 30, "0"));
        a.shares = 1024;
        b.shares = 1024 * 30;
        a.cpus = b.cpus = CpuSet.parse("0");
        a.cpuStall = b.cpuStall = 1.0;
        Decision first = r.cycle(r.cpu(1.0, a, 0.5, b, 0.5)); // a above its 1/31 of CPU 0
        assertThat(Recorded.of(first, Action.SetCpu.class)).singleElement()
                .satisfies(q -> assertThat(q.quotaMicros()).isEqualTo(Math.round(100_000 / 31.0)));
        a.quota = Math.round(100_000 / 31.0);
        for (int cycle = 0; cycle < 6; cycle++) {
            a.throttled += 10; // held at 0.032 cores: below "busy" by usage alone
            assertThat(r.cycle(r.cpu(1.0, a, 0.032, b, 0.968)).actions()).as("cycle %d", cycle).isEmpty();
        }
    }

    /**
     * Cpusets that overlap without nesting: a and b (weight 10 each) on 0-1 and 1-2 can together use three CPUs,
     * not four, so c (weight 1, on all four) is entitled to CPU 3 at least: a bound per distinct cpuset alone
     * gave a and b 1.9 each and c 0.19, and capped c far below what the kernel gives it.
     */
    @Test
    void overlappingCpusetsBoundTheirUnionSoTheOneBesideThemKeepsTheCpuTheyCannotUse() throws Exception {
        Recorded r = new Recorded(POLICY, new HostView(4, 8 * GIB, 4 * GIB, false, Recorded.PARENT), 1000, false);
        Recorded.Cg a = r.container("a", Map.of(), pinned(10 * 1024, "0-1"));
        Recorded.Cg b = r.container("b", Map.of(), pinned(10 * 1024, "1-2"));
        Recorded.Cg c = r.container("c", Map.of(), pinned(1024, "0-3"));
        a.cpus = CpuSet.parse("0-1");
        b.cpus = CpuSet.parse("1-2");
        c.cpus = CpuSet.parse("0-3");
        a.shares = b.shares = 10 * 1024;
        a.cpuStall = b.cpuStall = c.cpuStall = 1.0;
        Decision d = r.cycle(r.cpu(0, a, 1.5, b, 1.5, c, 1.0));
        assertThat(d.entitledCores().get("/corral/a")).isCloseTo(1.5, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(d.entitledCores().get("/corral/b")).isCloseTo(1.5, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(d.entitledCores().get("/corral/c")).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(Recorded.of(d, Action.SetCpu.class)).isEmpty();
    }

    private static ContainerView.Baseline pinned(long shares, String cpus) {
        return new ContainerView.Baseline(Limits.UNLIMITED, 100_000, shares, Limits.UNLIMITED, Limits.UNLIMITED, 0,
                Map.of(), CpuSet.parse(cpus));
    }

    @Test
    void dryRunDecidesTheSameAndSaysSo() throws Exception {
        Recorded r = twoHogs(false, true);
        Recorded.Cg a = r.container("a", Map.of());
        Recorded.Cg b = r.container("b", Map.of());
        Decision d = r.cycle(r.cpu(0, a, 1.0, b, 1.0));
        assertThat(d.actions()).isNotEmpty().allSatisfy(x -> assertThat(x.audit().dryRun()).isTrue());
        // a dry run does not repeat the decision every cycle although the kernel never changes
        assertThat(Recorded.of(r.cycle(r.cpu(0, a, 1.0, b, 1.0)), Action.SetCpu.class)).isEmpty();
    }
}
