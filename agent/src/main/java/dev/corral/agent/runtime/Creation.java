package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.LimitRefusals;
import dev.corral.agent.spec.RestartRules;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;

/**
 * Making a container: its record (CREATING while it is made, so a crash in the middle is cleaned up at recovery),
 * network, cgroup and image directories, each undone when a later one fails.
 */
final class Creation {

    private final RuntimeContext ctx;

    Creation(RuntimeContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Makes the cgroup (and the image's directories) under a CREATING record; the caller records what follows.
     * Holds the container's lock.
     */
    ContainerRecord create(ContainerSpec spec, ContainerConfig config, boolean autoRemove)
            throws SpecException, ContainerException {
        String name = config.name();
        if (ctx.store.exists(name)) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "the name '" + name
                    + "' is already in use");
        }
        RestartRules.checkAutoRemove(spec, autoRemove);
        long at = System.currentTimeMillis();
        String leaf = ctx.claimLeaf(name, ContainerRecord.idOf(name, at));
        ContainerRecord record = ContainerRecord.creating(name, spec, ctx.driver.open(leaf).path(), at, autoRemove);
        try {
            ctx.store.saveTransient(record); // replaced in a moment (StateStore.saveTransient)
            try {
                NetworkJoin.checkAtCreate(ctx.store, name, spec);
                ctx.networks.attach(name, spec, config.hostname(), ctx.store.dir(name)); // first: a busy port refuses all
            } catch (SpecException | IOException e) {
                ctx.forgetRecord(name); // nothing else is made yet (a same-named cgroup may not be ours)
                if (e instanceof SpecException se) {
                    throw se;
                }
                throw RuntimeContext.failed("cannot set up the network of '" + name + "'", e);
            }
            try {
                ctx.driver.create(leaf, config.limits());
            } catch (CgroupException.Exists e) {
                try {
                    removeStaleCgroup(leaf);
                } catch (ContainerException notOurs) { // its processes are left alone, and so is their cgroup
                    ctx.forgetRecord(name);
                    throw notOurs;
                }
                ctx.driver.create(leaf, config.limits());
            }
            pinImage(name, spec);
        } catch (CgroupException.InvalidValue e) {
            ctx.discard(name);
            throw LimitRefusals.explain(e, spec.limits());
        } catch (CgroupException e) {
            ctx.discard(name);
            throw RuntimeContext.failed("cannot create the cgroup of '" + name + "'", e);
        } catch (IOException e) {
            ctx.discard(name);
            throw RuntimeContext.failed("cannot record '" + name + "'", e);
        }
        return record.withState(ContainerState.CREATED);
    }

    /**
     * A leftover empty cgroup of the same leaf (from a crash before its record was written) is removed; asked only
     * when the create found one, so a new name costs no existence checks.
     */
    private void removeStaleCgroup(String leaf) throws CgroupException, ContainerException {
        ContainerCgroup stale = ctx.driver.open(leaf);
        if (!stale.pids().isEmpty()) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "cgroup " + stale.path()
                    + " exists and has processes that no record accounts for");
        }
        stale.remove();
    }

    /** A container made from an image pins it and gets its root filesystem's directories. */
    private void pinImage(String name, ContainerSpec spec) throws IOException, SpecException, ContainerException {
        if (spec.image() == null) {
            return;
        }
        try {
            ctx.images.create(name, spec.image());
        } catch (SpecException | ContainerException e) {
            ctx.discard(name);
            throw e;
        }
    }

    /** The spec with its image's config filled in where the spec is silent; unchanged without an image. */
    ContainerSpec withImageDefaults(ContainerSpec spec, String name) throws SpecException, ContainerException {
        try {
            return ctx.images.withDefaults(spec, name);
        } catch (IOException e) {
            throw RuntimeContext.failed("cannot read the image of '" + spec.name() + "'", e);
        }
    }
}
