package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code corral container prune}: docker's container management commands that have no top-level form. */
@Command(name = "container", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Manage containers: prune.", subcommands = {ContainerCommand.Prune.class})
public final class ContainerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "container needs a subcommand: prune");
    }

    @Command(name = "prune", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = {"Remove all stopped (created or exited) containers, as docker container prune; prints "
                    + "their ids and the space reclaimed.", "Asks first unless -f."})
    public static final class Prune extends ClientCommand {

        @Option(names = {"-f", "--force"}, description = "Do not ask for confirmation.")
        boolean force;

        @Override
        protected int run(CorralClient client) throws Exception {
            if (!force && !confirmed()) {
                return 0;
            }
            JsonNode result = client.post("/v1/containers/prune", null);
            if (!result.path("deleted").isEmpty()) {
                out().println("Deleted Containers:");
                result.path("deleted").forEach(d -> out().println(d.path("id").asText()));
                out().println();
            }
            out().println("Total reclaimed space: " + Formats.humanSize(result.path("reclaimedBytes").asLong()));
            return 0;
        }

        private boolean confirmed() throws IOException {
            out().print("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
            out().flush();
            String answer = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            return answer != null && (answer.strip().equalsIgnoreCase("y") || answer.strip().equalsIgnoreCase("yes"));
        }
    }
}
