package dev.corral.agent.spec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import dev.corral.exporter.sample.ByteSizes;
import java.io.IOException;

/** A size in bytes from a JSON number or a string such as "64m"; see {@link ByteSizes}. */
public final class ByteSizeDeserializer extends JsonDeserializer<Long> {

    @Override
    public Long deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
            return p.getLongValue();
        }
        if (p.currentToken() == JsonToken.VALUE_STRING) {
            try {
                return ByteSizes.parseLimit(p.getText());
            } catch (IllegalArgumentException e) {
                return (Long) ctx.handleWeirdStringValue(Long.class, p.getText(), e.getMessage());
            }
        }
        return (Long) ctx.handleUnexpectedToken(Long.class, p);
    }
}
