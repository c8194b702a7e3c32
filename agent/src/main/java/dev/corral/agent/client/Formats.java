package dev.corral.agent.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Human-readable sizes, durations and tables, in docker's style. */
final class Formats {

    private static final String[] BINARY = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    private static final String[] DECIMAL = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};

    private Formats() {
    }

    /** Memory as docker stats shows it: "55.74MiB", "1GiB". */
    static String binarySize(double bytes) {
        return size(bytes, 1024, BINARY, 4);
    }

    /** IO as docker stats shows it: "1.2MB", "0B". */
    static String decimalSize(double bytes) {
        return size(bytes, 1000, DECIMAL, 3);
    }

    /** Sizes as docker's prune reports print them (Go units.HumanSize): "1.234kB", "0B". */
    static String humanSize(double bytes) {
        return size(bytes, 1000, DECIMAL, 4);
    }

    private static String size(double bytes, double base, String[] units, int digits) {
        int i = 0;
        while (bytes >= base && i < units.length - 1) {
            bytes /= base;
            i++;
        }
        return significant(bytes, digits) + units[i];
    }

    /** Like Go's %.Ng: N significant digits, no trailing zeros. */
    static String significant(double v, int digits) {
        if (v == 0) {
            return "0";
        }
        int magnitude = (int) Math.floor(Math.log10(Math.abs(v))) + 1;
        int decimals = Math.max(0, digits - magnitude);
        String s = String.format(Locale.ROOT, "%." + decimals + "f", v);
        if (s.contains(".")) {
            s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return s;
    }

    /** docker's HumanDuration: "Less than a second", "3 seconds", "About a minute", "2 hours", "3 days". */
    static String duration(long millis) {
        long seconds = Math.max(0, millis) / 1000;
        if (seconds < 1) {
            return "Less than a second";
        }
        if (seconds == 1) {
            return "1 second";
        }
        if (seconds < 60) {
            return seconds + " seconds";
        }
        long minutes = seconds / 60;
        if (minutes == 1) {
            return "About a minute";
        }
        if (minutes < 60) {
            return minutes + " minutes";
        }
        long hours = Math.round(seconds / 3600.0);
        if (hours == 1) {
            return "About an hour";
        }
        if (hours < 48) {
            return hours + " hours";
        }
        if (hours < 24 * 7 * 2) {
            return hours / 24 + " days";
        }
        if (hours < 24 * 30 * 2) {
            return hours / 24 / 7 + " weeks";
        }
        if (hours < 24 * 365 * 2) {
            return hours / 24 / 30 + " months";
        }
        return hours / 24 / 365 + " years";
    }

    static String ago(long thenMillis, long nowMillis) {
        return duration(nowMillis - thenMillis) + " ago";
    }

    /** Columns separated by three spaces, as docker's tables; the last column is not padded. */
    static String table(List<String[]> rows) {
        List<Integer> widths = new ArrayList<>();
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                if (widths.size() <= i) {
                    widths.add(0);
                }
                widths.set(i, Math.max(widths.get(i), row[i].length()));
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(row[i]);
                if (i < row.length - 1) {
                    line.append(" ".repeat(widths.get(i) - row[i].length() + 3));
                }
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }

    /** At most {@code max} characters, with an ellipsis when cut. */
    static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }
}
