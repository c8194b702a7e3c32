package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import java.util.List;

/**
 * Asked before a container starts whether it may: admitted, queued (it waits, and is asked again), or refused (a
 * {@link ContainerException} saying why). The runtime asks one container at a time, so two starts cannot both
 * take the last room.
 */
@FunctionalInterface
public interface AdmissionGate {

    AdmissionGate OPEN = (starting, running, queued) -> Verdict.ADMIT;

    /**
     * @param starting a created or exited container being started, or a queued one being re-checked
     * @param running  the containers running now (the starting one excluded)
     * @param queued   the containers waiting in the queue (the starting one excluded)
     */
    Verdict admit(ContainerRecord starting, List<ContainerRecord> running, List<ContainerRecord> queued)
            throws ContainerException;

    /** The queued containers in the order they may start (asked again in this order); as given by default. */
    default List<ContainerRecord> order(List<ContainerRecord> queued) {
        return queued;
    }

    /**
     * @param queue    wait in the admission queue
     * @param deadline with queue: when it is refused if still waiting
     * @param reason   with queue: why it waits (names the resource)
     */
    record Verdict(boolean queue, long deadline, String reason) {
        public static final Verdict ADMIT = new Verdict(false, 0, null);

        public static Verdict queue(long deadline, String reason) {
            return new Verdict(true, deadline, reason);
        }
    }
}
