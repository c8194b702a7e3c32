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

    /**
     * Empty when there is no file, or when it is empty or torn: the monitor renames it into place before its fsync,
     * so a machine crash can leave it so, and the status is then unknown.
     */
    public static Optional<ExitStatus> read(Path file) throws IOException {
        JsonNode n;
        try {
            n = SpecParser.JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException | com.fasterxml.jackson.core.JsonProcessingException e) {
            return Optional.empty();
        }
        if (n == null || !n.path("exitCode").isInt()) {
            return Optional.empty();
        }
        return Optional.of(new ExitStatus(n.path("exitCode").asInt(), n.path("signal").asInt(0),
                n.path("finishedAtMillis").asLong(System.currentTimeMillis())));
    }
}
