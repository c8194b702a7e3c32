package dev.corral.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.SpecParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/** The monitor's exit.json: {"exitCode":N,"signal":S,"finishedAtMillis":T}. */
public record ExitStatus(int exitCode, int signal, long finishedAtMillis) {

    public static Optional<ExitStatus> read(Path file) throws IOException {
        try {
            JsonNode n = SpecParser.JSON.readTree(Files.readAllBytes(file));
            return Optional.of(new ExitStatus(n.path("exitCode").asInt(-1), n.path("signal").asInt(0),
                    n.path("finishedAtMillis").asLong(System.currentTimeMillis())));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }
}
