package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral pause NAME...}: freeze. */
@Command(name = "pause", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Freeze all processes of containers.")
public final class PauseCommand extends ClientCommand {

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        return forEach(names, n -> {
            client.post(containerPath(n) + "/pause", null);
            out().println(n);
        });
    }
}
