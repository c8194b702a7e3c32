package dev.corral.policies.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Limits;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * networkFairness on recorded traffic, with tc modelled: a container sends what it wants, at most the rate set for
 * it (the action applied) and its own rate.
 */
@Tag("unit")
class NetworkFairnessTest {

    static final long CAP = 2_000_000; // 16mbit
    static final String POLICY = "{'classes':[{'name':'hi','weight':3,'selector':{'names':['hi*']}},"
            + "{'name':'lo','weight':1}],'policies':{'cpuFairness':{'enabled':false},'memoryPressure':"
            + "{'enabled':false},'oomProtection':{'enabled':false},'ioFairness':{'enabled':false},"
            + "'admission':{'enabled':false},'networkFairness':{'capacity':'16mbit','headroom':1.0%s}}}";

    /** The kernel side: what each container sends this interval, given the rates the policy set. */
    static final class Link {
        final Map<Recorded.Cg, Double> wants = new HashMap<>();
        final Map<String, Long> egress = new HashMap<>();
        final Map<Recorded.Cg, Double> sent = new HashMap<>();

        Runnable step(Recorded r) {
            return () -> wants.forEach((cg, w) -> {
                double rate = Math.min(w, Math.min(egress.getOrDefault(name(cg), Limits.UNLIMITED),
                        cg.egressLimit));
                sent.put(cg, rate);
                cg.txBytes += (long) (rate * r.intervalMillis / 1000);
            });
        }

        void apply(Decision d) {
            for (Action.SetNetwork a : Recorded.of(d, Action.SetNetwork.class)) {
                if (a.egress() != null && !a.audit().dryRun()) {
                    egress.put(a.container(), a.egress());
                }
            }
        }

        static String name(Recorded.Cg cg) {
            return cg.path.substring(Recorded.PARENT.length() + 1);
        }
    }

    static Recorded.Cg sender(Recorded r, Link link, String name, double wants) {
        Recorded.Cg cg = r.container(name, Map.of());
        cg.bridged = true;
        link.wants.put(cg, wants);
        return cg;
    }

    @Test
    void twoFloodersOfWeights1And3Share1To3AndTheRatesAreLiftedAfter() throws Exception {
        Recorded r = new Recorded(String.format(POLICY, ""), Recorded.v1Host(2, 8 * Recorded.GIB), 1000, false);
        Link link = new Link();
        Recorded.Cg lo = sender(r, link, "lo", 2.5e6);
        Recorded.Cg hi = sender(r, link, "hi", 2.5e6);
        Decision first = null;
        // 20 cycles: the rates step down at most 30 % at a time, from what each sends (2.5 MB/s) to its share
        for (int i = 0; i < 20; i++) {
            Decision d = r.cycle(link.step(r));
            if (first == null && !d.actions().isEmpty()) {
                first = d;
            }
            link.apply(d);
        }
        assertThat(first).isNotNull();
        Action.SetNetwork a = Recorded.of(first, Action.SetNetwork.class).get(0);
        assertThat(a.audit().policy()).isEqualTo("networkFairness");
        assertThat(a.audit().action()).isEqualTo("set-network-rate");
        assertThat(a.audit().inputs()).containsEntry("direction", "egress").containsKey("entitledBytesPerSecond");
        assertThat(a.ingress()).isNull();
        assertThat(link.sent.get(lo)).isCloseTo(CAP / 4.0, org.assertj.core.data.Percentage.withPercentage(10));
        assertThat(link.sent.get(hi)).isCloseTo(CAP * 3 / 4.0, org.assertj.core.data.Percentage.withPercentage(10));

        // hi stops: lo alone is no contention; its rate is lifted after liftAfter (2 s)
        link.wants.put(hi, 0.0);
        List<Action.SetNetwork> lifted = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Decision d = r.cycle(link.step(r));
            link.apply(d);
            Recorded.of(d, Action.SetNetwork.class).stream()
                    .filter(x -> x.audit().action().equals("lift-network-rate")).forEach(lifted::add);
        }
        assertThat(lifted).extracting(Action.SetNetwork::container).containsExactlyInAnyOrder("lo", "hi");
        assertThat(lifted).allSatisfy(x -> {
            assertThat(x.egress()).isEqualTo(Limits.UNLIMITED);
            assertThat(x.audit().action()).isEqualTo("lift-network-rate");
            assertThat(x.audit().reason()).isEqualTo("contention-over");
        });
    }

    @Test
    void belowSaturationNothingIsSetAndOwnRatesAreNeverExceeded() throws Exception {
        Recorded r = new Recorded(String.format(POLICY, ""), Recorded.v1Host(2, 8 * Recorded.GIB), 1000, false);
        Link link = new Link();
        sender(r, link, "lo", 0.5e6);
        sender(r, link, "hi", 0.5e6);
        for (int i = 0; i < 5; i++) {
            assertThat(r.cycle(link.step(r)).actions()).isEmpty();
        }
        Recorded r2 = new Recorded(String.format(POLICY, ""), Recorded.v1Host(2, 8 * Recorded.GIB), 1000, false);
        Link link2 = new Link();
        Recorded.Cg capped = sender(r2, link2, "hi", 5e6);
        capped.egressLimit = 1_000_000; // its own --network-rate 8mbit is below its share (1.5 MB/s)
        sender(r2, link2, "lo", 5e6);
        for (int i = 0; i < 8; i++) {
            Decision d = r2.cycle(link2.step(r2));
            link2.apply(d);
            assertThat(Recorded.of(d, Action.SetNetwork.class)).noneMatch(a -> a.container().equals("hi"));
        }
        assertThat(link2.sent.get(capped)).isEqualTo(1e6);
    }

    @Test
    void dryRunDecidesAndAuditsButTheLinkIsUntouched() throws Exception {
        Recorded r = new Recorded(String.format(POLICY, ""), Recorded.v1Host(2, 8 * Recorded.GIB), 1000, true);
        Link link = new Link();
        Recorded.Cg lo = sender(r, link, "lo", 2.5e6);
        sender(r, link, "hi", 2.5e6);
        boolean audited = false;
        for (int i = 0; i < 5; i++) {
            Decision d = r.cycle(link.step(r));
            audited |= Recorded.of(d, Action.SetNetwork.class).stream().allMatch(a -> a.audit().dryRun())
                    && !d.actions().isEmpty();
            link.apply(d);
        }
        assertThat(audited).isTrue();
        assertThat(link.sent.get(lo)).isEqualTo(2.5e6);
    }

    @Test
    void withoutACapacityTheRuleIsOff() throws Exception {
        Recorded r = new Recorded(String.format(POLICY, "").replace("'capacity':'16mbit',", ""),
                Recorded.v1Host(2, 8 * Recorded.GIB), 1000, false);
        Link link = new Link();
        sender(r, link, "lo", 2.5e6);
        sender(r, link, "hi", 2.5e6);
        for (int i = 0; i < 5; i++) {
            assertThat(r.cycle(link.step(r)).actions()).isEmpty();
        }
    }

    @Test
    void aRestartedContainerIsNotTakenForHeldAtItsOldRate() throws Exception {
        Recorded r = new Recorded(String.format(POLICY, ""), Recorded.v1Host(2, 8 * Recorded.GIB), 1000, false);
        Link link = new Link();
        Recorded.Cg lo = sender(r, link, "lo", 2.5e6);
        sender(r, link, "hi", 2.5e6);
        for (int i = 0; i < 6; i++) {
            link.apply(r.cycle(link.step(r)));
        }
        assertThat(link.egress).containsKey("lo");
        // lo restarts: a new veth (counters from 0) with no rate of the policy's on it
        link.egress.remove("lo");
        lo.txBytes = 0;
        boolean setAgain = false;
        for (int i = 0; i < 6 && !setAgain; i++) {
            Decision d = r.cycle(link.step(r));
            link.apply(d);
            setAgain = Recorded.of(d, Action.SetNetwork.class).stream().anyMatch(a -> a.container().equals("lo")
                    && a.audit().before().equals("max"));
        }
        assertThat(setAgain).as("lo's rate set again, from none").isTrue();
        for (int i = 0; i < 15; i++) { // down to its share in steps of at most 30 %
            link.apply(r.cycle(link.step(r)));
        }
        assertThat(link.sent.get(lo)).isCloseTo(CAP / 4.0, org.assertj.core.data.Percentage.withPercentage(10));
    }
}
