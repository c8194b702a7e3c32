package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.network.JoinedNetwork;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.util.Locale;

/** The container whose network namespace a {@code container:NAME} container joins (network.JoinedNetwork). */
final class NetworkJoin {

    private NetworkJoin() {
    }

    /**
     * At create: NAME must be another container, running now (Docker refuses an unknown one; a stopped one is
     * refused here already so that `run` makes nothing). Null for other networks.
     */
    static ContainerRecord checkAtCreate(StateStore store, String self, ContainerSpec spec) throws SpecException,
            IOException {
        String target = JoinedNetwork.target(spec).orElse(null);
        if (target == null) {
            return null;
        }
        if (target.equals(self)) {
            throw new SpecException("namespaces.network", "a container cannot join its own network");
        }
        ContainerRecord r = store.load(target).orElseThrow(() -> new SpecException("namespaces.network",
                "no container named '" + target + "' whose network to join"));
        if (!running(r)) {
            throw new SpecException("namespaces.network", notRunning(r));
        }
        return r;
    }

    /** At each start: NAME running, or the start is refused (CONFLICT) before anything is launched. */
    static ContainerRecord atStart(StateStore store, ContainerSpec spec) throws ContainerException, IOException {
        String target = JoinedNetwork.target(spec).orElse(null);
        if (target == null) {
            return null;
        }
        ContainerRecord r = store.load(target).orElseThrow(() -> new ContainerException(
                ContainerException.Kind.CONFLICT, "cannot join the network of '" + target + "': no such container"));
        if (!running(r)) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, notRunning(r));
        }
        return r;
    }

    /**
     * Whose /etc files and hostname a joiner of {@code target} gets: the netns's owner, following container:NAME
     * links (C joins B which joined A: A's, as Docker), a few at most; the last one found when a link is gone.
     */
    static ContainerRecord owner(StateStore store, ContainerRecord target) throws IOException {
        ContainerRecord r = target;
        for (int hops = 0; hops < 8; hops++) {
            String next = JoinedNetwork.target(r.spec()).orElse(null);
            ContainerRecord up = next == null ? null : store.load(next).orElse(null);
            if (up == null) {
                return r;
            }
            r = up;
        }
        return r;
    }

    /** The owner's hostname, which the joining container takes (as Docker). */
    static String hostname(ContainerRecord owner) {
        return owner.spec().hostname() == null ? owner.name() : owner.spec().hostname();
    }

    private static boolean running(ContainerRecord r) {
        return r.state() == ContainerState.RUNNING && r.initPid() != null
                && ProcessInfo.isSame(r.monitorPid(), r.monitorStartTicks());
    }

    private static String notRunning(ContainerRecord r) {
        return "cannot join the network of '" + r.name() + "': it is not running ("
                + r.state().name().toLowerCase(Locale.ROOT) + ")";
    }
}
