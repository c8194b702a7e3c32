package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code corral kill [-s SIGNAL] NAME...}. */
@Command(name = "kill", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Send a signal to running containers.")
public final class KillCommand extends ClientCommand {

    @Option(names = {"-s", "--signal"}, paramLabel = "SIGNAL", defaultValue = "KILL",
            description = "Signal name or number (default: ${DEFAULT-VALUE}).")
    String signal;

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        String sig = signal.toUpperCase(java.util.Locale.ROOT);
        if (sig.startsWith("SIG")) {
            sig = sig.substring(3);
        }
        if (!sig.matches("[A-Z0-9+-]{1,16}")) {
            throw usage("--signal: '" + signal + "' is not a signal name or number");
        }
        String query = "?signal=" + CorralClient.enc(sig);
        return forEach(names, n -> {
            client.post(containerPath(n) + "/kill" + query, null);
            out().println(n);
        });
    }
}
