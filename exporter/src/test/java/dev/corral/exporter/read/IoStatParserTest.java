package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.BlkioDevice;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** v2 io.stat, one line per device: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N". */
@Tag("unit")
class IoStatParserTest {

    private static List<BlkioDevice> parse(String text) {
        ParserInput t = ParserInput.of(text);
        List<BlkioDevice> devices = IoStatParser.parse(t.bytes, t.length);
        ParserInput reused = ParserInput.inReusedBuffer(text);
        assertThat(IoStatParser.parse(reused.bytes, reused.length)).isEqualTo(devices);
        return devices;
    }

    @Test
    void kernelDocumentationExample() {
        assertThat(parse("""
                8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
                8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021
                """)).containsExactly(new BlkioDevice(8, 16, 1459200, 314773504, 192, 353),
                new BlkioDevice(8, 0, 90430464, 299008000, 8950, 1252));
    }

    @Test
    void extraKeysFromIoCostAndLatencyAreIgnored() {
        assertThat(parse("259:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0 cost.vrate=100.00 "
                + "cost.usage=1234 cost.wait=0 cost.indebt=0 cost.indelay=0\n"))
                .containsExactly(new BlkioDevice(259, 0, 4096, 8192, 1, 2));
    }

    @Test
    void edgeCases() {
        assertThat(parse("")).isEmpty();
        assertThat(parse("\n")).isEmpty();
        assertThat(parse("254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"))
                .as("no trailing newline").containsExactly(new BlkioDevice(254, 0, 1, 2, 3, 4));
        assertThat(parse("254:0 wios=4 rbytes=1\n")).as("any key order, missing keys are 0")
                .containsExactly(new BlkioDevice(254, 0, 1, 0, 0, 4));
        assertThat(parse("254:0\n")).containsExactly(new BlkioDevice(254, 0, 0, 0, 0, 0));
        assertThat(parse("garbage line\n254:1 rbytes=9 wbytes=0 rios=1 wios=0\n"))
                .containsExactly(new BlkioDevice(254, 1, 9, 0, 1, 0));
        assertThat(parse("254:0 rbytesx=5 rbytes=6 =7 wbytes\n")).containsExactly(new BlkioDevice(254, 0, 6, 0, 0, 0));
    }
}
