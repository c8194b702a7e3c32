package dev.corral.agent.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code corral} command: the daemon and its client in one artifact. */
@Command(name = "corral", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Linux resource control and monitoring agent.",
        subcommands = {ServeCommand.class,
                dev.corral.agent.client.RunCommand.class, dev.corral.agent.client.StartCommand.class,
                dev.corral.agent.client.PsCommand.class,
                dev.corral.agent.client.InspectCommand.class, dev.corral.agent.client.StatsCommand.class,
                dev.corral.agent.client.UpdateCommand.class, dev.corral.agent.client.StopCommand.class,
                dev.corral.agent.client.KillCommand.class, dev.corral.agent.client.PauseCommand.class,
                dev.corral.agent.client.UnpauseCommand.class, dev.corral.agent.client.RmCommand.class,
                dev.corral.agent.client.LogsCommand.class, dev.corral.agent.client.WaitCommand.class,
                dev.corral.agent.client.EventsCommand.class, dev.corral.agent.client.InfoCommand.class,
                dev.corral.agent.client.ImageCommand.class, dev.corral.agent.client.NetworkCommand.class,
                dev.corral.agent.client.PortCommand.class, CommandLine.HelpCommand.class})
public final class CorralMain {

    /** {@code corral --host X ps}: the client subcommands read these (docs/cli.md). */
    @CommandLine.Mixin
    dev.corral.agent.client.ConnectionOptions connection;

    /** Exit code for bad usage, as most CLIs (and picocli) use. */
    public static final int USAGE = 2;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new CorralMain());
        cli.setParameterExceptionHandler((e, a) -> {
            e.getCommandLine().getErr().println("corral: " + e.getMessage());
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("corral: " + e.getMessage());
            return 1;
        });
        return cli;
    }
}
