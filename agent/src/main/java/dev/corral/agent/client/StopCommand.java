package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code corral stop [-t SECONDS] NAME...}: SIGTERM, then SIGKILL after the timeout. */
@Command(name = "stop", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Stop containers: SIGTERM, then SIGKILL to the whole cgroup after the timeout.")
public final class StopCommand extends ClientCommand {

    @Option(names = {"-t", "--time"}, paramLabel = "SECONDS", description = "Seconds to wait before killing (default: 10).")
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
            client.post(containerPath(n) + "/stop" + query, null);
            out().println(n);
        });
    }
}
