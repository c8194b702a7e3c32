package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.Limits;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class ValueParserTest {

    private static long first(String text) {
        ParserInput t = ParserInput.of(text);
        long v = ValueParser.first(t.bytes, t.length);
        ParserInput reused = ParserInput.inReusedBuffer(text);
        assertThat(ValueParser.first(reused.bytes, reused.length)).isEqualTo(v);
        return v;
    }

    private static long second(String text) {
        ParserInput t = ParserInput.of(text);
        long v = ValueParser.second(t.bytes, t.length);
        ParserInput reused = ParserInput.inReusedBuffer(text);
        assertThat(ValueParser.second(reused.bytes, reused.length)).isEqualTo(v);
        return v;
    }

    @Test
    void singleValueFiles() {
        assertThat(first("454656546456\n")).isEqualTo(454656546456L); // cpuacct.usage
        assertThat(first("9223372036854771712\n")).isEqualTo(9223372036854771712L); // v1 unlimited memory
        assertThat(first("1024\n")).isEqualTo(1024); // cpu.shares
        assertThat(first("-1\n")).isEqualTo(-1); // v1 cpu.cfs_quota_us without a quota
        assertThat(first("max\n")).isEqualTo(Limits.UNLIMITED); // pids.max, memory.max
        assertThat(first("0\n")).isZero();
        assertThat(first("4096")).as("no trailing newline").isEqualTo(4096);
        assertThat(first("  77\n")).isEqualTo(77);
        assertThat(first("9223372036854775807\n")).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void emptyOrMalformedIsAbsent() {
        assertThat(first("")).isEqualTo(Absent.VALUE);
        assertThat(first("\n")).isEqualTo(Absent.VALUE);
        assertThat(first("   ")).isEqualTo(Absent.VALUE);
        assertThat(first("abc\n")).isEqualTo(Absent.VALUE);
        assertThat(first("12k\n")).isEqualTo(Absent.VALUE);
        assertThat(first("maximum\n")).isEqualTo(Absent.VALUE);
        assertThat(first("-\n")).isEqualTo(Absent.VALUE);
    }

    @Test
    void cpuMax() {
        assertThat(first("max 100000\n")).isEqualTo(Limits.UNLIMITED);
        assertThat(second("max 100000\n")).isEqualTo(100_000);
        assertThat(first("50000 100000\n")).isEqualTo(50_000);
        assertThat(second("50000 100000\n")).isEqualTo(100_000);
        assertThat(second("50000 100000")).isEqualTo(100_000);
    }

    @Test
    void secondIsAbsentWhenThereIsNone() {
        assertThat(second("max\n")).isEqualTo(Absent.VALUE);
        assertThat(second("max")).isEqualTo(Absent.VALUE);
        assertThat(second("max \n")).isEqualTo(Absent.VALUE);
        assertThat(second("")).isEqualTo(Absent.VALUE);
    }

    @Test
    void numbers() {
        assertThat(parse("max")).isEqualTo(Limits.UNLIMITED);
        assertThat(parse("ma")).isEqualTo(Absent.VALUE);
        assertThat(parse("")).isEqualTo(Absent.VALUE);
        assertThat(parse("-")).isEqualTo(Absent.VALUE);
        assertThat(parse("-42")).isEqualTo(-42);
        assertThat(parse("007")).isEqualTo(7);
        assertThat(parse("1 2")).isEqualTo(Absent.VALUE);
    }

    private static long parse(String token) {
        ParserInput t = ParserInput.of(token);
        return Numbers.parse(t.bytes, 0, t.length);
    }
}
