package dev.corral.agent.client;

import picocli.CommandLine.Command;

/** {@code corral stop [-t SECONDS] NAME...}: SIGTERM, then SIGKILL after the timeout. */
@Command(name = "stop", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Stop containers: SIGTERM, then SIGKILL to the whole cgroup after the timeout.")
public final class StopCommand extends TimedStopCommand {

    @Override
    String action() {
        return "stop";
    }
}
