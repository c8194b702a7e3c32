package dev.corral.policies.file;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import java.io.IOException;

/** Sizes and durations as people write them in policy files: "512m", "2g", 1048576; "500ms", "2s", "1m". */
public final class Sizes {

    private Sizes() {
    }

    /** Bytes from a number or a string with an optional k/m/g/t suffix (powers of 1024). */
    public static long bytes(String text) {
        String s = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.endsWith("ib")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        long unit = 1;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                case 't' -> unit = 1L << 40;
                default -> unit = 1;
            }
        }
        String digits = unit == 1 ? s : s.substring(0, s.length() - 1);
        double value;
        try {
            value = Double.parseDouble(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size (e.g. 512m, 2g, 1048576)");
        }
        if (!(value >= 0) || value * unit > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("'" + text + "' is not a size ≥ 0");
        }
        return Math.round(value * unit);
    }

    /** Milliseconds from a number (milliseconds) or a string ending in ms, s or m. */
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
            throw new IllegalArgumentException("'" + text + "' is not a duration (e.g. 500ms, 2s, 1m)");
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
                return bytes(text);
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
}
