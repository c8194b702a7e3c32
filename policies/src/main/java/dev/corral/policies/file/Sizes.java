package dev.corral.policies.file;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import dev.corral.exporter.sample.ByteSizes;
import java.io.IOException;

/** Sizes ({@link ByteSizes}: "512m", "2g", 1048576) and durations ("500ms", "2s", "1m", "1h") in policy files. */
public final class Sizes {

    private Sizes() {
    }

    /** Milliseconds from a number (milliseconds) or a string ending in ms, s, m or h. */
    public static long millis(String text) {
        String s = text.trim().toLowerCase(java.util.Locale.ROOT);
        long unit;
        String digits;
        if (s.endsWith("ms")) {
            unit = 1;
            digits = s.substring(0, s.length() - 2);
        } else if (s.endsWith("s")) {
            unit = 1000;
            digits = s.substring(0, s.length() - 1);
        } else if (s.endsWith("m")) {
            unit = 60_000;
            digits = s.substring(0, s.length() - 1);
        } else if (s.endsWith("h")) {
            unit = 3_600_000;
            digits = s.substring(0, s.length() - 1);
        } else {
            unit = 1;
            digits = s;
        }
        try {
            double v = Double.parseDouble(digits);
            if (!(v >= 0) || v > 1e12) {
                throw new NumberFormatException();
            }
            return Math.round(v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (e.g. 500ms, 2s, 1m, 1h)");
        }
    }

    static String text(JsonParser p, DeserializationContext ctx) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT || t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        return (String) ctx.handleUnexpectedToken(String.class, p);
    }

    /** For size fields. */
    public static final class Deserializer extends JsonDeserializer<Long> {
        @Override
        public Long deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            String text = text(p, ctx);
            try {
                return ByteSizes.parse(text);
            } catch (IllegalArgumentException e) {
                throw com.fasterxml.jackson.databind.exc.InvalidFormatException.from(p, e.getMessage(), text,
                        Long.class);
            }
        }
    }

    /** For duration fields (stored as milliseconds). */
    public static final class MillisDeserializer extends JsonDeserializer<Long> {
        @Override
        public Long deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            String text = text(p, ctx);
            try {
                return millis(text);
            } catch (IllegalArgumentException e) {
                throw com.fasterxml.jackson.databind.exc.InvalidFormatException.from(p, e.getMessage(), text,
                        Long.class);
            }
        }
    }

    /** For network rate fields: a number (bytes per second) or tc's form ("100mbit"). */
    public static final class RateDeserializer extends JsonDeserializer<Long> {
        @Override
        public Long deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            String text = text(p, ctx);
            try {
                return text.matches("[0-9]+") ? Long.parseLong(text)
                        : dev.corral.exporter.sample.NetworkRates.parse(text);
            } catch (IllegalArgumentException e) {
                throw com.fasterxml.jackson.databind.exc.InvalidFormatException.from(p, e.getMessage(), text,
                        Long.class);
            }
        }
    }
}
