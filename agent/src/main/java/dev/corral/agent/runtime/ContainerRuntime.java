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
import dev.corral.agent.network.TrafficControl;
import dev.corral.agent.posix.Posix;
import dev.corral.agent.spec.Capabilities;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.cgroup.ResourceLimits;
import dev.corral.agent.spec.HostFacts;
import dev.corral.agent.spec.LimitRefusals;
import dev.corral.agent.spec.LimitsPatch;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates, starts, stops and removes containers, and keeps their records in the state store. Every method
 * blocks on process and file IO: call it from a worker thread, never an event loop. Operations on one
 * container are serialised; different containers proceed in parallel.
 */
public final class ContainerRuntime implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ContainerRuntime.class);
    private static final int SIGTERM = 15;
    private static final int SIGKILL = 9;

    private final StateStore store;
    private final CgroupDriver driver;
    private final Shim shim;
    private final Capabilities capabilities;
    private final SpecValidator validator;
    private final ContainerRootfs images;
    private final NetworkManager networks;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final Set<String> live = ConcurrentHashMap.newKeySet();
    private final Map<String, List<CompletableFuture<ContainerRecord>>> waiters = new ConcurrentHashMap<>();
    private final Map<String, List<CompletableFuture<ContainerRecord>>> queueWaiters = new ConcurrentHashMap<>();
    private final Object admissionLock = new Object();
    /** Clients attached to an auto-remove container ({@link #attach}): its removal waits until they are gone. */
    private final Map<String, Integer> holds = new ConcurrentHashMap<>();
    private final List<Consumer<ContainerEvent>> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService watcher;
    private final WatchService exitFiles;
    private final Map<WatchKey, String> exitKeys = new ConcurrentHashMap<>();
    private final Thread exitListener;
    private volatile AdmissionGate admission = AdmissionGate.OPEN;
    /** False only when the operator allowed unrestricted devices and this kernel cannot load the v2 filter. */
    private volatile boolean deviceFilter = true;

    private ContainerRuntime(StateStore store, CgroupDriver driver, Shim shim, Capabilities capabilities,
                             HostFacts facts, ContainerRootfs images, NetworkManager networks) {
        this.images = images;
        this.networks = networks;
        this.store = store;
        this.driver = driver;
        this.shim = shim;
        this.capabilities = capabilities;
        this.validator = new SpecValidator(facts);
        this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "corral-exit-watcher");
            t.setDaemon(true);
            return t;
        });
        try {
            this.exitFiles = java.nio.file.FileSystems.getDefault().newWatchService();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        this.exitListener = new Thread(this::listenForExits, "corral-exit-listener");
        this.exitListener.setDaemon(true);
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
            Optional<String> unloadable = rt.shim.probeDeviceFilter(DeviceRules.DEFAULT);
            if (unloadable.isPresent()) {
                LOG.warn("containers get NO device restriction (--allow-unrestricted-devices): {}", unloadable.get());
                rt.deviceFilter = false;
            }
        }
        rt.recover();
        rt.exitListener.start();
        rt.watcher.scheduleWithFixedDelay(rt::watch, 1, 1, TimeUnit.SECONDS);
        return rt;
    }

    public void addListener(Consumer<ContainerEvent> listener) {
        listeners.add(listener);
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

    /** Checked by every start (the policy engine's admission control). */
    public void setAdmissionGate(AdmissionGate gate) {
        this.admission = gate;
    }

    /** Sends an event that did not come from the runtime (e.g. a policy action) to its listeners. */
    public void publish(ContainerEvent event) {
        for (Consumer<ContainerEvent> l : listeners) {
            try {
                l.accept(event);
            } catch (RuntimeException ex) {
                LOG.warn("event listener failed", ex);
            }
        }
    }

    /** The container a cgroup path belongs to ("" if none): feeds the metrics' name label. */
    public String nameOfCgroup(String cgroupPath) {
        String prefix = driver.parent() + "/";
        if (!cgroupPath.startsWith(prefix)) {
            return "";
        }
        String rest = cgroupPath.substring(prefix.length());
        int slash = rest.indexOf('/');
        String name = slash < 0 ? rest : rest.substring(0, slash);
        return SpecValidator.NAME.matcher(name).matches() && store.exists(name) ? name : "";
    }

    // ---- lifecycle -------------------------------------------------------------------------------------

    public ContainerRecord create(ContainerSpec spec) throws SpecException, ContainerException {
        return create(spec, false);
    }

    /** @param autoRemove removed once it exits or fails to start, as docker's --rm ({@link ContainerRecord#autoRemove}) */
    public ContainerRecord create(ContainerSpec spec, boolean autoRemove) throws SpecException, ContainerException {
        spec = networks.withDefault(spec);
        ContainerConfig config = validator.validate(withImageDefaults(spec, null));
        synchronized (lock(config.name())) {
            ContainerRecord created = createLocked(spec, config, autoRemove);
            save(created);
            emit("created", created.name(), Map.of());
            return created;
        }
    }

    /**
     * Makes the cgroup (and the image's directories) under a CREATING record; the caller records what follows.
     * Holds the container's lock.
     */
    private ContainerRecord createLocked(ContainerSpec spec, ContainerConfig config, boolean autoRemove)
            throws SpecException, ContainerException {
        String name = config.name();
        if (store.exists(name)) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "the name '" + name
                    + "' is already in use");
        }
        ContainerRecord record = new ContainerRecord(name, spec, ContainerState.CREATING,
                driver.open(name).path(), System.currentTimeMillis(), null, null, null, null, null, null, null,
                null, null, null, null, null, autoRemove ? Boolean.TRUE : null);
        try {
            store.saveTransient(record); // replaced in a moment (StateStore.saveTransient)
            try {
                networks.attach(name, spec, config.hostname(), store.dir(name)); // first: a busy port refuses all
            } catch (SpecException | IOException e) {
                forgetRecord(name); // nothing else is made yet (a same-named cgroup may not be ours)
                if (e instanceof SpecException se) {
                    throw se;
                }
                throw failed("cannot set up the network of '" + name + "'", e);
            }
            try {
                driver.create(name, config.limits());
            } catch (CgroupException.Exists e) {
                try {
                    removeStaleCgroup(name);
                } catch (ContainerException notOurs) { // its processes are left alone, and so is their cgroup
                    forgetRecord(name);
                    throw notOurs;
                }
                driver.create(name, config.limits());
            }
            pinImage(name, spec);
        } catch (CgroupException.InvalidValue e) {
            discard(name);
            throw LimitRefusals.explain(e, spec.limits());
        } catch (CgroupException e) {
            discard(name);
            throw failed("cannot create the cgroup of '" + name + "'", e);
        } catch (IOException e) {
            discard(name);
            throw failed("cannot record '" + name + "'", e);
        }
        return record.withState(ContainerState.CREATED);
    }

    /**
     * A leftover empty cgroup of the same name (from a crash before its record was written) is removed; asked only
     * when the create found one, so a new name costs no existence checks.
     */
    private void removeStaleCgroup(String name) throws CgroupException, ContainerException {
        ContainerCgroup stale = driver.open(name);
        if (!stale.pids().isEmpty()) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "cgroup " + stale.path()
                    + " exists and has processes that no record accounts for");
        }
        stale.remove();
    }

    /** The record only: for a refused name whose cgroup is not ours to touch. */
    private void forgetRecord(String name) {
        networks.detach(name);
        try {
            store.delete(name);
        } catch (IOException e) {
            LOG.warn("removing the record of {} failed: {}", name, e.getMessage());
        }
    }

    private void discard(String name) {
        discardCgroup(name);
        networks.detach(name);
        try {
            store.delete(name);
            images.remove(name);
        } catch (IOException e) {
            LOG.warn("cleaning up the state of {} failed: {}", name, e.getMessage());
        }
    }

    private void discardCgroup(String name) {
        try {
            ContainerCgroup cg = driver.open(name);
            if (cg.exists()) {
                cg.killAll();
                cg.remove();
            }
        } catch (CgroupException e) {
            LOG.warn("cleaning up the cgroup of {} failed: {}", name, e.getMessage());
        }
    }

    /** A container made from an image pins it and gets its root filesystem's directories. */
    private void pinImage(String name, ContainerSpec spec) throws IOException, SpecException, ContainerException {
        if (spec.image() == null) {
            return;
        }
        try {
            images.create(name, spec.image());
        } catch (SpecException | ContainerException e) {
            discard(name);
            throw e;
        }
    }

    /** The spec with its image's config filled in where the spec is silent; unchanged without an image. */
    private ContainerSpec withImageDefaults(ContainerSpec spec, String name) throws SpecException, ContainerException {
        try {
            return images.withDefaults(spec, name);
        } catch (IOException e) {
            throw failed("cannot read the image of '" + spec.name() + "'", e);
        }
    }

    /**
     * Starts a created or exited container; with an admission gate that queues, the answer may be the container
     * QUEUED instead (it starts by itself later: {@link #admitQueued}).
     */
    public ContainerRecord start(String name) throws ContainerException, SpecException {
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            if (record.state() == ContainerState.QUEUED) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is queued for "
                        + "admission (" + record.queueReason() + "); it starts by itself when it fits");
            }
            if (record.state() != ContainerState.CREATED && record.state() != ContainerState.EXITED) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is "
                        + record.state().label() + "; only a created or exited container can start");
            }
            return launch(record, validator.validate(withImageDefaults(record.spec(), name)));
        }
    }

    /**
     * Asks admission again for a queued container: starts it when it is admitted now, leaves it queued, or,
     * refused (its queue timeout, or the policy no longer queues), makes it created again with the reason in
     * {@code error}. Returns its record afterwards; null when it is gone. Called by the policy loop whenever
     * room may have freed up.
     */
    public ContainerRecord admitQueued(String name) throws ContainerException {
        synchronized (lock(name)) {
            ContainerRecord record = stored(name);
            if (record == null || record.state() != ContainerState.QUEUED) {
                return record;
            }
            try {
                return launch(record, validator.validate(withImageDefaults(record.spec(), name)));
            } catch (SpecException e) { // its image or spec went bad while it waited, or its command failed to start
                ContainerRecord now = stored(name);
                if (now == null || now.state() != ContainerState.QUEUED) {
                    return now; // the launch recorded (or auto-removed) it
                }
                return refuseQueued(record, "cannot start: " + e.getMessage());
            } catch (ContainerException e) {
                if (e.kind() == ContainerException.Kind.CONFLICT && load(name).state() == ContainerState.QUEUED) {
                    return refuseQueued(record, e.getMessage());
                }
                throw e;
            }
        }
    }

    /** A queued container refused or taken out of the queue: created again, the reason kept in error. */
    private ContainerRecord refuseQueued(ContainerRecord record, String why) {
        ContainerRecord refused = record.dequeued(why);
        save(refused);
        emit("dequeued", record.name(), Map.of("error", why));
        autoRemoveLocked(refused, true); // its start failed: --rm leaves nothing (before the waiters hear of it)
        completeWaiters(record.name(), refused);
        return refused;
    }

    /** Under the container's lock: admission, then the launch. */
    private ContainerRecord launch(ContainerRecord record, ContainerConfig config) throws ContainerException, SpecException {
        String name = record.name();
        AdmissionGate gate = admission;
        ContainerCgroup cgroup = driver.open(name);
        Path dir = store.dir(name);
        if (gate != AdmissionGate.OPEN || record.state() == ContainerState.QUEUED) {
            // One admission at a time, decided and marked STARTING together: two starts cannot both take the last
            // room, and a queued container cannot be overtaken between its check and its start.
            synchronized (admissionLock) {
                List<ContainerRecord> all = store.active(); // from memory: exited records do not count
                AdmissionGate.Verdict v = gate.admit(record, all.stream()
                        .filter(r -> r.state().isLive() && !r.name().equals(name)).toList(), all.stream()
                        .filter(r -> r.state() == ContainerState.QUEUED && !r.name().equals(name)).toList());
                if (v.queue()) {
                    if (record.state() == ContainerState.QUEUED) {
                        return record; // still waiting
                    }
                    ContainerRecord queued = record.queued(System.currentTimeMillis(), v.deadline(), v.reason());
                    save(queued);
                    emit("queued", name, Map.of("reason", v.reason(), "deadlineMillis", v.deadline()));
                    return queued;
                }
                markStarting(record, dir); // counts as live for the next admission
            }
        } else {
            markStarting(record, dir);
        }
        Shim.Launched launched;
        try {
            if (!cgroup.exists()) { // an exited container's cgroup may have been cleaned by hand
                driver.create(name, config.limits());
            }
            cgroup.allowDevices(config.deviceRules());
            Path logs = Files.createDirectories(dir.resolve("logs"));
            ShimConfig.write(dir.resolve("launch.conf"), config, cgroup, deviceFilter, capabilities, logs,
                    dir.resolve("exit.json"), record.spec().image() == null ? null : images.forStart(name, config),
                    Boolean.TRUE.equals(record.spec().init()));
            byte[] net = networks.launchKeys(name, dir, config.namespaces().contains("mount"),
                    config.mounts().stream().map(ContainerConfig.MountPlan::target).collect(
                            java.util.stream.Collectors.toSet()));
            if (net.length > 0) { // none and host: nothing more on the launch path
                Files.write(dir.resolve("launch.conf"), net, java.nio.file.StandardOpenOption.APPEND);
            }
            launched = shim.launch(dir.resolve("launch.conf"));
            TrafficControl.atStart(networks.attachment(name), launched.initPid(), record.spec().limits());
        } catch (LaunchException e) {
            killQuietly(cgroup);
            int code = LaunchFailures.exitCode(e.getMessage());
            ContainerRecord failed = record.starting().exited(System.currentTimeMillis(), code, 0, false,
                    e.getMessage());
            save(failed);
            emit("exited", name, Map.of("exitCode", code, "error", e.getMessage()));
            autoRemoveLocked(failed, false);
            completeWaiters(name, failed);
            String field = LaunchFailures.fieldOf(e.getMessage());
            if (field != null) {
                throw new SpecException(field, "cannot start '" + name + "': " + e.getMessage(),
                        code == LaunchFailures.START_FAILED ? null : code);
            }
            throw new ContainerException(ContainerException.Kind.FAILED, "cannot start '" + name + "': "
                    + e.getMessage(), e);
        } catch (IOException | CgroupException | ContainerException e) {
            killQuietly(cgroup);
            // back to what it was; a queued container does not go back into the queue but says why it did not start
            ContainerRecord before = record.state() == ContainerState.QUEUED
                    ? record.dequeued("cannot start: " + e.getMessage()) : record;
            save(before);
            if (!(e instanceof ContainerException ce && ce.kind() == ContainerException.Kind.CONFLICT)) {
                autoRemoveLocked(before, true); // a refusal by admission is run()'s to clean up
            }
            completeWaiters(name, before);
            throw e instanceof ContainerException ce ? ce : failed("cannot start '" + name + "'", e);
        }
        ContainerRecord running = record.started(System.currentTimeMillis(), launched.initPid(),
                launched.monitorPid(), ProcessInfo.startTicks(launched.monitorPid()));
        saveTransient(running); // no fsync: moot after a machine crash (StateStore.saveTransient)
        watchExit(name);
        emit("started", name, Map.of("pid", launched.initPid()));
        completeQueueWaiters(name, running);
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
            throw failed("cannot start '" + record.name() + "'", e);
        }
        saveTransient(record.starting());
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
        ContainerConfig config = validator.validate(withImageDefaults(spec, null));
        String name = config.name();
        synchronized (lock(name)) {
            ContainerRecord created = createLocked(spec, config, autoRemove);
            emit("created", name, Map.of());
            ContainerConfig startConfig;
            try {
                // An image's defaults are read again from the pinned image, as start() does.
                startConfig = spec.image() == null ? config : validator.validate(withImageDefaults(spec, name));
                if (beforeStart != null) {
                    beforeStart.accept(name);
                }
            } catch (SpecException | ContainerException | RuntimeException e) {
                if (autoRemove) {
                    discard(name);
                    emit("removed", name, Map.of());
                } else {
                    save(created);
                }
                throw e;
            }
            try {
                return launch(created, startConfig);
            } catch (ContainerException e) {
                if (e.kind() == ContainerException.Kind.CONFLICT) {
                    // Refused before anything ran (admission): the container run made is not left behind.
                    discard(name);
                    emit("removed", name, Map.of());
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
            run(spec, remove, n -> waiters.computeIfAbsent(n, k -> new CopyOnWriteArrayList<>()).add(exited));
        } catch (SpecException | ContainerException | RuntimeException e) {
            List<CompletableFuture<ContainerRecord>> ws = name == null ? null : waiters.get(name);
            if (ws != null) {
                ws.remove(exited);
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
        synchronized (lock(name)) {
            load(name);
            holds.merge(name, 1, Integer::sum);
            CompletableFuture<ContainerRecord> f = new CompletableFuture<>();
            waiters.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(f);
            java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
            return new Attachment(f, () -> {
                if (released.compareAndSet(false, true)) {
                    release(name);
                }
            });
        }
    }

    /** @param release call once the client is done (its connection closed); idempotent; blocks (removal) */
    public record Attachment(CompletableFuture<ContainerRecord> exit, Runnable release) {
    }

    private void release(String name) {
        synchronized (lock(name)) {
            if (holds.merge(name, -1, Integer::sum) <= 0) {
                holds.remove(name);
            }
            try {
                ContainerRecord r = store.load(name).orElse(null);
                if (r != null && r.state() == ContainerState.EXITED) {
                    autoRemoveLocked(r, false);
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("removing {} after its client left failed: {}", name, e.getMessage());
            }
        }
    }

    /**
     * Under the container's lock: removes an auto-remove container that is done (exited, or, with {@code failedStart},
     * created again after its start failed), unless a client is still attached ({@link #attach}); true if removed.
     */
    private boolean autoRemoveLocked(ContainerRecord r, boolean failedStart) {
        String name = r.name();
        if (!r.removedAtExit() || holds.containsKey(name)
                || !(r.state() == ContainerState.EXITED || (failedStart && r.state() == ContainerState.CREATED))) {
            return false;
        }
        if (!removeExited(name, driver.open(name))) {
            return false;
        }
        live.remove(name);
        emit("removed", name, Map.of());
        return true;
    }

    /** SIGTERM to the container's init (which forwards it), then SIGKILL to the whole cgroup after the grace. */
    public ContainerRecord stop(String name, Duration grace) throws ContainerException {
        ContainerRecord record;
        synchronized (lock(name)) {
            record = load(name);
            if (record.state() == ContainerState.QUEUED) {
                return refuseQueued(record, "taken out of the admission queue by stop");
            }
            if (!record.state().isLive()) {
                return record;
            }
            if (record.state() == ContainerState.PAUSED) {
                thawQuietly(driver.open(name));
            }
            signal(record, SIGTERM);
        }
        ContainerRecord exited = awaitExit(name, grace);
        if (exited != null) {
            return exited;
        }
        synchronized (lock(name)) {
            killQuietly(driver.open(name));
        }
        exited = awaitExit(name, Duration.ofSeconds(10));
        if (exited == null) {
            throw new ContainerException(ContainerException.Kind.FAILED, "'" + name + "' did not exit after SIGKILL");
        }
        return exited;
    }

    public ContainerRecord kill(String name, int signal) throws ContainerException {
        if (signal < 1 || signal > 64) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "signal " + signal + " is not 1-64");
        }
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            if (!record.state().isLive()) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is not running");
            }
            if (signal == SIGKILL) {
                killQuietly(driver.open(name)); // everything in the cgroup, not just init's namespace
            } else {
                signal(record, signal);
            }
            return record;
        }
    }

    public ContainerRecord pause(String name) throws ContainerException {
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            if (record.state() != ContainerState.RUNNING) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is "
                        + record.state().label() + "; only a running container can be paused");
            }
            try {
                driver.open(name).freeze();
            } catch (CgroupException e) {
                throw failed("cannot pause '" + name + "'", e);
            }
            ContainerRecord paused = record.withState(ContainerState.PAUSED);
            save(paused);
            emit("paused", name, Map.of());
            return paused;
        }
    }

    public ContainerRecord resume(String name) throws ContainerException {
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            if (record.state() != ContainerState.PAUSED) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is not paused");
            }
            try {
                driver.open(name).thaw();
            } catch (CgroupException e) {
                throw failed("cannot resume '" + name + "'", e);
            }
            ContainerRecord running = record.withState(ContainerState.RUNNING);
            save(running);
            emit("resumed", name, Map.of());
            return running;
        }
    }

    /**
     * Changes the limits of a container: the patch is merged over its spec, the whole result validated, and
     * the patched limits applied to every controller or to none.
     */
    public ContainerRecord updateLimits(String name, ContainerSpec.Limits patch)
            throws SpecException, ContainerException {
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            ContainerSpec merged = LimitsPatch.withLimits(record.spec(),
                    LimitsPatch.merge(record.spec().limits(), patch));
            validator.validate(merged);
            ResourceLimits changes = validator.validate(LimitsPatch.withLimits(record.spec(), patch)).limits();
            try {
                driver.open(name).update(changes);
            } catch (CgroupException.InvalidValue | CgroupException.Busy e) {
                throw LimitRefusals.explain(e, patch);
            } catch (CgroupException e) {
                throw failed("cannot update the limits of '" + name + "'", e);
            }
            try { // after the cgroup's: a refused value there changes nothing
                TrafficControl.atUpdate(networks.attachment(name), record.state() == ContainerState.RUNNING
                        || record.state() == ContainerState.PAUSED
                        ? record.initPid() : null, patch, merged.limits());
            } catch (IOException e) {
                throw failed("cannot set the network rate of '" + name + "'", e);
            }
            ContainerRecord updated = new ContainerRecord(record.name(), merged, record.state(), record.cgroup(),
                    record.createdAtMillis(), record.startedAtMillis(), record.finishedAtMillis(), record.initPid(),
                    record.monitorPid(), record.monitorStartTicks(), record.exitCode(), record.signal(),
                    record.oomKilled(), record.error(), record.queuedAtMillis(), record.queueDeadlineMillis(),
                    record.queueReason());
            save(updated);
            emit("limits-updated", name, Map.of());
            return updated;
        }
    }

    /** Completes when the container has exited (at once if it already has). */
    public CompletableFuture<ContainerRecord> waitFor(String name) throws ContainerException {
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            if (record.state() == ContainerState.EXITED || record.state() == ContainerState.CREATED) {
                return CompletableFuture.completedFuture(record);
            }
            CompletableFuture<ContainerRecord> f = new CompletableFuture<>();
            waiters.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(f);
            return f;
        }
    }

    /**
     * Completes when the container is not (or no longer) queued: started, refused back to created, or
     * exceptionally when it is removed.
     */
    public CompletableFuture<ContainerRecord> waitWhileQueued(String name) throws ContainerException {
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            if (record.state() != ContainerState.QUEUED) {
                return CompletableFuture.completedFuture(record);
            }
            CompletableFuture<ContainerRecord> f = new CompletableFuture<>();
            queueWaiters.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(f);
            return f;
        }
    }

    private void completeWaiters(String name, ContainerRecord r) {
        List<CompletableFuture<ContainerRecord>> ws = waiters.remove(name);
        if (ws != null) {
            ws.forEach(f -> f.complete(r));
        }
        completeQueueWaiters(name, r);
    }

    private void completeQueueWaiters(String name, ContainerRecord r) {
        List<CompletableFuture<ContainerRecord>> ws = queueWaiters.remove(name);
        if (ws != null) {
            ws.forEach(f -> f.complete(r));
        }
    }

    public void remove(String name, boolean force) throws ContainerException {
        synchronized (lock(name)) {
            ContainerRecord record = load(name);
            if (record.state().isLive()) {
                if (!force) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is "
                            + record.state().label() + "; stop it first or remove with force");
                }
                killQuietly(driver.open(name));
            }
        }
        if (live.contains(name) && awaitExit(name, Duration.ofSeconds(10)) == null) {
            throw new ContainerException(ContainerException.Kind.FAILED, "'" + name + "' did not exit; not removed");
        }
        synchronized (lock(name)) {
            if (!store.exists(name)) {
                return; // its exit removed it meanwhile (autoRemove)
            }
            try {
                ContainerCgroup cg = driver.open(name);
                if (cg.exists()) {
                    cg.killAll();
                    cg.remove();
                }
                networks.detach(name);
                store.delete(name);
                images.remove(name);
            } catch (CgroupException | IOException e) {
                throw failed("cannot remove '" + name + "'", e);
            }
            live.remove(name);
            holds.remove(name); // a client still attached has nothing left to hold
            emit("removed", name, Map.of());
            for (var ws : List.of(waiters, queueWaiters)) {
                List<CompletableFuture<ContainerRecord>> gone = ws.remove(name);
                if (gone != null) {
                    gone.forEach(f -> f.completeExceptionally(ContainerException.notFound(name)));
                }
            }
        }
    }

    public ContainerRecord inspect(String name) throws ContainerException {
        return load(name);
    }

    public List<ContainerRecord> list() throws ContainerException {
        try {
            return store.list();
        } catch (IOException e) {
            throw failed("cannot list containers", e);
        }
    }

    public Path logDir(String name) {
        return store.dir(name).resolve("logs");
    }

    // ---- exits ---------------------------------------------------------------------------------------

    /**
     * Watches the container's directory for exit.json (inotify, through a WatchService): the monitor renames it
     * into place when the container exits, and the exit is recorded at once.
     */
    private void watchExit(String name) {
        live.add(name);
        try {
            exitKeys.put(store.dir(name).register(exitFiles, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE),
                    name);
        } catch (IOException e) {
            LOG.warn("cannot watch {} for its exit; the once-a-second check will see it: {}", name, e.getMessage());
        }
        if (Files.exists(store.dir(name).resolve("exit.json"))) {
            watcher.execute(this::watch); // it exited before the watch was in place
        }
    }

    private void listenForExits() {
        while (!Thread.currentThread().isInterrupted()) {
            WatchKey key;
            try {
                key = exitFiles.take();
            } catch (InterruptedException | java.nio.file.ClosedWatchServiceException e) {
                return;
            }
            String name = exitKeys.get(key);
            boolean exited = false;
            for (WatchEvent<?> e : key.pollEvents()) {
                exited |= e.kind() == java.nio.file.StandardWatchEventKinds.OVERFLOW
                        || "exit.json".equals(String.valueOf(e.context()));
            }
            if (name != null && exited) {
                try {
                    finish(name);
                } catch (IOException | RuntimeException ex) {
                    LOG.warn("recording the exit of {} failed", name, ex);
                }
            }
            if (!key.reset() || (name != null && !live.contains(name))) {
                key.cancel();
                exitKeys.remove(key);
            }
        }
    }

    /** The fallback: every second, exit files the listener missed and monitors that died without one. */
    private void watch() {
        for (String name : live) {
            try {
                Path exitFile = store.dir(name).resolve("exit.json");
                if (Files.exists(exitFile)) {
                    finish(name);
                } else {
                    ContainerRecord r = store.load(name).orElse(null);
                    if (r != null && r.state() != ContainerState.STARTING
                            && !ProcessInfo.isSame(r.monitorPid(), r.monitorStartTicks()) && !Files.exists(exitFile)) {
                        finish(name);
                    }
                }
            } catch (RuntimeException | IOException e) {
                LOG.warn("checking {} failed", name, e);
            }
        }
    }

    /** Records an exit: the monitor's status, whether the kernel OOM-killed inside, and kills stragglers. */
    private void finish(String name) throws IOException {
        ContainerRecord done;
        boolean removed;
        synchronized (lock(name)) {
            ContainerRecord r = store.load(name).orElse(null);
            if (r == null || !r.state().isLive()) {
                live.remove(name);
                return;
            }
            ExitStatus status = ExitStatus.read(store.dir(name).resolve("exit.json")).orElse(null);
            ContainerCgroup cg = driver.open(name);
            boolean oom = false;
            try {
                if (cg.exists()) {
                    if (cg.frozen()) {
                        cg.thaw();
                    }
                    oom = cg.oomKills() > 0;
                    if (!cg.pids().isEmpty()) {
                        cg.killAll(); // daemons that outlived init when there is no pid namespace
                    }
                }
            } catch (CgroupException e) {
                LOG.warn("inspecting the cgroup of exited {} failed: {}", name, e.getMessage());
            }
            done = status == null
                    ? r.exited(System.currentTimeMillis(), null, null, oom, "the monitor process is gone; exit status unknown")
                    : r.exited(status.finishedAtMillis(), status.exitCode(), status.signal(), oom, null);
            // an attached client reads the logs first; its release removes it (attach)
            removed = r.removedAtExit() && !holds.containsKey(name) && removeExited(name, cg);
            if (!removed) {
                save(done);
            }
            live.remove(name);
        }
        if (Boolean.TRUE.equals(done.oomKilled())) {
            emit("oom", name, Map.of());
        }
        Map<String, Object> attrs = new HashMap<>();
        if (done.exitCode() != null) {
            attrs.put("exitCode", done.exitCode());
        }
        attrs.put("oomKilled", done.oomKilled());
        emit("exited", name, attrs);
        if (removed) {
            emit("removed", name, Map.of());
        }
        List<CompletableFuture<ContainerRecord>> ws = waiters.remove(name);
        if (ws != null) {
            ws.forEach(f -> f.complete(done));
        }
    }

    /**
     * The auto-removal of an exited container (autoRemove), under its lock: what remove() does, without
     * recording the exit first. False (and logged) if something stays; the caller then records the exit.
     */
    private boolean removeExited(String name, ContainerCgroup cg) {
        try {
            cg.remove(); // a directory already gone is not an error
            networks.detach(name);
            store.delete(name);
            images.remove(name);
            return true;
        } catch (CgroupException | IOException | RuntimeException e) {
            LOG.warn("removing exited {} failed; it stays, exited: {}", name, e.getMessage());
            return false;
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
            throw failed("interrupted waiting for '" + name + "'", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw failed("waiting for '" + name + "' failed", e.getCause());
        }
    }

    // ---- recovery ----------------------------------------------------------------------------------

    private void recover() throws IOException {
        for (String name : store.quarantineUnreadable()) {
            LOG.warn("the record of {} was unreadable (a machine crash before it reached the disk): moved to {}; "
                    + "removing its cgroup", name, store.quarantine());
            discardCgroup(name);
        }
        for (ContainerRecord r : store.list()) {
            String name = r.name();
            ContainerCgroup cg = driver.open(name);
            switch (r.state()) {
                case CREATING -> {
                    LOG.info("removing {}: the agent stopped while creating it", name);
                    discard(name);
                }
                case STARTING -> {
                    if (Files.exists(store.dir(name).resolve("exit.json"))) {
                        watchExit(name);
                    } else {
                        LOG.info("{} was starting when the agent stopped: killing what it started", name);
                        killQuietly(cg);
                        ContainerRecord exited = r.exited(System.currentTimeMillis(), null, null, false,
                                "the agent stopped while starting it");
                        save(exited);
                        autoRemoveLocked(exited, false);
                    }
                }
                case RUNNING, PAUSED -> {
                    if (Files.exists(store.dir(name).resolve("exit.json"))
                            || ProcessInfo.isSame(r.monitorPid(), r.monitorStartTicks())) {
                        watchExit(name); // the watcher records the exit, or keeps watching the live one
                        LOG.info("re-adopted {} ({})", name, r.state().label());
                    } else {
                        killQuietly(cg);
                        ContainerRecord exited = r.exited(System.currentTimeMillis(), null, null, false,
                                "its monitor was gone when the agent restarted");
                        save(exited);
                        autoRemoveLocked(exited, false);
                    }
                }
                case EXITED -> {
                    if (autoRemoveLocked(r, false)) { // the agent stopped between its exit and its removal
                        LOG.info("removed {}: it exited while the agent was down and was to be removed", name);
                    }
                }
                default -> {
                }
            }
        }
        for (String name : new ArrayList<>(live)) {
            if (Files.exists(store.dir(name).resolve("exit.json"))) {
                finish(name);
            }
        }
        images.sweep(store.list().stream().map(ContainerRecord::name).collect(java.util.stream.Collectors.toSet()));
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private Object lock(String name) {
        return locks.computeIfAbsent(name, n -> new Object());
    }

    /** The record, or null when there is none. */
    private ContainerRecord stored(String name) throws ContainerException {
        try {
            return store.load(name).orElse(null);
        } catch (IOException e) {
            throw failed("cannot read the record of '" + name + "'", e);
        }
    }

    private ContainerRecord load(String name) throws ContainerException {
        try {
            SpecValidator.checkName(name, "name");
        } catch (SpecException e) {
            throw new ContainerException(ContainerException.Kind.NOT_FOUND, e.getMessage());
        }
        try {
            return store.load(name).orElseThrow(() -> ContainerException.notFound(name));
        } catch (IOException e) {
            throw failed("cannot read the record of '" + name + "'", e);
        }
    }

    private void save(ContainerRecord r) {
        try {
            store.save(r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot save the record of " + r.name(), e);
        }
    }

    private void saveTransient(ContainerRecord r) {
        try {
            store.saveTransient(r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot save the record of " + r.name(), e);
        }
    }

    private void signal(ContainerRecord r, int signal) throws ContainerException {
        if (r.initPid() == null) {
            return;
        }
        int errno = Posix.get().kill(r.initPid(), signal);
        if (errno != 0 && errno != 3) { // ESRCH: already gone, the watcher will see the exit
            throw new ContainerException(ContainerException.Kind.FAILED, "kill(" + r.initPid() + ", " + signal + "): "
                    + Posix.get().strerror(errno));
        }
    }

    private static void killQuietly(ContainerCgroup cg) {
        try {
            if (cg.exists() && !cg.pids().isEmpty()) {
                if (cg.frozen()) {
                    cg.thaw(); // a v1-frozen task keeps a pending SIGKILL until it is thawed
                }
                cg.killAll();
            }
        } catch (CgroupException e) {
            LOG.warn("killing the processes of {} failed: {}", cg.path(), e.getMessage());
        }
    }

    private static void thawQuietly(ContainerCgroup cg) {
        try {
            cg.thaw();
        } catch (CgroupException e) {
            LOG.warn("thawing {} failed: {}", cg.path(), e.getMessage());
        }
    }

    private void emit(String type, String name, Map<String, Object> attributes) {
        publish(new ContainerEvent(type, name, System.currentTimeMillis(), attributes));
    }

    private static ContainerException failed(String what, Throwable cause) {
        return new ContainerException(ContainerException.Kind.FAILED, what + ": " + cause.getMessage(), cause);
    }

    /** Stops watching; containers keep running (their monitors outlive the agent). */
    @Override
    public void close() {
        shim.close();
        // Not interrupted: an exit being recorded (or a container being auto-removed) finishes first; an interrupt
        // made its file IO fail (ClosedByInterruptException) and left a half-removed state dir. Closing the watch
        // service ends the listener's wait, and shutdown() cancels the periodic check.
        try {
            exitFiles.close();
        } catch (IOException e) {
            // closing anyway
        }
        watcher.shutdown();
        try {
            exitListener.join(5000);
            if (!watcher.awaitTermination(5, TimeUnit.SECONDS)) {
                watcher.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        exitListener.interrupt(); // if it is still busy after all
        networks.close(); // last: an exit or auto-removal finishing above still detaches its network
    }
}
