package dev.corral.exporter.sample;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes as people write them in specs, flags and policy files: "512", "64k", "256m", "1.5g", "10MiB", "2t"
 * (powers of 1024, as Docker reads them). The one parser for sizes in every module.
 */
public final class ByteSizes {

    private static final Pattern SIZE = Pattern.compile("([0-9]{1,19}(?:\\.[0-9]{1,9})?)([kmgt]?)(?:i?b)?");

    private ByteSizes() {
    }

    /** Bytes from a size; fractions round to the nearest byte. */
    public static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (e.g. 512k, 64m, 1.5g)");
        }
        int shift = switch (m.group(2)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(1L << shift));
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return bytes.setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
    }

    /** Like {@link #parse}, and "max" or "-1" for no limit ({@link Limits#UNLIMITED}). */
    public static long parseLimit(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        return s.equals("max") || s.equals("-1") ? Limits.UNLIMITED : parse(text);
    }
}
