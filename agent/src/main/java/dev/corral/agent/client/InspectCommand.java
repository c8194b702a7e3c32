package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code corral inspect NAME...}: the containers as the API describes them, as a JSON array, or through -f. */
@Command(name = "inspect", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Show containers as JSON, or one line each through a -f template.",
                "-f takes a subset of Go templates: {{.State.Status}}, {{json .Config.Labels}}, "
                        + "{{index .Config.Labels \"tier\"}}, {{join .Args \",\"}}, upper, lower, len, pipes."})
public final class InspectCommand extends ClientCommand {

    @Option(names = {"-f", "--format"}, paramLabel = "TEMPLATE", description = "Print each container through "
            + "TEMPLATE, as docker inspect -f (docs/cli.md lists the subset).")
    String format;

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        InspectTemplate template = null;
        if (format != null) {
            try {
                template = InspectTemplate.parse(format);
            } catch (IllegalArgumentException e) {
                throw usage("--format: template parsing error: " + e.getMessage());
            }
        }
        ArrayNode found = ClientJson.array();
        int rc = forEach(names, n -> found.add(client.get(containerPath(n))));
        if (template == null) {
            if (!found.isEmpty() || rc == 0) {
                out().println(ClientJson.pretty(found));
            }
            return rc;
        }
        for (JsonNode c : found) {
            try {
                out().println(template.apply(InspectTemplate.dockerView(c)));
            } catch (IllegalArgumentException e) {
                out().flush();
                err().println("corral: --format: " + e.getMessage());
                rc = FAILED;
            }
        }
        return rc;
    }
}
