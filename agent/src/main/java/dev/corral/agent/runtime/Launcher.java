package dev.corral.agent.runtime;

import dev.corral.agent.network.TrafficControl;
import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.image.ContainerRootfs;
import dev.corral.agent.network.JoinedNetwork;
import dev.corral.agent.network.NetworkManager;
import dev.corral.agent.spec.Capabilities;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Collectors;

/**
 * The launch itself, once admitted: the cgroup made ready, launch.conf written (config, rootfs, network keys) and
 * corral-shim asked to start the container. What a failure leaves is the lifecycle's to clean up.
 */
final class Launcher {

    private final Shim shim;
    private final Capabilities capabilities;
    private final ContainerRootfs images;
    private final NetworkManager networks;
    private final CgroupDriver driver;
    private final StateStore store;
    /** False only when the operator allowed unrestricted devices and this kernel cannot load the v2 filter. */
    private volatile boolean deviceFilter = true;

    Launcher(Shim shim, Capabilities capabilities, ContainerRootfs images, NetworkManager networks, CgroupDriver driver,
             StateStore store) {
        this.store = store;
        this.shim = shim;
        this.capabilities = capabilities;
        this.images = images;
        this.networks = networks;
        this.driver = driver;
    }

    /**
     * The container's stdin socket in its state dir, with -i, and with -t alone for the terminal's resizes (its input
     * dropped by the monitor; shim-stdin.c).
     */
    static final String STDIN_SOCKET = "stdin.sock";
    static final int MAX_SOCKET_PATH = 107; // sun_path's 108 bytes with its NUL

    Shim shim() {
        return shim;
    }

    void withoutDeviceFilter() {
        deviceFilter = false;
    }

    Shim.Launched launch(ContainerRecord record, ContainerConfig config, ContainerCgroup cgroup, Path dir)
            throws LaunchException, IOException, CgroupException, ContainerException, SpecException {
        String name = record.name();
        ContainerRecord joined = NetworkJoin.atStart(store, record.spec()); // before anything is made
        ContainerRecord owner = joined == null ? null : NetworkJoin.owner(store, joined);
        if (owner != null) {
            config = config.withHostname(NetworkJoin.hostname(owner));
        }
        if (!cgroup.exists()) { // an exited container's cgroup may have been cleaned by hand
            driver.create(RuntimeContext.leafOf(record), config.limits());
        }
        cgroup.allowDevices(config.deviceRules());
        Path logs = Files.createDirectories(dir.resolve("logs"));
        ShimConfig.write(dir.resolve("launch.conf"), config, cgroup, deviceFilter, capabilities, logs,
                dir.resolve("exit.json"), record.spec().image() == null ? null : images.forStart(name, config),
                Boolean.TRUE.equals(record.spec().init()));
        boolean mountNs = config.namespaces().contains("mount");
        java.util.Set<String> targets = config.mounts().stream().map(ContainerConfig.MountPlan::target)
                .collect(Collectors.toSet());
        byte[] net = joined != null
                ? JoinedNetwork.launchKeys(joined.initPid(), joined.monitorPid(), store.dir(owner.name()), mountNs,
                        targets)
                : networks.launchKeys(name, dir, mountNs, targets);
        if (net.length > 0) { // none and host: nothing more on the launch path
            Files.write(dir.resolve("launch.conf"), net, StandardOpenOption.APPEND);
        }
        Path stdin = dir.resolve(STDIN_SOCKET);
        boolean openStdin = Boolean.TRUE.equals(record.spec().openStdin());
        boolean tty = Boolean.TRUE.equals(record.spec().tty());
        boolean longPath = stdin.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_SOCKET_PATH;
        if (tty && !openStdin && !longPath) { // -t without -i: the socket carries the terminal's resizes alone
            Files.write(dir.resolve("launch.conf"), ShimConfig.resizeOnlyKeys(stdin), StandardOpenOption.APPEND);
        }
        if (openStdin) {
            if (longPath) {
                throw new ContainerException(ContainerException.Kind.FAILED, "cannot keep the stdin of '" + name
                        + "' open: its socket path " + stdin + " is longer than a unix socket's " + MAX_SOCKET_PATH
                        + " bytes (a shorter name or --state-dir)");
            }
            Files.write(dir.resolve("launch.conf"),
                    ShimConfig.stdinKeys(stdin, Boolean.TRUE.equals(record.spec().stdinOnce())),
                    StandardOpenOption.APPEND);
        }
        if (Boolean.TRUE.equals(record.spec().tty())) {
            Files.write(dir.resolve("launch.conf"), ShimConfig.ttyKeys(record.spec().consoleSize()),
                    StandardOpenOption.APPEND);
        }
        Shim.Launched launched;
        try {
            launched = shim.launch(dir.resolve("launch.conf"));
        } catch (LaunchException | IOException e) {
            Files.deleteIfExists(stdin); // a monitor that failed after listening leaves it
            throw e;
        }
        TrafficControl.atStart(networks.attachment(name), launched.initPid(), record.spec().limits());
        return launched;
    }
}
