package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code corral restart [-t SECONDS] NAME...}: stop (SIGTERM, SIGKILL after the timeout), then start. */
@Command(name = "restart", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Restart containers: stop (SIGTERM, then SIGKILL after the timeout), then start again.")
public final class RestartCommand extends ClientCommand {

    @Option(names = {"-t", "--time"}, paramLabel = "SECONDS",
            description = "Seconds to wait before killing (default: the container's --stop-timeout, else 10).")
    Integer time;

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (time != null && time < 0) {
            throw usage("--time must not be negative");
        }
        String query = time == null ? "" : "?timeout=" + time;
        return forEach(names, n -> {
            client.post(containerPath(n) + "/restart" + query, null);
            out().println(n);
        });
    }
}
