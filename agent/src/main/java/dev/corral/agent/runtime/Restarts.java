package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.RestartRules;
import dev.corral.agent.spec.SpecException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restart policies in action ({@link RestartRules} decides): after an exit the container is started again with
 * Docker's backoff (100 ms, doubling at each restart up to a minute, back to 100 ms once a run lasted 10 s), and when
 * the agent starts, the containers whose policy says so start again. A stop, a start or a removal by the user cancels
 * a pending restart. Each restart counts in the record ({@code restartCount}) and is a {@code restart} event.
 */
final class Restarts implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Restarts.class);
    static final long FIRST_DELAY_MILLIS = 100;
    static final long MAX_DELAY_MILLIS = 60_000;
    static final long RESET_AFTER_MILLIS = 10_000;

    /** Starts the container again (the lifecycle's launch), under its lock. */
    @FunctionalInterface
    interface Starter {
        ContainerRecord launch(ContainerRecord record) throws ContainerException, SpecException;
    }

    private final RuntimeContext ctx;
    private final Starter starter;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "corral-restart");
        t.setDaemon(true);
        return t;
    });
    /** The last backoff delay of each container that restarted (memory only, as Docker's). */
    private final Map<String, Long> delays = new ConcurrentHashMap<>();
    private final Map<String, Future<?>> pending = new ConcurrentHashMap<>();
    /** Restarts decided before {@link #start()} (during recovery): they run once recovery is done. */
    private List<Runnable> held = new ArrayList<>();

    Restarts(RuntimeContext ctx, Starter starter) {
        this.ctx = ctx;
        this.starter = starter;
    }

    /** Docker's backoff: the delay before the next restart, given the last one (0: none yet) and how long it ran. */
    static long nextDelay(long previousMillis, long ranMillis) {
        if (previousMillis <= 0 || ranMillis >= RESET_AFTER_MILLIS) {
            return FIRST_DELAY_MILLIS;
        }
        return Math.min(previousMillis * 2, MAX_DELAY_MILLIS);
    }

    /** After an exit was recorded (and the container kept): schedules a restart when its policy says so. */
    void exited(ContainerRecord done) {
        String name = done.name();
        if (done.removedAtExit()
                || !RestartRules.restartAfterExit(done.spec(), done.exitCode(), done.restarts(), done.stopped())) {
            delays.remove(name);
            return;
        }
        long ran = done.startedAtMillis() == null || done.finishedAtMillis() == null ? 0
                : done.finishedAtMillis() - done.startedAtMillis();
        long delay = nextDelay(delays.getOrDefault(name, 0L), ran);
        delays.put(name, delay);
        schedule(name, delay, false);
    }

    /** At the agent's start, for a container found not running (and not already restarting): start it again? */
    void atAgentStart(ContainerRecord r) {
        if (r.state() == ContainerState.EXITED && !r.removedAtExit() && !pending.containsKey(r.name())
                && RestartRules.startWithAgent(r.spec(), r.exitCode(), r.restarts(), r.stopped())) {
            schedule(r.name(), 0, true);
        }
    }

    /** Whether a restart of the container is scheduled (its policy's backoff is running). */
    boolean isPending(String name) {
        return pending.containsKey(name);
    }

    /** A rename (none pending): the backoff follows the container. */
    void renamed(String from, String to) {
        Long d = delays.remove(from);
        if (d != null) {
            delays.put(to, d);
        }
    }

    /** The user stopped, started or removed it: no restart is pending any more, and the backoff begins again. */
    void cancel(String name) {
        Future<?> f = pending.remove(name);
        if (f != null) {
            f.cancel(false);
        }
        delays.remove(name);
    }

    private synchronized void schedule(String name, long delayMillis, boolean agentStart) {
        Runnable task = () -> restart(name, delayMillis, agentStart);
        if (held != null) {
            held.add(() -> pending.put(name, timer.schedule(task, delayMillis, TimeUnit.MILLISECONDS)));
            pending.put(name, new java.util.concurrent.CompletableFuture<>()); // a placeholder until start()
            return;
        }
        Future<?> before = pending.put(name, timer.schedule(task, delayMillis, TimeUnit.MILLISECONDS));
        if (before != null) {
            before.cancel(false);
        }
    }

    /** Recovery is done: restarts it decided may run. */
    synchronized void start() {
        List<Runnable> h = held;
        held = null;
        h.forEach(Runnable::run);
    }

    private void restart(String name, long delayMillis, boolean agentStart) {
        synchronized (ctx.lock(name)) {
            pending.remove(name);
            try {
                ContainerRecord r = ctx.stored(name);
                // a stop, start or removal by the user since then: it is theirs
                if (r == null || r.state() != ContainerState.EXITED || r.stopped()) {
                    return;
                }
                ContainerRecord again = r.restarted();
                Map<String, Object> attrs = new HashMap<>();
                attrs.put("restartCount", again.restarts());
                attrs.put("policy", RestartRules.mode(r.spec()).label());
                attrs.put("delayMillis", delayMillis);
                if (r.exitCode() != null) {
                    attrs.put("exitCode", r.exitCode());
                }
                if (agentStart) {
                    attrs.put("agentStart", true);
                }
                ctx.emit(ContainerEvent.Type.RESTART, name, attrs);
                starter.launch(again);
            } catch (SpecException | ContainerException | RuntimeException e) {
                LOG.warn("restarting {} failed: {}", name, e.getMessage()); // recorded as exited by the launch
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow(); // pending restarts are decided again when the next agent starts
    }
}
