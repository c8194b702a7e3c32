package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code corral exec}: a new process in a running container, in all its namespaces and cgroups, with its
 * capabilities, no_new_privs, credentials, env and working dir (corral-shim exec; see shim-exec.c). The caller
 * streams the process's stdio and owns it: destroying it (SIGTERM to the shim) kills the command's process group.
 */
public final class Exec {

    /** Docker's exit codes for an exec that could not start its command. */
    public static final int SETUP_FAILED = 125;

    private static final Pattern ENV_NAME = Pattern.compile("[^=\\x00]+");
    private static final Pattern USER = Pattern.compile("[^:\\x00\\s]+(:[^:\\x00\\s]+)?");
    private static final int MAX_ARGS = 4096;
    private static final int MAX_TERMINAL_SIDE = 65535; // struct winsize's unsigned short

    /**
     * @param command the program and its arguments (the program is looked up in the container's PATH)
     * @param env NAME=VALUE, added to the container's env or replacing its value
     * @param user USER[:GROUP], names or numbers (names resolved in the container's /etc/passwd), or null for the
     *     container's
     * @param workingDir an absolute path in the container, or null for the container's
     * @param stdin whether the caller writes the process's stdin (else it reads /dev/null)
     * @param tty whether the process gets a pseudo-terminal, {@code rows} x {@code cols} (0 for the kernel's 0x0);
     *     the caller then writes the shim's stdin frames (data and resizes, shim-exec.c), with or without
     *     {@code stdin}
     */
    public record Request(List<String> command, List<String> env, String user, String workingDir, boolean stdin,
                          boolean tty, int rows, int cols) {

        public Request(List<String> command, List<String> env, String user, String workingDir, boolean stdin) {
            this(command, env, user, workingDir, stdin, false, 0, 0);
        }

        /** Whether the caller writes to the process (its stdin, or with a terminal the frames). */
        public boolean writes() {
            return stdin || tty;
        }
    }

    private Exec() {
    }

    /** The shim's options for the request; a bad value is a {@link SpecException} naming its field. */
    static List<String> options(Request r) throws SpecException {
        if (r.command() == null || r.command().isEmpty() || r.command().get(0).isEmpty()) {
            throw new SpecException("cmd", "an exec needs a command");
        }
        if (r.command().size() > MAX_ARGS) {
            throw new SpecException("cmd", "more than " + MAX_ARGS + " arguments");
        }
        for (String a : r.command()) {
            if (a.indexOf(0) >= 0) {
                throw new SpecException("cmd", "an argument holds a NUL byte");
            }
        }
        List<String> o = new ArrayList<>();
        for (String e : r.env() == null ? List.<String>of() : r.env()) {
            int eq = e.indexOf('=');
            if (eq <= 0 || !ENV_NAME.matcher(e.substring(0, eq)).matches() || e.indexOf(0) >= 0) {
                throw new SpecException("env", "'" + e + "' is not NAME=VALUE");
            }
            o.add("-e");
            o.add(e);
        }
        if (r.workingDir() != null) {
            if (!r.workingDir().startsWith("/") || r.workingDir().indexOf(0) >= 0) {
                throw new SpecException("workingDir", "'" + r.workingDir() + "' is not an absolute path");
            }
            o.add("-w");
            o.add(r.workingDir());
        }
        if (r.user() != null) {
            if (!USER.matcher(r.user()).matches()) {
                throw new SpecException("user", "'" + r.user() + "' is not USER[:GROUP] (names or numbers)");
            }
            o.add("-u");
            o.add(r.user());
        }
        if (r.tty()) {
            if (r.rows() < 0 || r.rows() > MAX_TERMINAL_SIDE) {
                throw new SpecException("h", r.rows() + " rows: not 0.." + MAX_TERMINAL_SIDE);
            }
            if (r.cols() < 0 || r.cols() > MAX_TERMINAL_SIDE) {
                throw new SpecException("w", r.cols() + " columns: not 0.." + MAX_TERMINAL_SIDE);
            }
            o.add("-t");
            o.add(r.rows() + "x" + r.cols());
        }
        return o;
    }

    /**
     * Starts the process in the container of {@code record} (whose state dir is {@code dir}).
     *
     * @throws ContainerException CONFLICT when it is not running (or paused)
     */
    static Process start(ContainerRecord record, Path dir, Shim shim, Request request)
            throws ContainerException, SpecException {
        List<String> options = options(request);
        String name = record.name();
        if (record.state() == ContainerState.PAUSED) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name
                    + "' is paused: unpause it before exec");
        }
        if (record.state() != ContainerState.RUNNING || record.initPid() == null
                || !ProcessInfo.isSame(record.monitorPid(), record.monitorStartTicks())) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name
                    + "' is not running (" + record.state().name().toLowerCase(java.util.Locale.ROOT) + ")");
        }
        Path config = dir.resolve("launch.conf");
        if (!Files.isRegularFile(config)) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name
                    + "' was started by a corral without exec (no launch config): restart it");
        }
        try {
            return shim.exec(config, record.initPid(), record.monitorPid(), options, request.command(),
                    request.writes());
        } catch (IOException e) {
            throw new ContainerException(ContainerException.Kind.FAILED, "cannot exec in '" + name + "': "
                    + e.getMessage(), e);
        }
    }
}
