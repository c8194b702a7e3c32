package dev.corral.agent.client;

import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral inspect NAME...}: the containers as the API describes them, as a JSON array. */
@Command(name = "inspect", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Show containers as JSON.")
public final class InspectCommand extends ClientCommand {

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        ArrayNode found = ClientJson.array();
        int rc = forEach(names, n -> found.add(client.get(containerPath(n))));
        if (!found.isEmpty() || rc == 0) {
            out().println(ClientJson.pretty(found));
        }
        return rc;
    }
}
