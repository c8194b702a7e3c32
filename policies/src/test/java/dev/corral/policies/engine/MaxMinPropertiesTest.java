package dev.corral.policies.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import java.util.List;

@net.jqwik.api.Tag("unit")
class MaxMinPropertiesTest {

    record Claim(double demand, double weight) {
    }

    @Provide
    Arbitrary<List<Claim>> claims() {
        Arbitrary<Double> demand = Arbitraries.oneOf(Arbitraries.doubles().between(0, 8),
                Arbitraries.just(Double.POSITIVE_INFINITY));
        Arbitrary<Double> weight = Arbitraries.doubles().between(0.01, 100);
        return Combinators.combine(demand, weight).as(Claim::new).list().ofMinSize(1).ofMaxSize(12);
    }

    @Property
    void sharesAreWorkConservingBoundedByDemandAndWeighted(@ForAll("claims") List<Claim> claims,
                                                           @ForAll @DoubleRange(min = 0, max = 16) double capacity) {
        int n = claims.size();
        double[] d = new double[n];
        double[] w = new double[n];
        double demandSum = 0;
        for (int i = 0; i < n; i++) {
            d[i] = claims.get(i).demand();
            w[i] = claims.get(i).weight();
            demandSum += d[i];
        }
        double[] s = MaxMin.shares(capacity, d, w);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            assertThat(s[i]).isGreaterThanOrEqualTo(0).isLessThanOrEqualTo(d[i] + 1e-9);
            sum += s[i];
        }
        // Work-conserving: all of the capacity goes out unless every demand is met.
        assertThat(sum).isCloseTo(Math.min(capacity, demandSum), within(1e-6 * Math.max(1, capacity)));
        // Max-min by weight: a container short of its demand has the highest share per weight of all.
        for (int i = 0; i < n; i++) {
            if (s[i] < d[i] - 1e-9) {
                for (int j = 0; j < n; j++) {
                    assertThat(s[j] / w[j]).isLessThanOrEqualTo(s[i] / w[i] + 1e-6);
                }
            }
        }
    }

    @Property
    void backloggedSharesFollowTheWeights(@ForAll @DoubleRange(min = 0.1, max = 64) double capacity,
                                          @ForAll @DoubleRange(min = 0.1, max = 10) double w1,
                                          @ForAll @DoubleRange(min = 0.1, max = 10) double w2) {
        double inf = Double.POSITIVE_INFINITY;
        double[] s = MaxMin.shares(capacity, new double[] {inf, inf}, new double[] {w1, w2});
        assertThat(s[0] / s[1]).isCloseTo(w1 / w2, within(1e-9 * w1 / w2));
        assertThat(s[0] + s[1]).isCloseTo(capacity, within(1e-9 * capacity));
    }

    /** With one group holding everyone, the grouped filling is the plain one. */
    @Property
    void oneGroupOfAllIsThePlainMaxMin(@ForAll("claims") List<Claim> claims,
                                       @ForAll @DoubleRange(min = 0, max = 16) double capacity) {
        int n = claims.size();
        double[] d = new double[n];
        double[] w = new double[n];
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            d[i] = claims.get(i).demand();
            w[i] = claims.get(i).weight();
            all[i] = i;
        }
        double[] plain = MaxMin.shares(capacity, d, w);
        double[] grouped = MaxMin.shares(d, w, new int[][] {all}, new double[] {capacity});
        for (int i = 0; i < n; i++) {
            assertThat(grouped[i]).isCloseTo(plain[i], within(1e-6 * Math.max(1, capacity)));
        }
    }
}
