package dev.corral.agent.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code corral} command: the daemon and its client in one artifact. */
@Command(name = "corral", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Linux resource control and monitoring agent.",
        subcommands = {ServeCommand.class, CommandLine.HelpCommand.class})
public final class CorralMain {

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
