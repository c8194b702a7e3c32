package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.ContainerSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code corral create}: make a container as {@code run} would, without starting it ({@code corral start} does). */
@Command(name = "create", modelTransformer = RunCommand.StopAtCommand.class,
        description = {"Create a container running COMMAND, without starting it; prints its name.",
                "The flags are run's. Start it with corral start NAME (in the background), as docker create/start.",
                "Exit codes as docker create's: 125 when the create failed (bad flags, the daemon's errors)."})
public final class CreateCommand extends ClientCommand {

    @Option(names = "--help", usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Mixin
    ContainerOptions container = new ContainerOptions();

    @Override
    protected int failureCode(ApiException e) {
        return RunCommand.RUN_FAILED;
    }

    @Override
    protected int run(CorralClient client) throws Exception {
        boolean generated = container.name == null;
        ContainerSpec spec = container.toSpec(generated ? Names.generate() : container.name);
        Integer failed = container.ensureImage(client, this);
        if (failed != null) {
            return failed;
        }
        JsonNode created = ContainerOptions.create(client, spec, generated, container.remove ? "rm=true" : "");
        out().println(created.path("name").asText(spec.name()));
        return 0;
    }
}
