package dev.corral.agent.policy;

import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ResourceLimits;
import dev.corral.agent.ContainerException;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.policies.engine.Action;
import java.util.List;

/**
 * Applies the engine's actions through the cgroup drivers (limits are written to the cgroup, not into the
 * container's spec: they are the policy's, lifted later) and the runtime (kill, freeze). Blocking.
 */
final class PolicyActions {

    private static final int SIGKILL = 9;

    private final ContainerRuntime runtime;

    PolicyActions(ContainerRuntime runtime) {
        this.runtime = runtime;
    }

    void apply(Action a) throws CgroupException, ContainerException {
        if (a instanceof Action.SetNetwork n) {
            NetworkRates.apply(runtime, n); // a tc rate on the container's veth, not a cgroup file
        } else if (a instanceof Action.Stop s) {
            if (s.freeze()) {
                runtime.pause(s.container());
            } else {
                runtime.kill(s.container(), SIGKILL);
            }
        } else {
            runtime.cgroupOf(a.container()).update(limitsOf(a));
        }
    }

    /** The cgroup limits a Set action writes. */
    static ResourceLimits limitsOf(Action a) {
        if (a instanceof Action.SetCpu c) {
            return new ResourceLimits(null, new ResourceLimits.Cpu(c.quotaMicros(), null, c.shares(), c.weight(),
                    null, null), null, null);
        } else if (a instanceof Action.SetMemory m) {
            return new ResourceLimits(new ResourceLimits.Memory(m.limit(), m.high(), null, m.softLimit()), null, null,
                    null);
        } else if (a instanceof Action.SetIo io) {
            return new ResourceLimits(null, null, new ResourceLimits.Io(null, List.of(new ResourceLimits.DeviceLimit(
                    io.major(), io.minor(), io.readBps(), io.writeBps(), null, null))), null);
        }
        return ResourceLimits.NONE;
    }
}
