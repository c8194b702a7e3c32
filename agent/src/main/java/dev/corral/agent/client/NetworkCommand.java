package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.corral.agent.spec.SpecParser;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code corral network create|ls|inspect|rm}: the daemon's bridge networks. */
@Command(name = "network", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Manage bridge networks: create, list, inspect, remove.",
        subcommands = {NetworkCommand.Create.class, NetworkCommand.Ls.class, NetworkCommand.Inspect.class,
            NetworkCommand.Rm.class})
public final class NetworkCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "network needs a subcommand: create, ls, inspect or rm");
    }

    static String path(String name) {
        return "/v1/networks/" + CorralClient.enc(name);
    }

    /** Every published port by container name, from one request (for ps and port); empty if the daemon has none. */
    static Map<String, List<String>> portsByContainer(CorralClient client) throws Exception {
        Map<String, List<String>> out = new HashMap<>();
        JsonNode nets;
        try {
            nets = client.get("/v1/networks");
        } catch (ApiException e) {
            return out; // a daemon without networks
        }
        for (JsonNode n : nets) {
            n.path("containers").fields().forEachRemaining(e -> {
                List<String> ports = new ArrayList<>();
                e.getValue().path("ports").forEach(p -> ports.add((p.hasNonNull("hostIp") ? p.get("hostIp").asText()
                        : "0.0.0.0") + ":" + p.path("hostPort").asInt() + "->" + p.path("containerPort").asInt() + "/"
                        + p.path("protocol").asText("tcp")));
                out.put(e.getKey(), ports);
            });
        }
        return out;
    }

    @Command(name = "create", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = {"Create a bridge network; its containers (run --network NAME) resolve each other by name.",
                "Its bridge is made with its first container. Prints the name."})
    public static final class Create extends ClientCommand {

        @Parameters(paramLabel = "NAME", arity = "1")
        String name;

        @Option(names = "--subnet", paramLabel = "CIDR", description = "IPv4 subnet, e.g. 10.90.0.0/24 (default: "
                + "the first free /16 from 10.77.0.0/16).")
        String subnet;

        @Override
        protected int run(CorralClient client) throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", name);
            if (subnet != null) {
                body.put("subnet", subnet);
            }
            out().println(client.post("/v1/networks", body).path("name").asText());
            return 0;
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "List networks.")
    public static final class Ls extends ClientCommand {

        @Option(names = {"-q", "--quiet"}, description = "Print names only.")
        boolean quiet;

        @Override
        protected int run(CorralClient client) throws Exception {
            JsonNode list = client.get("/v1/networks");
            if (quiet) {
                list.forEach(n -> out().println(n.path("name").asText()));
                return 0;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "BRIDGE", "SUBNET", "GATEWAY", "CONTAINERS"});
            for (JsonNode n : list) {
                rows.add(new String[] {n.path("name").asText(), n.path("bridge").asText(), n.path("subnet").asText(),
                    n.path("gateway").asText(), Integer.toString(n.path("containers").size())});
            }
            out().print(Formats.table(rows));
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "Show networks as JSON, with their containers' addresses and ports.")
    public static final class Inspect extends ClientCommand {

        @Parameters(paramLabel = "NETWORK", arity = "1..*")
        List<String> names;

        @Override
        protected int run(CorralClient client) throws Exception {
            ArrayNode found = SpecParser.JSON.createArrayNode();
            int rc = forEachChecked(names, n -> found.add(client.get(path(n))));
            if (!found.isEmpty() || rc == 0) {
                out().println(SpecParser.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(found));
            }
            return rc;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "Remove networks; refused while containers (also exited ones) are on them.")
    public static final class Rm extends ClientCommand {

        @Parameters(paramLabel = "NETWORK", arity = "1..*")
        List<String> names;

        @Override
        protected int run(CorralClient client) throws Exception {
            return forEachChecked(names, n -> {
                client.delete(path(n));
                out().println(n);
            });
        }
    }
}
