package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code corral rename OLD NEW}. What carries a container's name: its state directory (record, launch config, logs,
 * network.json, /etc files), its image root directory, its cgroup, its network attachment (in memory) and its id
 * (derived from the name: the first name is kept in the record, so the id stays, as Docker's). The steps, under both
 * names' locks: the state directory is moved (one rename(2)), the image root too; a stopped container's empty cgroup
 * is removed (a start makes it again under the new name, with the spec's limits), a running one's is renamed with its
 * processes and the cgroup paths in its launch config (which exec joins by) rewritten; then the renamed record is
 * saved. A failure before the save undoes each step; a crash between the move and the save leaves a directory whose
 * record names the old name, which {@link #finishInterrupted} completes at the agent's next start.
 *
 * <p>A running container's monitor holds its state, log and stdin-socket directories open (it writes exit.json and
 * the logs and removes the socket by directory fd), so it follows the move; the exit watcher, exit waiters and restart
 * backoff are re-keyed. The kernel renames a v1 cgroup directory but not a v2 one: the hybrid layout's unified
 * directory (no controller limits) has its processes moved to a new one, and on a pure v2 host a running container
 * is refused (its limits and device filter are on the directory). A paused one is refused: moving processes out of a
 * frozen cgroup would thaw them. Paths in the launch config under the image root (the overlay's, used only at launch)
 * are left: the next start writes a new one.
 */
final class Rename {

    private static final Logger LOG = LoggerFactory.getLogger(Rename.class);

    private Rename() {
    }

    static ContainerRecord run(RuntimeContext ctx, Restarts restarts, ExitWatcher exits, String from, String to)
            throws ContainerException, SpecException {
        SpecValidator.checkName(to, "name");
        if (from.equals(to)) {
            throw new SpecException("name", "Renaming a container with the same name as its current name");
        }
        Object first = ctx.lock(from.compareTo(to) < 0 ? from : to);
        Object second = ctx.lock(from.compareTo(to) < 0 ? to : from);
        synchronized (first) {
            synchronized (second) {
                ContainerRecord r = ctx.load(from);
                if (ctx.store.exists(to)) {
                    ContainerRecord taken = ctx.load(to);
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "Conflict. The container name \"/"
                            + to + "\" is already in use by container \"" + taken.id() + "\". You have to remove "
                            + "(or rename) that container to be able to reuse that name.");
                }
                boolean running = r.state() == ContainerState.RUNNING;
                if (!running && r.state() != ContainerState.CREATED && r.state() != ContainerState.EXITED) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + from + "' is "
                            + r.state().label() + ": only a created, running or exited container can be renamed"
                            + (r.state() == ContainerState.PAUSED ? " (unpause it first)" : " (try again)"));
                }
                if (running && ctx.driver.layout().mode() == dev.corral.exporter.discovery.CgroupMode.V2) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + from + "' is "
                            + "running on cgroup v2, where the kernel cannot rename its cgroup: stop it first");
                }
                if (running && Boolean.TRUE.equals(r.spec().openStdin()) && ctx.store.dir(to)
                        .resolve(Launcher.STDIN_SOCKET).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)
                        .length > Launcher.MAX_SOCKET_PATH) {
                    throw new SpecException("name", "'" + to + "' is too long for the stdin socket of running '" + from
                            + "' (a unix socket path has " + Launcher.MAX_SOCKET_PATH + " bytes)");
                }
                if (restarts.isPending(from) || (!running && ctx.live.contains(from)) || ctx.holds.containsKey(from)) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + from + "' is "
                            + "restarting or attached: try again once it is not");
                }
                ContainerCgroup oldCg = ctx.driver.open(from);
                ContainerCgroup newCg = ctx.driver.open(to);
                if (!running) {
                    try {
                        if (oldCg.exists()) {
                            oldCg.remove(); // stopped: no process in it
                        }
                    } catch (CgroupException e) {
                        throw RuntimeContext.failed("cannot rename '" + from + "': its cgroup", e);
                    }
                }
                ContainerRecord renamed = r.renamed(to, newCg.path());
                Map<String, String> paths = running ? paths(ctx, from, to) : Map.of();
                try {
                    ctx.store.move(from, to);
                } catch (IOException e) {
                    throw RuntimeContext.failed("cannot rename '" + from + "'", e);
                }
                int done = 0; // steps past the move: 1 image root, 2 cgroup, 3 launch config
                try {
                    ctx.images.rename(from, to);
                    done = 1;
                    if (running) {
                        oldCg.renameTo(newCg);
                        done = 2;
                        LaunchConf.rewrite(ctx.store.dir(to).resolve("launch.conf"), paths);
                        done = 3;
                    }
                    ctx.store.save(renamed);
                } catch (IOException | CgroupException | RuntimeException e) {
                    try { // back as it was: the record still names the old name
                        if (done >= 3) {
                            LaunchConf.rewrite(ctx.store.dir(to).resolve("launch.conf"), inverse(paths));
                        }
                        if (done >= 2) {
                            newCg.renameTo(oldCg);
                        }
                        ctx.images.rename(to, from);
                        ctx.store.move(to, from);
                    } catch (IOException | CgroupException back) {
                        e.addSuppressed(back);
                    }
                    throw RuntimeContext.failed("cannot rename '" + from + "'", e);
                }
                if (running) {
                    exits.renamed(from, to);
                    ctx.renameWaiters(from, to);
                }
                restarts.renamed(from, to);
                ctx.networks.rename(from, to);
                ctx.emit(ContainerEvent.Type.RENAME, to, Map.of("oldName", from));
                return renamed;
            }
        }
    }

    /** The launch config's paths that name the container: its state directory and its cgroup directories. */
    private static Map<String, String> paths(RuntimeContext ctx, String from, String to) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(ctx.store.dir(from).toString(), ctx.store.dir(to).toString());
        List<Path> a = ctx.driver.open(from).procsFiles();
        List<Path> b = ctx.driver.open(to).procsFiles();
        for (int i = 0; i < a.size(); i++) {
            m.put(a.get(i).getParent().toString(), b.get(i).getParent().toString());
        }
        return m;
    }

    private static Map<String, String> inverse(Map<String, String> m) {
        Map<String, String> inv = new LinkedHashMap<>();
        m.forEach((k, v) -> inv.put(v, k));
        return inv;
    }

    /** At the agent's start: completes the renames a crash interrupted between the directory move and the record. */
    static void finishInterrupted(RuntimeContext ctx) throws IOException {
        for (Map.Entry<String, ContainerRecord> e : ctx.store.misnamed().entrySet()) {
            String to = e.getKey();
            ContainerRecord r = e.getValue();
            LOG.info("finishing the rename of {} to {} (the agent stopped in the middle)", r.name(), to);
            boolean running = r.state() == ContainerState.RUNNING;
            try {
                ContainerCgroup cg = ctx.driver.open(r.name());
                if (running) { // each directory still under the old name moves (a crash may have come in between)
                    if (cg.exists()) {
                        cg.renameTo(ctx.driver.open(to));
                    }
                } else if (cg.exists()) { // removed first by a rename; a stopped one's is empty
                    cg.remove();
                }
            } catch (CgroupException ce) {
                LOG.warn("cannot move the cgroup of {} (renamed {}): {}", r.name(), to, ce.getMessage());
            }
            ctx.images.rename(r.name(), to);
            if (running) {
                LaunchConf.rewrite(ctx.store.dir(to).resolve("launch.conf"), paths(ctx, r.name(), to));
            }
            ctx.store.save(r.renamed(to, ctx.driver.open(to).path()));
        }
    }
}
