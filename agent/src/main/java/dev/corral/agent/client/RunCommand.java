package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecValidator;
import dev.corral.exporter.sample.ByteSizes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
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

    private static final Pattern OCTAL = Pattern.compile("[0-7]{3,4}");
    /** docker run's own failure (no image given, among others). */
    static final int NO_ROOT = 125;

    @Option(names = "--help", usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Option(names = {"-d", "--detach"}, description = "Run in the background and print the container's name.")
    boolean detach;

    @Option(names = "--name", paramLabel = "NAME", description = "Container name (default: two random words).")
    String name;

    @Option(names = "--rm", description = "Remove the container when it exits, or if it fails to start (the daemon "
            + "does it, also with -d).")
    boolean remove;

    @Option(names = "--init", description = "Run a small init as PID 1 that forwards signals and reaps orphans "
            + "(by default the command is PID 1, and counts alone against --pids-limit).")
    boolean init;

    @Mixin
    LimitOptions limits = new LimitOptions();

    @Option(names = "--cap-add", paramLabel = "CAP", description = "Add a capability (e.g. NET_ADMIN, or ALL).")
    List<String> capAdd = new ArrayList<>();

    @Option(names = "--cap-drop", paramLabel = "CAP", description = "Drop a capability (e.g. CHOWN, or ALL).")
    List<String> capDrop = new ArrayList<>();

    @Option(names = "--device-cgroup-rule", paramLabel = "RULE", description = "Also allow these device nodes, "
            + "e.g. 'b 8:16 rw' (type a/b/c, major:minor or *, access rwm); the default list is Docker's.")
    List<String> deviceCgroupRules = new ArrayList<>();

    @Option(names = {"-h", "--hostname"}, paramLabel = "NAME", description = "Hostname inside (default: the name).")
    String hostname;

    @Option(names = {"-e", "--env"}, paramLabel = "NAME[=VALUE]",
            description = "Set a variable; NAME alone takes the value from this shell's environment.")
    List<String> env = new ArrayList<>();

    @Option(names = {"-v", "--volume"}, paramLabel = "SRC:DST[:ro|rw]",
            description = "Bind the host path SRC at DST; read-only unless :rw.")
    List<String> volumes = new ArrayList<>();

    @Option(names = "--tmpfs", paramLabel = "DST[:size=64m,mode=1777]", description = "Mount a tmpfs at DST.")
    List<String> tmpfs = new ArrayList<>();

    @Option(names = "--read-only", description = "Mount the root filesystem read-only (always so for --rootfs "
            + "host without --dangerously-allow-host-paths).")
    boolean readOnly;

    @Option(names = "--dangerously-allow-host-paths", description = "Let -v bind the host's /, /proc, /sys, /dev or "
            + "the daemon's own state, and make --rootfs host writable: a container given these owns the host.")
    boolean allowHostPaths;

    @Option(names = "--image", paramLabel = "IMAGE", description = "An imported image (NAME[:TAG] or id) to run on; "
            + "its config gives the default command, env, workdir and user. See corral image import.")
    String image;

    @Option(names = "--pull", paramLabel = "always|missing|never", defaultValue = "missing", description = "Pull "
            + "--image from its registry: always, when missing here (default), or never.")
    String pull;

    @Option(names = "--rootfs", paramLabel = "DIR|host", description = "Directory to use as the container's root, "
            + "or host: the host's root, read-only, with private /tmp and /run and the daemon's socket, state and "
            + "token hidden. A container needs --image or --rootfs.")
    String rootfs;

    @Option(names = "--network", paramLabel = "bridge|none|host", description = "bridge (a veth on the agent's "
            + "bridge, an address, NAT; the agent's default), none (loopback only) or host.")
    String network;

    @Option(names = "--ip", paramLabel = "ADDRESS", description = "The container's IPv4 address on its bridge "
            + "network (free, in its subnet); by default the lowest free one.")
    String ip;

    @Option(names = "--mac-address", paramLabel = "MAC", description = "Its eth0's MAC address (unicast), by "
            + "default 02:42 and the address's four bytes.")
    String macAddress;

    @Option(names = {"-p", "--publish"}, paramLabel = "[IP:]HOSTPORT:PORT[/udp]", description = "Publish a container "
            + "port on the host (bridge network); PORT alone picks a free host port (see corral port).")
    List<String> publish = new ArrayList<>();

    @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE", description = "Set a label.")
    List<String> labels = new ArrayList<>();

    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "Working directory inside.")
    String workdir;

    @Option(names = {"-u", "--user"}, paramLabel = "UID[:GID]", description = "Numeric user (and group) of the command.")
    String user;

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command and its arguments.")
    List<String> command = new ArrayList<>();

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
        boolean generated = name == null;
        ContainerSpec containerSpec = toSpec(generated ? Names.generate() : name);
        if (image == null && rootfs == null) { // as docker run without an image: before any request
            err().println("corral: run needs --image IMAGE or --rootfs DIR (--rootfs host: the host's root, "
                    + "read-only)");
            return NO_ROOT;
        }
        if (!List.of("always", "missing", "never").contains(pull)) {
            throw usage("--pull: '" + pull + "' is not always, missing or never");
        }
        if (image != null) {
            Integer failed = PullCommand.ensure(client, image, pull, this);
            if (failed != null) {
                return failed;
            }
        }
        // Attached with --rm, as docker run: create, attach, then start. The daemon removes the container when it
        // exits, but not before this client (its wait's connection) is gone, so the output and status are read.
        boolean attachFirst = remove && !detach;
        JsonNode created = create(client, containerSpec, generated,
                attachFirst ? "rm=true" : remove ? "start=true&rm=true" : "start=true");
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
                Integer failed = awaitAdmission(client, n);
                if (failed != null) {
                    return failed;
                }
            }
        }
        if (detach) {
            out().println(n);
            return 0;
        }
        return attach(client, n, exit);
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

    private JsonNode create(CorralClient client, ContainerSpec s, boolean generated, String query) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                return client.post("/v1/containers?" + query, s);
            } catch (ApiException e) {
                if (!generated || e.status() != 409 || attempt >= 4) {
                    throw e;
                }
                s = withName(s, Names.generateWithSuffix());
            }
        }
    }

    /**
     * Streams stdout and stderr until the container exits, then waits for its status ({@code exit}: the wait put in
     * place before the start, or null to ask now).
     */
    private int attach(CorralClient client, String n, CorralClient.Pending exit) throws Exception {
        String path = containerPath(n);
        Utf8Sink stdout = new Utf8Sink(out(), System.out);
        Utf8Sink stderr = new Utf8Sink(err(), System.err);
        CompletableFuture<Void> detached = new CompletableFuture<>();
        SignalProxy proxy = SignalProxy.install(client, path, detached);
        try {
            CompletableFuture<Void> o = client.streamAsync(path + "/logs?follow=true&stream=stdout", stdout,
                    stdout::broken);
            CompletableFuture<Void> e = client.streamAsync(path + "/logs?follow=true&stream=stderr", stderr,
                    stderr::broken);
            // Both streams ended (whether or not they failed), or the third Ctrl-C detached.
            CompletableFuture<Object> ended = CompletableFuture.anyOf(
                    CompletableFuture.allOf(o, e).handle((v, t) -> null), detached);
            client.await(ended);
            if (detached.isDone() && !(o.isDone() && e.isDone())) {
                err().println("corral: detached; " + n + " keeps running (corral stop " + n + ")");
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
                err().println("corral: " + n + " ended without an exit code" + (status.path("error").isTextual()
                        ? ": " + status.path("error").asText() : ""));
                return RUN_FAILED;
            }
            return code;
        } finally {
            proxy.restore();
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

    /** The spec the flags describe; usage errors (exit 2) for what is malformed. */
    ContainerSpec toSpec(String containerName) {
        if (image != null && rootfs != null) {
            throw usage("--image and --rootfs: give one of them, not both");
        }
        if (command.isEmpty() && image == null) {
            throw usage("run needs a COMMAND to run, e.g. corral run --memory 256m sh -c 'echo hi'");
        }
        if (!SpecValidator.NAME.matcher(containerName).matches()) {
            throw usage("--name: '" + containerName + "' is not a valid name: use 1-64 letters, digits, '_', '.' "
                    + "or '-', starting with a letter or digit");
        }
        if (network != null && !SpecValidator.NAME.matcher(network).matches()) {
            throw usage("--network: '" + network + "' is not bridge, none, host or a network's name");
        }
        List<ContainerSpec.Port> ports = new ArrayList<>();
        for (String p : publish) {
            ports.add(PublishOption.parse(p, this::usage));
        }
        ContainerSpec.Namespaces namespaces = network == null ? null
                : new ContainerSpec.Namespaces(null, null, null, null, network, null, null);
        List<ContainerSpec.Mount> mounts = new ArrayList<>();
        for (String v : volumes) {
            mounts.add(volume(v));
        }
        for (String t : tmpfs) {
            mounts.add(tmpfs(t));
        }
        ContainerSpec.Security security = capAdd.isEmpty() && capDrop.isEmpty() && deviceCgroupRules.isEmpty() ? null
                : new ContainerSpec.Security(capAdd.isEmpty() ? null : List.copyOf(capAdd),
                capDrop.isEmpty() ? null : List.copyOf(capDrop), null,
                deviceCgroupRules.isEmpty() ? null : List.copyOf(deviceCgroupRules));
        ContainerSpec.Limits l = limits.toLimits(null, this::usage);
        // --rootfs host is read-only unless the override is given (and --read-only is not).
        Boolean readOnlyRootfs = readOnly ? Boolean.TRUE
                : allowHostPaths && ContainerConfig.HOST.equals(rootfs) ? Boolean.FALSE : null;
        return new ContainerSpec(containerName, command.isEmpty() ? null : List.copyOf(command), environment(),
                workdir, user(), hostname, labels(), rootfs, readOnlyRootfs, namespaces, l, security,
                mounts.isEmpty() ? null : mounts, allowHostPaths ? Boolean.TRUE : null, image,
                init ? Boolean.TRUE : null, ports.isEmpty() ? null : List.copyOf(ports), ip, macAddress);
    }

    private Map<String, String> environment() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String e : env) {
            int eq = e.indexOf('=');
            String key = eq < 0 ? e : e.substring(0, eq);
            if (key.isEmpty()) {
                throw usage("-e: '" + e + "' is not NAME=VALUE or NAME");
            }
            if (eq >= 0) {
                out.put(key, e.substring(eq + 1));
            } else {
                String value = ClientEnv.get(key); // as docker: NAME alone copies this shell's value, if any
                if (value != null) {
                    out.put(key, value);
                }
            }
        }
        return out.isEmpty() ? null : out;
    }

    private Map<String, String> labels() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String l : labels) {
            int eq = l.indexOf('=');
            String key = eq < 0 ? l : l.substring(0, eq);
            if (key.isEmpty()) {
                throw usage("--label: '" + l + "' is not KEY=VALUE");
            }
            out.put(key, eq < 0 ? "" : l.substring(eq + 1));
        }
        return out.isEmpty() ? null : out;
    }

    private ContainerSpec.User user() {
        if (user == null) {
            return null;
        }
        String[] parts = user.split(":", -1);
        if (parts.length > 2 || !parts[0].matches("[0-9]{1,10}") || (parts.length == 2 && !parts[1].matches("[0-9]{1,10}"))) {
            throw usage("--user: '" + user + "' is not UID[:GID] (numeric ids; user names are not supported)");
        }
        return new ContainerSpec.User(Long.parseLong(parts[0]), parts.length == 2 ? Long.parseLong(parts[1]) : null,
                null);
    }

    /** {@code -v SRC:DST[:ro|rw]}: a bind of an absolute host path; read-only unless rw. */
    ContainerSpec.Mount volume(String v) {
        String[] parts = v.split(":", -1);
        if (parts.length == 1) {
            throw usage("-v: '" + v + "' has no host path: anonymous volumes are not supported; use -v SRC:DST "
                    + "or --tmpfs DST");
        }
        if (parts.length > 3 || parts[0].isEmpty() || parts[1].isEmpty()) {
            throw usage("-v: '" + v + "' is not SRC:DST[:ro|rw]");
        }
        if (!parts[0].startsWith("/")) {
            throw usage("-v: '" + parts[0] + "' is not an absolute host path (named volumes are not supported)");
        }
        if (!parts[1].startsWith("/")) {
            throw usage("-v: '" + parts[1] + "' is not an absolute container path");
        }
        boolean ro = true;
        if (parts.length == 3) {
            for (String opt : parts[2].split(",")) {
                switch (opt) {
                    case "ro" -> ro = true;
                    case "rw" -> ro = false;
                    default -> throw usage("-v: option '" + opt + "' is not supported (ro or rw)");
                }
            }
        }
        return new ContainerSpec.Mount("bind", parts[0], parts[1], ro, null, null);
    }

    /** {@code --tmpfs DST[:size=64m,mode=1777,ro]}. */
    ContainerSpec.Mount tmpfs(String t) {
        int colon = t.indexOf(':');
        String target = colon < 0 ? t : t.substring(0, colon);
        if (!target.startsWith("/")) {
            throw usage("--tmpfs: '" + target + "' is not an absolute container path");
        }
        Long size = null;
        String mode = null;
        Boolean ro = null;
        if (colon >= 0) {
            for (String opt : t.substring(colon + 1).split(",")) {
                if (opt.startsWith("size=")) {
                    try {
                        size = ByteSizes.parse(opt.substring(5));
                    } catch (IllegalArgumentException e) {
                        throw usage("--tmpfs: size: " + e.getMessage());
                    }
                } else if (opt.startsWith("mode=")) {
                    mode = opt.substring(5);
                    if (!OCTAL.matcher(mode).matches()) {
                        throw usage("--tmpfs: mode '" + mode + "' is not octal like 1777");
                    }
                } else if (opt.equals("ro")) {
                    ro = true;
                } else if (opt.equals("rw")) {
                    ro = null;
                } else {
                    throw usage("--tmpfs: option '" + opt + "' is not supported (size=, mode=, ro, rw)");
                }
            }
        }
        return new ContainerSpec.Mount("tmpfs", null, target, ro, size, mode);
    }

    private static ContainerSpec withName(ContainerSpec s, String n) {
        return new ContainerSpec(n, s.command(), s.env(), s.workingDir(), s.user(), s.hostname(), s.labels(),
                s.rootfs(), s.readOnlyRootfs(), s.namespaces(), s.limits(), s.security(), s.mounts(),
                s.dangerouslyAllowHostPaths(), s.image(), s.init(), s.ports(), s.ip(),
                s.macAddress());
    }
}
