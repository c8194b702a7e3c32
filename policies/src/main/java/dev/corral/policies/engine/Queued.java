package dev.corral.policies.engine;

/**
 * A container waiting for admission (the agent keeps these in its container records, so they outlive it).
 *
 * @param queuedAtMillis when it joined the queue: FIFO order within a priority
 * @param deadlineMillis when it is refused if still waiting (fixed when it was queued)
 */
public record Queued(ContainerView view, long queuedAtMillis, long deadlineMillis) {
}
