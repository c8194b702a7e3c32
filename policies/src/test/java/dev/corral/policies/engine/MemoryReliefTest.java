package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static dev.corral.policies.engine.Recorded.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Limits;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class MemoryReliefTest {

    static final String POLICY = "{'classes':[{'name':'g','guarantees':{'memory':'3g'},'selector':{'names':['g']}}],"
            + "'policies':{'cpuFairness':{'enabled':false},'oomProtection':{'enabled':false},"
            + "'ioFairness':{'enabled':false},'memoryPressure':{'pressureTarget':0.05,'hostAvailableBelow':0.15,"
            + "'tighten':0.1,'loosen':0.5,'interval':'1s','relaxAfter':'3s'}}}";

    @Test
    void v2SqueezesTheOneFurthestAboveItsShareStepByStepNeverBelowItsShareOrGuarantee() throws Exception {
        Recorded r = new Recorded(POLICY, new HostView(2, 8 * GIB, 0, true, Recorded.PARENT), 1000, false);
        Recorded.Cg big = r.container("big", Map.of());
        Recorded.Cg g = r.container("g", Map.of());
        Recorded.Cg small = r.container("small", Map.of());
        big.workingSet = 5 * GIB;
        g.workingSet = 3500 * MIB;
        small.workingSet = 100 * MIB;
        r.availableBytes = 4 * GIB; // not tight
        assertThat(r.cycle(() -> { }).actions()).isEmpty();
        r.availableBytes = 512 * MIB; // tight: below 15 % of 8 GiB
        List<Action.SetMemory> s = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class);
        assertThat(s).singleElement().satisfies(a -> {
            assertThat(a.container()).isEqualTo("big"); // 5 GiB vs a third of 8 GiB
            assertThat(a.high()).isEqualTo((long) (5 * GIB * 0.9));
            assertThat(a.softLimit()).isNull();
            assertThat(a.limit()).as("v2 never moves the hard limit").isNull();
            assertThat(a.audit().action()).isEqualTo("set-memory-high");
            assertThat(a.audit().reason()).isEqualTo("host-tight");
        });
        big.workingSet = (long) (5 * GIB * 0.9);
        long entitled = 8 * GIB / 3;
        long last = 0;
        for (int i = 0; i < 30; i++) {
            for (Action.SetMemory a : Recorded.of(r.cycle(() -> { }), Action.SetMemory.class)) {
                if (a.container().equals("big")) {
                    big.workingSet = a.high();
                    last = a.high();
                }
                // g is above its third too, but its 3 GiB guarantee holds
                assertThat(a.high()).isGreaterThanOrEqualTo(a.container().equals("g") ? 3 * GIB : entitled);
            }
        }
        assertThat(last).isEqualTo(entitled);
    }

    @Test
    void aStalledContainerIsLoosenedAndEverythingIsLiftedOnceTheHostRelaxes() throws Exception {
        Recorded r = new Recorded(POLICY, new HostView(2, 8 * GIB, 0, true, Recorded.PARENT), 1000, false);
        Recorded.Cg big = r.container("big", Map.of(), new ContainerView.Baseline(Limits.UNLIMITED, 100_000, 0,
                Limits.UNLIMITED, 12 * GIB, 0, Map.of()));
        r.container("small", Map.of()).workingSet = 10 * MIB;
        big.workingSet = 6 * GIB;
        r.availableBytes = 512 * MIB;
        long high = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0).high();
        big.memStall = 0.3; // now it stalls on memory: loosened by half at once, tightening stops
        Action.SetMemory loosened = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0);
        assertThat(loosened.high()).isEqualTo((long) (high * 1.5));
        assertThat(loosened.audit().reason()).isEqualTo("stalled");
        // loosening beyond the user's own memory.high (12 GiB) gives it back
        Action.SetMemory back = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0);
        assertThat(back.high()).isEqualTo(12 * GIB);
        assertThat(back.audit().action()).isEqualTo("lift-memory-high");

        big.memStall = 0;
        r.cycle(() -> { }); // squeezed again
        r.availableBytes = 4 * GIB;
        assertThat(r.cycle(() -> { }).actions()).isEmpty();
        assertThat(r.cycle(() -> { }).actions()).isEmpty();
        assertThat(r.cycle(() -> { }).actions()).isEmpty();
        Action.SetMemory lifted = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0);
        assertThat(lifted.high()).isEqualTo(12 * GIB);
        assertThat(lifted.audit().reason()).isEqualTo("host-relaxed");
    }

    @Test
    void aParentNearItsLimitIsTightToo() throws Exception {
        Recorded r = new Recorded(POLICY, Recorded.v1Host(2, 24 * GIB), 1000, false);
        r.parent().memoryLimit = GIB;
        Recorded.Cg big = r.container("big", Map.of());
        Recorded.Cg small = r.container("small", Map.of());
        big.workingSet = 600 * MIB;
        small.workingSet = 100 * MIB;
        r.parent().workingSet = 700 * MIB; // 68 % of the limit: not tight (the host has plenty)
        assertThat(r.cycle(() -> { }).actions()).isEmpty();
        big.workingSet = 800 * MIB;
        r.parent().workingSet = 900 * MIB; // 88 %
        Action.SetMemory a = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0);
        assertThat(a.container()).isEqualTo("big");
        assertThat(a.softLimit()).isEqualTo((long) (800 * MIB * 0.9)); // entitled to half of 1 GiB: 512 MiB
        assertThat(a.audit().inputs()).containsEntry("parentUsedFraction", 0.879);
    }

    @Test
    void v1SetsSoftLimitsWhichAreLiftedToUnlimited() throws Exception {
        Recorded r = new Recorded(POLICY, Recorded.v1Host(2, 8 * GIB), 1000, false);
        Recorded.Cg big = r.container("big", Map.of());
        r.container("small", Map.of()).workingSet = 10 * MIB;
        big.workingSet = 6 * GIB;
        r.availableBytes = 512 * MIB;
        Action.SetMemory a = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0);
        assertThat(a.softLimit()).isEqualTo((long) (6 * GIB * 0.9));
        assertThat(a.high()).isNull();
        assertThat(a.limit()).as("all of it is working set: no cache to take").isNull();
        assertThat(a.audit().action()).isEqualTo("set-memory-soft-limit");
        r.availableBytes = 4 * GIB;
        Action.SetMemory lifted = null;
        for (int i = 0; i < 5 && lifted == null; i++) {
            List<Action.SetMemory> l = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class);
            lifted = l.isEmpty() ? null : l.get(0);
        }
        assertThat(lifted.softLimit()).isEqualTo(Limits.UNLIMITED);
    }

    /** A v1 container holding 5 GiB of which 3 GiB is working set; its own limit is 6 GiB. */
    private static Recorded.Cg cacheHeavy(Recorded r) {
        Recorded.Cg cache = r.container("cache", Map.of(), new ContainerView.Baseline(Limits.UNLIMITED, 100_000, 0,
                6 * GIB, Limits.UNLIMITED, 0, Map.of()));
        cache.memoryLimit = 6 * GIB;
        cache.workingSet = 3 * GIB;
        cache.usage = 5 * GIB;
        r.container("a", Map.of()).workingSet = 100 * MIB;
        r.container("b", Map.of()).workingSet = 100 * MIB;
        return cache;
    }

    /** What the agent and kernel do with a cap: written, and usage reclaimed down to it. */
    private static Action.SetMemory applied(Recorded.Cg cg, List<Action.SetMemory> actions) {
        if (actions.isEmpty()) {
            return null;
        }
        Action.SetMemory a = actions.get(0);
        if (a.limit() != null) {
            cg.memoryLimit = a.limit();
            cg.usage = Math.min(cg.usage, a.limit());
        }
        return a;
    }

    @Test
    void v1CapsACacheHeavyContainerStepByStepNeverBelowItsWorkingSetPlusMarginAndRestoresTheUserLimit()
            throws Exception {
        Recorded r = new Recorded(POLICY, Recorded.v1Host(2, 8 * GIB), 1000, false);
        Recorded.Cg cache = cacheHeavy(r);
        assertThat(r.cycle(() -> { }).actions()).as("the host is not tight").isEmpty();
        r.availableBytes = 512 * MIB;
        Action.SetMemory first = applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class));
        assertThat(first.container()).isEqualTo("cache"); // 5 GiB charged vs a third of 8 GiB
        assertThat(first.limit()).isEqualTo(5 * GIB / 10 * 9); // one 10 % step below its usage
        assertThat(first.softLimit()).isEqualTo((long) (3 * GIB * 0.9));
        assertThat(first.audit().action()).isEqualTo("set-memory-limit");
        assertThat(first.audit().before()).isEqualTo("6144.0MiB");
        assertThat(first.audit().inputs()).containsEntry("usageBytes", 5 * GIB).containsEntry("workingSetBytes",
                3 * GIB);
        long floor = (long) (3 * GIB * 1.1);
        long last = first.limit();
        for (int i = 0; i < 20; i++) {
            Action.SetMemory a = applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class));
            if (a != null && a.limit() != null) {
                assertThat(a.limit()).isGreaterThanOrEqualTo(floor).isGreaterThanOrEqualTo((long) (last * 0.9) - 4096)
                        .isLessThan(last);
                last = a.limit();
            }
        }
        assertThat(last).as("it settles at its working set plus 10 %").isBetween(floor, floor + 4096);
        assertThat(cache.usage).isEqualTo(last);

        // its working set grows into the margin: loosened at once, by half
        cache.workingSet = (long) (3.1 * GIB);
        Action.SetMemory room = applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class));
        assertThat(room.audit().reason()).isEqualTo("working-set-near-limit");
        assertThat(room.limit()).isGreaterThanOrEqualTo((long) (last * 1.5));

        // the host relaxes: after relaxAfter (3 s) the user's own 6 GiB comes back, and the soft limit goes
        r.availableBytes = 4 * GIB;
        Action.SetMemory lifted = null;
        for (int i = 0; i < 5 && lifted == null; i++) {
            lifted = applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class));
        }
        assertThat(lifted.limit()).isEqualTo(6 * GIB);
        assertThat(lifted.softLimit()).isEqualTo(Limits.UNLIMITED);
        assertThat(lifted.audit().action()).isEqualTo("lift-memory-limit");
        assertThat(lifted.audit().reason()).isEqualTo("host-relaxed");
        assertThat(r.cycle(() -> { }).actions()).isEmpty();
    }

    @Test
    void aV1CapTheKernelRefusedIsDroppedAndNotRetriedForRelaxAfter() throws Exception {
        Recorded r = new Recorded(POLICY, Recorded.v1Host(2, 8 * GIB), 1000, false);
        Recorded.Cg cache = cacheHeavy(r);
        r.availableBytes = 512 * MIB;
        Action.SetMemory first = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0);
        assertThat(first.limit()).isNotNull();
        // EBUSY: the write failed, memory.limit_in_bytes still reads the user's 6 GiB, the agent says so
        r.engine.refused(first, r.now);
        for (int i = 0; i < 2; i++) { // relaxAfter is 3 s: 1 s and 2 s after the refusal
            assertThat(Recorded.of(r.cycle(() -> { }), Action.SetMemory.class))
                    .as("cycle %d after the refusal", i + 1).allSatisfy(a -> assertThat(a.limit()).isNull());
        }
        Action.SetMemory retried = null;
        for (int i = 0; i < 1 && retried == null; i++) {
            retried = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).stream()
                    .filter(a -> a.limit() != null).findFirst().orElse(null);
        }
        assertThat(retried).as("tried again once relaxAfter has passed").isNotNull();
        assertThat(retried.audit().before()).as("from the user's limit: the refused cap was forgotten")
                .isEqualTo("6144.0MiB");
    }

    @Test
    void aV1CapIsLiftedAtOnceOnAnOomKillAndLoosenedWhenTheContainerStalls() throws Exception {
        Recorded r = new Recorded(POLICY, Recorded.v1Host(2, 8 * GIB), 1000, false);
        Recorded.Cg cache = cacheHeavy(r);
        r.availableBytes = 512 * MIB;
        Action.SetMemory first = applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class));
        cache.memStall = 0.2;
        Action.SetMemory loosened = applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class));
        assertThat(loosened.audit().reason()).isEqualTo("stalled");
        assertThat(loosened.limit()).as("4.5 GiB × 1.5 reaches the user's 6 GiB").isEqualTo(6 * GIB);
        assertThat(loosened.audit().action()).isEqualTo("lift-memory-limit");

        cache.memStall = 0;
        applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class)); // squeezed again
        assertThat(cache.memoryLimit).isLessThan(6 * GIB);
        cache.oomKills = 1;
        Action.SetMemory back = applied(cache, Recorded.of(r.cycle(() -> { }), Action.SetMemory.class));
        assertThat(back.audit().reason()).isEqualTo("oom-kill");
        assertThat(back.limit()).isEqualTo(6 * GIB);
        assertThat(first.limit()).isLessThan(6 * GIB);
    }

    @Test
    void v1LimitsCanBeTurnedOffLeavingSoftLimitsOnly() throws Exception {
        Recorded r = new Recorded(POLICY.replace("'relaxAfter':'3s'", "'relaxAfter':'3s','v1Limits':false"),
                Recorded.v1Host(2, 8 * GIB), 1000, false);
        Recorded.Cg cache = cacheHeavy(r);
        r.availableBytes = 512 * MIB;
        Action.SetMemory a = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class).get(0);
        assertThat(a.limit()).isNull();
        assertThat(a.softLimit()).isEqualTo((long) (3 * GIB * 0.9));
        assertThat(cache.memoryLimit).isEqualTo(6 * GIB);
    }
}
