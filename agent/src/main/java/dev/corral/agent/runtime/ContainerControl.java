package dev.corral.agent.runtime;

import dev.corral.agent.network.TrafficControl;
import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.cgroup.ResourceLimits;
import dev.corral.agent.posix.Posix;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.LimitRefusals;
import dev.corral.agent.spec.LimitsPatch;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecValidator;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What is done to a live container in place: signals, freezing and thawing, changed limits. */
final class ContainerControl {

    private static final Logger LOG = LoggerFactory.getLogger(ContainerControl.class);
    private static final int SIGKILL = 9;

    private final RuntimeContext ctx;
    private final SpecValidator validator;

    ContainerControl(RuntimeContext ctx, SpecValidator validator) {
        this.ctx = ctx;
        this.validator = validator;
    }

    public ContainerRecord kill(String name, int signal) throws ContainerException {
        if (signal < 1 || signal > 64) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "signal " + signal + " is not 1-64");
        }
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            if (!record.state().isLive()) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is not running");
            }
            if (signal == SIGKILL) {
                RuntimeContext.killQuietly(ctx.cgroupOf(record)); // everything in the cgroup, not just init's namespace
            } else {
                signal(record, signal);
            }
            return record;
        }
    }

    public ContainerRecord pause(String name) throws ContainerException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            if (record.state() != ContainerState.RUNNING) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is "
                        + record.state().label() + "; only a running container can be paused");
            }
            try {
                ctx.cgroupOf(record).freeze();
            } catch (CgroupException e) {
                throw RuntimeContext.failed("cannot pause '" + name + "'", e);
            }
            ContainerRecord paused = record.withState(ContainerState.PAUSED);
            ctx.save(paused);
            ctx.emit(ContainerEvent.Type.PAUSED, name, Map.of());
            return paused;
        }
    }

    public ContainerRecord resume(String name) throws ContainerException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            if (record.state() != ContainerState.PAUSED) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is not paused");
            }
            try {
                ctx.cgroupOf(record).thaw();
            } catch (CgroupException e) {
                throw RuntimeContext.failed("cannot resume '" + name + "'", e);
            }
            ContainerRecord running = record.withState(ContainerState.RUNNING);
            ctx.save(running);
            ctx.emit(ContainerEvent.Type.RESUMED, name, Map.of());
            return running;
        }
    }

    /**
     * Changes the limits of a container: the patch is merged over its spec, the whole result validated, and
     * the patched limits applied to every controller or to none.
     */
    public ContainerRecord updateLimits(String name, ContainerSpec.Limits patch)
            throws SpecException, ContainerException {
        synchronized (ctx.lock(name)) {
            ContainerRecord record = ctx.load(name);
            ContainerSpec merged = LimitsPatch.withLimits(record.spec(),
                    LimitsPatch.merge(record.spec().limits(), patch));
            validator.validate(merged);
            ResourceLimits changes = validator.validate(LimitsPatch.withLimits(record.spec(), patch)).limits();
            try {
                ctx.cgroupOf(record).update(changes);
            } catch (CgroupException.InvalidValue | CgroupException.Busy e) {
                throw LimitRefusals.explain(e, patch);
            } catch (CgroupException e) {
                throw RuntimeContext.failed("cannot update the limits of '" + name + "'", e);
            }
            try { // after the cgroup's: a refused value there changes nothing
                TrafficControl.atUpdate(ctx.networks.attachment(name), record.state() == ContainerState.RUNNING
                        || record.state() == ContainerState.PAUSED
                        ? record.initPid() : null, patch, merged.limits());
            } catch (java.io.IOException e) {
                throw RuntimeContext.failed("cannot set the network rate of '" + name + "'", e);
            }
            ContainerRecord updated = record.withSpec(merged);
            ctx.save(updated);
            ctx.emit(ContainerEvent.Type.LIMITS_UPDATED, name, Map.of());
            return updated;
        }
    }

    void signal(ContainerRecord r, int signal) throws ContainerException {
        if (r.initPid() == null) {
            return;
        }
        int errno = Posix.get().kill(r.initPid(), signal);
        if (errno != 0 && errno != 3) { // ESRCH: already gone, the watcher will see the exit
            throw new ContainerException(ContainerException.Kind.FAILED, "kill(" + r.initPid() + ", " + signal + "): "
                    + Posix.get().strerror(errno));
        }
    }

    static void thawQuietly(ContainerCgroup cg) {
        try {
            cg.thaw();
        } catch (CgroupException e) {
            LOG.warn("thawing {} failed: {}", cg.path(), e.getMessage());
        }
    }
}
