package dev.corral.exporter.sample;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Network rates as tc(8) writes them, parsed to bytes per second: "500kbit", "10mbit", "1gbit" (bits, powers of
 * 1000), "1mibit" (powers of 1024), "2mbps" (bytes per second, tc's meaning of bps). A bare number is refused in
 * text (tc reads it as bits, most people as bytes); a spec's JSON number is bytes per second. "max" or "-1" for no
 * limit ({@link Limits#UNLIMITED}). The one parser for rates in every module.
 */
public final class NetworkRates {

    private static final Pattern RATE = Pattern.compile("([0-9]{1,19}(?:\\.[0-9]{1,9})?)([kmgt]i?)?(bit|bps)");

    private NetworkRates() {
    }

    /** Bytes per second; at least 1. */
    public static long parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        Matcher m = RATE.matcher(s);
        if (!m.matches()) {
            if (s.matches("[0-9.]+")) {
                throw new IllegalArgumentException("'" + text + "' has no unit: give one, e.g. 500kbit, 10mbit, "
                        + "1gbit (bits/s) or 2mbps (bytes/s)");
            }
            throw new IllegalArgumentException("'" + text + "' is not a rate (e.g. 500kbit, 10mbit, 1gbit, 2mbps)");
        }
        String prefix = m.group(2) == null ? "" : m.group(2);
        long base = prefix.endsWith("i") ? 1024 : 1000;
        int power = prefix.isEmpty() ? 0 : "kmgt".indexOf(prefix.charAt(0)) + 1;
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(base).pow(power));
        if (m.group(3).equals("bit")) {
            bytes = bytes.divide(BigDecimal.valueOf(8));
        }
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE / 8)) > 0) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        long out = bytes.setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
        if (out < 1) {
            throw new IllegalArgumentException("'" + text + "' is below 1 byte per second");
        }
        return out;
    }

    /** Like {@link #parse}, and "max" or "-1" for no limit. */
    public static long parseLimit(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        return s.equals("max") || s.equals("-1") ? Limits.UNLIMITED : parse(text);
    }

    /** tc's form of a rate in bytes per second, exact: "8000000bit" reads back as the same bytes per second. */
    public static String tc(long bytesPerSecond) {
        return (bytesPerSecond * 8) + "bit";
    }

    /** For people: "8mbit", "1.5gbit", "300kbit". */
    public static String human(long bytesPerSecond) {
        if (Limits.isUnlimited(bytesPerSecond)) {
            return "max";
        }
        double bits = bytesPerSecond * 8.0;
        String[] units = {"bit", "kbit", "mbit", "gbit", "tbit"};
        int u = 0;
        while (bits >= 1000 && u < units.length - 1) {
            bits /= 1000;
            u++;
        }
        String n = bits == Math.rint(bits) ? String.valueOf((long) bits)
                : new BigDecimal(bits).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
        return n + units[u];
    }
}
