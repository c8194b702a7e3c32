package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code corral stats [--no-stream] [NAME...]}: a live table of running containers' usage, refreshed every second
 * like docker stats; {@code --no-stream} prints it once.
 */
@Command(name = "stats", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Show containers' CPU, memory, network and block IO and pids, refreshed every second (all running "
                + "containers unless named).")
public final class StatsCommand extends ClientCommand {

    private static final String CLEAR = "\033[2J\033[H";
    /** v1 reports "no limit" as a page-rounded LONG_MAX. */
    private static final long UNLIMITED_THRESHOLD = 1L << 62;

    @Option(names = "--no-stream", description = "Print one table and exit.")
    boolean noStream;

    @Option(names = "--format", paramLabel = "table|json", defaultValue = "table",
            description = "table (default) or json: each container's stats as one JSON line.")
    String format;

    @Parameters(paramLabel = "NAME", arity = "0..*")
    List<String> names = new ArrayList<>();

    /** The host's memory, shown as the limit of containers without one (as docker does); -1 unknown. */
    private Long hostMemory;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (!format.equals("table") && !format.equals("json")) {
            throw usage("--format: '" + format + "' is not table or json");
        }
        checkNames(names);
        boolean json = format.equals("json");
        while (true) {
            long started = System.nanoTime();
            List<JsonNode> stats = collect(client);
            if (json) {
                for (JsonNode s : stats) {
                    out().println(ClientJson.write(s));
                }
            } else {
                out().print((noStream ? "" : CLEAR) + table(stats, hostMemory(client, stats)));
            }
            out().flush();
            if (noStream || Utf8Sink.closed(out(), System.out)) {
                return 0;
            }
            long sleep = 1000 - (System.nanoTime() - started) / 1_000_000;
            if (sleep > 0) {
                Thread.sleep(sleep);
            }
        }
    }

    /** Stats of the named containers, or of every running one; requests run in parallel. */
    private List<JsonNode> collect(CorralClient client) throws ApiException, DaemonUnreachableException {
        List<String> targets = names;
        boolean explicit = !names.isEmpty();
        if (!explicit) {
            targets = new ArrayList<>();
            for (JsonNode c : client.get("/v1/containers?state=running")) {
                targets.add(c.path("name").asText());
            }
        }
        List<CompletableFuture<CorralClient.Response>> requests = new ArrayList<>();
        for (String n : targets) {
            requests.add(client.sendAsync("GET", containerPath(n) + "/stats", null));
        }
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            try {
                JsonNode s = client.await(requests.get(i)).json();
                if (!s.has("name")) {
                    ((com.fasterxml.jackson.databind.node.ObjectNode) s).put("name", targets.get(i));
                }
                out.add(s);
            } catch (ApiException e) {
                if (explicit || e.status() != 404 && e.status() != 409) {
                    throw e; // a container listed a moment ago may have exited since: leave it out
                }
            }
        }
        return out;
    }

    private long hostMemory(CorralClient client, List<JsonNode> stats) {
        if (hostMemory == null && stats.stream().anyMatch(s -> !s.path("memory").path("limitBytes").isNumber())) {
            try {
                hostMemory = client.get("/v1/info").path("memoryBytes").asLong(-1);
            } catch (ApiException | DaemonUnreachableException e) {
                hostMemory = -1L;
            }
        }
        return hostMemory == null ? -1 : hostMemory;
    }

    static String table(List<JsonNode> stats, long hostMemory) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"});
        for (JsonNode s : stats) {
            rows.add(row(s, hostMemory));
        }
        return Formats.table(rows);
    }

    /** @param hostMemory the limit shown when the container has none, or -1 */
    static String[] row(JsonNode s, long hostMemory) {
        JsonNode cpu = s.path("cpu");
        JsonNode mem = s.path("memory");
        JsonNode io = s.path("io");
        String cpuPercent = cpu.path("cores").isNumber()
                ? String.format(Locale.ROOT, "%.2f%%", cpu.path("cores").asDouble() * 100) : "--";
        JsonNode usageNode = mem.path("workingSetBytes").isNumber() ? mem.path("workingSetBytes") : mem.path("usageBytes");
        String usage = usageNode.isNumber() ? Formats.binarySize(usageNode.asDouble()) : "--";
        JsonNode limitNode = mem.path("limitBytes");
        long limitBytes = limitNode.isNumber() && limitNode.asLong() > 0 && limitNode.asLong() < UNLIMITED_THRESHOLD
                ? limitNode.asLong() : hostMemory;
        String limit = limitBytes > 0 ? Formats.binarySize(limitBytes) : "unlimited";
        String memPercent;
        if (limitBytes > 0 && usageNode.isNumber()) { // of the usage shown, as docker (the daemon's counts cache)
            memPercent = String.format(Locale.ROOT, "%.2f%%", usageNode.asDouble() * 100 / limitBytes);
        } else if (mem.path("percent").isNumber()) {
            memPercent = String.format(Locale.ROOT, "%.2f%%", mem.path("percent").asDouble());
        } else {
            memPercent = "--";
        }
        String blockIo = io.path("readBytes").isNumber() || io.path("writeBytes").isNumber()
                ? Formats.decimalSize(io.path("readBytes").asDouble()) + " / "
                + Formats.decimalSize(io.path("writeBytes").asDouble()) : "--";
        JsonNode net = s.path("network");
        String netIo = net.path("receiveBytes").isNumber() ? Formats.decimalSize(net.path("receiveBytes").asDouble())
                + " / " + Formats.decimalSize(net.path("transmitBytes").asDouble()) : "--";
        String pids = s.path("pids").path("current").isNumber() ? s.path("pids").path("current").asText() : "--";
        return new String[] {s.path("name").asText(), cpuPercent, usage + " / " + limit, memPercent, netIo, blockIo,
            pids};
    }
}
