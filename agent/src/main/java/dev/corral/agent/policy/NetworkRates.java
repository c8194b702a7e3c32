package dev.corral.agent.policy;

import dev.corral.agent.ContainerException;
import dev.corral.agent.network.Attachment;
import dev.corral.agent.network.TrafficControl;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.runtime.ContainerState;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.exporter.sample.Limits;
import dev.corral.policies.engine.Action;
import dev.corral.policies.engine.NetworkSample;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * networkFairness's side in the agent: the bridge containers' veth counters for the engine (read only when the
 * policy has a capacity to share), and its rates applied with tc. The rates are the policy's, like its cgroup
 * limits: not written into the spec, lifted back to the spec's own.
 */
final class NetworkRates {

    private NetworkRates() {
    }

    /** Counters of the running bridge containers, by name. */
    static Map<String, NetworkSample> sample(ContainerRuntime runtime, List<ContainerRecord> records) {
        Map<String, NetworkSample> out = new HashMap<>();
        for (ContainerRecord r : records) {
            if (r.state() != ContainerState.RUNNING) {
                continue;
            }
            Optional<Attachment> a = runtime.networks().attachment(r.name());
            if (a.isEmpty()) {
                continue;
            }
            Optional<long[]> c = TrafficControl.counters(a.get());
            if (c.isPresent()) {
                ContainerSpec.NetworkRate own = r.spec().limits() == null ? null : r.spec().limits().network();
                out.put(r.name(), new NetworkSample(System.currentTimeMillis(), c.get()[0], c.get()[1],
                        own(own == null ? null : own.egress()), own(own == null ? null : own.ingress())));
            }
        }
        return out;
    }

    private static long own(Long v) {
        return v == null ? Limits.UNLIMITED : v;
    }

    static void apply(ContainerRuntime runtime, Action.SetNetwork n) throws ContainerException {
        ContainerRecord r = runtime.inspect(n.container());
        if (r.state() != ContainerState.RUNNING || r.initPid() == null) {
            return;
        }
        try {
            TrafficControl.change(runtime.networks().attachment(n.container()), r.initPid(), n.egress(), n.ingress());
        } catch (IOException e) {
            throw new ContainerException(ContainerException.Kind.FAILED, "cannot set the network rate of '"
                    + n.container() + "': " + e.getMessage(), e);
        }
    }
}
