package dev.corral.agent.runtime;

import java.util.Map;

/**
 * Something that happened to a container: created, started, paused, resumed, oom, exited, limits-updated,
 * removed (and later, policy actions).
 */
public record ContainerEvent(String type, String name, long timeMillis, Map<String, Object> attributes) {

    public ContainerEvent {
        attributes = Map.copyOf(attributes);
    }
}
