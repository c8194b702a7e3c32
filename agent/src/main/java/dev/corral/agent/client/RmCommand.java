package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code corral rm [-f] NAME...}. */
@Command(name = "rm", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Remove containers.")
public final class RmCommand extends ClientCommand {

    @Option(names = {"-f", "--force"}, description = "Kill running containers first.")
    boolean force;

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        String query = force ? "?force=true" : "";
        return forEach(names, n -> {
            client.delete(containerPath(n) + query);
            out().println(n);
        });
    }
}
