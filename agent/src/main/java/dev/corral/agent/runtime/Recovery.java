package dev.corral.agent.runtime;

import dev.corral.agent.cgroup.ContainerCgroup;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an agent does with what an earlier one left (it may have died at any point): re-adopts live containers,
 * records exits that happened meanwhile, removes half-made ones and auto-remove containers that are done, moves
 * unreadable records aside, drops pinned image directories no container has, and has the containers whose restart
 * policy says so started again.
 */
final class Recovery {

    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private static final java.util.regex.Pattern ID_LEAF = java.util.regex.Pattern.compile("[0-9a-f]{64}");

    private final RuntimeContext ctx;
    private final ExitWatcher exits;
    private final Restarts restarts;

    Recovery(RuntimeContext ctx, ExitWatcher exits, Restarts restarts) {
        this.ctx = ctx;
        this.exits = exits;
        this.restarts = restarts;
    }

    /**
     * A cgroup whose leaf is an id (a container made while a renamed one held its name's leaf) that no record names:
     * its record was unreadable, so it goes as a name's cgroup goes then. Other leaves are left: a same-named
     * cgroup with no record is cleaned up, if empty, by the next create of that name.
     */
    private void removeOrphanIdCgroups() {
        try {
            for (String leaf : ctx.driver.leaves()) {
                if (ID_LEAF.matcher(leaf).matches() && ctx.nameOfLeaf(leaf) == null) {
                    LOG.warn("removing the cgroup {} (with its processes): no record names it", leaf);
                    ContainerCgroup cg = ctx.driver.open(leaf);
                    if (cg.frozen()) {
                        cg.thaw(); // a v1-frozen task keeps a pending SIGKILL until it is thawed
                    }
                    cg.killAll();
                    cg.remove();
                }
            }
        } catch (dev.corral.agent.cgroup.CgroupException e) {
            LOG.warn("removing cgroups no record names failed: {}", e.getMessage());
        }
    }

    /** Runs before the runtime serves anyone: nothing else touches the records meanwhile. */
    void recover() throws IOException {
        StateStore store = ctx.store;
        Rename.finishInterrupted(ctx); // first: the sweep below would take a renamed container's root for an orphan
        List<String> unreadable = store.quarantineUnreadable();
        ctx.indexLeaves(store.list());
        for (String name : unreadable) {
            // its leaf is most likely its name; unless a container renamed from that name holds it
            boolean ours = !ctx.leafHeldByOther(name);
            LOG.warn("the record of {} was unreadable (a machine crash before it reached the disk): moved to {}; {}",
                    name, store.quarantine(), ours ? "removing its cgroup" : "its cgroup is left (another's)");
            if (ours) {
                ctx.discardCgroup(name);
            }
        }
        removeOrphanIdCgroups();
        for (ContainerRecord r : store.list()) {
            String name = r.name();
            ContainerCgroup cg = ctx.cgroupOf(r);
            switch (r.state()) {
                case CREATING -> {
                    LOG.info("removing {}: the agent stopped while creating it", name);
                    ctx.discard(name);
                }
                case STARTING -> {
                    if (Files.exists(store.dir(name).resolve("exit.json"))) {
                        exits.watch(name);
                    } else {
                        LOG.info("{} was starting when the agent stopped: killing what it started", name);
                        RuntimeContext.killQuietly(cg);
                        ContainerRecord exited = r.exited(System.currentTimeMillis(), null, null, false,
                                "the agent stopped while starting it");
                        ctx.save(exited);
                        ctx.autoRemoveLocked(exited, false);
                    }
                }
                case RUNNING, PAUSED -> {
                    if (Files.exists(store.dir(name).resolve("exit.json"))
                            || ProcessInfo.isSame(r.monitorPid(), r.monitorStartTicks())) {
                        exits.watch(name); // the watcher records the exit, or keeps watching the live one
                        LOG.info("re-adopted {} ({})", name, r.state().label());
                    } else {
                        RuntimeContext.killQuietly(cg);
                        ContainerRecord exited = r.exited(System.currentTimeMillis(), null, null, false,
                                "its monitor was gone when the agent restarted");
                        ctx.save(exited);
                        ctx.autoRemoveLocked(exited, false);
                    }
                }
                case EXITED -> {
                    if (ctx.autoRemoveLocked(r, false)) { // the agent stopped between its exit and its removal
                        LOG.info("removed {}: it exited while the agent was down and was to be removed", name);
                    }
                }
                default -> {
                }
            }
        }
        exits.finishExited();
        for (ContainerRecord r : store.list()) {
            restarts.atAgentStart(r); // the restart policies of containers that are not running (they run later)
        }
        ctx.images.sweep(store.list().stream().map(ContainerRecord::name).collect(Collectors.toSet()));
    }
}
