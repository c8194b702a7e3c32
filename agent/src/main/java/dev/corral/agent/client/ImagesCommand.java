package dev.corral.agent.client;

import picocli.CommandLine.Command;

/** {@code corral images}: {@code corral image ls}, as docker images is docker image ls. */
@Command(name = "images", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "List images (the same as corral image ls).")
public final class ImagesCommand extends ImageCommand.Ls {
}
