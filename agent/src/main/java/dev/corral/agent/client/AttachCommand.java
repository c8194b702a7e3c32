package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code corral attach [--no-stdin] [--detach-keys KEYS] NAME}: docker attach for a running container: its stdout
 * and stderr from now on, this stdin to its stdin when it was created with -i, Ctrl-C and other signals sent to it
 * (the third Ctrl-C detaches), the detach keys (ctrl-p ctrl-q) detach and leave it running; exits with its status.
 */
@Command(name = "attach", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Attach to a running container: its output from now on, this stdin when it was created with "
                + "-i; exits with its status.",
                "The detach keys (default ctrl-p ctrl-q) detach and leave it running (exit 0)."})
public final class AttachCommand extends ClientCommand {

    @Option(names = "--detach-keys", paramLabel = "KEYS", description = "The sequence that detaches: "
            + "comma-separated characters or ctrl-X (X: a-z, @, [, \\, ], ^, _). Default: " + DetachKeys.DEFAULT + ".")
    String detachKeys = DetachKeys.DEFAULT;

    @Option(names = "--no-stdin", description = "Do not attach stdin.")
    boolean noStdin;

    @Parameters(index = "0", paramLabel = "NAME", description = "The container.")
    String name;

    @Override
    protected int run(CorralClient client) throws Exception {
        checkNames(List.of(name));
        byte[] keys;
        try {
            keys = DetachKeys.parse(detachKeys);
        } catch (IllegalArgumentException e) {
            throw usage("--detach-keys: " + e.getMessage());
        }
        JsonNode c = client.get(containerPath(name));
        String state = c.path("state").asText();
        if (!state.equals("running") && !state.equals("paused")) { // docker's words
            err().println("corral: you cannot attach to a stopped container, start it first");
            return 1;
        }
        boolean tty = c.path("spec").path("tty").asBoolean(false);
        // As docker's client (CheckTty): a terminal's input must come from a terminal, whether or not the container
        // reads it. Piped, the end of the input would not end the session (a terminal has no end of input), so it
        // would stay attached after the pipe's end; --no-stdin attaches the output alone.
        if (tty && !noStdin && !RawTerminal.isTerminal()) {
            err().println("the input device is not a TTY");
            return 1;
        }
        boolean stdin = !noStdin && c.path("spec").path("openStdin").asBoolean(false);
        return RunCommand.attach(this, client, name, null, stdin, tty, "&tail=0", keys);
    }
}
