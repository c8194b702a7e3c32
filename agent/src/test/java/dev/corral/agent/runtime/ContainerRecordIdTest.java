package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.spec.SpecParser;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The derived container id: in the API's JSON, stable, different for a new container of the same name. */
@Tag("unit")
class ContainerRecordIdTest {

    private static ContainerRecord record(String name, long created) {
        return new ContainerRecord(name, null, ContainerState.CREATED, "/corral/" + name, created, null, null, null,
                null, null, null, null, null, null, null, null, null);
    }

    @Test
    void theIdIsWrittenAndIgnoredWhenReadBack() throws Exception {
        ContainerRecord r = record("web", 1_700_000_000_000L);
        assertThat(r.id()).matches("[0-9a-f]{64}").isEqualTo(record("web", 1_700_000_000_000L).id());
        assertThat(record("web", 1_700_000_000_001L).id()).as("a later container of the same name").isNotEqualTo(r.id());
        assertThat(record("web2", 1_700_000_000_000L).id()).isNotEqualTo(r.id());
        byte[] json = SpecParser.JSON.writeValueAsBytes(r);
        assertThat(SpecParser.JSON.readTree(json).path("id").asText()).isEqualTo(r.id());
        // container.json as StateStore writes and reads it: the strict mapper accepts the derived field
        assertThat(SpecParser.JSON.readValue(json, ContainerRecord.class)).isEqualTo(r);
    }
}
