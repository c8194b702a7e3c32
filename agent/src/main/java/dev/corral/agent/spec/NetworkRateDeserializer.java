package dev.corral.agent.spec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import dev.corral.exporter.sample.NetworkRates;
import java.io.IOException;

/** A network rate: a number (bytes per second) or tc's form ("10mbit"); a bad one names its field (400). */
public final class NetworkRateDeserializer extends JsonDeserializer<Long> {

    @Override
    public Long deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
            long v = p.getLongValue();
            return v == -1 ? dev.corral.exporter.sample.Limits.UNLIMITED : v;
        }
        if (p.currentToken() == JsonToken.VALUE_STRING) {
            try {
                return NetworkRates.parseLimit(p.getText());
            } catch (IllegalArgumentException e) {
                // its own message (no unit, not a rate), not the generic "expected an integer"
                throw com.fasterxml.jackson.databind.JsonMappingException.from(p, e.getMessage());
            }
        }
        return (Long) ctx.handleUnexpectedToken(Long.class, p);
    }
}
