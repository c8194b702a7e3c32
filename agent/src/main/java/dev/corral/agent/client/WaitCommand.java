package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral wait NAME...}: block until each exits and print its exit code. */
@Command(name = "wait", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Wait until containers exit, then print their exit codes.")
public final class WaitCommand extends ClientCommand {

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        return forEach(names, n -> {
            JsonNode status = client.post(containerPath(n) + "/wait", null);
            out().println(status.path("exitCode").isIntegralNumber() ? status.path("exitCode").asText() : "-1");
            out().flush();
        });
    }
}
