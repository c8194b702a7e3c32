package dev.corral.agent.client;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code corral exec [-i] [-t] [-e K=V] [-u USER[:GROUP]] [-w DIR] NAME COMMAND...}: runs a command in a running
 * container and exits with its status (126 when it cannot be invoked, 127 when it is not found, as docker exec).
 */
@Command(name = "exec", modelTransformer = RunCommand.StopAtCommand.class, mixinStandardHelpOptions = true,
        versionProvider = dev.corral.agent.Version.class,
        description = {"Run a command in a running container: in all its namespaces and cgroups (it counts against "
                + "its limits), with its capabilities and security settings.",
                "Exits with the command's status: 126 when it cannot be invoked, 127 when it is not found, 125 when "
                        + "the exec could not be set up in the container, 1 when the daemon refused it."})
public final class ExecCommand extends ClientCommand {

    /** The stream broke off before the command's exit status came. */
    static final int STREAM_LOST = 125;

    @Option(names = {"-i", "--interactive"}, description = "Keep stdin open: it is streamed to the command.")
    boolean interactive;

    @Option(names = {"-t", "--tty"}, description = "Allocate a pseudo-terminal in the container; with -i this "
            + "terminal is put in raw mode (restored on exit) and its size follows this one's.")
    boolean tty;

    @Option(names = {"-e", "--env"}, paramLabel = "NAME[=VALUE]",
            description = "Set a variable; NAME alone takes the value from this shell's environment.")
    List<String> env = new ArrayList<>();

    @Option(names = {"-u", "--user"}, paramLabel = "USER[:GROUP]",
            description = "User (and group) to run as: names (from the container's /etc/passwd and /etc/group) or "
                    + "numbers. Default: the container's.")
    String user;

    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "Working directory in the container.")
    String workdir;

    @Parameters(index = "0", paramLabel = "NAME", description = "The container.")
    String name;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND", description = "The command and its arguments.")
    List<String> command = new ArrayList<>();

    @Override
    protected int run(CorralClient client) throws Exception {
        checkNames(List.of(name));
        StringBuilder uri = new StringBuilder(containerPath(name)).append("/exec?stdin=").append(interactive);
        int[] size = tty ? RawTerminal.size() : null;
        if (tty) {
            if (interactive && size == null) { // docker's words and status
                err().println("the input device is not a TTY");
                return 1;
            }
            uri.append("&tty=true");
            if (size != null) {
                uri.append("&h=").append(size[0]).append("&w=").append(size[1]);
            }
        }
        command.forEach(c -> uri.append("&cmd=").append(CorralClient.enc(c)));
        for (String e : env) {
            String kv = e;
            if (e.indexOf('=') < 0) { // docker's -e NAME: this shell's value, or nothing when unset
                String v = System.getenv(e);
                if (v == null) {
                    continue;
                }
                kv = e + "=" + v;
            }
            uri.append("&env=").append(CorralClient.enc(kv));
        }
        if (user != null) {
            uri.append("&user=").append(CorralClient.enc(user));
        }
        if (workdir != null) {
            uri.append("&workdir=").append(CorralClient.enc(workdir));
        }
        out().flush();
        try (RawTerminal raw = tty && interactive ? RawTerminal.enter() : null;
             ExecStream s = ExecStream.open(client.address(), client.token(), uri.toString(),
                     interactive ? System.in : null, tty)) {
            if (size != null) {
                RawTerminal.onResize((rows, cols) -> {
                    s.resize(rows, cols);
                    return 0;
                });
            }
            return s.run(new Utf8Sink(out(), System.out), new Utf8Sink(err(), System.err));
        } catch (IOException e) {
            err().println("corral: " + e.getMessage());
            return STREAM_LOST;
        }
    }
}
