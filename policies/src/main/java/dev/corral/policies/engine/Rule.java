package dev.corral.policies.engine;

import java.util.List;

/** One built-in policy: keeps its own state (hysteresis, cooldowns, what it set) between cycles. */
interface Rule {

    void decide(Cycle cycle, List<Action> out);

    /** The agent could not apply one of this rule's actions because the kernel refused it (EBUSY). */
    default void refused(Action action, long nowMillis) {
    }

    /** Forgets containers that are gone. */
    void retain(java.util.Set<String> liveNames);
}
