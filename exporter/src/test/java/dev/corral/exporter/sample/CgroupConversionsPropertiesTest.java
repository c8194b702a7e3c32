package dev.corral.exporter.sample;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.LongRange;

@net.jqwik.api.Tag("unit")
class CgroupConversionsPropertiesTest {

    @Property
    void weightToSharesMapsBackToSharesWithTheSameWeight(@ForAll @LongRange(min = 2, max = 262_144) long shares) {
        long weight = CgroupConversions.sharesToWeight(shares);

        assertThat(CgroupConversions.sharesToWeight(CgroupConversions.weightToShares(weight))).isEqualTo(weight);
    }

    @Property
    void sharesToWeightIsMonotonicAndInRange(@ForAll @LongRange(min = 2, max = 262_143) long shares) {
        long w = CgroupConversions.sharesToWeight(shares);

        assertThat(w).isBetween(1L, 10_000L);
        assertThat(CgroupConversions.sharesToWeight(shares + 1)).isGreaterThanOrEqualTo(w);
        assertThat(w).isEqualTo(CgroupConversionsTest.runcSharesToWeight(shares));
    }

    @Property
    void cpusToQuotaIsProportional(@ForAll @DoubleRange(min = 0.01, max = 512) double cpus) {
        assertThat(CgroupConversions.cpusToQuotaMicros(cpus, 100_000)).isEqualTo(Math.round(cpus * 100_000));
    }
}
