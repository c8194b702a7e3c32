package dev.corral.agent.client;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The commands people type most ({@code ps}, {@code inspect}, {@code stop}, {@code --version}) in their plain forms,
 * parsed without picocli. Building picocli's model costs a client about 200 ms of CPU, three times what the JVM
 * itself needs to start (docs/benchmarks.md, "CLI"). Only the parsing is here: the commands' own classes do the
 * work, so the output, errors and exit codes are theirs. Anything else, help included, and any usage error, goes
 * to picocli ({@link #run} returns null), which then says what was wrong.
 */
public final class QuickCli {

    /** Thrown by a command run from here when it finds a usage error: picocli runs the line again and reports it. */
    static final class Fallback extends RuntimeException {
        Fallback() {
            super(null, null, false, false);
        }
    }

    private final String[] args;
    private int i;
    private final ConnectionOptions connection = new ConnectionOptions();

    private QuickCli(String[] args) {
        this.args = args;
    }

    /** The exit code, or null when picocli must handle this command line. */
    public static Integer run(String[] args, String version, PrintStream out, PrintStream err) {
        try {
            return new QuickCli(args).run(version, writer(out), writer(err));
        } catch (Fallback e) {
            return null;
        }
    }

    private Integer run(String version, PrintWriter out, PrintWriter err) {
        if (!connectionOptions()) {
            return null;
        }
        if (i == args.length - 1 && (args[i].equals("--version") || args[i].equals("-V"))
                && connection.host == null && connection.tokenFile == null) {
            out.println("corral " + version);
            out.flush();
            return 0;
        }
        if (i >= args.length) {
            return null;
        }
        ClientCommand command = switch (args[i++]) {
            case "ps" -> ps();
            case "inspect" -> withNames(InspectCommand::new, false, (c, n) -> c.names = n);
            case "stop" -> withNames(StopCommand::new, true, (c, n) -> c.names = n);
            default -> null;
        };
        if (command == null) {
            return null;
        }
        command.connection = connection;
        return command.callWith(out, err);
    }

    /** -H/--host and --token-file, wherever they stand; false for a value that does not parse. */
    private boolean connectionOption(String a) {
        String name = a;
        String value = null;
        int eq = a.indexOf('=');
        if (a.startsWith("--") && eq > 0) {
            name = a.substring(0, eq);
            value = a.substring(eq + 1);
        }
        if (!name.equals("-H") && !name.equals("--host") && !name.equals("--token-file")) {
            return false;
        }
        if (value == null) {
            if (i + 1 >= args.length) {
                throw new Fallback();
            }
            value = args[++i];
        }
        if (name.equals("--token-file")) {
            connection.tokenFile = Path.of(value);
        } else {
            try {
                connection.host = DaemonAddress.parse(value);
            } catch (RuntimeException e) {
                throw new Fallback();
            }
        }
        return true;
    }

    private boolean connectionOptions() {
        for (; i < args.length && args[i].startsWith("-"); i++) {
            if (!connectionOption(args[i])) {
                return args[i].equals("--version") || args[i].equals("-V");
            }
        }
        return true;
    }

    private ClientCommand ps() {
        PsCommand ps = new PsCommand();
        ps.format = "table"; // picocli's defaultValue
        for (; i < args.length; i++) {
            String a = args[i];
            if (connectionOption(a)) {
                continue;
            }
            if (a.equals("--all")) {
                ps.all = true;
            } else if (a.equals("--no-trunc")) {
                ps.noTrunc = true;
            } else if (a.equals("--quiet")) {
                ps.quiet = true;
            } else if (a.equals("--format") && i + 1 < args.length) {
                ps.format = args[++i];
            } else if (a.startsWith("--format=")) {
                ps.format = a.substring("--format=".length());
            } else if (a.matches("-[aq]+")) {
                ps.all |= a.indexOf('a') > 0;
                ps.quiet |= a.indexOf('q') > 0;
            } else {
                throw new Fallback();
            }
        }
        return ps;
    }

    private interface NamesSetter<C> {
        void set(C command, List<String> names);
    }

    private <C extends ClientCommand> C withNames(Supplier<C> make, boolean stop, NamesSetter<C> setNames) {
        C command = make.get();
        List<String> names = new ArrayList<>();
        boolean options = true;
        for (; i < args.length; i++) {
            String a = args[i];
            if (options && a.equals("--")) {
                options = false;
            } else if (options && a.startsWith("-") && connectionOption(a)) {
                continue;
            } else if (options && stop && (a.equals("-t") || a.equals("--time")) && i + 1 < args.length) {
                ((StopCommand) command).time = seconds(args[++i]);
            } else if (options && stop && a.startsWith("--time=")) {
                ((StopCommand) command).time = seconds(a.substring("--time=".length()));
            } else if (options && a.startsWith("-")) {
                throw new Fallback();
            } else {
                names.add(a);
            }
        }
        if (names.isEmpty()) {
            throw new Fallback();
        }
        setNames.set(command, names);
        return command;
    }

    private static Integer seconds(String value) {
        try {
            return Integer.valueOf(value);
        } catch (NumberFormatException e) {
            throw new Fallback();
        }
    }

    /** As picocli makes its writers: the console's encoding when the JVM knows it, else the default charset. */
    private static PrintWriter writer(PrintStream stream) {
        String enc = System.getProperty(stream == System.err ? "sun.stderr.encoding" : "sun.stdout.encoding");
        Charset cs;
        try {
            cs = enc == null ? Charset.defaultCharset() : Charset.forName(enc);
        } catch (RuntimeException e) {
            cs = Charset.defaultCharset();
        }
        return new PrintWriter(new OutputStreamWriter(stream, cs), true);
    }
}
