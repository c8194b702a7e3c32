package dev.corral.policies.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Limits;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The floor of network fairness: whatever the weights, demands and own rates, once settled no container that moves
 * traffic sends less than its weighted max-min share of the capacity (or what it wants, if less) by more than the
 * hysteresis, and while the demand exceeds the capacity the total stays near it. The reference share is computed
 * here by progressive filling, independently of MaxMin.
 */
@net.jqwik.api.Tag("unit")
class NetworkFairnessPropertiesTest {

    static final double CAP = NetworkFairnessTest.CAP;

    /** @param weight class weight 1..4; wants bytes/s; own its own --network-rate, 0 for none */
    record Sender(int weight, double wants, long own) {
        double demand() {
            return own > 0 ? Math.min(wants, own) : wants;
        }
    }

    @Provide
    Arbitrary<List<Sender>> senders() {
        Arbitrary<Sender> s = Combinators.combine(Arbitraries.integers().between(1, 4),
                Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.doubles().between(0, 10_000)),
                        net.jqwik.api.Tuple.of(4, Arbitraries.doubles().between(50_000, 3 * CAP))),
                Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, Arbitraries.just(0L)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(100_000, 3_000_000))))
                .as(Sender::new);
        return s.list().ofMinSize(2).ofMaxSize(5);
    }

    /** Weighted max-min by progressive filling: raise every unsatisfied sender's level until capacity is used. */
    static double[] reference(List<Sender> senders, double capacity) {
        int n = senders.size();
        double[] share = new double[n];
        boolean[] done = new boolean[n];
        double left = capacity;
        for (int round = 0; round < n && left > 1e-6; round++) {
            double weights = 0;
            for (int i = 0; i < n; i++) {
                weights += done[i] ? 0 : senders.get(i).weight();
            }
            if (weights == 0) {
                break;
            }
            double level = left / weights;
            // the tightest sender fills first
            double step = level;
            for (int i = 0; i < n; i++) {
                if (!done[i]) {
                    step = Math.min(step, (senders.get(i).demand() - share[i]) / senders.get(i).weight());
                }
            }
            for (int i = 0; i < n; i++) {
                if (!done[i]) {
                    share[i] += step * senders.get(i).weight();
                    left -= step * senders.get(i).weight();
                    if (share[i] >= senders.get(i).demand() - 1e-6) {
                        done[i] = true;
                    }
                }
            }
        }
        return share;
    }

    @Property(tries = 300)
    void settledNoActiveSenderIsBelowItsShareAndTheTotalKeepsToTheCapacity(
            @ForAll("senders") List<Sender> senders) throws Exception {
        // class weights 1..4 by name prefix
        String policy = "{'classes':[{'name':'w2','weight':2,'selector':{'names':['w2*']}},"
                + "{'name':'w3','weight':3,'selector':{'names':['w3*']}},"
                + "{'name':'w4','weight':4,'selector':{'names':['w4*']}},{'name':'w1','weight':1}],"
                + "'policies':{'cpuFairness':{'enabled':false},'memoryPressure':{'enabled':false},"
                + "'oomProtection':{'enabled':false},'ioFairness':{'enabled':false},'admission':{'enabled':false},"
                + "'networkFairness':{'capacity':" + (long) CAP + ",'headroom':1.0,'cooldown':'1s'}}}";
        Recorded r = new Recorded(policy, Recorded.v1Host(2, 8 * Recorded.GIB), 1000, false);
        NetworkFairnessTest.Link link = new NetworkFairnessTest.Link();
        List<Recorded.Cg> cgs = new ArrayList<>();
        for (int i = 0; i < senders.size(); i++) {
            Sender s = senders.get(i);
            Recorded.Cg cg = NetworkFairnessTest.sender(r, link, "w" + s.weight() + "-" + i, s.wants());
            cg.egressLimit = s.own() > 0 ? s.own() : Limits.UNLIMITED;
            cgs.add(cg);
        }
        for (int cycle = 0; cycle < 30; cycle++) { // a 6 MB/s sender steps down 30 % at a time: 7 steps to its share
            link.apply(r.cycle(link.step(r)));
        }
        double demand = senders.stream().mapToDouble(Sender::demand).sum();
        List<Sender> active = new ArrayList<>();
        List<Recorded.Cg> activeCgs = new ArrayList<>();
        for (int i = 0; i < senders.size(); i++) {
            if (senders.get(i).wants() >= 16_000) {
                active.add(senders.get(i));
                activeCgs.add(cgs.get(i));
            }
        }
        double[] floor = reference(active, CAP);
        double total = 0;
        for (int i = 0; i < active.size(); i++) {
            double sent = link.sent.get(activeCgs.get(i));
            total += sent;
            assertThat(sent).as("sender %d of %s (floor %.0f)", i, active, floor[i])
                    .isGreaterThanOrEqualTo(0.85 * floor[i] - 1);
        }
        if (demand > CAP && active.size() >= 2) {
            assertThat(total).as("total of %s", senders).isLessThanOrEqualTo(1.15 * CAP);
        }
    }
}
