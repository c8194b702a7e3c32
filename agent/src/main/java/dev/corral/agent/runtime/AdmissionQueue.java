package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.SpecException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admission queue and its rules, in one place. Every start asks the {@link AdmissionGate} (the policy engine
 * decides: admit, queue with a deadline, or refuse); this class acts on the answer: one admission at a time, a
 * queued container recorded QUEUED (the queue lives in the records, so it outlives the agent), re-checked in the
 * gate's order whenever room may have freed up (an exit, a removal, a new gate or policy, each policy cycle for
 * deadlines), started when admitted, made CREATED again with the reason when refused or stopped, and whoever waits
 * for it to leave the queue told.
 */
public final class AdmissionQueue implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AdmissionQueue.class);

    /** Starts a container admitted from the queue (the lifecycle's launch), under its lock. */
    @FunctionalInterface
    interface Launcher {
        ContainerRecord launch(ContainerRecord queued) throws ContainerException, SpecException;
    }

    /** Marks the container STARTING (so it counts as live for the next admission). */
    @FunctionalInterface
    interface StartMark {
        void mark() throws ContainerException;
    }

    private final RuntimeContext ctx;
    private final Launcher launcher;
    private final Object admissionLock = new Object();
    private final Object reviewLock = new Object();
    private final Map<String, List<CompletableFuture<ContainerRecord>>> waiters = new ConcurrentHashMap<>();
    private final ExecutorService reviewer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "corral-admission");
        t.setDaemon(true);
        return t;
    });
    private volatile AdmissionGate gate = AdmissionGate.OPEN;

    AdmissionQueue(RuntimeContext ctx, Launcher launcher) {
        this.ctx = ctx;
        this.launcher = launcher;
        ctx.addListener(e -> {
            if (e.type() == ContainerEvent.Type.EXITED || e.type() == ContainerEvent.Type.REMOVED) {
                reviewSoon(); // guarantees freed up: the head of the queue may fit now
            }
        });
    }

    /**
     * Checked by every start. A gate other than {@link AdmissionGate#OPEN} also reviews the queue (containers queued
     * before a restart); back to OPEN (the policy loop closing), a review under way finishes first and the queue is
     * left as it is.
     */
    public void setGate(AdmissionGate gate) {
        synchronized (reviewLock) {
            this.gate = gate;
        }
        reviewSoon();
    }

    /**
     * Under the container's lock, before its launch: asks the gate. Null when it may start (then it is marked
     * STARTING), else its record, queued (or still queued). A refusal is the gate's ContainerException (CONFLICT).
     */
    ContainerRecord admit(ContainerRecord record, StartMark starting) throws ContainerException {
        AdmissionGate g = gate;
        if (g == AdmissionGate.OPEN && record.state() != ContainerState.QUEUED) {
            starting.mark();
            return null;
        }
        String name = record.name();
        // One admission at a time, decided and marked STARTING together: two starts cannot both take the last room,
        // and a queued container cannot be overtaken between its check and its start.
        synchronized (admissionLock) {
            List<ContainerRecord> all = ctx.store.active(); // from memory: exited records do not count
            AdmissionGate.Verdict v = g.admit(record, all.stream()
                    .filter(r -> r.state().isLive() && !r.name().equals(name)).toList(), all.stream()
                    .filter(r -> r.state() == ContainerState.QUEUED && !r.name().equals(name)).toList());
            if (v.queue()) {
                if (record.state() == ContainerState.QUEUED) {
                    return record; // still waiting
                }
                ContainerRecord queued = record.queued(System.currentTimeMillis(), v.deadline(), v.reason());
                ctx.save(queued);
                ctx.emit(ContainerEvent.Type.QUEUED, name, Map.of("reason", v.reason(), "deadlineMillis", v.deadline()));
                return queued;
            }
            starting.mark(); // counts as live for the next admission
            return null;
        }
    }

    /**
     * Asks admission again for a queued container: starts it when it is admitted now, leaves it queued, or,
     * refused (its queue timeout, or the policy no longer queues), makes it created again with the reason in
     * {@code error}. Returns its record afterwards; null when it is gone.
     */
    public ContainerRecord admitQueued(String name) throws ContainerException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.stored(name);
            if (record == null || record.state() != ContainerState.QUEUED) {
                return record;
            }
            try {
                return launcher.launch(record);
            } catch (SpecException e) { // its image or spec went bad while it waited, or its command failed to start
                ContainerRecord now = ctx.stored(name);
                if (now == null || now.state() != ContainerState.QUEUED) {
                    return now; // the launch recorded (or auto-removed) it
                }
                return refuse(record, "cannot start: " + e.getMessage());
            } catch (ContainerException e) {
                if (e.kind() == ContainerException.Kind.CONFLICT && ctx.load(name).state() == ContainerState.QUEUED) {
                    return refuse(record, e.getMessage());
                }
                throw e;
            }
        }
    }

    /** Under the container's lock: a queued container refused or taken out of the queue is created again. */
    ContainerRecord refuse(ContainerRecord record, String why) {
        ContainerRecord refused = record.dequeued(why);
        ctx.save(refused);
        ctx.emit(ContainerEvent.Type.DEQUEUED, record.name(), Map.of("error", why));
        ctx.autoRemoveLocked(refused, true); // its start failed: --rm leaves nothing (before the waiters hear of it)
        ctx.completeExitWaiters(record.name(), refused);
        left(record.name(), refused);
        return refused;
    }

    /**
     * Completes when the container is not (or no longer) queued: started, refused back to created, or
     * exceptionally when it is removed.
     */
    public CompletableFuture<ContainerRecord> waitWhileQueued(String name) throws ContainerException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            if (record.state() != ContainerState.QUEUED) {
                return CompletableFuture.completedFuture(record);
            }
            CompletableFuture<ContainerRecord> f = new CompletableFuture<>();
            waiters.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(f);
            return f;
        }
    }

    /** The container is out of the queue (started, or its start failed): {@link #waitWhileQueued} completes. */
    void left(String name, ContainerRecord r) {
        List<CompletableFuture<ContainerRecord>> ws = waiters.remove(name);
        if (ws != null) {
            ws.forEach(f -> f.complete(r));
        }
    }

    /** The container was removed. */
    void removed(String name) {
        List<CompletableFuture<ContainerRecord>> gone = waiters.remove(name);
        if (gone != null) {
            gone.forEach(f -> f.completeExceptionally(ContainerException.notFound(name)));
        }
    }

    /** {@link #review()} soon, on the queue's own thread. */
    public void reviewSoon() {
        try {
            reviewer.execute(() -> {
                try {
                    review();
                } catch (RuntimeException e) {
                    LOG.warn("admission queue check failed", e);
                }
            });
        } catch (RejectedExecutionException closed) {
            // the runtime is closing
        }
    }

    /**
     * Asks admission again for each queued container, in the gate's order: the head starts when it fits, one past
     * its deadline is refused. Each ask sees the starts before it. Nothing under the OPEN gate (no policy decides).
     */
    public void review() {
        synchronized (reviewLock) {
            AdmissionGate g = gate;
            if (g == AdmissionGate.OPEN) {
                return;
            }
            List<ContainerRecord> queued;
            try {
                queued = ctx.store.list().stream().filter(r -> r.state() == ContainerState.QUEUED).toList();
            } catch (java.io.IOException e) {
                LOG.warn("admission queue check skipped: {}", e.getMessage());
                return;
            }
            if (queued.isEmpty()) {
                return;
            }
            for (ContainerRecord q : g.order(queued)) {
                try {
                    admitQueued(q.name());
                } catch (ContainerException | RuntimeException e) {
                    LOG.warn("starting queued {} failed: {}", q.name(), e.getMessage());
                }
            }
        }
    }

    @Override
    public void close() {
        reviewer.shutdown();
        try {
            if (!reviewer.awaitTermination(5, TimeUnit.SECONDS)) {
                reviewer.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
