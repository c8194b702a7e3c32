package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class LimitsRefreshTest {

    /** The cycles (0-based) on which limits were due, the cgroup's indicators moving on the cycles in {@code moves}. */
    private static List<Integer> dueCycles(LimitsRefresh refresh, int cycles, List<Integer> moves) {
        List<Integer> due = new ArrayList<>();
        for (int c = 0; c < cycles; c++) {
            if (refresh.due(moves.contains(c))) {
                due.add(c);
            }
        }
        return due;
    }

    @Test
    void anActiveCgroupsLimitsAreReadEveryTenCycles() {
        List<Integer> always = new ArrayList<>();
        for (int c = 0; c < 31; c++) {
            always.add(c);
        }
        assertThat(dueCycles(new LimitsRefresh(0), 31, always)).containsExactly(0, 10, 20, 30);
        assertThat(dueCycles(new LimitsRefresh(17), 31, always)).containsExactly(0, 10, 20, 30);
    }

    @Test
    void oneMoveSinceTheLastReadMakesTheCgroupActive() {
        assertThat(dueCycles(new LimitsRefresh(0), 25, List.of(3))).as("idle turns at 60, 120")
                .containsExactly(0, 10);
        assertThat(dueCycles(new LimitsRefresh(0), 25, List.of(14))).as("ten cycles since the last: at once")
                .containsExactly(0, 14);
    }

    @Test
    void anIdleCgroupsLimitsAreReadOnceEverySixtyCyclesStaggeredByPhase() {
        assertThat(dueCycles(new LimitsRefresh(0), 181, List.of())).containsExactly(0, 60, 120, 180);
        assertThat(dueCycles(new LimitsRefresh(25), 181, List.of())).containsExactly(0, 35, 95, 155);
        assertThat(dueCycles(new LimitsRefresh(-1), 130, List.of())).containsExactly(0, 10, 61, 121); // any int
    }

    @Test
    void readsAreNeverFewerThanTenCyclesApartNorMoreThanSixty() {
        for (int phase = 0; phase < LimitsRefresh.IDLE_CYCLES; phase++) {
            List<Integer> due = dueCycles(new LimitsRefresh(phase), 400, List.of(5, 70, 71, 200, 333));
            for (int i = 1; i < due.size(); i++) {
                int gap = due.get(i) - due.get(i - 1);
                assertThat(gap).as("phase %d, reads %s", phase, due)
                        .isBetween(LimitsRefresh.CYCLES, LimitsRefresh.IDLE_CYCLES);
            }
            assertThat(due.get(due.size() - 1)).isGreaterThan(400 - LimitsRefresh.IDLE_CYCLES - 1);
        }
    }

    @Test
    void soonMakesTheNextCycleARead() {
        LimitsRefresh refresh = new LimitsRefresh(0);
        assertThat(refresh.due(false)).isTrue();
        assertThat(refresh.due(false)).isFalse();
        refresh.soon();
        assertThat(refresh.due(false)).isTrue();
        assertThat(refresh.due(true)).isFalse();
    }
}
