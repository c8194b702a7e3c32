package dev.corral.agent.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The charts' history keeps a fixed window, marks gaps and forgets what left it. */
@Tag("unit")
class HistoryTest {

    private static float[] host(float cpu) {
        float[] h = new float[History.HOST_FIELDS];
        Arrays.fill(h, Float.NaN);
        h[History.H_CPU] = cpu;
        return h;
    }

    private static float[] cgroup(float cpu) {
        float[] v = new float[History.CGROUP_FIELDS];
        Arrays.fill(v, Float.NaN);
        v[0] = cpu;
        return v;
    }

    @Test
    void keepsTheLastPointsOldestFirstAndWraps() {
        History h = new History();
        for (int i = 0; i < History.POINTS + 5; i++) {
            h.add(1000L * i, host(i), Map.of("/a", cgroup(i)));
        }
        List<Long> times = h.times();
        assertThat(times).hasSize(History.POINTS);
        assertThat(times.get(0)).isEqualTo(5000L);
        assertThat(times.get(times.size() - 1)).isEqualTo(1000L * (History.POINTS + 4));
        assertThat(h.host().get("cpu").get(0)).isEqualTo(5f);
        assertThat(h.host().get("memUsed").get(0)).as("unknown is null, not 0").isNull();
        assertThat(h.cgroup("/a", 3).get("cpu")).containsExactly((float) History.POINTS + 2, (float) History.POINTS + 3,
                (float) History.POINTS + 4);
    }

    @Test
    void aFieldThatStandsStillReadsTheSameAsOneThatMovesBeforeAndAfterItFirstChanges() {
        History h = new History();
        h.add(0, host(0), Map.of("/a", cgroup(1)));
        h.add(1, host(0), Map.of("/a", cgroup(1), "/b", cgroup(7)));
        h.add(2, host(0), Map.of("/a", cgroup(1), "/b", cgroup(7)));
        assertThat(h.cgroup("/b", 4).get("cpu")).as("null before it was seen").containsExactly(null, 7f, 7f);
        assertThat(h.cgroup("/b", 4).get("mem")).containsExactly(null, null, null);
        h.add(3, host(0), Map.of("/a", cgroup(1), "/b", cgroup(8)));
        h.add(4, host(0), Map.of("/a", cgroup(1), "/b", cgroup(8)));
        assertThat(h.cgroup("/b", 5).get("cpu")).containsExactly(null, 7f, 7f, 8f, 8f);
        assertThat(h.cgroup("/a", 5).get("cpu")).containsExactly(1f, 1f, 1f, 1f, 1f);
        for (int i = 0; i < History.POINTS; i++) {
            h.add(5 + i, host(0), Map.of("/a", cgroup(1), "/b", cgroup(i % 2)));
        }
        assertThat(h.cgroup("/b", 3).get("cpu")).containsExactly(1f, 0f, 1f);
        assertThat(h.cgroup("/a", History.POINTS).get("cpu")).hasSize(History.POINTS).containsOnly(1f);
        assertThat(h.field(0, 2)).containsEntry("/a", List.of(1f, 1f));
    }

    @Test
    void aCgroupMissingFromACycleHasAGapAndIsForgottenOnceOutOfTheWindow() {
        History h = new History();
        h.add(0, host(0), Map.of("/a", cgroup(1), "/b", cgroup(2)));
        h.add(1, host(0), Map.of("/a", cgroup(1)));
        assertThat(h.cgroup("/b", 2).get("cpu")).containsExactly(2f, null);
        assertThat(h.field(0, 2)).containsKeys("/a", "/b");
        for (int i = 0; i < History.POINTS; i++) {
            h.add(2 + i, host(0), Map.of("/a", cgroup(1)));
        }
        assertThat(h.cgroup("/b", 1)).isNull();
        assertThat(h.cgroup("/a", 1).get("cpu")).containsExactly(1f);
    }

    @Test
    void cgroupsPastTheCapHaveNoHistory() {
        History h = new History();
        Map<String, float[]> many = new HashMap<>();
        for (int i = 0; i < History.MAX_CGROUPS + 10; i++) {
            many.put("/c" + i, cgroup(i));
        }
        h.add(0, host(0), many);
        assertThat(h.field(0, 1)).hasSize(History.MAX_CGROUPS);
    }
}
