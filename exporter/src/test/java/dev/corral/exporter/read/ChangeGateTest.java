package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Absent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class ChangeGateTest {

    /** The cycles (0-based) on which the gate asked for a full read, over {@code cycles} unchanging cycles. */
    private static List<Integer> dueCycles(ChangeGate gate, int cycles) {
        List<Integer> due = new ArrayList<>();
        for (int c = 0; c < cycles; c++) {
            if (gate.due(100, 200)) {
                due.add(c);
                gate.fullReadDone(false);
            }
        }
        return due;
    }

    @Test
    void anIdleCgroupIsReadFullyFirstAndThenOnlyByTheSweep() {
        ChangeGate gate = new ChangeGate(0);
        assertThat(dueCycles(gate, 31)).containsExactly(0, 10, 20, 30);
    }

    @Test
    void theSweepIsLightButEveryFullSweepCyclesAndAReadForAChangeIsNeverLight() {
        ChangeGate gate = new ChangeGate(0);
        List<Integer> full = new ArrayList<>();
        List<Integer> light = new ArrayList<>();
        for (int c = 0; c <= ChangeGate.FULL_SWEEP_CYCLES; c++) {
            if (gate.due(100, 200)) {
                (gate.light() ? light : full).add(c);
                gate.fullReadDone(false);
            }
        }
        assertThat(full).containsExactly(0, ChangeGate.FULL_SWEEP_CYCLES);
        assertThat(light).containsExactly(10, 20, 30, 40, 50);
        for (int c = 1; c < ChangeGate.SWEEP_CYCLES; c++) {
            gate.due(100, 200);
        }
        assertThat(gate.due(100, 201)).as("moved on a sweep's cycle").isTrue();
        assertThat(gate.light()).isFalse();
        gate.fullReadDone(true);
        assertThat(gate.due(100, 201)).as("work in progress").isTrue();
        assertThat(gate.light()).isFalse();
    }

    @Test
    void thePhaseSpreadsTheSweepOverTheCycles() {
        assertThat(dueCycles(new ChangeGate(3), 25)).containsExactly(0, 7, 17);
        assertThat(dueCycles(new ChangeGate(-1), 25)).containsExactly(0, 1, 11, 21); // any int, negative too
        assertThat(dueCycles(new ChangeGate(13), 25)).containsExactly(0, 7, 17);
    }

    @Test
    void eachIndicatorThatMovesMakesThatCycleAFullReadAndOnlyThatCycle() {
        ChangeGate gate = new ChangeGate(2); // sweeps on cycles 8, 18, ...
        assertThat(gate.due(100, 200)).isTrue();
        gate.fullReadDone(false);
        assertThat(gate.due(100, 200)).isFalse();
        assertThat(gate.due(101, 200)).as("cpu usage moved").isTrue();
        gate.fullReadDone(false);
        assertThat(gate.due(101, 200)).isFalse();
        assertThat(gate.due(101, 196)).as("memory usage fell").isTrue();
        gate.fullReadDone(false);
        assertThat(gate.due(101, 196)).as("cycle 5: no indicator moved").isFalse();
        assertThat(gate.due(101, 196)).isFalse();
        assertThat(gate.due(101, 196)).isFalse();
        assertThat(gate.due(101, 196)).as("sweep on cycle 8").isTrue();
        gate.fullReadDone(false);
        assertThat(gate.due(101, 196)).isFalse();
    }

    @Test
    void movedSaysWhetherAnIndicatorMovedThisCycleNotWhetherTheSweepCame() {
        ChangeGate gate = new ChangeGate(1); // sweeps on cycles 9, 19, ...
        gate.due(100, 200);
        assertThat(gate.moved()).as("the first cycle").isTrue();
        for (int c = 1; c < 9; c++) {
            gate.due(100, 200);
            assertThat(gate.moved()).isFalse();
        }
        assertThat(gate.due(100, 200)).as("the sweep").isTrue();
        assertThat(gate.moved()).isFalse();
        gate.due(100, 201);
        assertThat(gate.moved()).isTrue();
    }

    @Test
    void workInProgressAtTheLastFullReadKeepsTheReadsGoingUntilItSettles() {
        ChangeGate gate = new ChangeGate(5);
        gate.due(100, 200);
        gate.fullReadDone(true); // e.g. a PSI total grew: a task blocked in IO, not running
        assertThat(gate.due(100, 200)).as("nothing moved, but the stall goes on").isTrue();
        gate.fullReadDone(true);
        assertThat(gate.due(100, 200)).isTrue();
        gate.fullReadDone(false); // the numbers stood still
        assertThat(gate.due(100, 200)).isFalse();
    }

    @Test
    void aFileThatStopsReadingCountsAsMovedSoTheReaderFindsOutWhetherTheCgroupIsGone() {
        ChangeGate gate = new ChangeGate(5);
        gate.due(100, 200);
        gate.fullReadDone(false);
        assertThat(gate.due(100, Absent.VALUE)).isTrue();
    }

    @Test
    void withoutAnyIndicatorEveryCycleIsAFullRead() {
        ChangeGate gate = new ChangeGate(5);
        for (int c = 0; c < 4; c++) {
            assertThat(gate.due(Absent.VALUE, Absent.VALUE)).isTrue();
            gate.fullReadDone(false);
        }
    }

    @Test
    void soonMakesTheNextCycleAFullRead() {
        ChangeGate gate = new ChangeGate(5);
        gate.due(100, 200);
        gate.fullReadDone(false);
        assertThat(gate.due(100, 200)).isFalse();
        gate.soon();
        assertThat(gate.due(100, 200)).isTrue();
        gate.fullReadDone(false);
        assertThat(gate.due(100, 200)).isFalse();
    }
}
