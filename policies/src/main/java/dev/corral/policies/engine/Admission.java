package dev.corral.policies.engine;

/**
 * The answer to "may this container start?".
 *
 * @param resource      "cpu" or "memory" when refused, else null
 * @param dominantShare the container's dominant share: its larger guaranteed fraction of host cpu or memory
 * @param audit         the record of the decision (published whether admitted or refused)
 */
public record Admission(boolean admitted, String resource, String message, double dominantShare, Audit audit) {
}
