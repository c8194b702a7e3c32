package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code corral start NAME...}: start created or exited containers in the background and print their names. One
 * that admission control queues is announced on stderr (it starts by itself later; {@code corral ps} shows it).
 */
@Command(name = "start", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Start created or exited containers (in the background) and print their names.",
                "A start the policy queues is reported on stderr: the container starts by itself once it fits."})
public final class StartCommand extends ClientCommand {

    @Option(names = {"-a", "--attach"}, description = "Stream its stdout and stderr until it exits and exit with "
            + "its status (one container); one running already is attached to (its output from now on).")
    boolean attach;

    @Option(names = {"-i", "--interactive"}, description = "With -a: stream this stdin to it (it must have been "
            + "created with -i).")
    boolean interactive;

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (attach || interactive) {
            if (names.size() != 1) {
                throw usage("you cannot start and attach multiple containers at once");
            }
            String n = names.get(0);
            checkNames(names);
            JsonNode c = client.get(containerPath(n));
            String state = c.path("state").asText();
            // As docker: started already, it is attached to (its output from now on), not refused
            boolean running = state.equals("running") || state.equals("paused");
            if (!running) {
                c = client.post(containerPath(n) + "/start", null);
            }
            if (c.path("state").asText().equals("queued")) {
                err().println("corral: " + n + " is queued: " + c.path("queueReason").asText());
                err().flush();
            }
            return RunCommand.attach(this, client, n, null, interactive, c.path("spec").path("tty").asBoolean(false),
                    running ? "&tail=0" : "", DetachKeys.parse(DetachKeys.DEFAULT));
        }
        return forEach(names, n -> {
            JsonNode c = client.post(containerPath(n) + "/start", null);
            if (c.path("state").asText().equals("queued")) {
                err().println("corral: " + n + " is queued: " + c.path("queueReason").asText());
                err().flush();
            }
            out().println(n);
        });
    }
}
