package dev.corral.agent.cli;

import dev.corral.agent.Version;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code corral} command: the daemon and its client in one artifact. */
@Command(name = "corral", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Linux resource control and monitoring agent.")
public final class CorralMain {

    /**
     * Every subcommand. Not in the {@code @Command} annotation: picocli would then reflect over all of them (a few
     * hundred ms of a client's start); {@link #commandLine(String...)} builds only the one a command line names.
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(ServeCommand.class,
            dev.corral.agent.client.RunCommand.class, dev.corral.agent.client.StartCommand.class,
            dev.corral.agent.client.AttachCommand.class,
            dev.corral.agent.client.PsCommand.class,
            dev.corral.agent.client.InspectCommand.class, dev.corral.agent.client.StatsCommand.class,
            dev.corral.agent.client.UpdateCommand.class, dev.corral.agent.client.StopCommand.class,
            dev.corral.agent.client.RestartCommand.class,
            dev.corral.agent.client.KillCommand.class, dev.corral.agent.client.PauseCommand.class,
            dev.corral.agent.client.UnpauseCommand.class, dev.corral.agent.client.RmCommand.class,
            dev.corral.agent.client.LogsCommand.class, dev.corral.agent.client.WaitCommand.class,
            dev.corral.agent.client.EventsCommand.class, dev.corral.agent.client.InfoCommand.class,
            dev.corral.agent.client.ImageCommand.class, dev.corral.agent.client.PullCommand.class,
            dev.corral.agent.client.PushCommand.class, dev.corral.agent.client.LoginCommand.class, dev.corral.agent.client.LogoutCommand.class,
            dev.corral.agent.client.ImagesCommand.class, dev.corral.agent.client.NetworkCommand.class,
            dev.corral.agent.client.PortCommand.class, dev.corral.agent.client.CreateCommand.class,
            dev.corral.agent.client.VersionCommand.class, dev.corral.agent.client.ContainerCommand.class,
            dev.corral.agent.client.TopCommand.class, dev.corral.agent.client.ExecCommand.class,
            dev.corral.agent.client.CpCommand.class, dev.corral.agent.client.RenameCommand.class,
            CommandLine.HelpCommand.class);

    /** {@code corral --host X ps}: the client subcommands read these (docs/cli.md). */
    @CommandLine.Mixin
    dev.corral.agent.client.ConnectionOptions connection;

    /** Exit code for bad usage, as most CLIs (and picocli) use. */
    public static final int USAGE = 2;

    public static void main(String[] args) {
        Integer quick = dev.corral.agent.client.QuickCli.run(args, Version.current(), System.out, System.err);
        System.exit(quick != null ? quick : commandLine(args).execute(args));
    }

    /** The whole command tree (for help and tests). */
    public static CommandLine commandLine() {
        return configure(withSubcommands(SUBCOMMANDS));
    }

    /** The tree with only the subcommand {@code args} names, or the whole tree when it names none it knows. */
    public static CommandLine commandLine(String... args) {
        Class<?> named = SubcommandName.find(args, SUBCOMMANDS);
        return configure(withSubcommands(named == null ? SUBCOMMANDS : List.of(named)));
    }

    private static CommandLine withSubcommands(List<Class<?>> subcommands) {
        CommandLine cli = new CommandLine(new CorralMain());
        for (Class<?> c : subcommands) {
            CommandLine sub = new CommandLine(c);
            // addSubcommand gives the subcommand its parent's parser settings: keep the one a subcommand sets itself
            // (run's stop at the first positional, so that "sh -c ..." belongs to the container's command)
            boolean stopAtPositional = sub.getCommandSpec().parser().stopAtPositional();
            cli.addSubcommand(sub);
            sub.getCommandSpec().parser().stopAtPositional(stopAtPositional);
        }
        return cli;
    }

    private static CommandLine configure(CommandLine cli) {
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine line = e.getCommandLine();
            line.getErr().println("corral: " + message(e));
            // docker run's convention: 125 for whatever fails before the command runs, its flags included
            return line.getCommand() instanceof dev.corral.agent.client.RunCommand
                    || line.getCommand() instanceof dev.corral.agent.client.CreateCommand
                    ? dev.corral.agent.client.RunCommand.RUN_FAILED : USAGE;
        });
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("corral: " + e.getMessage());
            return 1;
        });
        return cli;
    }

    /** picocli's message, except that a word where a subcommand belongs is named as not one. */
    private static String message(CommandLine.ParameterException e) {
        CommandLine line = e.getCommandLine();
        if (e instanceof CommandLine.UnmatchedArgumentException u && !line.getSubcommands().isEmpty()
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
            String self = line.getCommandSpec().qualifiedName();
            return "'" + u.getUnmatched().get(0) + "' is not a " + self + " command (see " + self + " --help)";
        }
        return e.getMessage();
    }
}
