package dev.corral.agent.spec;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.stream.Collectors;

/** JSON ↔ specs, with errors that name the field. */
public final class SpecParser {

    public static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64)
                .maxStringLength(1 << 20).build());
    }

    private SpecParser() {
    }

    public static ContainerSpec parse(byte[] json) throws SpecException {
        return read(json, ContainerSpec.class);
    }

    /** Reads any request body type, turning Jackson's errors into a {@link SpecException} naming the field. */
    public static <T> T read(byte[] json, Class<T> type) throws SpecException {
        if (json == null || json.length == 0) {
            throw new SpecException(null, "the request body is empty; a JSON object is expected");
        }
        try {
            T value = JSON.readValue(json, type);
            if (value == null) {
                throw new SpecException(null, "a JSON object is expected, not null");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw new SpecException(path(e), "unknown field");
        } catch (InvalidFormatException e) {
            throw new SpecException(path(e), "invalid value " + quoted(e.getValue()) + ": expected "
                    + kind(e.getTargetType()));
        } catch (MismatchedInputException e) {
            String field = path(e);
            throw new SpecException(field, field == null ? "a JSON object is expected"
                    : "wrong type: expected " + kind(e.getTargetType()));
        } catch (JsonMappingException e) {
            throw new SpecException(path(e), firstLine(e.getOriginalMessage()));
        } catch (JacksonException e) {
            throw new SpecException(null, "malformed JSON: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new SpecException(null, "unreadable request body: " + e.getMessage());
        }
    }

    private static String path(JsonMappingException e) {
        if (e.getPath().isEmpty()) {
            return null;
        }
        return e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }

    private static String kind(Class<?> type) {
        if (type == null) {
            return "another type";
        }
        if (Number.class.isAssignableFrom(type) || type.isPrimitive()) {
            return type == Double.class ? "a number" : "an integer";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type == Boolean.class) {
            return "true or false";
        }
        if (java.util.Collection.class.isAssignableFrom(type)) {
            return "an array";
        }
        return "an object";
    }

    private static String quoted(Object v) {
        return v instanceof String s ? "'" + s + "'" : String.valueOf(v);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "invalid";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
