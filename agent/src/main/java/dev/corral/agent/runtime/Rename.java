package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code corral rename OLD NEW} of a created or exited container. What carries a container's name: its state
 * directory (record, launch config, logs, network.json, /etc files), its image root directory, its cgroup, its network
 * attachment (in memory) and its id (derived from the name: the first name is kept in the record, so the id stays,
 * as Docker's). The steps, under both names' locks: the empty cgroup is removed (a start makes it again under the new
 * name, with the spec's limits), the state directory is moved (one rename(2)), the image root too, then the renamed
 * record is saved. A failure before the save moves the directories back; a crash between the move and the save leaves
 * a directory whose record names the old name, which {@link #finishInterrupted} completes at the agent's next start.
 *
 * <p>A running container is refused: its monitor writes exit.json by path and exec joins its cgroups by the paths in
 * its launch config, so renaming it needs the monitor and launch config changed too (not done yet).
 */
final class Rename {

    private static final Logger LOG = LoggerFactory.getLogger(Rename.class);

    private Rename() {
    }

    static ContainerRecord run(RuntimeContext ctx, Restarts restarts, String from, String to)
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
                if (r.state() != ContainerState.CREATED && r.state() != ContainerState.EXITED) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + from + "' is "
                            + r.state().label() + ": only a created or exited container can be renamed (stop it "
                            + "first)");
                }
                if (restarts.isPending(from) || ctx.live.contains(from) || ctx.holds.containsKey(from)) {
                    throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + from + "' is "
                            + "restarting or attached: try again once it is not");
                }
                try {
                    ContainerCgroup cg = ctx.driver.open(from);
                    if (cg.exists()) {
                        cg.remove(); // stopped: no process in it
                    }
                } catch (CgroupException e) {
                    throw RuntimeContext.failed("cannot rename '" + from + "': its cgroup", e);
                }
                ContainerRecord renamed = r.renamed(to, ctx.driver.open(to).path());
                try {
                    ctx.store.move(from, to);
                } catch (IOException e) {
                    throw RuntimeContext.failed("cannot rename '" + from + "'", e);
                }
                try {
                    ctx.images.rename(from, to);
                    ctx.store.save(renamed);
                } catch (IOException | RuntimeException e) {
                    try { // back as it was: the record still names the old name
                        ctx.images.rename(to, from);
                        ctx.store.move(to, from);
                    } catch (IOException back) {
                        e.addSuppressed(back);
                    }
                    throw RuntimeContext.failed("cannot rename '" + from + "'", e);
                }
                ctx.networks.rename(from, to);
                ctx.emit(ContainerEvent.Type.RENAME, to, Map.of("oldName", from));
                return renamed;
            }
        }
    }

    /** At the agent's start: completes the renames a crash interrupted between the directory move and the record. */
    static void finishInterrupted(RuntimeContext ctx) throws IOException {
        for (Map.Entry<String, ContainerRecord> e : ctx.store.misnamed().entrySet()) {
            String to = e.getKey();
            ContainerRecord r = e.getValue();
            LOG.info("finishing the rename of {} to {} (the agent stopped in the middle)", r.name(), to);
            try {
                ContainerCgroup cg = ctx.driver.open(r.name()); // removed first by a rename; a stopped one's is empty
                if (cg.exists()) {
                    cg.remove();
                }
            } catch (CgroupException ce) {
                LOG.warn("cannot remove the cgroup of {} (renamed {}): {}", r.name(), to, ce.getMessage());
            }
            ctx.images.rename(r.name(), to);
            ctx.store.save(r.renamed(to, ctx.driver.open(to).path()));
        }
    }
}
