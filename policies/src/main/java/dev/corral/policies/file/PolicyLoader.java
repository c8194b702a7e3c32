package dev.corral.policies.file;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Reads policy files (JSON). Pure: it is given the bytes and the file's name, the caller does the IO. Every
 * error names the file, the path inside it and the problem.
 */
public final class PolicyLoader {

    /** The policy {@code corral serve} runs without {@code --policy}. */
    public static final String DEFAULT_RESOURCE = "dev/corral/policies/examples/default.json";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .build();

    private PolicyLoader() {
    }

    public static Policy parse(String file, byte[] json) throws PolicyException {
        if (json.length == 0) {
            throw new PolicyException(file, "", "the file is empty");
        }
        try {
            Policy p = MAPPER.readValue(json, Policy.class);
            if (p == null) {
                throw new PolicyException(file, "", "the file holds null, not a policy object");
            }
            return p;
        } catch (UnrecognizedPropertyException e) {
            throw new PolicyException(file, path(e), "unknown field '" + e.getPropertyName() + "' (known: "
                    + e.getKnownPropertyIds() + ")");
        } catch (JsonMappingException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException iae && iae.getMessage() != null) {
                return fieldProblem(file, path(e), iae.getMessage());
            }
            throw new PolicyException(file, path(e), e.getOriginalMessage() + at(e));
        } catch (JsonProcessingException e) {
            throw new PolicyException(file, e.getLocation() == null ? "" : "line " + e.getLocation().getLineNr()
                    + " column " + e.getLocation().getColumnNr(), "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // reading a byte array does no IO
        }
    }

    /** The embedded default policy. */
    public static Policy embeddedDefault() {
        try (InputStream in = PolicyLoader.class.getClassLoader().getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks " + DEFAULT_RESOURCE);
            }
            return parse("(embedded) default.json", in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (PolicyException e) {
            throw new IllegalStateException("the embedded default policy is invalid: " + e.getMessage(), e);
        }
    }

    /** Constructors report "field: problem" (or "a[1].b: problem"); the field joins the path Jackson knows. */
    private static Policy fieldProblem(String file, String path, String message) throws PolicyException {
        int colon = message.indexOf(": ");
        if (colon > 0 && message.substring(0, colon).matches("[A-Za-z][A-Za-z0-9_.\\[\\]]*")) {
            String field = message.substring(0, colon);
            throw new PolicyException(file, path.isEmpty() ? field : path + "." + field,
                    message.substring(colon + 2));
        }
        throw new PolicyException(file, path, message);
    }

    private static String at(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + " column "
                + e.getLocation().getColumnNr() + ")";
    }

    private static String path(JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (b.length() > 0) {
                    b.append('.');
                }
                b.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }
}
