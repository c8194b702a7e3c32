package dev.corral.agent.client;

import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code corral logs [-f] [--tail N] NAME}: the container's stdout to stdout and its stderr to stderr. */
@Command(name = "logs", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.cli.Version.class, description = "Print a container's output.")
public final class LogsCommand extends ClientCommand {

    @Option(names = {"-f", "--follow"}, description = "Keep printing until the container exits.")
    boolean follow;

    @Option(names = {"-n", "--tail"}, paramLabel = "N", description = "Only the last N lines of each stream (default: all).")
    String tail;

    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    protected int run(CorralClient client) throws Exception {
        checkNames(java.util.List.of(name));
        StringBuilder query = new StringBuilder();
        if (follow) {
            query.append("&follow=true");
        }
        if (tail != null && !tail.equals("all")) {
            if (!tail.matches("[0-9]{1,9}")) {
                throw usage("--tail: '" + tail + "' is not a number of lines (or all)");
            }
            query.append("&tail=").append(tail);
        }
        String path = containerPath(name) + "/logs?stream=";
        Utf8Sink stdout = new Utf8Sink(out(), System.out);
        Utf8Sink stderr = new Utf8Sink(err(), System.err);
        CompletableFuture<Void> o = client.streamAsync(path + "stdout" + query, stdout, stdout::broken);
        CompletableFuture<Void> e = client.streamAsync(path + "stderr" + query, stderr, stderr::broken);
        client.await(o);
        client.await(e);
        stdout.finish();
        stderr.finish();
        return 0;
    }
}
