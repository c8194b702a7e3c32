package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral unpause NAME...}: thaw ({@code POST .../resume}). */
@Command(name = "unpause", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Thaw paused containers.")
public final class UnpauseCommand extends ClientCommand {

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        return forEach(names, n -> {
            client.post(containerPath(n) + "/resume", null);
            out().println(n);
        });
    }
}
