package dev.corral.agent.client;

import dev.corral.agent.image.ImageRef;
import dev.corral.agent.spec.SpecException;
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
        ImageRef r;
        try {
            r = ImageRef.parse(ref, "NAME[:TAG]");
        } catch (SpecException e) {
            throw usage(e.getMessage());
        }
        if (r.name() == null) {
            throw usage("NAME[:TAG]: '" + ref + "' is an image id; push needs a name");
        }
        return PullCommand.transfer(client, r, "push", "", this, out());
    }
}
