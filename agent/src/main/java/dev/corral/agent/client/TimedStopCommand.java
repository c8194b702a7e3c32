package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code stop} and {@code restart}: a POST per container with the seconds from SIGTERM to SIGKILL. */
abstract class TimedStopCommand extends ClientCommand {

    @Option(names = {"-t", "--time"}, paramLabel = "SECONDS",
            description = "Seconds to wait before killing (default: the container's --stop-timeout, else 10).")
    Integer time;

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    /** "stop" or "restart": the route under the container. */
    abstract String action();

    @Override
    protected int run(CorralClient client) throws Exception {
        if (time != null && time < 0) {
            throw usage("--time must not be negative");
        }
        String query = time == null ? "" : "?timeout=" + time;
        return forEach(names, n -> {
            client.post(containerPath(n) + "/" + action() + query, null);
            out().println(n);
        });
    }
}
