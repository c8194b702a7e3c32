package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral port NAME}: its published ports, as docker port prints them. */
@Command(name = "port", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "List a container's published ports: 80/tcp -> 127.0.0.1:8080.")
public final class PortCommand extends ClientCommand {

    @Parameters(paramLabel = "CONTAINER", arity = "1")
    String name;

    @Override
    protected int run(CorralClient client) throws Exception {
        client.get("/v1/containers/" + CorralClient.enc(name)); // 404 (exit 1) for no such container
        List<String> ports = NetworkCommand.portsByContainer(client).getOrDefault(name, List.of());
        for (String p : ports) { // 127.0.0.1:8080->80/tcp
            int arrow = p.indexOf("->");
            out().println(p.substring(arrow + 2) + " -> " + p.substring(0, arrow));
        }
        out().flush();
        return 0;
    }
}
