package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.cgroup.DeviceRules;
import dev.corral.agent.image.ContainerRootfs;
import dev.corral.agent.image.ImageStore;
import dev.corral.agent.network.NetworkManager;
import dev.corral.agent.network.NetworkOptions;
import dev.corral.agent.spec.Capabilities;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.HostFacts;
import dev.corral.agent.spec.RestartRules;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates, starts, stops and removes containers, and keeps their records in the state store: the lifecycle. Its
 * parts: {@link Creation} makes a container, {@link AdmissionQueue} decides with the policy whether a start goes
 * ahead now, {@link ExitWatcher} sees and records exits, {@link Recovery} takes over what an earlier agent left;
 * they share a {@link RuntimeContext}. Every method blocks on process and file IO: call it from a worker thread,
 * never an event loop. Operations on one container are serialised; different containers proceed in parallel.
 */
public final class ContainerRuntime implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ContainerRuntime.class);
    private static final int SIGTERM = 15;

    private final RuntimeContext ctx;
    private final StateStore store;
    private final CgroupDriver driver;
    private final SpecValidator validator;
    private final ContainerRootfs images;
    private final NetworkManager networks;
    private final Creation creation;
    private final AdmissionQueue admission;
    private final ExitWatcher exits;
    private final Restarts restarts;
    private final Launcher launcher;
    private final ContainerControl control;

    private ContainerRuntime(StateStore store, CgroupDriver driver, Shim shim, Capabilities capabilities,
                             HostFacts facts, ContainerRootfs images, NetworkManager networks) {
        this.ctx = new RuntimeContext(store, driver, images, networks);
        this.images = images;
        this.networks = networks;
        this.store = store;
        this.driver = driver;
        this.validator = new SpecValidator(facts);
        this.creation = new Creation(ctx);
        this.admission = new AdmissionQueue(ctx, queued -> launch(queued, validated(queued)));
        this.restarts = new Restarts(ctx, again -> launch(again, validated(again)));
        this.exits = new ExitWatcher(ctx, restarts::exited);
        this.control = new ContainerControl(ctx, validator);
        this.launcher = new Launcher(shim, capabilities, images, networks, driver, store);
    }

    /**
     * Opens the runtime on a state dir: makes the agent's parent cgroup, installs corral-shim, then recovers
     * what an earlier agent left (re-adopts live containers, records exits that happened meanwhile, removes
     * half-made ones).
     */
    public static ContainerRuntime open(Path stateDir, CgroupDriver driver, List<Path> protectedPaths)
            throws IOException, CgroupException {
        return open(stateDir, driver, protectedPaths, false);
    }

    /**
     * @param allowUnrestrictedDevices where containers get the cgroup v2 BPF device filter and this kernel cannot
     *        load it, start them without one (warned once) rather than fail each start with the kernel's reason
     */
    public static ContainerRuntime open(Path stateDir, CgroupDriver driver, List<Path> protectedPaths,
                                        boolean allowUnrestrictedDevices) throws IOException, CgroupException {
        return open(stateDir, driver, protectedPaths, allowUnrestrictedDevices, NetworkOptions.none());
    }

    /** @param network bridge networking ({@link NetworkOptions#none()}: containers default to none, bridge refused) */
    public static ContainerRuntime open(Path stateDir, CgroupDriver driver, List<Path> protectedPaths,
                                        boolean allowUnrestrictedDevices, NetworkOptions network)
            throws IOException, CgroupException {
        Files.createDirectories(stateDir);
        driver.ensureParent();
        Capabilities caps = Capabilities.ofKernel(Path.of("/proc"));
        HostFacts facts = new HostFacts(caps, Runtime.getRuntime().availableProcessors(),
                driver.supportsMemoryHigh(), protectedPaths, BlockDevices::majorMinor,
                HostTopology.onlineCpus(Path.of("/sys")), HostTopology.memoryNodes(Path.of("/sys")));
        ContainerRuntime rt = new ContainerRuntime(new StateStore(stateDir), driver, Shim.install(stateDir), caps,
                facts, new ContainerRootfs(ImageStore.open(stateDir)), NetworkManager.open(stateDir, network));
        // Only asked when it matters: by default a kernel without the filter fails each start with its reason.
        if (allowUnrestrictedDevices && driver.open("corral-device-probe").deviceFilterDir().isPresent()) {
            Optional<String> unloadable = rt.launcher.shim().probeDeviceFilter(DeviceRules.DEFAULT);
            if (unloadable.isPresent()) {
                LOG.warn("containers get NO device restriction (--allow-unrestricted-devices): {}", unloadable.get());
                rt.launcher.withoutDeviceFilter();
            }
        }
        new Recovery(rt.ctx, rt.exits, rt.restarts).recover();
        rt.exits.start();
        rt.restarts.start();
        return rt;
    }

    public void addListener(Consumer<ContainerEvent> listener) {
        ctx.addListener(listener);
    }

    /** Sends an event that did not come from the runtime (e.g. a policy action) to its listeners. */
    public void publish(ContainerEvent event) {
        ctx.publish(event);
    }

    public CgroupDriver driver() {
        return driver;
    }

    public ImageStore images() {
        return images.store();
    }

    public NetworkManager networks() {
        return networks;
    }

    /** Where starts are admitted, queued or refused (the policy loop sets its gate there). */
    public AdmissionQueue admission() {
        return admission;
    }

    /**
     * The container a cgroup path belongs to, by its current name ("" if none): feeds the metrics' name label. A
     * container keeps its cgroup when renamed, so the path's leaf is looked up, not taken for the name.
     */
    public String nameOfCgroup(String cgroupPath) {
        String parent = driver.parent();
        if (!cgroupPath.startsWith(parent) || cgroupPath.length() <= parent.length() + 1
                || cgroupPath.charAt(parent.length()) != '/') {
            return "";
        }
        int slash = cgroupPath.indexOf('/', parent.length() + 1);
        String name = ctx.nameOfLeaf(cgroupPath.substring(parent.length() + 1, slash < 0 ? cgroupPath.length() : slash));
        return name == null ? "" : name;
    }

    /** The named container's cgroup (e.g. for top and the policies' actions). */
    public ContainerCgroup cgroupOf(String name) throws ContainerException {
        return ctx.cgroupOf(ctx.load(name));
    }

    // ---- create and start ------------------------------------------------------------------------------

    public ContainerRecord create(ContainerSpec spec) throws SpecException, ContainerException {
        return create(spec, false);
    }

    /** @param autoRemove removed once it exits or fails to start, as docker's --rm ({@link ContainerRecord#autoRemove}) */
    public ContainerRecord create(ContainerSpec spec, boolean autoRemove) throws SpecException, ContainerException {
        spec = networks.withDefault(spec);
        ContainerConfig config = validator.validate(creation.withImageDefaults(spec, null));
        synchronized (ctx.lock(config.name())) {
            ContainerRecord created = creation.create(spec, config, autoRemove);
            ctx.save(created);
            ctx.emit(ContainerEvent.Type.CREATED, created.name(), Map.of());
            return created;
        }
    }

    /** The record's spec, with its pinned image's defaults, validated for a start. */
    private ContainerConfig validated(ContainerRecord record) throws SpecException, ContainerException {
        return validator.validate(creation.withImageDefaults(record.spec(), record.name()));
    }

    /**
     * Starts a created or exited container; with an admission gate that queues, the answer may be the container
     * QUEUED instead (it starts by itself later: {@link AdmissionQueue#admitQueued}).
     */
    public ContainerRecord start(String name) throws ContainerException, SpecException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            if (record.state() == ContainerState.QUEUED) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is queued for "
                        + "admission (" + record.queueReason() + "); it starts by itself when it fits");
            }
            if (record.state() != ContainerState.CREATED && record.state() != ContainerState.EXITED) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is "
                        + record.state().label() + "; only a created or exited container can start");
            }
            restarts.cancel(name); // started by the user: not stopped any more, its restart count begins again
            return launch(record.withStoppedByUser(false), validated(record));
        }
    }

    /** Under the container's lock: admission, then the launch. */
    private ContainerRecord launch(ContainerRecord record, ContainerConfig config) throws ContainerException, SpecException {
        String name = record.name();
        ContainerCgroup cgroup = ctx.cgroupOf(record);
        Path dir = store.dir(name);
        ContainerRecord queued = admission.admit(record, () -> markStarting(record, dir));
        if (queued != null) {
            return queued;
        }
        Shim.Launched launched;
        try {
            launched = launcher.launch(record, config, cgroup, dir);
        } catch (LaunchException e) {
            RuntimeContext.killQuietly(cgroup);
            int code = LaunchFailures.exitCode(e.getMessage());
            ContainerRecord failed = record.starting().exited(System.currentTimeMillis(), code, 0, false,
                    e.getMessage());
            ctx.save(failed);
            ctx.emit(ContainerEvent.Type.EXITED, name, Map.of("exitCode", code, "error", e.getMessage()));
            ctx.autoRemoveLocked(failed, false);
            completeWaiters(name, failed);
            String field = LaunchFailures.fieldOf(e.getMessage());
            if (field != null) {
                throw new SpecException(field, "cannot start '" + name + "': " + e.getMessage(),
                        code == LaunchFailures.START_FAILED ? null : code);
            }
            throw new ContainerException(ContainerException.Kind.FAILED, "cannot start '" + name + "': "
                    + e.getMessage(), e);
        } catch (IOException | CgroupException | ContainerException e) {
            RuntimeContext.killQuietly(cgroup);
            // back to what it was; a queued container does not go back into the queue but says why it did not start
            ContainerRecord before = record.state() == ContainerState.QUEUED
                    ? record.dequeued("cannot start: " + e.getMessage()) : record;
            ctx.save(before);
            if (!(e instanceof ContainerException ce && ce.kind() == ContainerException.Kind.CONFLICT)) {
                ctx.autoRemoveLocked(before, true); // a refusal by admission is run()'s to clean up
            }
            completeWaiters(name, before);
            throw e instanceof ContainerException ce ? ce : RuntimeContext.failed("cannot start '" + name + "'", e);
        }
        ContainerRecord running = record.started(System.currentTimeMillis(), launched.initPid(),
                launched.monitorPid(), ProcessInfo.startTicks(launched.monitorPid()));
        ctx.saveTransient(running); // no fsync: moot after a machine crash (StateStore.saveTransient)
        exits.watch(name);
        ctx.emit(ContainerEvent.Type.STARTED, name, Map.of("pid", launched.initPid()));
        admission.left(name, running);
        return running;
    }

    /**
     * The STARTING record (replaced by RUNNING once launched; no fsync, see StateStore.saveTransient), with no
     * exit.json of an earlier run left to be taken for this one's.
     */
    private void markStarting(ContainerRecord record, Path dir) throws ContainerException {
        try {
            Files.deleteIfExists(dir.resolve("exit.json"));
        } catch (IOException e) {
            throw RuntimeContext.failed("cannot start '" + record.name() + "'", e);
        }
        ctx.saveTransient(record.starting());
    }

    private void completeWaiters(String name, ContainerRecord r) {
        ctx.completeExitWaiters(name, r);
        admission.left(name, r);
    }

    public ContainerRecord run(ContainerSpec spec) throws SpecException, ContainerException {
        return run(spec, false, null);
    }

    /** Create and start; with autoRemove the container is removed once it exits or if its start fails. */
    public ContainerRecord run(ContainerSpec spec, boolean autoRemove) throws SpecException, ContainerException {
        return run(spec, autoRemove, null);
    }

    /**
     * Create and start under one hold of the lock, with no CREATED record in between (STARTING replaces CREATING,
     * which recovery handles alike) and the spec validated once.
     *
     * @param beforeStart called with the name once the container exists, before it starts (or null)
     */
    private ContainerRecord run(ContainerSpec spec, boolean autoRemove, Consumer<String> beforeStart)
            throws SpecException, ContainerException {
        spec = networks.withDefault(spec);
        ContainerConfig config = validator.validate(creation.withImageDefaults(spec, null));
        String name = config.name();
        synchronized (ctx.lock(name)) {
            ContainerRecord created = creation.create(spec, config, autoRemove);
            ctx.emit(ContainerEvent.Type.CREATED, name, Map.of());
            ContainerConfig startConfig;
            try {
                // An image's defaults are read again from the pinned image, as start() does.
                startConfig = spec.image() == null ? config : validated(created);
                if (beforeStart != null) {
                    beforeStart.accept(name);
                }
            } catch (SpecException | ContainerException | RuntimeException e) {
                if (autoRemove) {
                    ctx.discard(name);
                    ctx.emit(ContainerEvent.Type.REMOVED, name, Map.of());
                } else {
                    ctx.save(created);
                }
                throw e;
            }
            try {
                return launch(created, startConfig);
            } catch (ContainerException e) {
                if (e.kind() == ContainerException.Kind.CONFLICT) {
                    // Refused before anything ran (admission): the container run made is not left behind.
                    ctx.discard(name);
                    ctx.emit(ContainerEvent.Type.REMOVED, name, Map.of());
                }
                throw e;
            }
        }
    }

    /**
     * What {@code crun run} and {@code docker run [--rm]} do in one call: create, start, and a future that completes
     * with the exited record. With {@code remove} the container is auto-remove ({@link ContainerRecord#autoRemove}):
     * its exit removes it (cgroups, record, logs) before the future completes, as docker's auto-remove does, and so
     * does a failed start, whose error is thrown.
     */
    public CompletableFuture<ContainerRecord> runToExit(ContainerSpec spec, boolean remove)
            throws SpecException, ContainerException {
        String name = spec.name();
        CompletableFuture<ContainerRecord> exited = new CompletableFuture<>();
        try {
            // In place before the start: a /bin/true may exit (and be removed) before start() returns.
            run(spec, remove, n -> ctx.addExitWaiter(n, exited));
        } catch (SpecException | ContainerException | RuntimeException e) {
            if (name != null) {
                ctx.removeExitWaiter(name, exited);
            }
            throw e;
        }
        return exited;
    }

    /**
     * A client attaching to a container before it starts (docker run's attach-then-start): a future completed at its
     * next exit (or when a start fails or a queued start is refused), registered before this returns, so the client
     * may start it next. Until {@link Attachment#release()}, an auto-remove container that exited keeps its record and
     * logs for the client to read; the release removes it then.
     */
    public Attachment attach(String name) throws ContainerException {
        synchronized (ctx.lock(name)) {
            ctx.load(name);
            ctx.holds.merge(name, 1, Integer::sum);
            CompletableFuture<ContainerRecord> f = new CompletableFuture<>();
            ctx.addExitWaiter(name, f);
            AtomicBoolean released = new AtomicBoolean();
            return new Attachment(f, () -> {
                if (released.compareAndSet(false, true)) {
                    ctx.release(name);
                }
            });
        }
    }

    /** @param release call once the client is done (its connection closed); idempotent; blocks (removal) */
    public record Attachment(CompletableFuture<ContainerRecord> exit, Runnable release) {
    }

    // ---- running containers ----------------------------------------------------------------------------

    /**
     * SIGTERM to the container's init (which forwards it), then SIGKILL to the whole cgroup after the grace. Its
     * restart policy does not start it again (a pending restart is cancelled).
     *
     * @param grace null: the container's stopTimeout (10 s by default)
     */
    public ContainerRecord stop(String name, Duration grace) throws ContainerException {
        ContainerRecord record;
        synchronized (ctx.lock(name)) {
            record = ctx.load(name);
            restarts.cancel(name);
            if (record.state() == ContainerState.QUEUED) {
                return admission.refuse(record, "taken out of the admission queue by stop");
            }
            if (grace == null) {
                Integer t = record.spec().stopTimeout();
                grace = Duration.ofSeconds(t == null ? RestartRules.DEFAULT_STOP_TIMEOUT : t);
            }
            if (record.state() != ContainerState.CREATED && !record.stopped()) {
                record = record.withStoppedByUser(true); // before the signal: the exit it causes is not restarted
                ctx.save(record);
            }
            if (!record.state().isLive()) {
                return record;
            }
            if (record.state() == ContainerState.PAUSED) {
                ContainerControl.thawQuietly(ctx.cgroupOf(record));
            }
            control.signal(record, SIGTERM);
        }
        ContainerRecord exited = awaitExit(name, grace);
        if (exited != null) {
            return exited;
        }
        synchronized (ctx.lock(name)) {
            RuntimeContext.killQuietly(ctx.cgroupOf(name));
        }
        exited = awaitExit(name, Duration.ofSeconds(10));
        if (exited == null) {
            throw new ContainerException(ContainerException.Kind.FAILED, "'" + name + "' did not exit after SIGKILL");
        }
        return exited;
    }

    /** Docker's restart: stop (see {@link #stop}), then start; the restart count begins again. */
    public ContainerRecord restart(String name, Duration grace) throws ContainerException, SpecException {
        stop(name, grace);
        ContainerRecord started = start(name);
        ctx.emit(ContainerEvent.Type.RESTART, name, Map.of("restartCount", 0, "policy", "manual"));
        return started;
    }

    public ContainerRecord kill(String name, int signal) throws ContainerException {
        return control.kill(name, signal);
    }

    public ContainerRecord pause(String name) throws ContainerException {
        return control.pause(name);
    }

    public ContainerRecord resume(String name) throws ContainerException {
        return control.resume(name);
    }

    /** See {@link ContainerControl#updateLimits}. */
    public ContainerRecord updateLimits(String name, ContainerSpec.Limits patch)
            throws SpecException, ContainerException {
        return control.updateLimits(name, patch);
    }

    /** Completes when the container has exited (at once if it already has). */
    public CompletableFuture<ContainerRecord> waitFor(String name) throws ContainerException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            if (record.state() == ContainerState.EXITED || record.state() == ContainerState.CREATED) {
                return CompletableFuture.completedFuture(record);
            }
            CompletableFuture<ContainerRecord> f = new CompletableFuture<>();
            ctx.addExitWaiter(name, f);
            return f;
        }
    }

    /** Waits until the container is recorded as exited; null on timeout. */
    private ContainerRecord awaitExit(String name, Duration timeout) throws ContainerException {
        try {
            return waitFor(name).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw RuntimeContext.failed("interrupted waiting for '" + name + "'", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw RuntimeContext.failed("waiting for '" + name + "' failed", e.getCause());
        }
    }

    public void remove(String name, boolean force) throws ContainerException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            restarts.cancel(name);
            if (record.state().isLive()) {
                if (!force) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is "
                            + record.state().label() + "; stop it first or remove with force");
                }
                ctx.save(record.withStoppedByUser(true)); // its restart policy does not start it again
                RuntimeContext.killQuietly(ctx.cgroupOf(record));
            }
        }
        if (ctx.live.contains(name) && awaitExit(name, Duration.ofSeconds(10)) == null) {
            throw new ContainerException(ContainerException.Kind.FAILED, "'" + name + "' did not exit; not removed");
        }
        synchronized (ctx.lock(name)) {
            if (!store.exists(name)) {
                return; // its exit removed it meanwhile (autoRemove)
            }
            try {
                ContainerCgroup cg = ctx.cgroupOf(name);
                if (cg.exists()) {
                    cg.killAll();
                    cg.remove();
                }
                networks.detach(name);
                store.delete(name);
                ctx.releaseLeaf(name);
                images.remove(name);
            } catch (CgroupException | IOException e) {
                throw RuntimeContext.failed("cannot remove '" + name + "'", e);
            }
            ctx.live.remove(name);
            ctx.holds.remove(name); // a client still attached has nothing left to hold
            ctx.emit(ContainerEvent.Type.REMOVED, name, Map.of());
            ctx.failExitWaiters(name);
            admission.removed(name);
        }
    }

    public ContainerRecord inspect(String name) throws ContainerException {
        return ctx.load(name);
    }

    /** Whether its restart policy's backoff runs: it exited and will be started again (Docker's Restarting). */
    public boolean isRestarting(String name) {
        return restarts.isPending(name);
    }

    public List<ContainerRecord> list() throws ContainerException {
        try {
            return store.list();
        } catch (IOException e) {
            throw RuntimeContext.failed("cannot list containers", e);
        }
    }

    /** {@code corral exec}: a new process in the running container (see {@link Exec}); the caller owns it. */
    public Process exec(String name, Exec.Request request) throws ContainerException, SpecException {
        return Exec.start(inspect(name), store.dir(name), launcher.shim(), request);
    }

    /**
     * The socket the monitor of running container {@code name} holds its stdin on (created with -i; shim-stdin.c), or
     * with -t alone its terminal's resizes (the monitor drops input sent there).
     *
     * @throws ContainerException NOT_FOUND, or CONFLICT when it was created with neither -i nor -t, is not running,
     *     or its stdin ended
     */
    public Path stdinSocket(String name) throws ContainerException {
        ContainerRecord r = inspect(name);
        if (!Boolean.TRUE.equals(r.spec().openStdin()) && !Boolean.TRUE.equals(r.spec().tty())) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name
                    + "' was not created with -i: its stdin is /dev/null");
        }
        if (r.state() != ContainerState.RUNNING && r.state() != ContainerState.PAUSED) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name + "' is not running ("
                    + r.state().name().toLowerCase(java.util.Locale.ROOT) + ")");
        }
        Path socket = store.dir(name).resolve(Launcher.STDIN_SOCKET);
        if (!Files.exists(socket)) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, Boolean.TRUE.equals(r.spec().openStdin())
                    ? "the stdin of container '" + name + "' was closed (its first client's input ended)"
                    : "container '" + name + "' takes no resizes of its terminal (its socket path is too long, or it "
                            + "was started by an older corral)");
        }
        return socket;
    }

    /** {@code corral rename}: a container's new name (see {@link Rename}). */
    public ContainerRecord rename(String name, String newName) throws ContainerException, SpecException {
        return Rename.run(ctx, restarts, exits, name, newName);
    }

    /** {@code corral cp}: what is at {@code path} in the container, as Docker's PathStat (see {@link Copy}). */
    public Copy.PathStat copyStat(String name, String path) throws ContainerException, SpecException {
        return Copy.stat(ctx, launcher.shim(), this::validated, name, path);
    }

    /** {@code corral cp} out: the shim writing a tar of {@code path} on its stdout (see {@link Copy#out}). */
    public Process copyOut(String name, String path) throws ContainerException, SpecException {
        return Copy.out(ctx, launcher.shim(), this::validated, name, path);
    }

    /** {@code corral cp} in: the tar {@code archive} extracted into the directory {@code path} (see {@link Copy#in}). */
    public void copyIn(String name, String path, Path archive, boolean keepOwner)
            throws ContainerException, SpecException {
        Copy.in(ctx, launcher.shim(), this::validated, name, path, archive, keepOwner);
    }

    public Path logDir(String name) {
        return store.dir(name).resolve("logs");
    }

    /** Stops watching; containers keep running (their monitors outlive the agent). */
    @Override
    public void close() {
        launcher.shim().close();
        restarts.close();
        admission.close();
        exits.close();
        networks.close(); // last: an exit or auto-removal finishing above still detaches its network
    }
}
