package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code corral ps}: list containers (running ones unless -a). */
@Command(name = "ps", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "List containers (running ones unless -a).")
public final class PsCommand extends ClientCommand {

    @Option(names = {"-a", "--all"}, description = "Also list created and exited containers.")
    boolean all;

    @Option(names = {"-q", "--quiet"}, description = "Print names only (a name works wherever docker takes an id; "
            + "so does a unique id prefix).")
    boolean quiet;

    @Option(names = "--no-trunc", description = "Show the whole container id and command.")
    boolean noTrunc;

    @Option(names = "--format", paramLabel = "table|json", defaultValue = "table",
            description = "table (default) or json: one JSON object per line, as the API returns them.")
    String format;

    @Option(names = {"-f", "--filter"}, paramLabel = "KEY=VALUE",
            description = "label=KEY[=VALUE], state=STATE (or status=), name=PREFIX; repeatable.")
    List<String> filters = new ArrayList<>();

    @Option(names = "--all-runtimes", description = "Also list, read-only, the containers other runtimes started "
            + "(Docker, Podman, containerd, CRI-O, Kubernetes), with their runtime.")
    boolean allRuntimes;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (!format.equals("table") && !format.equals("json")) {
            throw usage("--format: '" + format + "' is not table or json");
        }
        StringBuilder query = new StringBuilder(all ? "?all=true" : "");
        for (String f : filters) {
            int eq = f.indexOf('=');
            String key = eq < 0 ? f : f.substring(0, eq);
            String value = eq < 0 ? "" : f.substring(eq + 1);
            String param = switch (key) {
                case "label" -> "label";
                case "state", "status" -> "state";
                case "name" -> "name";
                default -> throw usage("--filter: '" + f + "' is not label=, state= or name=");
            };
            if (value.isEmpty()) {
                throw usage("--filter: '" + f + "' has no value");
            }
            query.append(query.length() == 0 ? '?' : '&').append(param).append('=').append(CorralClient.enc(value));
        }
        JsonNode list = client.get("/v1/containers" + query);
        long now = System.currentTimeMillis(); // ages as of the answer, not of the ports' request after it
        List<JsonNode> containers = new ArrayList<>();
        list.forEach(containers::add);
        // newest first (not Comparator.comparingLong().reversed(): the JDK's lambda is not in the client's CDS archive)
        containers.sort((a, b) -> Long.compare(b.path("createdAtMillis").asLong(), a.path("createdAtMillis").asLong()));
        if (allRuntimes) {
            List<JsonNode> foreign = new ArrayList<>();
            client.get("/v1/foreign-containers").forEach(foreign::add);
            printAll(containers, foreign);
            return 0;
        }
        if (quiet) {
            containers.forEach(c -> out().println(c.path("name").asText()));
        } else if (format.equals("json")) {
            for (JsonNode c : containers) {
                out().println(ClientJson.write(c));
            }
        } else {
            out().print(table(containers, now, NetworkCommand.portsByContainer(client), noTrunc));
        }
        out().flush();
        return 0;
    }

    /** Corral's containers, then the others (marked read-only), in one list with a RUNTIME column. */
    private void printAll(List<JsonNode> own, List<JsonNode> foreign) throws Exception {
        long now = System.currentTimeMillis();
        if (format.equals("json")) {
            for (JsonNode c : own) {
                out().println(ClientJson.write(((com.fasterxml.jackson.databind.node.ObjectNode) c
                        .deepCopy()).put("runtime", "corral")));
            }
            for (JsonNode c : foreign) {
                out().println(ClientJson.write(c));
            }
        } else if (quiet) {
            own.forEach(c -> out().println(c.path("name").asText()));
            foreign.forEach(c -> out().println(foreignName(c)));
        } else {
            out().print(allTable(own, foreign, now));
        }
        out().flush();
    }

    private static String foreignName(JsonNode c) {
        String name = c.path("name").asText("");
        return name.isEmpty() ? c.path("containerId").asText("").substring(0, Math.min(12,
                c.path("containerId").asText("").length())) : name;
    }

    static String allTable(List<JsonNode> own, List<JsonNode> foreign, long now) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "RUNTIME", "IMAGE", "POD", "STATUS"});
        for (JsonNode c : own) {
            rows.add(new String[] {c.path("name").asText(), "corral", c.path("spec").path("image").asText(""), "",
                    status(c, now)});
        }
        for (JsonNode c : foreign) {
            String ns = c.path("namespace").asText("");
            String pod = c.path("pod").asText("");
            rows.add(new String[] {foreignName(c), c.path("runtime").asText(), c.path("image").asText(""),
                    pod.isEmpty() ? "" : (ns.isEmpty() ? pod : ns + "/" + pod), "Running (read-only)"});
        }
        return Formats.table(rows);
    }

    static String table(List<JsonNode> containers, long now) {
        return table(containers, now, java.util.Map.of(), false);
    }

    /**
     * Docker's columns: CONTAINER ID (12 hex digits unless noTrunc), IMAGE (for a container without one, its
     * rootfs: {@code rootfs:host}, {@code rootfs:/srv/root}), COMMAND, CREATED, STATUS, PORTS, NAMES.
     *
     * @param ports published ports by container name (NetworkCommand.portsByContainer)
     */
    static String table(List<JsonNode> containers, long now, java.util.Map<String, List<String>> ports,
                        boolean noTrunc) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"});
        for (JsonNode c : containers) {
            List<String> argv = new ArrayList<>();
            c.path("spec").path("command").forEach(a -> argv.add(a.asText()));
            String id = c.path("id").asText("");
            String command = String.join(" ", argv);
            rows.add(new String[] {noTrunc || id.length() < 12 ? id : id.substring(0, 12), image(c.path("spec")),
                    "\"" + (noTrunc ? command : Formats.truncate(command, 20)) + "\"",
                    c.has("createdAtMillis") ? Formats.ago(c.path("createdAtMillis").asLong(), now) : "",
                    status(c, now), String.join(", ", ports.getOrDefault(c.path("name").asText(), List.of())),
                    c.path("name").asText()});
        }
        return Formats.table(rows);
    }

    private static String image(JsonNode spec) {
        if (spec.path("image").isTextual()) {
            return spec.path("image").asText();
        }
        return spec.path("rootfs").isTextual() ? "rootfs:" + spec.path("rootfs").asText() : "";
    }

    /**
     * As docker: "Up 5 minutes", "Up 2 hours (Paused)", "Exited (3) 2 minutes ago", "Restarting (3) 1 second ago"
     * (in its restart backoff), "Created"; and "Queued 2 minutes"
     * while admission control holds it, "Created (not admitted)" once refused from the queue.
     */
    static String status(JsonNode c, long now) {
        int restarts = c.path("restartCount").asInt(0); // by its restart policy
        return stateStatus(c, now) + (restarts == 0 ? "" : restarts == 1 ? " (1 restart)" : " (" + restarts
                + " restarts)");
    }

    private static String stateStatus(JsonNode c, long now) {
        String state = c.path("state").asText();
        return switch (state) {
            case "running" -> "Up " + Formats.duration(now - c.path("startedAtMillis").asLong(now));
            case "paused" -> "Up " + Formats.duration(now - c.path("startedAtMillis").asLong(now)) + " (Paused)";
            case "exited" -> {
                String s = c.path("restarting").asBoolean(false) ? "Restarting" : "Exited"; // in its backoff
                if (c.path("exitCode").isIntegralNumber()) {
                    s += " (" + c.path("exitCode").asInt() + ")";
                }
                if (c.path("finishedAtMillis").isIntegralNumber()) {
                    s += " " + Formats.ago(c.path("finishedAtMillis").asLong(), now);
                }
                if (c.path("oomKilled").asBoolean(false)) {
                    s += " (OOM killed)";
                }
                yield s;
            }
            case "created" -> c.path("error").isTextual() ? "Created (not admitted)" : "Created";
            case "queued" -> "Queued " + Formats.duration(now - c.path("queuedAtMillis").asLong(now));
            case "starting" -> "Starting";
            default -> state;
        };
    }
}
