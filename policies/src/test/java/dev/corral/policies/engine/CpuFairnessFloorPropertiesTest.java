package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Builders;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;

/**
 * The floor of CPU fairness (issue #14): whatever the cpusets, weights, own shares, user quotas and outside load,
 * and whatever is wrong with what was sampled of a container (its cpuset missing, not yet written, its parent's,
 * left over from before an update, or its usage missing), the policy never sets a quota below a container's
 * weighted max-min share of the CPUs it may use, and does not lift quotas while contention lasts. The reference
 * share is computed here independently: progressive filling under every set of the host's CPUs (brute force
 * over all 15 on a 4-CPU host), with each busy container taken as using all it may (its cpuset, its own quota)
 * and each idle one at what it used plus what it waited for.
 */
@net.jqwik.api.Tag("unit")
class CpuFairnessFloorPropertiesTest {

    private static final int CPUS = 4;
    private static final String POLICY = "{'policies':{'memoryPressure':{'enabled':false},"
            + "'oomProtection':{'enabled':false},'ioFairness':{'enabled':false}}}";

    /** What the sample says of a container's cpuset. */
    enum Sampled { EXACT, MISSING, EMPTY, PARENTS, STALE_LARGER }

    /**
     * @param cpus      its true cpuset as a bit mask of CPUs 0-3 (15 with no --cpuset-cpus)
     * @param shares    its own --cpu-shares, 0 for the class weight (1)
     * @param wants     cores it would use (0.01 idle .. its CPUs)
     * @param stall     the share of time it waited for CPU (PSI some); NaN: no PSI files
     * @param userCores its own quota in cores, 0 for none
     */
    record Box(int cpus, boolean pinned, long shares, double wants, double stall, double userCores, Sampled sampled,
               int staleExtra, boolean usageMissing) {

        int count() {
            return Integer.bitCount(cpus);
        }

        double weight() {
            return shares > 0 ? shares / 1024.0 : 1;
        }

        boolean busy() {
            return wants >= 0.05;
        }

        /** What it gets: what it wants within its CPUs and its own quota (not what the kernel would give). */
        double uses() {
            return Math.min(Math.min(wants, count()), userCores > 0 ? userCores : Double.POSITIVE_INFINITY);
        }
    }

    @Provide
    Arbitrary<List<Box>> boxes() {
        Arbitrary<Box> box = Builders.withBuilder(() -> new Object[9])
                .use(Arbitraries.integers().between(0, 15)).in((a, v) -> { a[0] = v; return a; })
                .use(Arbitraries.of(0L, 0L, 128L, 256L, 512L, 768L, 1024L, 2048L, 4096L)).in((a, v) -> { a[1] = v; return a; })
                .use(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.doubles().between(0, 0.04)),
                        net.jqwik.api.Tuple.of(4, Arbitraries.doubles().between(0.05, 4))))
                .in((a, v) -> { a[2] = v; return a; })
                .use(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.just(Double.NaN)),
                        net.jqwik.api.Tuple.of(3, Arbitraries.doubles().between(0, 1))))
                .in((a, v) -> { a[3] = v; return a; })
                .use(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(4, Arbitraries.just(0.0)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.doubles().between(0.1, 3))))
                .in((a, v) -> { a[4] = v; return a; })
                .use(Arbitraries.of(Sampled.class)).in((a, v) -> { a[5] = v; return a; })
                .use(Arbitraries.integers().between(0, 15)).in((a, v) -> { a[6] = v; return a; })
                .use(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(9, Arbitraries.just(false)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.just(true))))
                .in((a, v) -> { a[7] = v; return a; })
                .build(a -> {
                    int mask = (Integer) a[0];
                    boolean pinned = mask != 0;
                    double stall = (Double) a[3];
                    double wants = (Double) a[2];
                    // an idle container waits little; a busy one may wait a lot
                    stall = Double.isNaN(stall) ? stall : wants < 0.05 ? stall * 0.03 : stall;
                    return new Box(pinned ? mask : 15, pinned, (Long) a[1], wants, stall, (Double) a[4],
                            (Sampled) a[5], (Integer) a[6], (Boolean) a[7]);
                });
        return box.list().ofMinSize(2).ofMaxSize(7);
    }

    @Property(tries = 400)
    void noQuotaIsEverBelowTheWeightedMaxMinShareAndNoBusyContainerIsEntitledToNothing(
            @ForAll("boxes") List<Box> boxes, @ForAll @DoubleRange(min = 0, max = 4) double outside) throws Exception {
        Recorded r = new Recorded(POLICY, new HostView(CPUS, 8 * GIB, 4 * GIB, false, Recorded.PARENT), 1000, false);
        List<Recorded.Cg> cgs = setUp(r, boxes);
        double[] floor = reference(boxes);
        for (int cycle = 0; cycle < 6; cycle++) {
            Decision d = r.cycle(step(r, boxes, cgs, outside));
            for (int i = 0; i < boxes.size(); i++) {
                Box b = boxes.get(i);
                Recorded.Cg cg = cgs.get(i);
                Double e = d.entitledCores().get(cg.path);
                if (!b.usageMissing() && b.busy()) {
                    assertThat(e).as("cycle %d: %s entitled", cycle, b).isNotNull().isPositive();
                }
                for (Action.SetCpu q : Recorded.of(d, Action.SetCpu.class)) {
                    if (q.container().equals("c" + i) && q.quotaMicros() != null && !Limits.isUnlimited(q.quotaMicros())) {
                        assertThat(q.quotaMicros() / (double) q.periodMicros()).as("cycle %d: quota of %s (floor %s)",
                                cycle, b, floor[i]).isGreaterThanOrEqualTo(floor[i] - 1e-4);
                    }
                }
            }
            apply(d, cgs);
        }
    }

    /**
     * Under outside load that keeps the host saturated, with the same containers wanting the same all along,
     * contention lasts: no quota is lifted, and after the first cycles none moves any more.
     */
    @Property(tries = 200)
    void whileContentionLastsQuotasAreNeitherLiftedNorKeptMoving(@ForAll("boxes") List<Box> boxes,
                                                                  @ForAll @DoubleRange(min = 3.8, max = 4) double outside)
            throws Exception {
        Recorded r = new Recorded(POLICY, new HostView(CPUS, 8 * GIB, 4 * GIB, false, Recorded.PARENT), 1000, false);
        List<Recorded.Cg> cgs = setUp(r, boxes);
        int quotasLate = 0;
        for (int cycle = 0; cycle < 14; cycle++) {
            Decision d = r.cycle(step(r, boxes, cgs, outside));
            for (Action.SetCpu q : Recorded.of(d, Action.SetCpu.class)) {
                assertThat(q.audit().action()).as("cycle %d: %s", cycle, q.audit()).isNotEqualTo("lift-cpu-quota");
                if (q.quotaMicros() != null && cycle >= 8) {
                    quotasLate++;
                }
            }
            apply(d, cgs);
        }
        assertThat(quotasLate).as("quota changes in cycles 8-13").isZero();
    }

    private static List<Recorded.Cg> setUp(Recorded r, List<Box> boxes) {
        List<Recorded.Cg> cgs = new ArrayList<>();
        for (int i = 0; i < boxes.size(); i++) {
            Box b = boxes.get(i);
            long userQuota = b.userCores() > 0 ? Math.round(b.userCores() * 100_000) : Limits.UNLIMITED;
            Recorded.Cg cg = r.container("c" + i, Map.of(), new ContainerView.Baseline(userQuota, 100_000, b.shares(),
                    Limits.UNLIMITED, Limits.UNLIMITED, 0, Map.of(), b.pinned() ? set(b.cpus()) : null));
            cg.quota = userQuota;
            cg.shares = b.shares() > 0 ? b.shares() : 1024;
            cg.cpus = switch (b.sampled()) {
                case EXACT -> set(b.cpus());
                case MISSING -> null;
                case EMPTY -> CpuSet.EMPTY; // between mkdir and the cpuset write (v1)
                case PARENTS -> set(15); // a v2 cgroup's effective set before its own is written
                case STALE_LARGER -> set(b.cpus() | b.staleExtra()); // from before an update narrowed it
            };
            cg.pressure = !Double.isNaN(b.stall());
            cg.cpuStall = Double.isNaN(b.stall()) ? 0 : b.stall();
            cg.cpuMissing = b.usageMissing();
            cgs.add(cg);
        }
        return cgs;
    }

    /** One interval: each uses what it wants within its quota (throttled when that holds it back). */
    private static Runnable step(Recorded r, List<Box> boxes, List<Recorded.Cg> cgs, double outside) {
        Object[] usage = new Object[2 * boxes.size()];
        for (int i = 0; i < boxes.size(); i++) {
            Recorded.Cg cg = cgs.get(i);
            double uses = boxes.get(i).uses();
            if (!Limits.isUnlimited(cg.quota) && uses > cg.quota / 100_000.0) {
                uses = cg.quota / 100_000.0;
                cg.throttled += 10;
            }
            usage[2 * i] = cg;
            usage[2 * i + 1] = uses;
        }
        return r.cpu(outside, usage);
    }

    private static void apply(Decision d, List<Recorded.Cg> cgs) {
        for (Action.SetCpu q : Recorded.of(d, Action.SetCpu.class)) {
            Recorded.Cg cg = cgs.get(Integer.parseInt(q.container().substring(1)));
            if (q.quotaMicros() != null) {
                cg.quota = q.quotaMicros();
            }
            if (q.shares() != null) {
                cg.shares = q.shares();
            }
        }
    }

    /**
     * Weighted max-min by progressive filling under every subset X of the CPUs: the containers whose cpusets lie
     * within X together get at most |X|. A busy container (or one whose usage was not sampled) is taken as using
     * all it may, an idle one at what it used and waited for.
     */
    static double[] reference(List<Box> boxes) {
        int n = boxes.size();
        double[] demand = new double[n];
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            Box b = boxes.get(i);
            w[i] = b.weight();
            double max = Math.min(b.count(), b.userCores() > 0 ? b.userCores() : Double.POSITIVE_INFINITY);
            demand[i] = b.busy() || b.usageMissing() ? max
                    : Math.min(max, b.uses() + (Double.isNaN(b.stall()) ? 0 : b.stall()) + 0.05);
        }
        double[] alloc = new double[n];
        boolean[] frozen = new boolean[n];
        for (int round = 0; round <= n; round++) {
            double t = Double.POSITIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                if (!frozen[i]) {
                    t = Math.min(t, demand[i] / w[i]);
                }
            }
            for (int x = 1; x < 1 << CPUS; x++) {
                double fixed = 0, growing = 0;
                for (int i = 0; i < n; i++) {
                    if ((boxes.get(i).cpus() & ~x) == 0) {
                        if (frozen[i]) {
                            fixed += alloc[i];
                        } else {
                            growing += w[i];
                        }
                    }
                }
                if (growing > 0) {
                    t = Math.min(t, (Integer.bitCount(x) - fixed) / growing);
                }
            }
            if (t == Double.POSITIVE_INFINITY) {
                break;
            }
            for (int i = 0; i < n; i++) {
                if (!frozen[i]) {
                    alloc[i] = w[i] * t;
                }
            }
            for (int i = 0; i < n; i++) {
                if (!frozen[i] && alloc[i] >= demand[i] - 1e-12) {
                    frozen[i] = true;
                }
            }
            for (int x = 1; x < 1 << CPUS; x++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    if ((boxes.get(i).cpus() & ~x) == 0) {
                        sum += alloc[i];
                    }
                }
                if (sum >= Integer.bitCount(x) - 1e-9) {
                    for (int i = 0; i < n; i++) {
                        if ((boxes.get(i).cpus() & ~x) == 0) {
                            frozen[i] = true;
                        }
                    }
                }
            }
        }
        return alloc;
    }

    private static CpuSet set(int mask) {
        StringBuilder s = new StringBuilder();
        for (int cpu = 0; cpu < CPUS; cpu++) {
            if ((mask & 1 << cpu) != 0) {
                s.append(s.isEmpty() ? "" : ",").append(cpu);
            }
        }
        return CpuSet.parse(s.toString());
    }
}
