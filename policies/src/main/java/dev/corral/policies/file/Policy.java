package dev.corral.policies.file;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A loaded, validated policy file: the classes containers fall into, and the built-in policies with their
 * parameters. Missing fields take the defaults documented in docs/policies.md. Constructors check values and
 * throw {@link IllegalArgumentException} with "field: problem", which {@link PolicyLoader} turns into an error
 * naming the file and the path.
 *
 * @param classes the first class whose selector matches a container is its class; none: {@link #DEFAULT_CLASS}
 * @param dryRun  decide and record, but change nothing
 */
public record Policy(List<PolicyClass> classes, Policies policies, Boolean dryRun) {

    /** The class of a container that no class selects: kernel-default weight, no guarantee, not protected. */
    public static final PolicyClass DEFAULT_CLASS = new PolicyClass("default", 0, 1.0, null, false, null);

    public Policy {
        classes = classes == null ? List.of() : List.copyOf(classes);
        policies = policies == null ? new Policies(null, null, null, null, null) : policies;
        dryRun = dryRun != null && dryRun;
        Set<String> names = new HashSet<>();
        for (int i = 0; i < classes.size(); i++) {
            if (classes.get(i) == null) {
                throw new IllegalArgumentException("classes[" + i + "]: must be an object");
            }
            if (!names.add(classes.get(i).name())) {
                throw new IllegalArgumentException("classes[" + i + "].name: '" + classes.get(i).name()
                        + "' is used by an earlier class");
            }
        }
    }

    /** The class a container belongs to. */
    public PolicyClass classOf(String containerName, Map<String, String> labels) {
        for (PolicyClass c : classes) {
            if (c.selector() == null || c.selector().matches(containerName, labels)) {
                return c;
            }
        }
        return DEFAULT_CLASS;
    }

    /**
     * A class of containers.
     *
     * @param priority    higher survives longer: OOM protection picks victims from the lowest priority
     * @param weight      relative share of CPU and IO; 1 is the kernel default (1024 cpu.shares, cpu.weight 100)
     * @param isProtected never killed or frozen by OOM protection
     * @param selector    which containers belong; null selects every container (a catch-all class)
     */
    public record PolicyClass(String name, Integer priority, Double weight, Guarantees guarantees,
                              @JsonProperty("protected") Boolean isProtected, Selector selector) {

        public PolicyClass {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("name: is required");
            }
            priority = priority == null ? 0 : priority;
            weight = weight == null ? 1.0 : weight;
            if (!(weight > 0) || weight > 100) {
                throw new IllegalArgumentException("weight: must be > 0 and ≤ 100, got " + weight);
            }
            guarantees = guarantees == null ? Guarantees.NONE : guarantees;
            isProtected = isProtected != null && isProtected;
        }
    }

    /**
     * What a container of the class is promised; admission control keeps the sum of guarantees within the host.
     *
     * @param cpu    cores
     * @param memory bytes ("512m" accepted); memory pressure relief never squeezes below it
     * @param io     bytes per second on each device; IO fairness never throttles below it
     */
    public record Guarantees(Double cpu, @com.fasterxml.jackson.databind.annotation.JsonDeserialize(
            using = Sizes.Deserializer.class) Long memory,
                             @com.fasterxml.jackson.databind.annotation.JsonDeserialize(
                                     using = Sizes.Deserializer.class) Long io) {

        public static final Guarantees NONE = new Guarantees(0.0, 0L, 0L);

        public Guarantees {
            cpu = cpu == null ? 0.0 : cpu;
            memory = memory == null ? 0L : memory;
            io = io == null ? 0L : io;
            if (!(cpu >= 0) || cpu > 10_000) {
                throw new IllegalArgumentException("cpu: must be ≥ 0 cores, got " + cpu);
            }
            if (memory < 0) {
                throw new IllegalArgumentException("memory: must be ≥ 0");
            }
            if (io < 0) {
                throw new IllegalArgumentException("io: must be ≥ 0");
            }
        }
    }

    /**
     * Selects containers by name (globs with {@code *}) or labels (all must match). Both given: either selects.
     */
    public record Selector(List<String> names, Map<String, String> labels) {

        public Selector {
            names = names == null ? List.of() : List.copyOf(names);
            labels = labels == null ? Map.of() : Map.copyOf(labels);
            if (names.isEmpty() && labels.isEmpty()) {
                throw new IllegalArgumentException("names: a selector needs names or labels (omit it to select all)");
            }
            for (String n : names) {
                if (n.isEmpty()) {
                    throw new IllegalArgumentException("names: an empty pattern selects nothing");
                }
            }
        }

        public boolean matches(String name, Map<String, String> containerLabels) {
            for (String pattern : names) {
                if (Globs.matches(pattern, name)) {
                    return true;
                }
            }
            if (labels.isEmpty()) {
                return false;
            }
            for (Map.Entry<String, String> e : labels.entrySet()) {
                if (!e.getValue().equals(containerLabels.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
    }
}
