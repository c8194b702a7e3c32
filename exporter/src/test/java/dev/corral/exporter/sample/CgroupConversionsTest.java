package dev.corral.exporter.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Against runc's libcontainer/cgroups/utils.go: ConvertCPUSharesToCgroupV2Value
 * ({@code ceil(10^((l^2 + 125 l) / 612 - 7/34))}, l = log2(shares), clamped to [2, 262144] → [1, 10000], 0 stays 0)
 * and ConvertBlkIOToIOWeightValue ({@code 1 + (w - 10) * 9999 / 990}, 0 stays 0).
 */
@Tag("unit")
class CgroupConversionsTest {

    /** runc's formula written out again, with an exact log2 for powers of two as Go's math.Log2 has. */
    static long runcSharesToWeight(long shares) {
        if (shares == 0) {
            return 0;
        }
        if (shares <= 2) {
            return 1;
        }
        if (shares >= 262144) {
            return 10000;
        }
        double l = Long.bitCount(shares) == 1 ? Long.numberOfTrailingZeros(shares)
                : StrictMath.log(shares) / StrictMath.log(2);
        double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
        return (long) Math.ceil(StrictMath.pow(10, exponent));
    }

    @Test
    void sharesToWeightAnchorsOfTheFit() {
        // l = 1: (1 + 125) / 612 - 7/34 = 126/612 - 126/612 = 0 → 10^0 = 1
        assertThat(CgroupConversions.sharesToWeight(2)).isEqualTo(1);
        // l = 10: (100 + 1250) / 612 - 7/34 = 1350/612 - 126/612 = 1224/612 = 2 → 10^2 = 100
        assertThat(CgroupConversions.sharesToWeight(1024)).isEqualTo(100);
        // l = 18: (324 + 2250) / 612 - 7/34 = 2574/612 - 126/612 = 2448/612 = 4 → 10^4 = 10000
        assertThat(CgroupConversions.sharesToWeight(262144)).isEqualTo(10000);
        assertThat(CgroupConversions.sharesToWeight(0)).isZero();
    }

    @Test
    void sharesToWeightOtherValues() {
        // l = 9: (81 + 1125) / 612 - 7/34 = 1080/612 = 1.7647 → 10^1.7647 = 58.2 → 59
        assertThat(CgroupConversions.sharesToWeight(512)).isEqualTo(runcSharesToWeight(512)).isEqualTo(59);
        // l = 11: (121 + 1375) / 612 - 7/34 = 1370/612 = 2.2386 → 10^2.2386 = 173.3 → 174
        assertThat(CgroupConversions.sharesToWeight(2048)).isEqualTo(runcSharesToWeight(2048)).isEqualTo(174);
        assertThat(CgroupConversions.sharesToWeight(1)).isEqualTo(1);
        assertThat(CgroupConversions.sharesToWeight(3)).isEqualTo(2);
        assertThat(CgroupConversions.sharesToWeight(1_000_000)).isEqualTo(10000);
    }

    @Test
    void sharesToWeightMatchesTheFormulaEverywhere() {
        for (long s = 0; s <= 262_200; s++) {
            assertThat(CgroupConversions.sharesToWeight(s)).as("shares %d", s).isEqualTo(runcSharesToWeight(s));
        }
    }

    @Test
    void weightToSharesKeepsTheAnchors() {
        assertThat(CgroupConversions.weightToShares(1)).isEqualTo(2);
        assertThat(CgroupConversions.weightToShares(100)).isEqualTo(1024); // docs/metrics.md: 100 ↔ 1024
        assertThat(CgroupConversions.weightToShares(10000)).isEqualTo(262144);
        assertThat(CgroupConversions.weightToShares(0)).isZero();
        assertThat(CgroupConversions.weightToShares(20000)).isEqualTo(262144);
    }

    @Test
    void weightToSharesRoundTripsForEveryShares() {
        for (long s = 2; s <= 262_144; s++) {
            long w = CgroupConversions.sharesToWeight(s);
            long back = CgroupConversions.weightToShares(w);
            assertThat(back).as("shares %d", s).isBetween(2L, 262_144L);
            assertThat(CgroupConversions.sharesToWeight(back)).as("shares %d → weight %d → shares %d", s, w, back)
                    .isEqualTo(w);
        }
    }

    @Test
    void weightToSharesForEveryWeight() {
        for (long w = 1; w <= 10_000; w++) {
            long s = CgroupConversions.weightToShares(w);
            assertThat(CgroupConversions.sharesToWeight(s)).as("weight %d", w).isGreaterThanOrEqualTo(w);
            assertThat(s == 2 || CgroupConversions.sharesToWeight(s - 1) <= w).as("weight %d", w).isTrue();
        }
    }

    @Test
    void blkioWeightToIoWeight() {
        assertThat(CgroupConversions.blkioWeightToIoWeight(10)).isEqualTo(1);
        assertThat(CgroupConversions.blkioWeightToIoWeight(1000)).isEqualTo(10000);
        // 1 + 490 * 9999 / 990 = 1 + 4899510 / 990 = 1 + 4949
        assertThat(CgroupConversions.blkioWeightToIoWeight(500)).isEqualTo(4950);
        // 1 + 90 * 9999 / 990 = 1 + 899910 / 990 = 1 + 909 (integer division)
        assertThat(CgroupConversions.blkioWeightToIoWeight(100)).isEqualTo(910);
        assertThat(CgroupConversions.blkioWeightToIoWeight(0)).isZero();
        for (long w = 10; w <= 1000; w++) {
            assertThat(CgroupConversions.blkioWeightToIoWeight(w)).isEqualTo(1 + (w - 10) * 9999 / 990);
        }
    }

    @Test
    void ioWeightToBlkioWeight() {
        assertThat(CgroupConversions.ioWeightToBlkioWeight(1)).isEqualTo(10);
        assertThat(CgroupConversions.ioWeightToBlkioWeight(10000)).isEqualTo(1000);
        assertThat(CgroupConversions.ioWeightToBlkioWeight(0)).isZero();
        for (long w = 10; w <= 1000; w++) {
            assertThat(CgroupConversions.ioWeightToBlkioWeight(CgroupConversions.blkioWeightToIoWeight(w)))
                    .as("blkio weight %d", w).isBetween(w - 1, w);
        }
    }

    @Test
    void cpusToQuota() {
        assertThat(CgroupConversions.cpusToQuotaMicros(0.5, 100_000)).isEqualTo(50_000);
        assertThat(CgroupConversions.cpusToQuotaMicros(2, 100_000)).isEqualTo(200_000);
        assertThat(CgroupConversions.cpusToQuotaMicros(1.5, CgroupConversions.DEFAULT_CPU_PERIOD_MICROS))
                .isEqualTo(150_000);
        assertThat(CgroupConversions.cpusToQuotaMicros(0.001, 100_000)).isEqualTo(1000); // the kernel's 1 ms floor
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, -0.0, -1, Double.NaN, Double.NEGATIVE_INFINITY})
    void cpusToQuotaRejects(double cpus) {
        assertThatThrownBy(() -> CgroupConversions.cpusToQuotaMicros(cpus, 100_000))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void v1UnlimitedMemory() {
        assertThat(Limits.normalizeV1Memory(9223372036854771712L)).isEqualTo(Limits.UNLIMITED);
        assertThat(Limits.normalizeV1Memory(Long.MAX_VALUE)).isEqualTo(Limits.UNLIMITED);
        assertThat(Limits.normalizeV1Memory(268435456)).isEqualTo(268435456);
        assertThat(Limits.isUnlimited(Limits.UNLIMITED)).isTrue();
        assertThat(Absent.is(-1)).isTrue();
        assertThat(Absent.is(0)).isFalse();
    }
}
