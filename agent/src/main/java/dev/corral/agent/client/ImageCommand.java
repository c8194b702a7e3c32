package dev.corral.agent.client;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/** {@code corral image ...}: a placeholder until images land. */
@Command(name = "image", description = "Images (import, ls, inspect, rm): not supported yet.")
public final class ImageCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Unmatched
    List<String> args;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println("corral: images are not supported yet; they arrive with a later release "
                + "(run on the host's root, or with --rootfs DIR)");
        return ClientCommand.FAILED;
    }
}
