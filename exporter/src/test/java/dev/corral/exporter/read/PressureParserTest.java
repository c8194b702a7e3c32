package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.Pressure;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** PSI: "some avg10=... avg60=... avg300=... total=USEC" and the same for "full". */
@Tag("unit")
class PressureParserTest {

    private static Pressure parse(String text) {
        ParserInput t = ParserInput.of(text);
        Pressure p = PressureParser.parse(t.bytes, t.length);
        ParserInput reused = ParserInput.inReusedBuffer(text);
        assertThat(PressureParser.parse(reused.bytes, reused.length)).isEqualTo(p);
        return p;
    }

    @Test
    void thisHostsUnifiedPressureFiles() {
        assertThat(parse("""
                some avg10=7.65 avg60=21.70 avg300=14.39 total=73690857
                full avg10=0.00 avg60=0.00 avg300=0.00 total=0
                """)).isEqualTo(new Pressure(73690857, 0));
        assertThat(parse("""
                some avg10=0.53 avg60=1.45 avg300=0.61 total=4159832
                full avg10=0.40 avg60=0.94 avg300=0.40 total=3247158
                """)).isEqualTo(new Pressure(4159832, 3247158));
    }

    @Test
    void cpuPressureBeforeLinux513HasNoFullLine() {
        assertThat(parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=7004406\n"))
                .isEqualTo(new Pressure(7004406, Absent.VALUE));
    }

    @Test
    void edgeCases() {
        assertThat(parse("")).isEqualTo(new Pressure(Absent.VALUE, Absent.VALUE));
        assertThat(parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=12\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=34"))
                .as("no trailing newline").isEqualTo(new Pressure(12, 34));
        assertThat(parse("full avg10=0.00 avg60=0.00 avg300=0.00 total=34\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=12\n"))
                .as("any order").isEqualTo(new Pressure(12, 34));
        assertThat(parse("some avg10=0.00 avg60=0.00 avg300=0.00\n")).isEqualTo(new Pressure(Absent.VALUE, Absent.VALUE));
        assertThat(parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=x\n"))
                .isEqualTo(new Pressure(Absent.VALUE, Absent.VALUE));
        assertThat(parse("some total=5\n")).isEqualTo(new Pressure(5, Absent.VALUE));
        assertThat(parse("some avg10=1.00 avg60=2.00 avg300=3.00 total=18446744073\n"))
                .isEqualTo(new Pressure(18446744073L, Absent.VALUE));
    }
}
