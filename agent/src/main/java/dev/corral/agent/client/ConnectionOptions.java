package dev.corral.agent.client;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How the CLI reaches the daemon. A mixin of the top-level {@code corral} command ({@code corral --host X ps}) and of
 * every client subcommand ({@code corral ps --host X}); the subcommand's value wins, then the top level's, then the
 * environment ({@code CORRAL_HOST}, {@code CORRAL_TOKEN}).
 */
public final class ConnectionOptions {

    @Option(names = {"-H", "--host"}, paramLabel = "ADDRESS", converter = DaemonAddress.Converter.class,
            description = "The daemon: unix:///PATH or tcp://HOST:PORT (default: $CORRAL_HOST, else "
                    + "unix://" + DaemonAddress.DEFAULT_SOCKET + ").")
    DaemonAddress host;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "File holding the API token for tcp:// (default: $CORRAL_TOKEN, else "
                    + ClientCommand.DEFAULT_TOKEN_FILE + " when readable).")
    Path tokenFile;
}
