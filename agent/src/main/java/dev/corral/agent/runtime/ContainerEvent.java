package dev.corral.agent.runtime;

import java.util.Locale;
import java.util.Map;

/**
 * Something that happened to a container, or to the policy (name ""), with the attributes that go with it.
 */
public record ContainerEvent(Type type, String name, long timeMillis, Map<String, Object> attributes) {

    /** What happened; {@link #wire()} is the name the API, the event stream and the web page use. */
    public enum Type {
        CREATED, STARTED, PAUSED, RESUMED, OOM, EXITED, LIMITS_UPDATED, REMOVED, QUEUED, DEQUEUED,
        /** started again: by its restart policy (attributes restartCount, policy, delayMillis), or by a restart */
        RESTART,
        /** corral rename: the event carries the new name, attribute oldName the one before */
        RENAME,
        /** a policy action (applied or, in a dry run, only recorded) */
        POLICY, POLICY_LOADED, POLICY_REJECTED;

        /** "limits-updated", "policy-loaded", ...: the name on the wire, unchanged by this enum. */
        @com.fasterxml.jackson.annotation.JsonValue
        public String wire() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        @Override
        public String toString() {
            return wire();
        }
    }

    public ContainerEvent {
        attributes = Map.copyOf(attributes);
    }

    /** An event happening now. */
    public static ContainerEvent now(Type type, String name, Map<String, Object> attributes) {
        return new ContainerEvent(type, name, System.currentTimeMillis(), attributes);
    }
}
