package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static dev.corral.policies.engine.Recorded.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class OomProtectionTest {

    static final String POLICY = "{'classes':["
            + "{'name':'critical','priority':100,'protected':true,'selector':{'labels':{'tier':'critical'}}},"
            + "{'name':'web','priority':50,'selector':{'names':['web-*']}},"
            + "{'name':'batch','priority':10}],"
            + "'policies':{'cpuFairness':{'enabled':false},'memoryPressure':{'enabled':false},"
            + "'ioFairness':{'enabled':false},'oomProtection':{'parentUsageAbove':0.8,'cooldown':'3s'}}}";

    private static Recorded recording(String policy) throws Exception {
        Recorded r = new Recorded(policy, Recorded.v1Host(2, 24 * GIB), 250, false);
        r.parent().memoryLimit = 1 * GIB;
        return r;
    }

    /** Grows the working sets by MiB per cycle and keeps the parent at their sum. */
    private static Runnable grow(Recorded r, Object... cgAndMib) {
        return () -> {
            for (int i = 0; i < cgAndMib.length; i += 2) {
                ((Recorded.Cg) cgAndMib[i]).workingSet += ((Number) cgAndMib[i + 1]).longValue() * MIB;
            }
            long sum = 0;
            for (ContainerView v : r.containers) {
                sum += r.cgroups.get(v.cgroup()).workingSet;
            }
            r.parent().workingSet = sum;
        };
    }

    @Test
    void killsExactlyOneLowestPriorityVictimBeforeTheParentLimitAndNeverTheProtected() throws Exception {
        Recorded r = recording(POLICY);
        Recorded.Cg crit = r.container("db", Map.of("tier", "critical"));
        Recorded.Cg web = r.container("web-1", Map.of());
        Recorded.Cg batch = r.container("job", Map.of());
        crit.workingSet = 500 * MIB; // the biggest and growing fastest, but protected
        web.workingSet = 100 * MIB;
        batch.workingSet = 50 * MIB; // the smallest, but the lowest priority
        int cycles = 0;
        List<Action.Stop> stops = List.of();
        while (stops.isEmpty() && cycles++ < 20) {
            stops = Recorded.of(r.cycle(grow(r, crit, 40, web, 5, batch, 1)), Action.Stop.class);
            assertThat(r.parent().workingSet).isLessThan(GIB); // acted before the kernel would have to
        }
        assertThat(stops).singleElement().satisfies(s -> {
            assertThat(s.container()).isEqualTo("job");
            assertThat(s.freeze()).isFalse();
            assertThat(s.audit().action()).isEqualTo("kill");
            assertThat(s.audit().reason()).isEqualTo("parent-limit");
            assertThat(s.audit().inputs()).containsEntry("priority", 10).containsEntry("parentLimitBytes", GIB);
            assertThat((Long) s.audit().inputs().get("parentWorkingSetBytes")).isGreaterThan(GIB * 8 / 10);
        });
        // The victim's memory takes a moment to go: no second victim within the cooldown.
        for (int i = 0; i < 11; i++) {
            assertThat(Recorded.of(r.cycle(grow(r, crit, 10)), Action.Stop.class)).isEmpty();
        }
        // Still over after the cooldown: the next is web (priority 50), never the protected db.
        r.containers.removeIf(v -> v.name().equals("job"));
        List<Action.Stop> next = Recorded.of(r.cycle(grow(r)), Action.Stop.class);
        assertThat(next).extracting(Action.Stop::container).containsExactly("web-1");
        r.containers.removeIf(v -> v.name().equals("web-1"));
        for (int i = 0; i < 30; i++) {
            assertThat(Recorded.of(r.cycle(grow(r, crit, 10)), Action.Stop.class)).isEmpty();
        }
    }

    @Test
    void amongEqualPrioritiesTheMostAboveItsEntitlementThenTheFastestGrowing() throws Exception {
        Recorded r = recording(POLICY);
        Recorded.Cg a = r.container("a", Map.of());
        Recorded.Cg b = r.container("b", Map.of());
        Recorded.Cg c = r.container("c", Map.of());
        a.workingSet = 300 * MIB;
        b.workingSet = 500 * MIB; // most above its third of the 1 GiB parent
        c.workingSet = 100 * MIB;
        List<Action.Stop> stops = Recorded.of(r.cycle(grow(r, c, 30)), Action.Stop.class);
        assertThat(stops).extracting(Action.Stop::container).containsExactly("b");

        Recorded r2 = recording(POLICY);
        Recorded.Cg x = r2.container("x", Map.of());
        Recorded.Cg y = r2.container("y", Map.of());
        x.workingSet = 390 * MIB;
        y.workingSet = 390 * MIB;
        // equal sizes: the one growing faster goes
        stops = Recorded.of(r2.cycle(grow(r2, x, 1, y, 1)), Action.Stop.class);
        assertThat(stops).isEmpty();
        stops = Recorded.of(r2.cycle(grow(r2, x, 1, y, 20)), Action.Stop.class);
        assertThat(stops).isEmpty(); // 803 MiB: still below 80 % of 1 GiB
        stops = Recorded.of(r2.cycle(grow(r2, x, 20, y, 1)), Action.Stop.class);
        assertThat(stops).extracting(Action.Stop::container).containsExactly("x");
    }

    @Test
    void hostMemAvailableAndSustainedFullPressureTriggerToo() throws Exception {
        String freeze = POLICY.replace("'cooldown':'3s'", "'cooldown':'3s','action':'freeze','minAvailable':'1g',"
                + "'fullPsiThreshold':0.2,'fullPsiFor':'1s'");
        Recorded r = recording(freeze);
        r.parent().memoryLimit = dev.corral.exporter.sample.Limits.UNLIMITED;
        Recorded.Cg a = r.container("a", Map.of());
        a.workingSet = 10 * MIB;
        assertThat(r.cycle(grow(r)).actions()).isEmpty();
        r.availableBytes = 900 * MIB;
        List<Action.Stop> stops = Recorded.of(r.cycle(grow(r)), Action.Stop.class);
        assertThat(stops).singleElement().satisfies(s -> {
            assertThat(s.freeze()).isTrue();
            assertThat(s.audit().action()).isEqualTo("freeze");
            assertThat(s.audit().reason()).isEqualTo("host-available");
        });

        Recorded p = recording(freeze);
        p.parent().memoryLimit = dev.corral.exporter.sample.Limits.UNLIMITED;
        Recorded.Cg b = p.container("b", Map.of());
        b.workingSet = 10 * MIB;
        p.root().memStall = 0; // full is tracked through the root's PSI: stalled 50 % of each interval
        Runnable stall = () -> p.root().memFull += 125_000;
        assertThat(p.cycle(stall).actions()).isEmpty(); // 0 ms
        assertThat(p.cycle(stall).actions()).isEmpty(); // 250 ms
        assertThat(p.cycle(stall).actions()).isEmpty(); // 500 ms
        assertThat(p.cycle(stall).actions()).isEmpty(); // 750 ms
        assertThat(Recorded.of(p.cycle(stall), Action.Stop.class)).singleElement()
                .satisfies(s -> assertThat(s.audit().reason()).isEqualTo("memory-pressure-full"));
    }

    @Test
    void aFrozenVictimKeepsItsMemorySoTheNextIsFrozenOnlyWhenTheOthersGrowIntoTheRest() throws Exception {
        Recorded r = recording(POLICY.replace("'cooldown':'3s'", "'cooldown':'3s','action':'freeze'"));
        Recorded.Cg web = r.container("web-1", Map.of());
        Recorded.Cg batch = r.container("job", Map.of());
        web.workingSet = 300 * MIB;
        batch.workingSet = 500 * MIB;
        // the parent holds both, frozen or not (no swap: a frozen container's memory stays charged)
        Runnable parent = () -> r.parent().workingSet = web.workingSet + batch.workingSet + 50 * MIB;
        List<Action.Stop> stops = Recorded.of(r.cycle(parent), Action.Stop.class);
        assertThat(stops).singleElement().satisfies(s -> {
            assertThat(s.container()).isEqualTo("job");
            assertThat(s.freeze()).isTrue();
            assertThat(s.audit().inputs()).containsEntry("runningWorkingSetBytes", 300 * MIB);
        });
        // The agent lists only running containers: the frozen one drops out, the parent stays over 80 %.
        r.containers.removeIf(v -> v.name().equals("job"));
        for (int i = 0; i < 40; i++) { // 10 s, well past the cooldown
            assertThat(Recorded.of(r.cycle(parent), Action.Stop.class)).as("cycle %d", i).isEmpty();
        }
        web.workingSet += 8 * MIB; // within the 16 MiB margin
        assertThat(Recorded.of(r.cycle(parent), Action.Stop.class)).isEmpty();
        web.workingSet += 40 * MIB; // the one still running grows into what is left: it is next
        assertThat(Recorded.of(r.cycle(parent), Action.Stop.class)).extracting(Action.Stop::container)
                .containsExactly("web-1");
    }
}
