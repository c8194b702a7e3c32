package dev.corral.agent.spec;

import dev.corral.exporter.sample.Limits;

/** Sizes as Docker writes them: "512", "64k", "256m", "1g", "2t" (powers of 1024), and "max" for unlimited. */
public final class ByteSizes {

    private ByteSizes() {
    }

    public static long parse(String text) {
        String s = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("max") || s.equals("-1")) {
            return Limits.UNLIMITED;
        }
        if (s.endsWith("b") && s.length() > 1 && !Character.isDigit(s.charAt(s.length() - 2))) {
            s = s.substring(0, s.length() - 1); // "64mb"
        }
        long unit = 1;
        char last = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
        switch (last) {
            case 'k' -> unit = 1L << 10;
            case 'm' -> unit = 1L << 20;
            case 'g' -> unit = 1L << 30;
            case 't' -> unit = 1L << 40;
            case 'b' -> unit = 1;
            default -> {
            }
        }
        String number = unit == 1 && last != 'b' ? s : s.substring(0, s.length() - 1);
        if (!number.matches("[0-9]{1,19}")) {
            throw new IllegalArgumentException("'" + text + "' is not a size (e.g. 512k, 64m, 1g, max)");
        }
        long n = Long.parseLong(number);
        if (n > Long.MAX_VALUE / unit) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return n * unit;
    }
}
