package dev.corral.agent.client;

import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * A subcommand that talks to the daemon. Exit codes: 0 success; 1 a failure the daemon reported (printed as
 * {@code corral: <field>: <error>}); 2 a usage error (thrown as {@link ParameterException}, before any request);
 * 125 the daemon cannot be reached.
 */
public abstract class ClientCommand implements Callable<Integer> {

    public static final int FAILED = 1;
    public static final int UNREACHABLE = 125;
    static final String DEFAULT_TOKEN_FILE = "/var/lib/corral/api-token";

    @Spec
    protected CommandSpec spec;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    /** Set when {@link QuickCli} runs the command without picocli (then {@link #spec} is null). */
    private PrintWriter quickOut;
    private PrintWriter quickErr;

    /** Does the work; the client connects on its first request. */
    protected abstract int run(CorralClient client) throws Exception;

    @Override
    public final Integer call() throws Exception {
        DaemonAddress address = address();
        String token = token(address);
        try (CorralClient client = new CorralClient(address, token)) {
            return run(client);
        } catch (ApiException e) {
            fail(e);
            return failureCode(e);
        } catch (DaemonUnreachableException e) {
            err().println("corral: " + e.getMessage() + hint(address, e));
            err().flush();
            return UNREACHABLE;
        } finally {
            out().flush();
            err().flush();
        }
    }

    /** Runs without picocli, writing to these; a usage error throws {@link QuickCli.Fallback}. */
    final int callWith(PrintWriter out, PrintWriter err) {
        quickOut = out;
        quickErr = err;
        try {
            return call();
        } catch (QuickCli.Fallback e) {
            throw e;
        } catch (Exception e) {
            // what picocli's execution exception handler (CorralMain) prints
            err.println("corral: " + e.getMessage());
            err.flush();
            return FAILED;
        }
    }

    /** The exit code for a failure the daemon reported (1, as docker's commands other than run). */
    protected int failureCode(ApiException e) {
        return FAILED;
    }

    /** Prints the daemon's error as one line. */
    protected void fail(ApiException e) {
        String msg = e.getMessage();
        if (e.status() == 401) {
            msg += " (give the daemon's <state-dir>/api-token with --token-file or CORRAL_TOKEN)";
        }
        err().println("corral: " + msg);
        err().flush();
    }

    private static String hint(DaemonAddress address, DaemonUnreachableException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
        if (m.contains("permission denied") || m.contains("access denied")) {
            return " (run as root, or as a member of group corral)";
        }
        String how = address.isUnix() && !address.socketPath().equals(DaemonAddress.DEFAULT_SOCKET)
                ? "bin/corral serve --socket " + address.socketPath() : "bin/corral serve";
        return ". Is the daemon running? Start it with: " + how;
    }

    DaemonAddress address() {
        if (connection.host != null) {
            return connection.host;
        }
        ConnectionOptions top = topLevel();
        if (top != null && top.host != null) {
            return top.host;
        }
        String env = ClientEnv.get("CORRAL_HOST");
        if (env != null && !env.isBlank()) {
            try {
                return DaemonAddress.parse(env);
            } catch (TypeConversionException e) {
                throw usage("CORRAL_HOST: " + e.getMessage());
            }
        }
        return DaemonAddress.DEFAULT;
    }

    String token(DaemonAddress address) {
        if (address.isUnix()) {
            return null;
        }
        ConnectionOptions top = topLevel();
        Path file = connection.tokenFile != null ? connection.tokenFile : top == null ? null : top.tokenFile;
        if (file != null) {
            try {
                String t = Files.readString(file).strip();
                if (t.isEmpty()) {
                    throw usage("--token-file: " + file + " is empty");
                }
                return t;
            } catch (IOException e) {
                throw usage("--token-file: cannot read " + file + ": "
                        + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
            }
        }
        String env = ClientEnv.get("CORRAL_TOKEN");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        Path fallback = Path.of(DEFAULT_TOKEN_FILE);
        if (Files.isReadable(fallback)) {
            try {
                return Files.readString(fallback).strip();
            } catch (IOException e) {
                return null;
            }
        }
        return null;
    }

    private ConnectionOptions topLevel() {
        if (spec == null) {
            return null;
        }
        for (CommandSpec p = spec.parent(); p != null; p = p.parent()) {
            for (CommandSpec mixin : p.mixins().values()) {
                if (mixin.userObject() instanceof ConnectionOptions c) {
                    return c;
                }
            }
        }
        return null;
    }

    protected PrintWriter out() {
        return quickOut != null ? quickOut : spec.commandLine().getOut();
    }

    protected PrintWriter err() {
        return quickErr != null ? quickErr : spec.commandLine().getErr();
    }

    /** A usage error: exit 2 with this one line (picocli prints it; run from QuickCli, picocli runs it again). */
    protected RuntimeException usage(String message) {
        if (spec == null) {
            return new QuickCli.Fallback();
        }
        return new ParameterException(spec.commandLine(), message);
    }

    /** Container names are checked here so that a typo is a usage error, not a request to a strange path. */
    protected void checkNames(List<String> names) {
        for (String n : names) {
            if (!SpecValidator.NAME.matcher(n).matches()) {
                throw usage("'" + n + "' is not a container name (1-64 letters, digits, '_', '.' or '-')");
            }
        }
    }

    protected static String containerPath(String name) {
        return "/v1/containers/" + CorralClient.enc(name);
    }

    /**
     * Runs {@code action} for each name, printing the daemon's error for the ones that fail and going on, as docker
     * does; exit 1 when any failed.
     */
    protected int forEach(List<String> names, NameAction action) throws DaemonUnreachableException {
        checkNames(names);
        return forEachChecked(names, action);
    }

    /** {@link #forEach} for arguments the caller has checked already (image references). */
    protected int forEachChecked(List<String> names, NameAction action) throws DaemonUnreachableException {
        int rc = 0;
        for (String name : names) {
            try {
                action.run(name);
            } catch (ApiException e) {
                fail(e);
                rc = FAILED;
            }
        }
        return rc;
    }

    @FunctionalInterface
    protected interface NameAction {
        void run(String name) throws ApiException, DaemonUnreachableException;
    }

}
