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
class IoFairnessTest {

    static final String POLICY = "{'policies':{'cpuFairness':{'enabled':false},'oomProtection':{'enabled':false},"
            + "'memoryPressure':{'enabled':false},'ioFairness':{'saturation':0.8,'headroom':0.9,'liftAfter':'1s',"
            + "'minActive':'256k'}}}";

    private static Runnable io(Recorded r, Object... cgAndMibPerSecond) {
        return () -> {
            for (int i = 0; i < cgAndMibPerSecond.length; i += 2) {
                ((Recorded.Cg) cgAndMibPerSecond[i]).ioBytes += (long) (((Number) cgAndMibPerSecond[i + 1])
                        .doubleValue() * MIB * r.intervalMillis / 1000);
            }
        };
    }

    @Test
    void aFlooderIsThrottledSoAModestWriterGetsItsRateAndTheThrottleIsLiftedAfterContention() throws Exception {
        Recorded r = new Recorded(POLICY, Recorded.v1Host(2, 8 * GIB), 500, false);
        Recorded.Cg flood = r.container("flood", Map.of());
        Recorded.Cg modest = r.container("modest", Map.of());
        // Alone the flooder shows the device's capacity (100 MiB/s): nothing to share.
        for (int i = 0; i < 4; i++) {
            assertThat(r.cycle(io(r, flood, 100)).actions()).isEmpty();
        }
        // The modest writer starts and gets 2 of the 5 MiB/s it wants: the device is saturated.
        List<Action.SetIo> set = Recorded.of(r.cycle(io(r, flood, 98, modest, 2)), Action.SetIo.class);
        assertThat(set).singleElement().satisfies(a -> {
            assertThat(a.container()).isEqualTo("flood");
            assertThat(a.major()).isEqualTo(254);
            assertThat(a.minor()).isEqualTo(0);
            // 90 % of 100 MiB/s, less what the modest writer wants (its 2 MiB/s + 256 KiB)
            assertThat(a.writeBps()).isEqualTo((long) (90 * MIB - 2 * MIB - 256 * 1024));
            assertThat(a.readBps()).isEqualTo(a.writeBps());
            assertThat(a.audit().action()).isEqualTo("set-io-throttle");
            assertThat(a.audit().inputs()).containsEntry("device", "254:0");
        });
        // Throttled, the flooder uses its throttle and the modest writer its 5 MiB/s: the throttle follows
        // the modest writer's demand once (a larger share), then holds.
        Recorded.of(r.cycle(io(r, flood, 86, modest, 5)), Action.SetIo.class);
        for (int i = 0; i < 6; i++) {
            assertThat(r.cycle(io(r, flood, 83, modest, 5)).actions()).isEmpty();
        }
        // The modest writer stops: lifted 1 s later (two intervals), not before.
        assertThat(r.cycle(io(r, flood, 83)).actions()).isEmpty();
        assertThat(r.cycle(io(r, flood, 83)).actions()).isEmpty();
        List<Action.SetIo> lifted = Recorded.of(r.cycle(io(r, flood, 83)), Action.SetIo.class);
        assertThat(lifted).singleElement().satisfies(a -> {
            assertThat(a.writeBps()).isEqualTo(Limits.UNLIMITED);
            assertThat(a.readBps()).isEqualTo(Limits.UNLIMITED);
            assertThat(a.audit().action()).isEqualTo("lift-io-throttle");
        });
    }

    @Test
    void sharesFollowWeightsWhenBothWantMoreReachedInStepsOfAtMostThirtyPercent() throws Exception {
        String weighted = POLICY.replace("{'policies'", "{'classes':[{'name':'hi','weight':3,'selector':"
                + "{'names':['hi']}}],'policies'");
        Recorded r = new Recorded(weighted, Recorded.v1Host(2, 8 * GIB), 500, false);
        Recorded.Cg lo = r.container("lo", Map.of());
        Recorded.Cg hi = r.container("hi", Map.of());
        lo.ioStall = 1.0; // both stall on IO all the time: both take any share
        hi.ioStall = 1.0;
        long share = (long) (100 * MIB * 0.9 / 4); // lo's weighted share of 90 % of 100 MiB/s
        List<Action.SetIo> set = Recorded.of(r.cycle(io(r, lo, 50, hi, 50)), Action.SetIo.class);
        assertThat(set).singleElement().satisfies(a -> {
            assertThat(a.container()).isEqualTo("lo");
            assertThat(a.writeBps()).isEqualTo((long) (50 * MIB * 0.7)); // a first step down, not all the way
        });
        assertThat(r.cycle(io(r, lo, 35, hi, 65)).actions()).as("within the 1 s cooldown").isEmpty();
        set = Recorded.of(r.cycle(io(r, lo, 35, hi, 65)), Action.SetIo.class);
        assertThat(set).singleElement().satisfies(a -> assertThat(a.writeBps()).isEqualTo((long) (35 * MIB * 0.7)));
        // 24.5 MiB/s is within 10 % of the share (22.5): it holds there
        for (int i = 0; i < 4; i++) {
            assertThat(r.cycle(io(r, lo, 24.5, hi, 65.5)).actions()).isEmpty();
        }
        // hi calms down (10 MiB/s, no stall): lo's share jumps to 90 - 10.25 MiB/s; its throttle rises a quarter
        hi.ioStall = 0;
        List<Action.SetIo> raised = Recorded.of(r.cycle(io(r, lo, 24.5, hi, 10)), Action.SetIo.class);
        assertThat(raised).singleElement().satisfies(a -> assertThat(a.writeBps())
                .isEqualTo((long) ((long) (35 * MIB * 0.7) * 1.25)));
    }
}
