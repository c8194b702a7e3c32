package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.ContainerSpec;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code corral run}: create and start a container. Attached (the default), it streams the container's stdout and
 * stderr to the CLI's, waits, and exits with the container's exit code; with {@code -d} it prints the name.
 */
@Command(name = "run", modelTransformer = RunCommand.StopAtCommand.class,
        description = {"Create and start a container running COMMAND.",
                "Flags mean what they mean in docker run. Without -d the output is streamed and corral exits with "
                        + "the container's exit code (128+N when killed by signal N, e.g. 137 when OOM-killed).",
                "Exit codes as docker run's: 125 when the run itself failed (bad flags, the daemon's errors), 126 when "
                        + "the command cannot be invoked, 127 when it is not found, else the command's.",
                "When the policy queues starts that do not fit, a queued container is announced on stderr and run "
                        + "waits until it starts (exit 125 when it is refused at the queue timeout)."})
public final class RunCommand extends ClientCommand {

    @Option(names = "--help", usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Option(names = {"-d", "--detach"}, description = "Run in the background and print the container's name.")
    boolean detach;

    @Mixin
    ContainerOptions container = new ContainerOptions();

    /** Everything after the first positional argument belongs to the container's command ("sh -c ..."). */
    public static final class StopAtCommand implements IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            spec.parser().stopAtPositional(true);
            return spec;
        }
    }

    /** Exit code of a run that failed before its command ran (docker run's). */
    public static final int RUN_FAILED = 125;

    @Override
    protected int failureCode(ApiException e) {
        return e.exitCode() != null ? e.exitCode() : RUN_FAILED;
    }

    @Override
    protected int run(CorralClient client) throws Exception {
        boolean generated = container.name == null;
        container.stdinOnce = !detach; // docker run -i: the end of our input is the end of the container's
        ContainerSpec containerSpec = container.toSpec(generated ? Names.generate() : container.name);
        if (container.tty && container.interactive && !detach && !RawTerminal.isTerminal()) { // docker's words
            err().println("the input device is not a TTY");
            return 1;
        }
        Integer failed = container.ensureImage(client, this);
        if (failed != null) {
            return failed;
        }
        // Attached with --rm, as docker run: create, attach, then start. The daemon removes the container when it
        // exits, but not before this client (its wait's connection) is gone, so the output and status are read.
        boolean attachFirst = container.remove && !detach;
        JsonNode created = ContainerOptions.create(client, containerSpec, generated,
                attachFirst ? "rm=true" : container.remove ? "start=true&rm=true" : "start=true");
        String n = created.path("name").asText(containerSpec.name());
        CorralClient.Pending exit = null;
        if (attachFirst) {
            exit = client.openPending("POST", containerPath(n) + "/wait?condition=next-exit");
            try {
                created = client.post(containerPath(n) + "/start", null);
            } catch (ApiException e) {
                removeNow(client, n); // held by our wait, the daemon would remove it only once we are gone
                throw e;
            }
        }
        if (created.path("state").asText().equals("queued")) {
            err().println("corral: " + n + " is queued: " + created.path("queueReason").asText()
                    + (detach ? "" : " (waiting; Ctrl-C removes it from the queue)"));
            err().flush();
            if (!detach) {
                Integer refused = awaitAdmission(client, n);
                if (refused != null) {
                    return refused;
                }
            }
        }
        if (detach) {
            out().println(n);
            return 0;
        }
        return attach(this, client, n, exit, container.interactive, container.tty, "",
                DetachKeys.parse(DetachKeys.DEFAULT));
    }

    /**
     * Waits while the container is queued for admission: null once it started, else the exit code. Refused at
     * its queue timeout, it is removed as a refusal at once would have left nothing behind; Ctrl-C (or SIGTERM,
     * SIGHUP) removes it from the queue.
     */
    private Integer awaitAdmission(CorralClient client, String n) throws Exception {
        String path = containerPath(n);
        java.util.concurrent.atomic.AtomicBoolean cancelled = new java.util.concurrent.atomic.AtomicBoolean();
        Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
        for (String sig : List.of("INT", "TERM", "HUP")) {
            try {
                Signal s = new Signal(sig);
                previous.put(s, Signal.handle(s, received -> {
                    cancelled.set(true);
                    client.sendAsync("DELETE", path + "?force=true", null);
                }));
            } catch (IllegalArgumentException e) {
                // the JVM keeps this signal for itself
            }
        }
        JsonNode status;
        try {
            status = client.post(path + "/wait?condition=not-queued", null);
        } catch (ApiException e) {
            if (cancelled.get() && e.status() == 404) {
                err().println("corral: " + n + " removed from the admission queue");
                return 130;
            }
            throw e;
        } finally {
            previous.forEach((s, h) -> {
                try {
                    Signal.handle(s, h);
                } catch (IllegalArgumentException e) {
                    // nothing to restore
                }
            });
        }
        if (status.path("state").asText().equals("created")) {
            err().println("corral: " + status.path("error").asText("admission refused the start of " + n));
            try {
                client.delete(path + "?force=true");
            } catch (ApiException e) {
                if (e.status() != 404) { // with --rm the daemon removed it already
                    throw e;
                }
            }
            return RUN_FAILED;
        }
        return null;
    }

    /**
     * Streams stdout and stderr until the container exits, then waits for its status ({@code exit}: the wait put in
     * place before the start, or null to ask now); with {@code stdin}, our stdin goes to the container's (made with
     * -i) meanwhile, and the {@code detachKeys} sequence in it detaches (exit 0, the container left running). For
     * run, start -a and attach ({@code logsFrom} "&tail=0": the output from now on). With {@code tty} (a container
     * made with -t) our terminal is in raw mode meanwhile, and the input goes as frames with its size at the start and
     * on each resize (shim-stdin.c); with {@code tty} but not {@code stdin}, the sizes alone go (our terminal stays
     * as it is, our input is not read).
     */
    static int attach(ClientCommand cmd, CorralClient client, String n, CorralClient.Pending exit, boolean stdin,
                      boolean tty, String logsFrom, byte[] detachKeys) throws Exception {
        PrintWriter out = cmd.out();
        PrintWriter err = cmd.err();
        String path = containerPath(n);
        Utf8Sink stdout = new Utf8Sink(out, System.out);
        Utf8Sink stderr = new Utf8Sink(err, System.err);
        CompletableFuture<Void> detached = new CompletableFuture<>();
        // As docker: no sig-proxy with a terminal (Ctrl-C is a byte to it; a signal to this client is this client's)
        SignalProxy proxy = tty ? null : SignalProxy.install(client, path, detached);
        AtomicReference<ExecStream> input = new AtomicReference<>();
        CompletableFuture<Void> keysDetached = new CompletableFuture<>();
        // Our stdin once both output streams are open (their starting point taken: attach's output from now on)
        java.util.concurrent.CountDownLatch open = new java.util.concurrent.CountDownLatch(2);
        // With -t but not -i the stream carries our terminal's resizes alone (as docker's resize calls): never our
        // input, which the container's monitor would drop anyway (shim-stdin.c).
        boolean resizesOnly = !stdin && tty && RawTerminal.isTerminal();
        if (stdin || resizesOnly) {
            Thread t = new Thread(() -> {
                try {
                    open.await();
                    int[] size = tty ? RawTerminal.size() : null;
                    ExecStream in = ExecStream.open(client.address(), client.token(), path + "/stdin", stdin
                            ? DetachKeys.filter(System.in, detachKeys, () -> keysDetached.complete(null)) : null,
                            tty, size);
                    input.set(in);
                    if (size != null) {
                        RawTerminal.onResize((rows, cols) -> {
                            in.resize(rows, cols);
                            return 0;
                        });
                    }
                } catch (ApiException | DaemonUnreachableException e) {
                    // it exited already, or was not made with -i: there is no stdin to write to
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "corral-attach-stdin");
            t.setDaemon(true);
            t.start();
        }
        cmd.out().flush();
        RawTerminal raw = tty && stdin && RawTerminal.isTerminal() ? RawTerminal.enter() : null;
        try {
            CompletableFuture<Void> o = client.streamAsync(path + "/logs?follow=true&stream=stdout" + logsFrom,
                    open::countDown, stdout,
                    stdout::broken);
            CompletableFuture<Void> e = client.streamAsync(path + "/logs?follow=true&stream=stderr" + logsFrom,
                    open::countDown, stderr,
                    stderr::broken);
            // Both streams ended (whether or not they failed), or the third Ctrl-C detached.
            CompletableFuture<Object> ended = CompletableFuture.anyOf(
                    CompletableFuture.allOf(o, e).handle((v, t) -> null), detached, keysDetached);
            client.await(ended);
            if (keysDetached.isDone() && !(o.isDone() && e.isDone())) { // as docker: quietly, status 0
                return 0;
            }
            if (detached.isDone() && !(o.isDone() && e.isDone())) {
                err.println("corral: detached; " + n + " keeps running (corral stop " + n + ")");
                return 130;
            }
            client.await(o);
            client.await(e);
            stdout.finish();
            stderr.finish();
            JsonNode status = exit != null ? exit.json() : client.post(path + "/wait", null);
            if (exit != null) { // removed while our wait still holds it: the name cannot be taken meanwhile
                removeNow(client, n);
                exit.close();
            }
            int code = status.path("exitCode").isIntegralNumber() ? status.path("exitCode").asInt() : -1;
            if (code < 0 || code > 255) {
                err.println("corral: " + n + " ended without an exit code" + (status.path("error").isTextual()
                        ? ": " + status.path("error").asText() : ""));
                return RUN_FAILED;
            }
            return code;
        } finally {
            if (raw != null) {
                raw.close();
            }
            if (proxy != null) {
                proxy.restore();
            }
            ExecStream in = input.getAndSet(null);
            if (in != null) {
                in.close();
            }
        }
    }

    /**
     * Removes an auto-remove container this client still holds (its wait), so that it is gone when run returns, as
     * docker run --rm; if this fails or the client dies first, the daemon removes it when the wait's connection ends.
     */
    private static void removeNow(CorralClient client, String n) throws DaemonUnreachableException {
        try {
            client.delete(containerPath(n) + "?force=true");
        } catch (ApiException e) {
            // gone already, or the daemon's removal when our connection closes takes over
        }
    }

    /**
     * As docker's sig-proxy: SIGINT, SIGTERM and SIGHUP received by the CLI are sent to the container; the third
     * SIGINT detaches, leaving the container running.
     */
    private static final class SignalProxy {
        private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

        static SignalProxy install(CorralClient client, String path, CompletableFuture<Void> detached) {
            SignalProxy p = new SignalProxy();
            AtomicInteger interrupts = new AtomicInteger();
            for (String sig : List.of("INT", "TERM", "HUP")) {
                try {
                    Signal s = new Signal(sig);
                    p.previous.put(s, Signal.handle(s, received -> {
                        if (sig.equals("INT") && interrupts.incrementAndGet() >= 3) {
                            detached.complete(null);
                            return;
                        }
                        client.sendAsync("POST", path + "/kill?signal=" + sig, null);
                    }));
                } catch (IllegalArgumentException e) {
                    // the JVM keeps this signal for itself (e.g. -Xrs); leave it
                }
            }
            return p;
        }

        void restore() {
            previous.forEach((s, h) -> {
                try {
                    Signal.handle(s, h);
                } catch (IllegalArgumentException e) {
                    // nothing to restore
                }
            });
        }
    }

}
