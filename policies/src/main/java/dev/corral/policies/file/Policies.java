package dev.corral.policies.file;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.util.Map;

/**
 * The built-in policies and their parameters; an omitted policy runs with its defaults, {@code "enabled":
 * false} turns it off. Shares and thresholds are fractions (0.2 = 20 %); durations accept "500ms", "2s".
 */
public record Policies(CpuFairness cpuFairness, MemoryPressure memoryPressure, OomProtection oomProtection,
                       IoFairness ioFairness, Admission admission, NetworkFairness networkFairness) {

    /** Without networkFairness (its defaults). */
    public Policies(CpuFairness cpuFairness, MemoryPressure memoryPressure, OomProtection oomProtection,
                    IoFairness ioFairness, Admission admission) {
        this(cpuFairness, memoryPressure, oomProtection, ioFairness, admission, null);
    }

    public Policies {
        cpuFairness = cpuFairness == null ? new CpuFairness(null, null, null, null, null, null) : cpuFairness;
        memoryPressure = memoryPressure == null ? new MemoryPressure(null, null, null, null, null, null, null, null,
                null, null)
                : memoryPressure;
        oomProtection = oomProtection == null ? new OomProtection(null, null, null, null, null, null, null)
                : oomProtection;
        ioFairness = ioFairness == null ? new IoFairness(null, null, null, null, null, null, null, null)
                : ioFairness;
        admission = admission == null ? new Admission(null, null, null, null, null, null) : admission;
        networkFairness = networkFairness == null ? new NetworkFairness(null, null, null, null, null, null, null)
                : networkFairness;
    }

    static double fraction(String field, Double v, double dflt, double max) {
        double x = v == null ? dflt : v;
        if (!(x >= 0) || x > max) {
            throw new IllegalArgumentException(field + ": must be between 0 and " + max + ", got " + x);
        }
        return x;
    }

    static long positive(String field, Long v, long dflt) {
        long x = v == null ? dflt : v;
        if (x < 0) {
            throw new IllegalArgumentException(field + ": must be ≥ 0");
        }
        return x;
    }

    /**
     * Weighted, work-conserving CPU fairness: weights become cpu.shares / cpu.weight; under contention a
     * container using more than its weighted max-min fair share gets a CFS quota at that share.
     *
     * @param saturation   host CPU busy fraction that means contention
     * @param psiThreshold share of time some task waited for CPU (host PSI) that means contention
     * @param tolerance    usage above the entitlement tolerated before a quota, and quota changes smaller than
     *                     this fraction are not written (hysteresis)
     * @param liftAfter    quotas are lifted once contention has been over this long
     * @param cooldown     least time between two quota changes of one container
     */
    public record CpuFairness(Boolean enabled, Double saturation, Double psiThreshold, Double tolerance,
                              @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long liftAfter,
                              @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long cooldown) {
        public CpuFairness {
            enabled = enabled == null || enabled;
            saturation = fraction("saturation", saturation, 0.9, 1);
            psiThreshold = fraction("psiThreshold", psiThreshold, 0.3, 1);
            tolerance = fraction("tolerance", tolerance, 0.1, 1);
            liftAfter = positive("liftAfter", liftAfter, 2000);
            cooldown = positive("cooldown", cooldown, 1000);
        }
    }

    /**
     * Memory pressure relief (senpai-like on v2 through memory.high; soft limits on v1).
     *
     * @param pressureTarget    share of time a container may stall on memory (PSI some) before it is loosened
     * @param hostAvailableBelow the host is "tight" when MemAvailable falls below this fraction of its memory
     * @param parentUsageAbove  ... or when the agent's parent cgroup uses more than this fraction of its memory
     *                          limit (when it has one)
     * @param loosen            memory.high grows by this fraction when a container stalls
     * @param tighten           a squeezed container's limit shrinks by this fraction per step
     * @param interval          least time between two changes of one container
     * @param relaxAfter        limits the policy set are lifted once the host is not tight for this long
     * @param workingSetMargin  a v1 hard limit is never set below the working set × (1 + this)
     * @param v1Limits          on v1, also lower memory.limit_in_bytes toward the working set (cache only)
     */
    public record MemoryPressure(Boolean enabled, Double pressureTarget, Double hostAvailableBelow,
                                 Double parentUsageAbove, Double loosen, Double tighten,
                                 @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long interval,
                                 @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long relaxAfter,
                                 Double workingSetMargin, Boolean v1Limits) {
        public MemoryPressure {
            enabled = enabled == null || enabled;
            pressureTarget = fraction("pressureTarget", pressureTarget, 0.05, 1);
            hostAvailableBelow = fraction("hostAvailableBelow", hostAvailableBelow, 0.15, 1);
            parentUsageAbove = fraction("parentUsageAbove", parentUsageAbove, 0.8, 1);
            loosen = fraction("loosen", loosen, 0.25, 10);
            tighten = fraction("tighten", tighten, 0.05, 0.5);
            interval = positive("interval", interval, 2000);
            relaxAfter = positive("relaxAfter", relaxAfter, 30_000);
            workingSetMargin = fraction("workingSetMargin", workingSetMargin, 0.1, 10);
            v1Limits = v1Limits == null || v1Limits;
        }
    }

    /**
     * Pre-emptive OOM protection: one container is killed (or frozen) before the kernel's OOM killer acts.
     *
     * @param action           "kill" or "freeze"
     * @param minAvailable     act when the host's MemAvailable falls below this many bytes
     * @param parentUsageAbove act when the agent's parent cgroup uses more than this fraction of its memory
     *                         limit (when it has one)
     * @param fullPsiThreshold act when the host's memory PSI "full" stays above this share ...
     * @param fullPsiFor       ... for this long
     * @param cooldown         least time between two victims (their memory takes a moment to be freed)
     */
    public record OomProtection(Boolean enabled, String action,
                                @JsonDeserialize(using = Sizes.Deserializer.class) Long minAvailable,
                                Double parentUsageAbove, Double fullPsiThreshold,
                                @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long fullPsiFor,
                                @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long cooldown) {
        public OomProtection {
            enabled = enabled == null || enabled;
            action = action == null ? "kill" : action;
            if (!action.equals("kill") && !action.equals("freeze")) {
                throw new IllegalArgumentException("action: must be \"kill\" or \"freeze\", got \"" + action + "\"");
            }
            minAvailable = positive("minAvailable", minAvailable, 256L << 20);
            parentUsageAbove = fraction("parentUsageAbove", parentUsageAbove, 0.9, 1);
            fullPsiThreshold = fraction("fullPsiThreshold", fullPsiThreshold, 0.2, 1);
            fullPsiFor = positive("fullPsiFor", fullPsiFor, 2000);
            cooldown = positive("cooldown", cooldown, 3000);
        }
    }

    /**
     * IO fairness under device saturation: blkio.throttle (v1) / io.max (v2) at weighted max-min shares.
     *
     * @param saturation     a device is saturated when its throughput reaches this fraction of its measured
     *                       capacity (the highest total seen, or {@code capacity})
     * @param psiThreshold   or when the host's IO PSI "some" exceeds this share
     * @param headroom       the fraction of the capacity that is shared out (the rest keeps latency low)
     * @param liftAfter      throttles are lifted once contention has been over this long
     * @param cooldown       least time between two changes of one container's throttle
     * @param minActive      bytes per second below which a container does not count as doing IO
     * @param capacity       known capacities in bytes per second by "MAJOR:MINOR" (else measured)
     */
    public record IoFairness(Boolean enabled, Double saturation, Double psiThreshold, Double headroom,
                             @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long liftAfter,
                             @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long cooldown,
                             @JsonDeserialize(using = Sizes.Deserializer.class) Long minActive,
                             Map<String, Long> capacity) {
        public IoFairness {
            enabled = enabled == null || enabled;
            saturation = fraction("saturation", saturation, 0.8, 1);
            psiThreshold = fraction("psiThreshold", psiThreshold, 0.5, 1);
            headroom = fraction("headroom", headroom, 0.9, 1);
            liftAfter = positive("liftAfter", liftAfter, 1000);
            cooldown = positive("cooldown", cooldown, 1000);
            minActive = positive("minActive", minActive, 512L << 10);
            capacity = capacity == null ? Map.of() : Map.copyOf(capacity);
            for (Map.Entry<String, Long> e : capacity.entrySet()) {
                if (!e.getKey().matches("[0-9]+:[0-9]+")) {
                    throw new IllegalArgumentException("capacity: '" + e.getKey() + "' is not MAJOR:MINOR");
                }
                if (e.getValue() == null || e.getValue() <= 0) {
                    throw new IllegalArgumentException("capacity: " + e.getKey() + " must be > 0 bytes/s");
                }
            }
        }
    }

    /**
     * Network fairness on a shared rate: the bridge's uplink, or whatever the containers' traffic shares, given as
     * {@code capacity}. Each direction (what containers send, what they receive) on its own: when at least two
     * containers move traffic and their total reaches {@code saturation} of the capacity, the capacity (times
     * headroom) is shared by weighted max-min over their demands (class weights) and each one above its share gets
     * a tc rate at it (TrafficControl; never above its own --network-rate); rates are lifted once contention has
     * been over liftAfter. Does nothing (reads no counters) without a capacity.
     *
     * @param capacity   the shared rate in bytes per second, or tc's form ("100mbit", "1gbit"); 0: off
     * @param saturation the traffic is contended when its total reaches this fraction of the capacity
     * @param headroom   the fraction of the capacity that is shared out
     * @param liftAfter  rates are lifted once contention has been over this long
     * @param cooldown   least time between two changes of one container's rate
     * @param minActive  bytes per second below which a container does not count as moving traffic
     */
    public record NetworkFairness(Boolean enabled,
                                  @JsonDeserialize(using = Sizes.RateDeserializer.class) Long capacity,
                                  Double saturation, Double headroom,
                                  @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long liftAfter,
                                  @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long cooldown,
                                  @JsonDeserialize(using = Sizes.RateDeserializer.class) Long minActive) {
        public NetworkFairness {
            enabled = enabled == null || enabled;
            capacity = positive("capacity", capacity, 0);
            saturation = fraction("saturation", saturation, 0.9, 1);
            headroom = fraction("headroom", headroom, 0.95, 1);
            liftAfter = positive("liftAfter", liftAfter, 2000);
            cooldown = positive("cooldown", cooldown, 1000);
            minActive = positive("minActive", minActive, 16_000);
        }
    }

    /**
     * Admission control by weighted DRF: a start whose guarantees would overcommit the host is refused, or queued.
     *
     * @param cpuOvercommit   guaranteed cores may sum to this many times the host's cores
     * @param memoryFraction  guaranteed memory may sum to this fraction of the host's memory
     * @param onOvercommit    "refuse" (the start fails at once) or "queue" (it waits, ordered by class priority
     *                        then arrival, and starts by itself once it fits)
     * @param queueTimeout    a queued container still not admitted after this long is refused
     * @param maxQueued       a start that would queue while this many containers wait is refused instead: each
     *                        queued container holds a record and a cgroup until it starts or times out
     */
    public record Admission(Boolean enabled, Double cpuOvercommit, Double memoryFraction, String onOvercommit,
                            @JsonDeserialize(using = Sizes.MillisDeserializer.class) Long queueTimeout,
                            Integer maxQueued) {
        public Admission {
            enabled = enabled == null || enabled;
            cpuOvercommit = fraction("cpuOvercommit", cpuOvercommit, 1.0, 100);
            memoryFraction = fraction("memoryFraction", memoryFraction, 0.9, 1);
            onOvercommit = onOvercommit == null ? "refuse" : onOvercommit;
            if (!onOvercommit.equals("refuse") && !onOvercommit.equals("queue")) {
                throw new IllegalArgumentException("onOvercommit: must be \"refuse\" or \"queue\", got \""
                        + onOvercommit + "\"");
            }
            queueTimeout = positive("queueTimeout", queueTimeout, 600_000);
            if (queueTimeout < 1000) {
                throw new IllegalArgumentException("queueTimeout: must be at least 1s, got " + queueTimeout + "ms");
            }
            maxQueued = maxQueued == null ? 100 : maxQueued;
            if (maxQueued < 1 || maxQueued > 10_000) {
                throw new IllegalArgumentException("maxQueued: must be 1 to 10000, got " + maxQueued);
            }
        }

        public boolean queues() {
            return onOvercommit.equals("queue");
        }
    }
}
