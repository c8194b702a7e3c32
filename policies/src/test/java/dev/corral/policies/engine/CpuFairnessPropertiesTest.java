package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Entitlements of backlogged containers with random cpusets and weights on a 4-CPU host. */
@net.jqwik.api.Tag("unit")
class CpuFairnessPropertiesTest {

    private static final int CPUS = 4;

    /** @param cpus a bit mask of CPUs 0-3, 0 for "no cpuset known" */
    record Hog(int cpus, int weight) {
    }

    @Provide
    Arbitrary<List<Hog>> hogs() {
        return Combinators.combine(Arbitraries.integers().between(0, 15), Arbitraries.integers().between(1, 5))
                .as(Hog::new).list().ofMinSize(2).ofMaxSize(6);
    }

    @Property(tries = 300)
    void noneIsEntitledToMoreThanItsCpusAndTogetherTheyGetTheCpusTheyCanUse(@ForAll("hogs") List<Hog> hogs)
            throws Exception {
        Recorded r = new Recorded("{'policies':{'memoryPressure':{'enabled':false},'oomProtection':{'enabled':false},"
                + "'ioFairness':{'enabled':false}}}", new HostView(CPUS, 8 * GIB, 4 * GIB, false, Recorded.PARENT),
                1000, false);
        List<Recorded.Cg> cgs = new ArrayList<>();
        CpuSet union = CpuSet.EMPTY;
        boolean unpinned = false;
        int sumOfCpus = 0;
        for (int i = 0; i < hogs.size(); i++) {
            Hog h = hogs.get(i);
            Recorded.Cg cg = r.container("c" + i, Map.of(), new ContainerView.Baseline(Limits.UNLIMITED, 100_000,
                    1024L * h.weight(), Limits.UNLIMITED, Limits.UNLIMITED, 0, Map.of()));
            cg.shares = 1024L * h.weight();
            cg.cpus = h.cpus() == 0 ? null : CpuSet.parse(list(h.cpus()));
            cg.cpuStall = 1.0;
            unpinned |= cg.cpus == null;
            union = cg.cpus == null ? union : union.union(cg.cpus);
            sumOfCpus += cg.cpus == null ? CPUS : cg.cpus.count();
            cgs.add(cg);
        }
        Object[] usage = new Object[2 * cgs.size()];
        for (int i = 0; i < cgs.size(); i++) {
            usage[2 * i] = cgs.get(i);
            usage[2 * i + 1] = 0.5;
        }
        Decision d = r.cycle(() -> {
            cgs.forEach(cg -> cg.throttled += 10); // held back: each would use all it can run on
            r.cpu(0, usage).run();
        });
        double capacity = unpinned ? CPUS : union.count();
        double total = 0;
        for (Recorded.Cg cg : cgs) {
            double e = d.entitledCores().get(cg.path);
            assertThat(e).isLessThanOrEqualTo((cg.cpus == null ? CPUS : cg.cpus.count()) + 1e-9);
            total += e;
        }
        assertThat(total).isCloseTo(Math.min(capacity, sumOfCpus), within(1e-6));
        // those whose cpusets lie within a busy one's CPUs together get no more than those CPUs
        for (Recorded.Cg s : cgs) {
            if (s.cpus == null) {
                continue;
            }
            double within = 0;
            for (Recorded.Cg o : cgs) {
                if (o.cpus != null && o.cpus.intersect(s.cpus).equals(o.cpus)) {
                    within += d.entitledCores().get(o.path);
                }
            }
            assertThat(within).as("within %s", s.cpus).isLessThanOrEqualTo(s.cpus.count() + 1e-6);
        }
    }

    private static String list(int mask) {
        StringBuilder s = new StringBuilder();
        for (int cpu = 0; cpu < CPUS; cpu++) {
            if ((mask & 1 << cpu) != 0) {
                s.append(s.isEmpty() ? "" : ",").append(cpu);
            }
        }
        return s.toString();
    }
}
