package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code corral rename OLD NEW}. What carries a container's name: its state directory (record, launch config, logs,
 * network.json, /etc files), its image root directory, its network attachment (in memory) and its id (derived from
 * the name: the first name is kept in the record, so the id stays, as Docker's). Its cgroup does not: the leaf is
 * fixed at creation and kept in the record ({@link RuntimeContext#cgroupOf}), so nothing on any cgroup layout moves,
 * the limits and the v2 device filter stay on the directory, and a paused container stays frozen. The steps, under
 * both names' locks: the state directory is moved (one rename(2)), the image root too, a live container's launch
 * config (which exec reads) gets the new state directory; then the renamed record is saved. A failure before the
 * save undoes each step; a crash between the move and the save leaves a directory whose record names the old name,
 * which {@link #finishInterrupted} completes at the agent's next start.
 *
 * <p>A live container's monitor holds its state, log and stdin-socket directories open (it writes exit.json and the
 * logs and removes the socket by directory fd), so it follows the move; the exit watcher, exit waiters and restart
 * backoff are re-keyed. Paths in the launch config under the image root (the overlay's, used only at launch) are
 * left: the next start writes a new one.
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
                boolean live = r.state() == ContainerState.RUNNING || r.state() == ContainerState.PAUSED;
                if (!live && r.state() != ContainerState.CREATED && r.state() != ContainerState.EXITED) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + from + "' is "
                            + r.state().label() + ": only a created, running, paused or exited container can be "
                            + "renamed (try again)");
                }
                if (live && Boolean.TRUE.equals(r.spec().openStdin()) && ctx.store.dir(to)
                        .resolve(Launcher.STDIN_SOCKET).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)
                        .length > Launcher.MAX_SOCKET_PATH) {
                    throw new SpecException("name", "'" + to + "' is too long for the stdin socket of running '" + from
                            + "' (a unix socket path has " + Launcher.MAX_SOCKET_PATH + " bytes)");
                }
                if (restarts.isPending(from) || (!live && ctx.live.contains(from)) || ctx.holds.containsKey(from)) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + from + "' is "
                            + "restarting or attached: try again once it is not");
                }
                ContainerRecord renamed = r.renamed(to);
                Map<String, String> paths = live ? paths(ctx, from, to) : Map.of();
                try {
                    ctx.store.move(from, to);
                } catch (IOException e) {
                    throw RuntimeContext.failed("cannot rename '" + from + "'", e);
                }
                boolean rewritten = false;
                try {
                    ctx.images.rename(from, to);
                    if (live) {
                        LaunchConf.rewrite(ctx.store.dir(to).resolve("launch.conf"), paths);
                        rewritten = true;
                    }
                    ctx.store.save(renamed);
                } catch (IOException | RuntimeException e) {
                    try { // back as it was: the record still names the old name
                        if (rewritten) {
                            LaunchConf.rewrite(ctx.store.dir(to).resolve("launch.conf"), inverse(paths));
                        }
                        ctx.images.rename(to, from);
                        ctx.store.move(to, from);
                    } catch (IOException back) {
                        e.addSuppressed(back);
                    }
                    throw RuntimeContext.failed("cannot rename '" + from + "'", e);
                }
                ctx.leafRenamed(from, to);
                if (live) {
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

    /** The launch config's paths that name the container: its state directory (its cgroups do not). */
    private static Map<String, String> paths(RuntimeContext ctx, String from, String to) {
        return Map.of(ctx.store.dir(from).toString(), ctx.store.dir(to).toString());
    }

    private static Map<String, String> inverse(Map<String, String> m) {
        Map<String, String> inv = new LinkedHashMap<>();
        m.forEach((k, v) -> inv.put(v, k));
        return inv;
    }

    /**
     * At the agent's start, before the leaf index is made: completes the renames a crash interrupted between the
     * directory move and the record. The cgroup stays where the record says.
     */
    static void finishInterrupted(RuntimeContext ctx) throws IOException {
        for (Map.Entry<String, ContainerRecord> e : ctx.store.misnamed().entrySet()) {
            String to = e.getKey();
            ContainerRecord r = e.getValue();
            LOG.info("finishing the rename of {} to {} (the agent stopped in the middle)", r.name(), to);
            ctx.images.rename(r.name(), to);
            if (r.state() == ContainerState.RUNNING || r.state() == ContainerState.PAUSED) {
                LaunchConf.rewrite(ctx.store.dir(to).resolve("launch.conf"), paths(ctx, r.name(), to));
            }
            ctx.store.save(r.renamed(to));
        }
    }
}
