package dev.corral.exporter.sample;

/**
 * The conversions between v1 and v2 knobs, matching current runc and crun so numbers agree across tools.
 */
public final class CgroupConversions {

    /** Docker's and runc's default CFS period. */
    public static final long DEFAULT_CPU_PERIOD_MICROS = 100_000;

    private CgroupConversions() {
    }

    /**
     * cpu.shares (2..262144) to cpu.weight (1..10000): the quadratic fit of runc 1.1.9+/crun 1.8+ in which
     * 2 → 1, 1024 → 100 and 262144 → 10000. 0 means unset and stays 0.
     */
    public static long sharesToWeight(long shares) {
        if (shares == 0) {
            return 0;
        }
        if (shares <= 2) {
            return 1;
        }
        if (shares >= 262_144) {
            return 10_000;
        }
        double l = Math.log(shares) / Math.log(2);
        double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
        return (long) Math.ceil(Math.pow(10, exponent));
    }

    /** The inverse of {@link #sharesToWeight}: cpu.weight back to the shares that map to it. */
    public static long weightToShares(long weight) {
        if (weight <= 0) {
            return 0;
        }
        if (weight >= 10_000) {
            return 262_144;
        }
        if (weight == 1) {
            return 2;
        }
        // Solve (l^2 + 125 l) / 612 - 7/34 = log10(weight) for l = log2(shares).
        double e = Math.log10(weight);
        double l = (-125 + Math.sqrt(125.0 * 125.0 + 4 * 612.0 * (e + 7.0 / 34.0))) / 2;
        long shares = Math.round(Math.pow(2, l));
        // Round-trip exactly where rounding lands one off (keeping the anchors: 100 -> 1024).
        while (shares > 2 && sharesToWeight(shares) > weight) {
            shares--;
        }
        while (sharesToWeight(shares) < weight) {
            shares++;
        }
        return shares;
    }

    /** v1 blkio.weight (10..1000) to v2 io.weight (1..10000), as runc converts it. 0 means unset. */
    public static long blkioWeightToIoWeight(long blkioWeight) {
        return blkioWeight == 0 ? 0 : 1 + (blkioWeight - 10) * 9999 / 990;
    }

    /** v2 io.weight back to v1 blkio.weight. */
    public static long ioWeightToBlkioWeight(long ioWeight) {
        return ioWeight == 0 ? 0 : 10 + (ioWeight - 1) * 990 / 9999;
    }

    /** Docker's {@code --cpus}: a CFS quota over the default period. */
    public static long cpusToQuotaMicros(double cpus, long periodMicros) {
        if (!(cpus > 0)) {
            throw new IllegalArgumentException("cpus must be > 0, got " + cpus);
        }
        return Math.max(1000, Math.round(cpus * periodMicros));
    }
}
