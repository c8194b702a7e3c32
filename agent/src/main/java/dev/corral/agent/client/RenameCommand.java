package dev.corral.agent.client;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code corral rename OLD NEW}: as docker rename, for a created, running, paused or exited container. */
@Command(name = "rename", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Rename a container, also a running or paused one (its id and cgroup stay).",
                "Exit 1 when the daemon refuses (no such container, NEW in use, paused), 2 for a NEW that is no name."})
public final class RenameCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "OLD")
    String oldName;

    @Parameters(index = "1", paramLabel = "NEW")
    String newName;

    @Override
    protected int run(CorralClient client) throws Exception {
        checkNames(List.of(oldName, newName));
        client.post(containerPath(oldName) + "/rename?name=" + CorralClient.enc(newName), null);
        return 0;
    }
}
