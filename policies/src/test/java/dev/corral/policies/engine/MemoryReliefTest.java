package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static dev.corral.policies.engine.Recorded.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Limits;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

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
        assertThat(a.audit().action()).isEqualTo("set-memory-soft-limit");
        r.availableBytes = 4 * GIB;
        Action.SetMemory lifted = null;
        for (int i = 0; i < 5 && lifted == null; i++) {
            List<Action.SetMemory> l = Recorded.of(r.cycle(() -> { }), Action.SetMemory.class);
            lifted = l.isEmpty() ? null : l.get(0);
        }
        assertThat(lifted.softLimit()).isEqualTo(Limits.UNLIMITED);
    }
}
