package dev.corral.agent.client;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code corral push NAME[:TAG]}: the daemon pushes the image to the registry its name starts with; progress per
 * layer as {@code docker push} shows it. Credentials as for pull ({@link DockerConfig}).
 */
@Command(name = "push", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Push an image to a registry (HOST[:PORT]/NAME[:TAG]; corral image tag gives it such a name).",
            "Blobs the registry has are skipped; credentials as for pull (corral login / docker login)."})
public final class PushCommand extends ClientCommand {

    @Parameters(paramLabel = "NAME[:TAG]", arity = "1")
    String ref;

    @Override
    protected int run(CorralClient client) throws Exception {
        return PullCommand.transfer(client, PullCommand.named(this, ref, "push"), "push", "", this, out());
    }
}
