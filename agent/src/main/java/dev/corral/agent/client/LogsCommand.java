package dev.corral.agent.client;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code corral logs [-f] [--tail N] NAME}: the container's stdout to stdout and its stderr to stderr. */
@Command(name = "logs", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Print a container's output.")
public final class LogsCommand extends ClientCommand {

    @Option(names = {"-f", "--follow"}, description = "Keep printing until the container exits.")
    boolean follow;

    @Option(names = {"-n", "--tail"}, paramLabel = "N", description = "Only the last N lines of each stream (default: all).")
    String tail;

    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    protected int run(CorralClient client) throws Exception {
        checkNames(List.of(name));
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
        // Once either reader is gone ("logs -f NAME | head") the command is over: both streams stop, and it ends
        // without waiting for the other stream, which may never send again to notice.
        BooleanSupplier readerGone = () -> stdout.broken() || stderr.broken();
        CompletableFuture<Void> o = client.streamAsync(path + "stdout" + query, stdout, readerGone);
        CompletableFuture<Void> e = client.streamAsync(path + "stderr" + query, stderr, readerGone);
        CompletableFuture<Void> gone = new CompletableFuture<>();
        for (CompletableFuture<Void> stream : List.of(o, e)) {
            stream.whenComplete((v, t) -> {
                if (readerGone.getAsBoolean()) {
                    gone.complete(null);
                }
            });
        }
        client.await(CompletableFuture.anyOf(CompletableFuture.allOf(o, e).handle((v, t) -> null), gone));
        if (gone.isDone()) {
            return 0;
        }
        client.await(o);
        client.await(e);
        stdout.finish();
        stderr.finish();
        return 0;
    }
}
