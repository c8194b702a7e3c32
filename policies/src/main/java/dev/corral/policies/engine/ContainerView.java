package dev.corral.policies.engine;

import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.util.Map;

/**
 * What the engine knows of a container besides its samples: the agent builds it from its records (the
 * policies module does not depend on the agent).
 *
 * @param name     the key the rules keep their state by: a Corral container's name; for a foreign one its
 *                 cgroup path (unique, and kept through a rename)
 * @param cgroup   the cgroup path, e.g. "/corral/web", the key of its samples in the snapshot
 * @param baseline the limits the user asked for (for a foreign container: the owner's values): what a lifted
 *                 policy limit goes back to
 * @param foreign  who started it when not Corral, else null
 */
public record ContainerView(String name, String cgroup, Map<String, String> labels, Baseline baseline,
                            Foreign foreign) {

    public ContainerView {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        baseline = baseline == null ? Baseline.NONE : baseline;
    }

    /** One of Corral's own containers. */
    public ContainerView(String name, String cgroup, Map<String, String> labels, Baseline baseline) {
        this(name, cgroup, labels, baseline, null);
    }

    /** What the class selectors look at. */
    public dev.corral.policies.file.Policy.Subject subject() {
        return foreign == null ? dev.corral.policies.file.Policy.Subject.own(name, labels)
                : new dev.corral.policies.file.Policy.Subject(foreign.runtime(), foreign.name(), foreign.image(),
                foreign.namespace(), labels);
    }

    /** Whether its owner marks it critical: the policies never kill or freeze it. */
    public boolean ownerCritical() {
        return foreign != null && Foreign.critical(labels);
    }

    /**
     * A container another runtime started (read-only to Corral unless a govern class selects it).
     *
     * @param runtime   "docker", "podman", "containerd", "cri-o" or "cri"
     * @param name      its name as the runtime knows it ("" until known)
     * @param image     its image, "" when unknown
     * @param namespace its Kubernetes namespace, "" when none
     */
    public record Foreign(String runtime, String name, String image, String namespace) {

        /** Kubernetes' own priority classes for the pods a node or cluster cannot run without. */
        static final java.util.Set<String> CRITICAL_CLASSES = java.util.Set.of("system-node-critical",
                "system-cluster-critical");

        public Foreign {
            name = name == null ? "" : name;
            image = image == null ? "" : image;
            namespace = namespace == null ? "" : namespace;
        }

        /**
         * Critical to its owner: a Kubernetes priority class label (any key ending in "priorityClassName" or
         * "priority-class", as kubelet and operators record it) naming system-node-critical or
         * system-cluster-critical, or the legacy critical-pod annotation.
         */
        public static boolean critical(Map<String, String> labels) {
            for (Map.Entry<String, String> e : labels.entrySet()) {
                String k = e.getKey().toLowerCase(java.util.Locale.ROOT);
                if ((k.endsWith("priorityclassname") || k.endsWith("priority-class"))
                        && CRITICAL_CLASSES.contains(e.getValue())) {
                    return true;
                }
                if (k.endsWith("scheduler.alpha.kubernetes.io/critical-pod")) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * The user's own limits. {@link Limits#UNLIMITED} where there is none.
     *
     * @param cpuShares         the spec's own cpu.shares (its weight converted), 0 when it sets none: a container
     *                          that sets its own keeps it, and its CPU weight is shares / 1024
     * @param memoryReservation the spec's memory reservation (v1 soft limit, v2 memory.low), 0 when none
     * @param io                per "MAJOR:MINOR": the user's read and write throttles
     * @param cpus              the CPUs its spec pins it to (--cpuset-cpus), null when it sets none: what the
     *                          policies fall back to while the sampled cpuset is missing, not yet written or stale
     */
    public record Baseline(long cpuQuotaMicros, long cpuPeriodMicros, long cpuShares, long memoryMax,
                           long memoryHigh, long memoryReservation, Map<String, DeviceThrottle> io, CpuSet cpus) {

        public static final Baseline NONE = new Baseline(Limits.UNLIMITED,
                dev.corral.exporter.sample.CgroupConversions.DEFAULT_CPU_PERIOD_MICROS, 0, Limits.UNLIMITED,
                Limits.UNLIMITED, 0, Map.of());

        public Baseline {
            io = io == null ? Map.of() : Map.copyOf(io);
            cpus = cpus == null || cpus.count() == 0 ? null : cpus;
        }

        /** Without a cpuset of its own. */
        public Baseline(long cpuQuotaMicros, long cpuPeriodMicros, long cpuShares, long memoryMax, long memoryHigh,
                        long memoryReservation, Map<String, DeviceThrottle> io) {
            this(cpuQuotaMicros, cpuPeriodMicros, cpuShares, memoryMax, memoryHigh, memoryReservation, io, null);
        }

        public DeviceThrottle ioOf(String device) {
            return io.getOrDefault(device, DeviceThrottle.NONE);
        }
    }

    /** Bytes per second; {@link Limits#UNLIMITED} when not throttled. */
    public record DeviceThrottle(long readBps, long writeBps) {
        public static final DeviceThrottle NONE = new DeviceThrottle(Limits.UNLIMITED, Limits.UNLIMITED);
    }
}
