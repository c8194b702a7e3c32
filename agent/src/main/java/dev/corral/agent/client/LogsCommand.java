package dev.corral.agent.client;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code corral logs [-f] [--tail N] [--since T] [--until T] [-t] NAME}: the container's stdout to stdout and its
 * stderr to stderr.
 */
@Command(name = "logs", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class, description = "Print a container's output.")
public final class LogsCommand extends ClientCommand {

    @Option(names = {"-f", "--follow"}, description = "Keep printing until the container exits.")
    boolean follow;

    @Option(names = {"-n", "--tail"}, paramLabel = "N", description = "Only the last N lines of each stream (default: all).")
    String tail;

    @Option(names = "--since", paramLabel = "TIME", description = "Only lines since TIME: RFC 3339 "
            + "(2026-12-07T21:00:00Z; local time without a zone), a Unix timestamp, or a duration before now (10m).")
    String since;

    @Option(names = "--until", paramLabel = "TIME", description = "Only lines before TIME (as --since).")
    String until;

    @Option(names = {"-t", "--timestamps"}, description = "Prefix each line with the time it was read (RFC 3339, ns).")
    boolean timestamps;

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
        java.time.Instant now = java.time.Instant.now();
        for (String[] t : new String[][] {{"since", since}, {"until", until}}) {
            if (t[1] != null) {
                try {
                    query.append('&').append(t[0]).append('=').append(LogTimes.unix(t[1], now,
                            java.time.ZoneId.systemDefault()));
                } catch (IllegalArgumentException e) { // as docker: exit 1, not a usage error
                    err().println("corral: --" + t[0] + ": " + e.getMessage());
                    err().flush();
                    return FAILED;
                }
            }
        }
        if (timestamps) {
            query.append("&timestamps=true");
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
