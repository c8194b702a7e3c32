package dev.corral.agent.client;

import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Durations as people write them: "500ms", "1s", "5m", "1h", or plain seconds ("2", "0.5"). */
public final class DurationConverter implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    public static Duration parse(String value) {
        String v = value.trim();
        try {
            if (v.endsWith("ms") && v.length() > 2) {
                return positive(Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2))), value);
            }
            double scale = 1000;
            String number = v;
            switch (v.isEmpty() ? ' ' : v.charAt(v.length() - 1)) {
                case 's' -> number = v.substring(0, v.length() - 1);
                case 'm' -> { scale = 60_000; number = v.substring(0, v.length() - 1); }
                case 'h' -> { scale = 3_600_000; number = v.substring(0, v.length() - 1); }
                default -> { }
            }
            if (!number.matches("-?[0-9]+(\\.[0-9]+)?")) {
                throw new NumberFormatException(number);
            }
            return positive(Duration.ofMillis(Math.round(Double.parseDouble(number) * scale)), value);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a duration (e.g. 500ms, 1s, 5m)");
        }
    }

    private static Duration positive(Duration d, String value) {
        if (d.isNegative() || d.isZero()) {
            throw new TypeConversionException("'" + value + "' must be a positive duration");
        }
        return d;
    }
}
