package dev.corral.agent.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntBinaryOperator;

/**
 * The client's terminal (our stdin) in raw mode for {@code -t}, as docker's client puts it: keys go to the
 * container as typed (Ctrl-C too: the container's terminal makes it the signal), no local echo, no output
 * processing. The settings are read and set with {@code stty} on our inherited stdin, which is what Java 17 offers
 * without native code (JLine's exec provider does the same; JLine itself would add a dependency and startup time to
 * every CLI call for two stty runs). {@link #close} puts back the settings read first, on every exit path: the
 * caller's try-with-resources for returns and exceptions, a shutdown hook for SIGINT/SIGTERM/SIGHUP to the client.
 */
final class RawTerminal implements AutoCloseable {

    private final String saved;
    private final AtomicBoolean restored = new AtomicBoolean();
    private final Thread hook = new Thread(this::restore, "corral-terminal-restore");

    private RawTerminal(String saved) {
        this.saved = saved;
    }

    /**
     * Puts our stdin's terminal in raw mode.
     *
     * @throws IOException when stdin is not a terminal (or stty is missing)
     */
    static RawTerminal enter() throws IOException {
        String saved = stty("-g");
        if (saved == null || saved.isBlank()) {
            throw new IOException("the input device is not a TTY");
        }
        RawTerminal t = new RawTerminal(saved.strip());
        Runtime.getRuntime().addShutdownHook(t.hook);
        if (stty("raw", "-echo") == null) {
            t.close();
            throw new IOException("cannot put the terminal in raw mode (stty raw -echo failed)");
        }
        return t;
    }

    /** Whether our stdin is a terminal. */
    static boolean isTerminal() {
        return stty("-g") != null;
    }

    /** Our stdin terminal's rows and columns, or null when it has none (not a terminal). */
    static int[] size() {
        return parseSize(stty("size"));
    }

    private static int[] parseSize(String s) {
        if (s == null) {
            return null;
        }
        String[] p = s.strip().split("\\s+");
        try {
            return p.length == 2 ? new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])} : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * Calls {@code resized} with the new rows and columns on each SIGWINCH (the terminal was resized), from a
     * signal-dispatch thread, until the JVM exits.
     */
    @SuppressWarnings("sunapi") // sun.misc.Signal (jdk.unsupported): the JDK's only way to catch SIGWINCH
    static void onResize(IntBinaryOperator resized) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), sig -> {
                int[] s = size();
                if (s != null) {
                    resized.applyAsInt(s[0], s[1]);
                }
            });
        } catch (IllegalArgumentException e) {
            // no SIGWINCH on this JVM: the first size stays
        }
    }

    /**
     * Our stdout terminal's rows and columns (docker's client sizes a container's terminal from its output), else our
     * stdin's, or null when neither is a terminal. stty reads the JVM's fd 1 through /proc: it has its own stdout.
     */
    static int[] outputSize() {
        int[] s = parseSize(stty("-F", "/proc/" + ProcessHandle.current().pid() + "/fd/1", "size"));
        return s != null ? s : size();
    }

    /** stty's output for these arguments on our stdin, or null when it failed. */
    private static String stty(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "stty";
        System.arraycopy(args, 0, argv, 1, args.length);
        try {
            Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private void restore() {
        if (restored.compareAndSet(false, true)) {
            stty(saved);
        }
    }

    @Override
    public void close() {
        restore();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down: the hook is running or ran
        }
    }
}
