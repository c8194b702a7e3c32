package dev.corral.agent.client;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code logs --since/--until} values as Docker's CLI takes them (its timetypes.GetTimestamp): RFC 3339 times
 * ("2026-12-07T21:00:00Z", with a fraction or an offset; without a zone, local time; a date alone, local midnight),
 * Unix timestamps ("1700000000", "1700000000.5") and Go durations before now ("10m", "1h30m", "1.5h", "300ms"), sent
 * to the daemon as a Unix time "seconds.nanoseconds".
 */
final class LogTimes {

    private static final Pattern UNIX = Pattern.compile("-?[0-9]+(\\.[0-9]{1,9})?");
    private static final Pattern GO_DURATION = Pattern.compile("(?:[0-9]+(?:\\.[0-9]*)?(?:ns|us|µs|ms|s|m|h))+");
    private static final Pattern GO_PART = Pattern.compile("([0-9]+(?:\\.[0-9]*)?)(ns|us|µs|ms|s|m|h)");

    private LogTimes() {
    }

    /** The Unix time the value names, "seconds.nanoseconds"; an IllegalArgumentException saying what is wrong. */
    static String unix(String value, Instant now, ZoneId zone) {
        String v = value.trim();
        if (UNIX.matcher(v).matches()) {
            return v;
        }
        Instant t;
        if (GO_DURATION.matcher(v).matches()) {
            t = now.minus(goDuration(v));
        } else {
            t = rfc3339(v, zone);
        }
        return t.getEpochSecond() + "." + String.format("%09d", t.getNano());
    }

    private static Duration goDuration(String v) {
        Duration d = Duration.ZERO;
        Matcher m = GO_PART.matcher(v);
        while (m.find()) {
            double n = Double.parseDouble(m.group(1));
            long unitNs = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            d = d.plusNanos(Math.round(n * unitNs));
        }
        return d;
    }

    private static Instant rfc3339(String v, ZoneId zone) {
        try {
            return OffsetDateTime.parse(v).toInstant();
        } catch (DateTimeParseException e) {
            // no zone: local time, as Docker
        }
        try {
            return LocalDateTime.parse(v).atZone(zone).toInstant();
        } catch (DateTimeParseException e) {
            // a date alone
        }
        try {
            return LocalDate.parse(v).atStartOfDay(zone).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + v + "' is not a time: RFC 3339 (2026-12-07T21:00:00Z), a Unix "
                    + "timestamp (1700000000) or a duration before now (10m, 1h30m)");
        }
    }
}
