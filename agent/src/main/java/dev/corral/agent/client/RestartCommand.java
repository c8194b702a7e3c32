package dev.corral.agent.client;

import picocli.CommandLine.Command;

/** {@code corral restart [-t SECONDS] NAME...}: stop (SIGTERM, SIGKILL after the timeout), then start. */
@Command(name = "restart", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Restart containers: stop (SIGTERM, then SIGKILL after the timeout), then start again.")
public final class RestartCommand extends TimedStopCommand {

    @Override
    String action() {
        return "restart";
    }
}
