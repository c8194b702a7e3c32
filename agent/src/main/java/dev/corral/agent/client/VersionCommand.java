package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.corral.agent.Version;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code corral version}: the client's and the daemon's versions, as docker version lays them out. */
@Command(name = "version", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Show the client's and the daemon's versions (build, API, Java, OS/arch, kernel).",
                "When the daemon cannot be reached the client's part is printed, then the error (exit 1, as docker)."})
public final class VersionCommand extends ClientCommand {

    @Option(names = {"-f", "--format"}, paramLabel = "text|json", defaultValue = "text",
            description = "text (default) or json: {\"client\":{...},\"server\":{...}}.")
    String format;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (!format.equals("text") && !format.equals("json")) {
            throw usage("--format: '" + format + "' is not text or json");
        }
        Map<String, String> local = Version.server();
        JsonNode server;
        try {
            server = client.get("/v1/version");
        } catch (DaemonUnreachableException e) {
            if (format.equals("text")) {
                out().print(section("Client", tree(local)));
            }
            out().flush();
            err().println("corral: " + e.getMessage());
            return FAILED;
        }
        if (format.equals("json")) {
            ObjectNode both = JsonNodeFactory.instance.objectNode();
            both.set("client", tree(local));
            both.set("server", server);
            out().println(ClientJson.write(both));
        } else {
            out().print(section("Client", tree(local)) + "\n" + section("Server", server));
        }
        return 0;
    }

    private static ObjectNode tree(Map<String, String> values) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        values.forEach(o::put);
        return o;
    }

    static String section(String title, JsonNode v) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"Version:", v.path("version").asText()});
        rows.add(new String[] {"API version:", v.path("apiVersion").asText()});
        rows.add(new String[] {"Java version:", v.path("javaVersion").asText()});
        rows.add(new String[] {"OS/Arch:", v.path("os").asText() + "/" + v.path("arch").asText()});
        if (title.equals("Server")) {
            rows.add(new String[] {"Kernel Version:", v.path("kernel").asText()});
        }
        StringBuilder b = new StringBuilder(title).append(":\n");
        for (String[] r : rows) {
            b.append(' ').append(String.format("%-18s %s", r[0], r[1]).stripTrailing()).append('\n');
        }
        return b.toString();
    }
}
