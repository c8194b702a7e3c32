package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral top NAME [ps OPTIONS]}: the container's processes, as docker top. */
@Command(name = "top", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        modelTransformer = RunCommand.StopAtCommand.class,
        description = {"Show the processes of a running container: the host's ps (default -ef; other ps options "
                + "may follow NAME, e.g. corral top web -o pid,comm) limited to the container's cgroup.",
                "Exit 1 when it is not running or ps refuses the options."})
public final class TopCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1..*", paramLabel = "PS_OPTIONS", arity = "0..*")
    List<String> psOptions = new ArrayList<>();

    @Override
    protected int run(CorralClient client) throws Exception {
        checkNames(List.of(name));
        String query = psOptions.isEmpty() ? "" : "?ps_args=" + CorralClient.enc(String.join(" ", psOptions));
        JsonNode top = client.get(containerPath(name) + "/top" + query);
        List<String[]> rows = new ArrayList<>();
        rows.add(strings(top.path("titles")));
        top.path("processes").forEach(p -> rows.add(strings(p)));
        out().print(Formats.table(rows));
        return 0;
    }

    private static String[] strings(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(v -> out.add(v.asText()));
        return out.toArray(new String[0]);
    }
}
