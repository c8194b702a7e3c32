package dev.corral.agent.runtime;

import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sees containers exit and records it. The monitor renames exit.json into the container's directory when the
 * container exits: an inotify watch (through a WatchService) sees it at once, and a check once a second catches
 * what it missed and monitors that died without writing one. The exit is recorded with the monitor's status and
 * whether the kernel OOM-killed inside, stragglers are killed, an auto-remove container is removed, and whoever
 * waits for the exit is told.
 */
final class ExitWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ExitWatcher.class);

    private final RuntimeContext ctx;
    private final ScheduledExecutorService checker;
    private final WatchService exitFiles;
    private final Map<WatchKey, String> exitKeys = new ConcurrentHashMap<>();
    private final Thread listener;
    private final java.util.function.Consumer<ContainerRecord> exited;

    /** @param exited told of each exit recorded (not of an auto-removed container's): its restart policy */
    ExitWatcher(RuntimeContext ctx, java.util.function.Consumer<ContainerRecord> exited) {
        this.ctx = ctx;
        this.exited = exited;
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "corral-exit-watcher");
            t.setDaemon(true);
            return t;
        });
        try {
            this.exitFiles = FileSystems.getDefault().newWatchService();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        this.listener = new Thread(this::listen, "corral-exit-listener");
        this.listener.setDaemon(true);
    }

    /** Begins listening and checking (after recovery has said what to watch). */
    void start() {
        listener.start();
        checker.scheduleWithFixedDelay(this::check, 1, 1, TimeUnit.SECONDS);
    }

    /** Watches the container's directory for its exit.json. */
    void watch(String name) {
        ctx.live.add(name);
        try {
            exitKeys.put(ctx.store.dir(name).register(exitFiles, StandardWatchEventKinds.ENTRY_CREATE), name);
        } catch (IOException e) {
            LOG.warn("cannot watch {} for its exit; the once-a-second check will see it: {}", name, e.getMessage());
        }
        if (Files.exists(exitFile(name))) {
            checker.execute(this::check); // it exited before the watch was in place
        }
    }

    /**
     * A running container was renamed (under both names' locks): its directory's watch follows the inode, so only
     * the name it is known by changes. An exit seen under the old name meanwhile finds no record; the check sees it.
     */
    void renamed(String from, String to) {
        if (ctx.live.remove(from)) {
            ctx.live.add(to);
        }
        exitKeys.replaceAll((k, v) -> v.equals(from) ? to : v);
    }

    /** Records the exits of watched containers whose exit.json is already there (recovery, before start()). */
    void finishExited() throws IOException {
        for (String name : new ArrayList<>(ctx.live)) {
            if (Files.exists(exitFile(name))) {
                finish(name);
            }
        }
    }

    private Path exitFile(String name) {
        return ctx.store.dir(name).resolve("exit.json");
    }

    private void listen() {
        while (!Thread.currentThread().isInterrupted()) {
            WatchKey key;
            try {
                key = exitFiles.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            String name = exitKeys.get(key);
            boolean exited = false;
            for (WatchEvent<?> e : key.pollEvents()) {
                exited |= e.kind() == StandardWatchEventKinds.OVERFLOW || "exit.json".equals(String.valueOf(e.context()));
            }
            if (name != null && exited) {
                try {
                    finish(name);
                } catch (IOException | RuntimeException ex) {
                    LOG.warn("recording the exit of {} failed", name, ex);
                }
            }
            name = exitKeys.get(key); // a rename may have re-keyed it meanwhile
            if (!key.reset() || (name != null && !ctx.live.contains(name))) {
                key.cancel();
                exitKeys.remove(key);
            }
        }
    }

    /** The fallback: every second, exit files the listener missed and monitors that died without one. */
    private void check() {
        for (String name : ctx.live) {
            try {
                Path exitFile = exitFile(name);
                if (Files.exists(exitFile)) {
                    finish(name);
                } else {
                    ContainerRecord r = ctx.store.load(name).orElse(null);
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
        synchronized (ctx.lock(name)) {
            ContainerRecord r = ctx.store.load(name).orElse(null);
            if (r == null || !r.state().isLive()) {
                ctx.live.remove(name);
                return;
            }
            ExitStatus status = ExitStatus.read(exitFile(name)).orElse(null);
            ContainerCgroup cg = ctx.cgroupOf(r);
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
            removed = r.removedAtExit() && !ctx.holds.containsKey(name) && ctx.removeExited(name, cg);
            if (!removed) {
                ctx.save(done);
            }
            ctx.live.remove(name);
        }
        if (Boolean.TRUE.equals(done.oomKilled())) {
            ctx.emit(ContainerEvent.Type.OOM, name, Map.of());
        }
        Map<String, Object> attrs = new HashMap<>();
        if (done.exitCode() != null) {
            attrs.put("exitCode", done.exitCode());
        }
        attrs.put("oomKilled", done.oomKilled());
        ctx.emit(ContainerEvent.Type.EXITED, name, attrs);
        if (removed) {
            ctx.emit(ContainerEvent.Type.REMOVED, name, Map.of());
        }
        ctx.completeExitWaiters(name, done);
        if (!removed) {
            exited.accept(done);
        }
    }

    /** Stops watching; containers keep running (their monitors outlive the agent). */
    @Override
    public void close() {
        // Not interrupted: an exit being recorded (or a container being auto-removed) finishes first; an interrupt
        // made its file IO fail (ClosedByInterruptException) and left a half-removed state dir. Closing the watch
        // service ends the listener's wait, and shutdown() cancels the periodic check.
        try {
            exitFiles.close();
        } catch (IOException e) {
            // closing anyway
        }
        checker.shutdown();
        try {
            listener.join(5000);
            if (!checker.awaitTermination(5, TimeUnit.SECONDS)) {
                checker.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        listener.interrupt(); // if it is still busy after all
    }
}
