package dev.corral.agent.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.util.List;
import java.util.Map;

/**
 * A container as a user asks for it (JSON). Unknown fields are rejected. Null means "the default"; see
 * {@link SpecValidator} for defaults and rules. Sizes accept bytes or strings like "256m", "1g", "max".
 *
 * @param rootfs                   a directory to use as "/", or "host" for the host's root (read-only, the agent's
 *                                  state, socket and token masked); a container needs a rootfs or an image
 * @param dangerouslyAllowHostPaths lets mounts expose the host's "/", /proc, /sys or the agent's own state, and a
 *                                  host root be writable; a container given those owns the host
 * @param image                    an imported image ("name[:tag]" or an id) to run on, instead of a rootfs; its
 *                                  config gives defaults for command, env, workingDir and user
 * @param init                     true: a small init (corral-init) is PID 1, reaps orphans and forwards signals to
 *                                  the command, as Docker's --init; by default the command itself is PID 1
 * @param ports                    published ports (bridge networks only), Docker's -p
 * @param restartPolicy            when the daemon starts it again after it exits (Docker's --restart); null: never
 * @param stopTimeout              seconds from SIGTERM to SIGKILL when it is stopped (Docker's --stop-timeout);
 *                                  null: 10; a stop's own timeout overrides it
 * @param ulimits                  resource limits set with setrlimit before the command runs, Docker's --ulimit
 * @param ip                       the container's IPv4 address on its bridge network (Docker's --ip): reserved,
 *                                  refused if taken or outside the network's subnet; null for the lowest free one
 * @param macAddress               its eth0's MAC address (Docker's --mac-address), a unicast aa:bb:cc:dd:ee:ff;
 *                                  null for 02:42 and the address's four bytes, as Docker
 * @param openStdin                true: the container's stdin stays open for clients to write (Docker's -i,
 *                                  OpenStdin; POST /v1/containers/{name}/stdin); null: it reads /dev/null
 * @param stdinOnce                true: the end of the first client's stdin is the end of the container's (Docker's
 *                                  StdinOnce, as run -i without -d); else each client's end only detaches it
 * @param tty                      true: the command's stdin, stdout and stderr are a pseudo-terminal of the
 *                                  container's devpts (Docker's -t): its output is the one stream stdout, its input
 *                                  (with openStdin) frames of data and resizes; null: pipes
 * @param consoleSize              with tty: the terminal's first size, [rows, columns] (Docker's ConsoleSize), set
 *                                  before the command runs; later sizes come as resizes with the input; null: 0x0
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ContainerSpec(String name, List<String> command, Map<String, String> env, String workingDir,
                            User user, String hostname, Map<String, String> labels, String rootfs,
                            Boolean readOnlyRootfs, Namespaces namespaces, Limits limits, Security security,
                            List<Mount> mounts, Boolean dangerouslyAllowHostPaths, String image, Boolean init,
                            List<Port> ports, RestartPolicy restartPolicy, Integer stopTimeout,
                            List<Ulimit> ulimits, String ip, String macAddress, Boolean openStdin,
                            Boolean stdinOnce, Boolean tty, List<Integer> consoleSize) {

    /** This spec with another name. The with... copies are here so that a new field is passed on in one place. */
    public ContainerSpec withName(String newName) {
        return new ContainerSpec(newName, command, env, workingDir, user, hostname, labels, rootfs, readOnlyRootfs,
                namespaces, limits, security, mounts, dangerouslyAllowHostPaths, image, init, ports, restartPolicy,
                stopTimeout, ulimits, ip, macAddress, openStdin,
                stdinOnce, tty, consoleSize);
    }

    /** This spec with other limits. */
    public ContainerSpec withLimits(Limits newLimits) {
        return new ContainerSpec(name, command, env, workingDir, user, hostname, labels, rootfs, readOnlyRootfs,
                namespaces, newLimits, security, mounts, dangerouslyAllowHostPaths, image, init, ports, restartPolicy,
                stopTimeout, ulimits, ip, macAddress, openStdin,
                stdinOnce, tty, consoleSize);
    }

    /** This spec with other namespaces. */
    public ContainerSpec withNamespaces(Namespaces newNamespaces) {
        return new ContainerSpec(name, command, env, workingDir, user, hostname, labels, rootfs, readOnlyRootfs,
                newNamespaces, limits, security, mounts, dangerouslyAllowHostPaths, image, init, ports, restartPolicy,
                stopTimeout, ulimits, ip, macAddress, openStdin,
                stdinOnce, tty, consoleSize);
    }

    /** This spec with another command, environment, working directory and user (an image's defaults filled in). */
    public ContainerSpec withProcess(List<String> newCommand, Map<String, String> newEnv, String newWorkingDir,
                                     User newUser) {
        return new ContainerSpec(name, newCommand, newEnv, newWorkingDir, newUser, hostname, labels, rootfs,
                readOnlyRootfs, namespaces, limits, security, mounts, dangerouslyAllowHostPaths, image, init, ports,
                restartPolicy, stopTimeout, ulimits, ip, macAddress, openStdin,
                stdinOnce, tty, consoleSize);
    }

    /** This spec with another restart policy and stop timeout. */
    public ContainerSpec withRestart(RestartPolicy newPolicy, Integer newStopTimeout) {
        return new ContainerSpec(name, command, env, workingDir, user, hostname, labels, rootfs, readOnlyRootfs,
                namespaces, limits, security, mounts, dangerouslyAllowHostPaths, image, init, ports, newPolicy,
                newStopTimeout, ulimits, ip, macAddress, openStdin,
                stdinOnce, tty, consoleSize);
    }

    /** Without a restart policy, stop timeout, ulimits, address or MAC (the defaults). */
    public ContainerSpec(String name, List<String> command, Map<String, String> env, String workingDir, User user,
                         String hostname, Map<String, String> labels, String rootfs, Boolean readOnlyRootfs,
                         Namespaces namespaces, Limits limits, Security security, List<Mount> mounts,
                         Boolean dangerouslyAllowHostPaths, String image, Boolean init, List<Port> ports) {
        this(name, command, env, workingDir, user, hostname, labels, rootfs, readOnlyRootfs, namespaces, limits,
                security, mounts, dangerouslyAllowHostPaths, image, init, ports, null, null, null, null, null, null, null, null, null);
    }

    /** Without init (the default) and without published ports. */
    public ContainerSpec(String name, List<String> command, Map<String, String> env, String workingDir, User user,
                         String hostname, Map<String, String> labels, String rootfs, Boolean readOnlyRootfs,
                         Namespaces namespaces, Limits limits, Security security, List<Mount> mounts,
                         Boolean dangerouslyAllowHostPaths, String image) {
        this(name, command, env, workingDir, user, hostname, labels, rootfs, readOnlyRootfs, namespaces, limits,
                security, mounts, dangerouslyAllowHostPaths, image, null, null, null, null, null, null, null, null, null, null, null);
    }

    /**
     * Docker's RestartPolicy: {@code no}, {@code on-failure} (a non-zero exit, at most {@code maximumRetryCount}
     * times when above 0), {@code always}, {@code unless-stopped} (see {@link RestartRules}).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RestartPolicy(String name, Integer maximumRetryCount) {
    }

    /**
     * Docker's {@code -p [hostIp:]hostPort:containerPort[/protocol]}.
     *
     * @param hostIp   the host address it is published on; null for every address of the host
     * @param hostPort null or 0 for a free port the agent picks
     * @param protocol "tcp" (the default) or "udp"
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Port(String hostIp, Integer hostPort, Integer containerPort, String protocol) {
    }

    /**
     * @param additionalGids supplementary groups
     * @param name           "USER[:GROUP]" (names or numbers) resolved in the container's own /etc/passwd and
     *                       /etc/group when it starts, instead of uid and gid
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record User(Long uid, Long gid, List<Long> additionalGids, String name) {
        public User(Long uid, Long gid, List<Long> additionalGids) {
            this(uid, gid, additionalGids, null);
        }
    }

    /**
     * Docker's {@code --ulimit name=soft[:hard]}.
     *
     * @param name core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime,
     *             sigpending or stack
     * @param soft the soft limit, -1 for unlimited
     * @param hard the hard limit, -1 for unlimited; null for the soft one
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Ulimit(String name, Long soft, Long hard) {
    }

    /**
     * @param network "bridge" (the agent's default network: a veth on its bridge, an address, NAT), a network's
     *                name, "none" (a new network namespace with loopback up) or "host"; null for the agent's
     *                default (serve --default-network: bridge, or none where the agent has no bridge networking)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Namespaces(Boolean pid, Boolean mount, Boolean uts, Boolean ipc, String network,
                             UserNamespace user, Boolean cgroup) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record UserNamespace(List<IdMapping> uidMappings, List<IdMapping> gidMappings) {
    }

    public record IdMapping(Long containerId, Long hostId, Long size) {
    }

    /** @param network the rates of its bridge network's veth (tc), see {@link NetworkRate} */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Limits(Memory memory, Cpu cpu, Io io, Pids pids, NetworkRate network) {

        /** Without a network rate. */
        public Limits(Memory memory, Cpu cpu, Io io, Pids pids) {
            this(memory, cpu, io, pids, null);
        }
    }

    /**
     * Bytes per second, or tc's rates as strings ("10mbit", "1gbit", "2mbps"); -1 or "max" for none. Bridge networks
     * only (network/TrafficControl).
     *
     * @param egress  what the container sends (shaped on its eth0)
     * @param ingress what it receives (shaped on the host end of its veth)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record NetworkRate(@JsonDeserialize(using = NetworkRateDeserializer.class) Long egress,
                              @JsonDeserialize(using = NetworkRateDeserializer.class) Long ingress) {
    }

    /** @param swap swap allowed beyond max (not Docker's memory+swap total) */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Memory(@JsonDeserialize(using = ByteSizeDeserializer.class) Long max,
                         @JsonDeserialize(using = ByteSizeDeserializer.class) Long high,
                         @JsonDeserialize(using = ByteSizeDeserializer.class) Long swap,
                         @JsonDeserialize(using = ByteSizeDeserializer.class) Long reservation) {
    }

    /**
     * @param cpus   Docker's --cpus: a quota of cpus × period
     * @param shares v1 scale (2..262144); weight is the v2 scale (1..10000); give one of them
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Cpu(Double cpus, Long quota, Long period, Long shares, Long weight, String cpusetCpus,
                      String cpusetMems) {
    }

    /** @param weight blkio scale, 10..1000 */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Io(Long weight, List<IoDevice> devices) {
    }

    /** @param device "MAJOR:MINOR" or a block device path such as /dev/vda */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record IoDevice(String device, @JsonDeserialize(using = ByteSizeDeserializer.class) Long readBps,
                           @JsonDeserialize(using = ByteSizeDeserializer.class) Long writeBps, Long readIops,
                           Long writeIops) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Pids(Long max) {
    }

    /**
     * @param capAdd capability names ("NET_ADMIN" or "CAP_NET_ADMIN", or "ALL") added to the default set
     * @param deviceCgroupRules device nodes allowed on top of the default list, as Docker's --device-cgroup-rule
     *                          ("b 8:16 rw"; see DeviceRules)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Security(List<String> capAdd, List<String> capDrop, Boolean noNewPrivileges,
                           List<String> deviceCgroupRules) {
    }

    /** @param type "bind" (source required; read-only unless readOnly is false) or "tmpfs" */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Mount(String type, String source, String target, Boolean readOnly,
                        @JsonDeserialize(using = ByteSizeDeserializer.class) Long size, String mode) {
    }
}
