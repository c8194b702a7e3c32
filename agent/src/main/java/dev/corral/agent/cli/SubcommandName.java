package dev.corral.agent.cli;

import java.util.List;
import picocli.CommandLine.Command;

/** Which subcommand a command line names, read from the annotations alone (no picocli model built). */
final class SubcommandName {

    /** The top-level options that take a value (ConnectionOptions): their value is not a subcommand's name. */
    private static final List<String> WITH_VALUE = List.of("-H", "--host", "--token-file");

    private SubcommandName() {
    }

    /** The class of the subcommand {@code args} names, or null (none, an unknown one, or a top-level option). */
    static Class<?> find(String[] args, List<Class<?>> subcommands) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (WITH_VALUE.contains(a)) {
                i++;
            } else if (!a.startsWith("-")) {
                for (Class<?> c : subcommands) {
                    Command command = c.getAnnotation(Command.class);
                    if (command != null && (command.name().equals(a) || List.of(command.aliases()).contains(a))) {
                        return c;
                    }
                }
                return null;
            } else if (a.equals("--")) {
                return null;
            }
        }
        return null;
    }
}
