package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.BlkioDevice;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** v1 blkio files: "MAJ:MIN Op N" lines for Read, Write, Sync, Async, Discard, Total, then "Total N". */
@Tag("unit")
class BlkioParserTest {

    /** blkio.throttle.io_service_bytes_recursive of this host's root. */
    static final String THIS_HOST_BYTES = """
            254:0 Read 192512
            254:0 Write 782336
            254:0 Sync 13258752
            254:0 Async 782336
            254:0 Discard 13066240
            254:0 Total 14041088
            Total 14041088
            """;
    /** blkio.throttle.io_serviced_recursive of this host's root. */
    static final String THIS_HOST_OPS = """
            254:0 Read 8
            254:0 Write 137
            254:0 Sync 82
            254:0 Async 137
            254:0 Discard 74
            254:0 Total 219
            Total 219
            """;

    private static List<long[]> parse(String text) {
        ParserInput t = ParserInput.of(text);
        List<long[]> rows = BlkioParser.parseFile(t.bytes, t.length);
        ParserInput reused = ParserInput.inReusedBuffer(text);
        assertThat(BlkioParser.parseFile(reused.bytes, reused.length)).usingRecursiveComparison().isEqualTo(rows);
        return rows;
    }

    @Test
    void thisHostsThrottleFiles() {
        assertThat(parse(THIS_HOST_BYTES)).containsExactly(new long[] {254, 0, 192512, 782336});
        assertThat(BlkioParser.join(parse(THIS_HOST_BYTES), parse(THIS_HOST_OPS)))
                .containsExactly(new BlkioDevice(254, 0, 192512, 782336, 8, 137));
    }

    @Test
    void severalDevicesAndAnEmptyFile() {
        String bytes = """
                8:0 Read 4096
                8:0 Write 8192
                8:0 Sync 12288
                8:0 Async 0
                8:0 Discard 0
                8:0 Total 12288
                8:16 Read 100
                8:16 Write 0
                8:16 Total 100
                Total 12388
                """;
        String ops = "8:16 Read 1\n8:16 Write 0\n8:32 Read 0\n8:32 Write 5\nTotal 6\n";

        assertThat(BlkioParser.join(parse(bytes), parse(ops))).containsExactly(
                new BlkioDevice(8, 0, 4096, 8192, 0, 0),
                new BlkioDevice(8, 16, 100, 0, 1, 0),
                new BlkioDevice(8, 32, 0, 0, 0, 5));
        assertThat(parse("Total 0\n")).isEmpty(); // blkio.bfq.* when no device uses BFQ
        assertThat(parse("")).isEmpty();
    }

    @Test
    void noTrailingNewlineAndMalformedValues() {
        assertThat(parse("8:0 Read 1\n8:0 Write 2")).containsExactly(new long[] {8, 0, 1, 2});
        assertThat(parse("8:0 Read x\n8:0 Bogus 5\n")).containsExactly(new long[] {8, 0, -1, 0});
    }
}
