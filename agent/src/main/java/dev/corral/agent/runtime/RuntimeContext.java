package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.image.ContainerRootfs;
import dev.corral.agent.network.NetworkManager;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the parts of the runtime (lifecycle, {@link ExitWatcher}, {@link Recovery}, {@link AdmissionQueue},
 * {@link Restarts}) share: the state store and the cgroup, network and rootfs managers, one lock per container,
 * the event listeners, and the few operations on a container's state they all need (read, record, clean up).
 */
final class RuntimeContext {

    private static final Logger LOG = LoggerFactory.getLogger(RuntimeContext.class);

    final StateStore store;
    final CgroupDriver driver;
    final ContainerRootfs images;
    final NetworkManager networks;
    /** The containers whose exit is watched ({@link ExitWatcher} adds them; their recorded exit removes them). */
    final Set<String> live = ConcurrentHashMap.newKeySet();
    /** Clients attached to an auto-remove container (ContainerRuntime.attach): its removal waits until they are gone. */
    final Map<String, Integer> holds = new ConcurrentHashMap<>();
    /** Futures completed at a container's next exit (or failed start, or refused queued start). */
    private final Map<String, List<CompletableFuture<ContainerRecord>>> exitWaiters = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final List<Consumer<ContainerEvent>> listeners = new CopyOnWriteArrayList<>();
    /**
     * Each container's cgroup leaf under the agent's parent (the last part of its record's cgroup path), fixed when
     * it is made: a rename keeps it, so a running or paused container is renamed without touching its cgroup (on
     * cgroup v2 the kernel cannot rename the directory, and its limits and device filter sit on the directory
     * itself). Both ways: which leaf a name has, and whose a leaf is (the metrics' name label, a new container's
     * choice of leaf). Filled by {@link Recovery}, then kept with each creation, rename and removal.
     */
    private final Map<String, String> leafByName = new ConcurrentHashMap<>();
    private final Map<String, String> nameByLeaf = new ConcurrentHashMap<>();

    RuntimeContext(StateStore store, CgroupDriver driver, ContainerRootfs images, NetworkManager networks) {
        this.store = store;
        this.driver = driver;
        this.images = images;
        this.networks = networks;
    }

    /** A running container was renamed (under both locks): who waits for its exit waits under the new name. */
    void renameWaiters(String from, String to) {
        List<CompletableFuture<ContainerRecord>> ws = exitWaiters.remove(from);
        if (ws != null) {
            exitWaiters.computeIfAbsent(to, n -> new CopyOnWriteArrayList<>()).addAll(ws);
        }
    }

    // ---- cgroups ---------------------------------------------------------------------------------------

    /** The leaf a record names (a record without a cgroup path, never written by Corral: its name). */
    static String leafOf(ContainerRecord r) {
        String c = r.cgroup();
        return c == null || c.isEmpty() ? r.name() : c.substring(c.lastIndexOf('/') + 1);
    }

    /** The container's cgroup: its leaf under the agent's parent. */
    ContainerCgroup cgroupOf(ContainerRecord r) {
        return driver.open(leafOf(r));
    }

    /**
     * The named container's cgroup; for a name no record holds (an unreadable record), the name's own leaf. Callers
     * that may meet such a name ask {@link #leafHeldByOther} first.
     */
    ContainerCgroup cgroupOf(String name) {
        return driver.open(leafByName.getOrDefault(name, name));
    }

    /** The container whose cgroup the leaf is, or null. */
    String nameOfLeaf(String leaf) {
        return nameByLeaf.get(leaf);
    }

    /** True when the leaf of that name is another container's (one renamed from it, still holding its cgroup). */
    boolean leafHeldByOther(String name) {
        String holder = nameByLeaf.get(name);
        return holder != null && !holder.equals(name);
    }

    /** At the agent's start, before anything else uses the index: every record's leaf. */
    void indexLeaves(List<ContainerRecord> records) {
        leafByName.clear();
        nameByLeaf.clear();
        for (ContainerRecord r : records) {
            String leaf = leafOf(r);
            String other = nameByLeaf.putIfAbsent(leaf, r.name());
            if (other != null) { // only by hand-edited state: the first keeps it, the other's cgroup is not touched
                LOG.warn("{} and {} both name the cgroup leaf {}: it stays {}'s", other, r.name(), leaf, other);
                continue;
            }
            leafByName.put(r.name(), leaf);
        }
    }

    /**
     * Under the new container's lock: its leaf, its name unless a container renamed from that name still holds it,
     * then {@code fallback} (its id: unique, and fixed for the container's life).
     */
    String claimLeaf(String name, String fallback) throws ContainerException {
        for (String leaf : List.of(name, fallback)) {
            if (nameByLeaf.putIfAbsent(leaf, name) == null) {
                leafByName.put(name, leaf);
                return leaf;
            }
        }
        throw new ContainerException(ContainerException.Kind.CONFLICT, "the cgroups " + name + " and " + fallback
                + " under " + driver.parent() + " are both other containers'");
    }

    /** The record is gone: its leaf is free. */
    void releaseLeaf(String name) {
        String leaf = leafByName.remove(name);
        if (leaf != null) {
            nameByLeaf.remove(leaf, name);
        }
    }

    /** Renamed (under both names' locks): the same leaf, now the new name's. */
    void leafRenamed(String from, String to) {
        String leaf = leafByName.remove(from);
        if (leaf != null) {
            leafByName.put(to, leaf);
            nameByLeaf.replace(leaf, from, to);
        }
    }

    /** Held for every operation on one container: operations on one container are serialised. */
    Object lock(String name) {
        return locks.computeIfAbsent(name, n -> new Object());
    }

    // ---- events --------------------------------------------------------------------------------------

    void addListener(Consumer<ContainerEvent> listener) {
        listeners.add(listener);
    }

    void publish(ContainerEvent event) {
        for (Consumer<ContainerEvent> l : listeners) {
            try {
                l.accept(event);
            } catch (RuntimeException ex) {
                LOG.warn("event listener failed", ex);
            }
        }
    }

    void emit(ContainerEvent.Type type, String name, Map<String, Object> attributes) {
        publish(ContainerEvent.now(type, name, attributes));
    }

    // ---- exit waiters ----------------------------------------------------------------------------------

    void addExitWaiter(String name, CompletableFuture<ContainerRecord> f) {
        exitWaiters.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(f);
    }

    void removeExitWaiter(String name, CompletableFuture<ContainerRecord> f) {
        List<CompletableFuture<ContainerRecord>> ws = exitWaiters.get(name);
        if (ws != null) {
            ws.remove(f);
        }
    }

    void completeExitWaiters(String name, ContainerRecord r) {
        List<CompletableFuture<ContainerRecord>> ws = exitWaiters.remove(name);
        if (ws != null) {
            ws.forEach(f -> f.complete(r));
        }
    }

    /** The container was removed: whoever waits for its exit hears it is gone. */
    void failExitWaiters(String name) {
        List<CompletableFuture<ContainerRecord>> gone = exitWaiters.remove(name);
        if (gone != null) {
            gone.forEach(f -> f.completeExceptionally(ContainerException.notFound(name)));
        }
    }

    // ---- records -------------------------------------------------------------------------------------

    /** The record, or null when there is none. */
    ContainerRecord stored(String name) throws ContainerException {
        try {
            return store.load(name).orElse(null);
        } catch (IOException e) {
            throw failed("cannot read the record of '" + name + "'", e);
        }
    }

    ContainerRecord load(String name) throws ContainerException {
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

    void save(ContainerRecord r) {
        try {
            store.save(r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot save the record of " + r.name(), e);
        }
    }

    void saveTransient(ContainerRecord r) {
        try {
            store.saveTransient(r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot save the record of " + r.name(), e);
        }
    }

    // ---- cleaning up -----------------------------------------------------------------------------------

    /** The record only: for a refused name whose cgroup is not ours to touch. */
    void forgetRecord(String name) {
        networks.detach(name);
        try {
            store.delete(name);
            releaseLeaf(name);
        } catch (IOException e) {
            LOG.warn("removing the record of {} failed: {}", name, e.getMessage());
        }
    }

    /** Everything of a container that never ran (or whose record is unreadable): cgroup, network, record, rootfs. */
    void discard(String name) {
        discardCgroup(name);
        networks.detach(name);
        try {
            store.delete(name);
            releaseLeaf(name);
            images.remove(name);
        } catch (IOException e) {
            LOG.warn("cleaning up the state of {} failed: {}", name, e.getMessage());
        }
    }

    void discardCgroup(String name) {
        try {
            ContainerCgroup cg = cgroupOf(name);
            if (cg.exists()) {
                cg.killAll();
                cg.remove();
            }
        } catch (CgroupException e) {
            LOG.warn("cleaning up the cgroup of {} failed: {}", name, e.getMessage());
        }
    }

    /**
     * The auto-removal of an exited container (autoRemove), under its lock: what remove() does, without
     * recording the exit first. False (and logged) if something stays; the caller then records the exit.
     */
    boolean removeExited(String name, ContainerCgroup cg) {
        try {
            cg.remove(); // a directory already gone is not an error
            networks.detach(name);
            store.delete(name);
            releaseLeaf(name);
            images.remove(name);
            return true;
        } catch (CgroupException | IOException | RuntimeException e) {
            LOG.warn("removing exited {} failed; it stays, exited: {}", name, e.getMessage());
            return false;
        }
    }

    /**
     * Under the container's lock: removes an auto-remove container that is done (exited, or, with {@code failedStart},
     * created again after its start failed), unless a client is still attached; true if removed.
     */
    boolean autoRemoveLocked(ContainerRecord r, boolean failedStart) {
        String name = r.name();
        if (!r.removedAtExit() || holds.containsKey(name)
                || !(r.state() == ContainerState.EXITED || (failedStart && r.state() == ContainerState.CREATED))) {
            return false;
        }
        if (!removeExited(name, cgroupOf(r))) {
            return false;
        }
        live.remove(name);
        emit(ContainerEvent.Type.REMOVED, name, Map.of());
        return true;
    }

    /** A client attached to the container is gone: an auto-remove container that exited is removed now. */
    void release(String name) {
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

    static void killQuietly(ContainerCgroup cg) {
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

    static ContainerException failed(String what, Throwable cause) {
        return new ContainerException(ContainerException.Kind.FAILED, what + ": " + cause.getMessage(), cause);
    }
}
