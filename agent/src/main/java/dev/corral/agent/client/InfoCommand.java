package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.Version;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code corral info}: the daemon's host facts ({@code GET /v1/info}). */
@Command(name = "info", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Show the daemon's host, cgroup mode and kernel support.")
public final class InfoCommand extends ClientCommand {

    @Option(names = "--format", paramLabel = "text|json", defaultValue = "text", description = "text (default) or json.")
    String format;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (!format.equals("text") && !format.equals("json")) {
            throw usage("--format: '" + format + "' is not text or json");
        }
        JsonNode info = client.get("/v1/info");
        if (format.equals("json")) {
            out().println(ClientJson.pretty(info));
        } else {
            out().println("Client Version: " + Version.current());
            out().println("Daemon: " + client.address());
            out().print(render(info, ""));
        }
        return 0;
    }

    /** Nested objects indented, arrays of values joined with commas: "key: value" lines. */
    static String render(JsonNode node, String indent) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, JsonNode> e : iterable(node)) {
            JsonNode v = e.getValue();
            if (v.isObject()) {
                b.append(indent).append(e.getKey()).append(":\n").append(render(v, indent + "  "));
            } else if (v.isArray()) {
                List<String> items = new ArrayList<>();
                for (JsonNode item : v) {
                    items.add(item.isValueNode() ? item.asText() : item.toString());
                }
                b.append(indent).append(e.getKey()).append(": ").append(String.join(", ", items)).append('\n');
            } else {
                b.append(indent).append(e.getKey()).append(": ").append(v.isNull() ? "-" : v.asText());
                if (e.getKey().endsWith("Bytes") && v.isIntegralNumber() && v.asLong() >= 1024) {
                    b.append(" (").append(Formats.binarySize(v.asDouble())).append(')');
                }
                b.append('\n');
            }
        }
        return b.toString();
    }

    private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
        List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
        node.fields().forEachRemaining(fields::add);
        return fields;
    }
}
