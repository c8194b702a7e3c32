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
import java.util.regex.Pattern;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The flags that describe a container, shared by {@code run} and {@code create}, with docker run's meanings, and
 * the spec they make. Malformed values are usage errors naming the flag (exit 125 for run and create, as docker's).
 */
public final class ContainerOptions {

    private static final Pattern OCTAL = Pattern.compile("[0-7]{3,4}");

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

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

    @Mixin
    RestartOptions restartOptions = new RestartOptions();

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

    @Option(names = "--network", paramLabel = "bridge|none|host|NAME|container:NAME", description = "bridge (a veth "
            + "on the agent's bridge, an address, NAT; the agent's default), a user-defined network's NAME, none "
            + "(loopback only), host, or container:NAME (the network namespace, /etc/hosts and resolv.conf of the "
            + "running container NAME).")
    String network;

    @Option(names = "--ip", paramLabel = "ADDRESS", description = "The container's IPv4 address on its bridge "
            + "network (free, in its subnet); by default the lowest free one.")
    String ip;

    @Option(names = {"-i", "--interactive"}, description = "Keep the container's stdin open: an attached run or "
            + "start -a -i streams this stdin to it (its end is the end of the container's stdin).")
    boolean interactive;

    @Option(names = {"-t", "--tty"}, description = "Allocate a pseudo-terminal in the container for its command: "
            + "attached, its size follows this terminal's; with -i this terminal is put in raw mode (restored on "
            + "exit) and its input sent, without -i never.")
    boolean tty;

    /** Docker's StdinOnce: the attached client's end of input is the container's (run -i without -d). */
    boolean stdinOnce;

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

    @Option(names = {"-u", "--user"}, paramLabel = "USER[:GROUP]", description = "User (and group) of the command: "
            + "numbers, or names from the container's /etc/passwd and /etc/group.")
    String user;

    @Option(names = "--ulimit", paramLabel = "NAME=SOFT[:HARD]", description = "A resource limit (setrlimit) as "
            + "docker's: nofile, nproc, core, stack, memlock, ...; -1 for unlimited.")
    List<String> ulimits = new ArrayList<>();

    @Option(names = "--env-file", paramLabel = "FILE", description = "Read variables from FILE: KEY=VALUE lines, "
            + "KEY alone takes this shell's value, # comments; -e wins over it.")
    List<String> envFiles = new ArrayList<>();

    @Option(names = "--entrypoint", paramLabel = "PROGRAM", description = "Run PROGRAM (one word) with COMMAND as its "
            + "arguments, instead of the image's entrypoint and cmd (as docker, the image's cmd is dropped too).")
    String entrypoint;

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command and its arguments.")
    List<String> command = new ArrayList<>();

    /**
     * The spec the flags describe; usage errors (exit 2) for what is malformed, a bad --restart or --stop-timeout as
     * docker run's failure (125).
     */
    ContainerSpec toSpec(String containerName) throws ApiException {
        if (image != null && rootfs != null) {
            throw usage("--image and --rootfs: give one of them, not both");
        }
        List<String> argv = argv();
        if (argv.isEmpty() && image == null) {
            throw usage(mixee() + " needs a COMMAND to run, e.g. corral " + mixee() + " --rootfs host sh -c 'echo hi'");
        }
        if (!SpecValidator.NAME.matcher(containerName).matches()) {
            throw usage("--name: '" + containerName + "' is not a valid name: use 1-64 letters, digits, '_', '.' "
                    + "or '-', starting with a letter or digit");
        }
        if (network != null && !SpecValidator.NAME.matcher(network.startsWith("container:")
                ? network.substring("container:".length()) : network).matches()) {
            throw usage("--network: '" + network + "' is not bridge, none, host, a network's name or container:NAME");
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
        return restartOptions.apply(new ContainerSpec(containerName, argv.isEmpty() ? null : argv, environment(),
                workdir, user(), hostname, labels(), rootfs, readOnlyRootfs, namespaces, l, security,
                mounts.isEmpty() ? null : mounts, allowHostPaths ? Boolean.TRUE : null, image,
                init ? Boolean.TRUE : null, ports.isEmpty() ? null : List.copyOf(ports), null, null,
                UlimitOption.parse(ulimits, this::usage), ip, macAddress,
                interactive ? Boolean.TRUE : null, interactive && stdinOnce ? Boolean.TRUE : null,
                tty ? Boolean.TRUE : null, tty ? consoleSize() : null));
    }

    /**
     * With -t, the size the container's terminal starts with: this client's output terminal's, as docker's client
     * (its ConsoleSize), so that a command that asks at once sees it even without -i (no input, so no resizes);
     * null when our output is no terminal.
     */
    private static List<Integer> consoleSize() {
        int[] s = RawTerminal.outputSize();
        return s == null || s[0] <= 0 || s[1] <= 0 ? null : List.of(s[0], s[1]);
    }

    /**
     * The container's command: COMMAND, after --entrypoint when given. The daemon replaces an image's entrypoint
     * and cmd together by a spec's command, so an entrypoint given here clears the image's cmd, as in docker.
     */
    private List<String> argv() {
        if (entrypoint == null) {
            return List.copyOf(command);
        }
        List<String> out = new ArrayList<>();
        if (!entrypoint.isEmpty()) { // docker's --entrypoint "" resets the entrypoint: COMMAND alone then
            out.add(entrypoint);
        }
        out.addAll(command);
        if (out.isEmpty()) {
            throw usage("--entrypoint: '' clears the image's entrypoint and cmd: give a COMMAND");
        }
        return List.copyOf(out);
    }

    private Map<String, String> environment() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String file : envFiles) {
            EnvFile.read(file, this::usage).forEach(out::put);
        }
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
        return UlimitOption.user(user, this::usage);
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

    static ContainerSpec withName(ContainerSpec s, String n) {
        return s.withName(n);
    }

    /**
     * POSTs the spec ({@code query}: start=true, rm=true...); a generated name that is taken is replaced by one with
     * a suffix, a few times.
     */
    static JsonNode create(CorralClient client, ContainerSpec s, boolean generated, String query) throws Exception {
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
     * Before anything is created: a root is given, and the image is here (pulled as --pull says). Null to go on, else
     * the exit code (125 as docker run's own failures, or the pull's).
     */
    Integer ensureImage(CorralClient client, ClientCommand command) throws Exception {
        if (image == null && rootfs == null) { // as docker run without an image: before any request
            command.err().println("corral: " + mixee() + " needs --image IMAGE or --rootfs DIR (--rootfs host: the "
                    + "host's root, read-only)");
            return RunCommand.RUN_FAILED;
        }
        if (!List.of("always", "missing", "never").contains(pull)) {
            throw usage("--pull: '" + pull + "' is not always, missing or never");
        }
        return image == null ? null : PullCommand.ensure(client, image, pull, command);
    }

    private String mixee() {
        return mixee == null ? "run" : mixee.name();
    }

    private RuntimeException usage(String message) {
        return mixee == null ? new IllegalArgumentException(message) : new ParameterException(mixee.commandLine(),
                message);
    }
}
