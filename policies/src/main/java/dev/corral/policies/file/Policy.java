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

    /** Actions are applied (the default for Corral's own containers). */
    public static final String GOVERN = "govern";
    /** Actions are decided, audited and exported as dry runs, never applied (the default for foreign ones). */
    public static final String OBSERVE = "observe";

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

    /** The class one of Corral's own containers belongs to. */
    public PolicyClass classOf(String containerName, Map<String, String> labels) {
        return classOf(Subject.own(containerName, labels)).orElse(DEFAULT_CLASS);
    }

    /**
     * The class a container belongs to: the first whose selector matches. Corral's own containers fall into
     * {@link #DEFAULT_CLASS} when none does; a container another runtime started is in no class (the policies
     * leave it alone) unless a class selects its runtime.
     */
    public java.util.Optional<PolicyClass> classOf(Subject s) {
        for (PolicyClass c : classes) {
            if (c.selector() == null ? s.runtime().equals(Subject.CORRAL) : c.selector().matches(s)) {
                return java.util.Optional.of(c);
            }
        }
        return s.runtime().equals(Subject.CORRAL) ? java.util.Optional.of(DEFAULT_CLASS) : java.util.Optional.empty();
    }

    /**
     * What a selector looks at.
     *
     * @param runtime   "corral" for Corral's own containers, else the runtime that started it ("docker",
     *                  "podman", "containerd", "cri-o", "cri")
     * @param name      the container's name as its runtime knows it
     * @param image     its image reference, "" when unknown
     * @param namespace its Kubernetes namespace, "" when none
     * @param labels    its labels (the runtime's, for a foreign container)
     */
    public record Subject(String runtime, String name, String image, String namespace, Map<String, String> labels) {

        public static final String CORRAL = "corral";

        public Subject {
            runtime = runtime == null || runtime.isEmpty() ? CORRAL : runtime;
            name = name == null ? "" : name;
            image = image == null ? "" : image;
            namespace = namespace == null ? "" : namespace;
            labels = labels == null ? Map.of() : labels;
        }

        public static Subject own(String name, Map<String, String> labels) {
            return new Subject(CORRAL, name, "", "", labels);
        }

        public boolean foreign() {
            return !runtime.equals(CORRAL);
        }
    }

    /**
     * A class of containers.
     *
     * @param priority    higher survives longer: OOM protection picks victims from the lowest priority
     * @param weight      relative share of CPU and IO; 1 is the kernel default (1024 cpu.shares, cpu.weight 100)
     * @param isProtected never killed or frozen by OOM protection
     * @param selector    which containers belong; null selects every one of Corral's own containers (a
     *                    catch-all class); containers of other runtimes only by a selector naming their runtime
     * @param mode        {@link #GOVERN} or {@link #OBSERVE}; null: govern Corral's own containers, observe the
     *                    others (decisions computed, audited and exported as dry runs, nothing applied)
     */
    public record PolicyClass(String name, Integer priority, Double weight, Guarantees guarantees,
                              @JsonProperty("protected") Boolean isProtected, Selector selector, String mode) {

        public PolicyClass(String name, Integer priority, Double weight, Guarantees guarantees, Boolean isProtected,
                           Selector selector) {
            this(name, priority, weight, guarantees, isProtected, selector, null);
        }

        public PolicyClass {
            if (mode != null && !mode.equals(GOVERN) && !mode.equals(OBSERVE)) {
                throw new IllegalArgumentException("mode: must be \"govern\" or \"observe\", got \"" + mode + "\"");
            }
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

        /** Whether its actions are applied to a container of it (foreign: started by another runtime). */
        public boolean governs(boolean foreign) {
            return mode == null ? !foreign : mode.equals(GOVERN);
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
     * Selects containers. {@code runtimes} (default: Corral's own containers only, "*" any runtime), {@code images}
     * and {@code namespaces} (Kubernetes), where given, must all match; then {@code names} (globs with {@code *})
     * or {@code labels} (all must match), where either is given: either selects.
     */
    public record Selector(List<String> names, Map<String, String> labels, List<String> runtimes,
                           List<String> images, List<String> namespaces) {

        public Selector(List<String> names, Map<String, String> labels) {
            this(names, labels, null, null, null);
        }

        public Selector {
            names = names == null ? List.of() : List.copyOf(names);
            labels = labels == null ? Map.of() : Map.copyOf(labels);
            runtimes = runtimes == null ? List.of() : List.copyOf(runtimes);
            images = images == null ? List.of() : List.copyOf(images);
            namespaces = namespaces == null ? List.of() : List.copyOf(namespaces);
            if (names.isEmpty() && labels.isEmpty() && runtimes.isEmpty() && images.isEmpty() && namespaces.isEmpty()) {
                throw new IllegalArgumentException("names: a selector needs names, labels, runtimes, images or "
                        + "namespaces (omit it to select all of Corral's own containers)");
            }
            nonEmpty("names", names);
            nonEmpty("runtimes", runtimes);
            nonEmpty("images", images);
            nonEmpty("namespaces", namespaces);
        }

        private static void nonEmpty(String field, List<String> patterns) {
            for (String n : patterns) {
                if (n == null || n.isEmpty()) {
                    throw new IllegalArgumentException(field + ": an empty pattern selects nothing");
                }
            }
        }

        /** One of Corral's own containers. */
        public boolean matches(String name, Map<String, String> containerLabels) {
            return matches(Subject.own(name, containerLabels));
        }

        public boolean matches(Subject s) {
            if (runtimes.isEmpty() ? s.foreign() : !any(runtimes, s.runtime())) {
                return false;
            }
            if (!images.isEmpty() && !any(images, s.image())) {
                return false;
            }
            if (!namespaces.isEmpty() && !any(namespaces, s.namespace())) {
                return false;
            }
            if (names.isEmpty() && labels.isEmpty()) {
                return true;
            }
            if (any(names, s.name())) {
                return true;
            }
            if (labels.isEmpty()) {
                return false;
            }
            for (Map.Entry<String, String> e : labels.entrySet()) {
                if (!e.getValue().equals(s.labels().get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }

        private static boolean any(List<String> patterns, String text) {
            for (String p : patterns) {
                if (Globs.matches(p, text)) {
                    return true;
                }
            }
            return false;
        }
    }
}
