package dev.corral.exporter.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
@net.jqwik.api.Tag("unit")
class CpuSetTest {

    @Test
    void parsesTheKernelsListForm() {
        CpuSet s = CpuSet.parse("0-3,6,8-9\n");
        assertThat(s.count()).isEqualTo(7);
        assertThat(s.contains(6)).isTrue();
        assertThat(s.contains(7)).isFalse();
        assertThat(s).hasToString("0-3,6,8-9");
        assertThat(CpuSet.parse("\n")).isEqualTo(CpuSet.EMPTY);
        assertThat(CpuSet.EMPTY.count()).isZero();
        assertThat(CpuSet.parse("64-65").count()).isEqualTo(2);
        assertThat(CpuSet.parse("1")).isEqualTo(CpuSet.parse("1-1"));
    }

    @Test
    void anythingElseIsNotACpuList() {
        for (String bad : new String[] {"a", "1-", "-1", "3-1", "1,,2", "1,", "1 2", "99999999999"}) {
            assertThat(CpuSet.parse(bad)).as(bad).isNull();
        }
    }

    @Test
    void unionAndIntersection() {
        CpuSet a = CpuSet.parse("0");
        CpuSet b = CpuSet.parse("0-1");
        assertThat(a.union(b)).isEqualTo(b);
        assertThat(a.intersect(b)).isEqualTo(a);
        assertThat(CpuSet.parse("0,70").union(CpuSet.parse("1")).count()).isEqualTo(3);
        assertThat(CpuSet.parse("70").intersect(CpuSet.parse("1"))).isEqualTo(CpuSet.EMPTY);
        assertThat(CpuSet.firstN(2)).isEqualTo(b);
    }

    @Property
    void theListFormRoundTripsAndCountsAreThoseOfABitSet(@ForAll @Size(max = 40) Set<@IntRange(max = 200) Integer> a,
                                                          @ForAll @Size(max = 40) Set<@IntRange(max = 200) Integer> b) {
        CpuSet x = of(a);
        CpuSet y = of(b);
        assertThat(CpuSet.parse(x.toString())).isEqualTo(x);
        assertThat(x.count()).isEqualTo(a.size());
        BitSet union = bits(a);
        union.or(bits(b));
        BitSet both = bits(a);
        both.and(bits(b));
        assertThat(x.union(y).count()).isEqualTo(union.cardinality());
        assertThat(x.intersect(y).count()).isEqualTo(both.cardinality());
    }

    private static CpuSet of(Set<Integer> cpus) {
        StringBuilder s = new StringBuilder();
        for (int c : cpus) { // unsorted, single CPUs: the parser takes any order
            s.append(s.isEmpty() ? "" : ",").append(c);
        }
        return CpuSet.parse(s.toString());
    }

    private static BitSet bits(Set<Integer> cpus) {
        BitSet b = new BitSet();
        cpus.forEach(b::set);
        return b;
    }
}
