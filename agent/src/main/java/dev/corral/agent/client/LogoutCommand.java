package dev.corral.agent.client;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral logout [HOST]}: removes the registry's credentials from Docker's client config, as docker logout. */
@Command(name = "logout", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Log out from a registry: remove its credentials from $DOCKER_CONFIG/config.json "
                + "(default ~/.docker/config.json).")
public final class LogoutCommand implements Callable<Integer> {

    @Parameters(paramLabel = "HOST[:PORT]", arity = "0..1")
    String server;

    @Override
    public Integer call() throws Exception {
        String host = LoginCommand.registry(server);
        if (DockerConfig.store(host, null, null)) {
            System.out.println("Removing login credentials for " + host);
        } else {
            System.out.println("Not logged in to " + host);
        }
        return 0;
    }
}
