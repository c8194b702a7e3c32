package dev.corral.policies.engine;

/**
 * The answer to "may this container start?".
 *
 * @param outcome        start now, wait in the queue, or refuse
 * @param resource       "cpu" or "memory" when it does not fit, else null (also when it only waits behind others)
 * @param message        why, naming the resource: the refusal's error, or the reason a container is queued
 * @param dominantShare  the container's dominant share: its larger guaranteed fraction of host cpu or memory
 * @param deadlineMillis when a newly queued container is refused if still not admitted (0 unless queued)
 * @param audit          the record of the decision; null when nothing changed (a queued container still waits)
 */
public record Admission(Outcome outcome, String resource, String message, double dominantShare,
                        long deadlineMillis, Audit audit) {

    public enum Outcome { ADMIT, QUEUE, REFUSE }

    public boolean admitted() {
        return outcome == Outcome.ADMIT;
    }

    public boolean queued() {
        return outcome == Outcome.QUEUE;
    }
}
