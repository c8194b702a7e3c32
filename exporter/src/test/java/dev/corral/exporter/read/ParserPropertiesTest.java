package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;

@net.jqwik.api.Tag("unit")
class ParserPropertiesTest {

    @Provide
    Arbitrary<Map<String, Long>> keyedValues() {
        Arbitrary<String> keys = Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyz_.").ofMinLength(1)
                .ofMaxLength(24);
        return Arbitraries.maps(keys, Arbitraries.longs().greaterOrEqual(0)).ofMaxSize(40);
    }

    @Provide
    Arbitrary<Set<String>> otherKeys() {
        return Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyz_.").ofMinLength(1).ofMaxLength(24).set()
                .ofMaxSize(5);
    }

    /** Any set of "key value\n" lines in any order gives back exactly those values; other keys stay absent. */
    @Property
    void flatKeyedFindsEveryKey(@ForAll("keyedValues") Map<String, Long> values, @ForAll("otherKeys") Set<String> others,
                                @ForAll Random random, @ForAll boolean trailingNewline) {
        List<String> lines = new ArrayList<>();
        values.forEach((k, v) -> lines.add(k + " " + v));
        Collections.shuffle(lines, random);
        String text = String.join("\n", lines) + (trailingNewline && !lines.isEmpty() ? "\n" : "");

        List<String> table = new ArrayList<>(values.keySet());
        others.stream().filter(k -> !values.containsKey(k)).forEach(table::add);
        Collections.shuffle(table, random);
        long[] out = new long[table.size()];
        ParserInput t = random.nextBoolean() ? ParserInput.of(text) : ParserInput.inReusedBuffer(text);
        FlatKeyedParser.parse(t.bytes, t.length, new KeyTable(table.toArray(String[]::new)), out);

        for (int i = 0; i < table.size(); i++) {
            Long expected = values.get(table.get(i));
            assertThat(out[i]).as(table.get(i)).isEqualTo(expected == null ? Absent.VALUE : expected);
        }
    }

    @Property
    void anyNonNegativeLongRoundTrips(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long v,
                                      @ForAll boolean trailingNewline) {
        String text = v + (trailingNewline ? "\n" : "");
        ParserInput t = ParserInput.inReusedBuffer(text);

        assertThat(ValueParser.first(t.bytes, t.length)).isEqualTo(v);
        assertThat(Numbers.parse(t.bytes, 0, Long.toString(v).length())).isEqualTo(v);
        ParserInput pair = ParserInput.of("max " + text);
        assertThat(ValueParser.second(pair.bytes, pair.length)).isEqualTo(v);
    }

    @Provide
    Arbitrary<List<BlkioDevice>> devices() {
        Arbitrary<Long> counts = Arbitraries.longs().greaterOrEqual(0);
        Arbitrary<BlkioDevice> device = Combinators.combine(Arbitraries.integers().between(0, 4095),
                Arbitraries.integers().between(0, 1 << 20), counts, counts, counts, counts)
                .as(BlkioDevice::new);
        return device.list().ofMaxSize(12).uniqueElements(BlkioDevice::device);
    }

    @Property
    void ioStatRoundTrips(@ForAll("devices") List<BlkioDevice> devices, @ForAll @LongRange(min = 0) long discard,
                          @ForAll boolean trailingNewline) {
        StringBuilder text = new StringBuilder();
        for (BlkioDevice d : devices) {
            text.append(d.device()).append(" rbytes=").append(d.readBytes()).append(" wbytes=")
                    .append(d.writeBytes()).append(" rios=").append(d.readOps()).append(" wios=")
                    .append(d.writeOps()).append(" dbytes=").append(discard).append(" dios=").append(discard % 7)
                    .append('\n');
        }
        if (!trailingNewline && text.length() > 0) {
            text.setLength(text.length() - 1);
        }
        ParserInput t = ParserInput.inReusedBuffer(text.toString());

        assertThat(IoStatParser.parse(t.bytes, t.length)).isEqualTo(devices);
    }

    @Property
    void blkioFilesRoundTrip(@ForAll("devices") List<BlkioDevice> devices) {
        StringBuilder bytes = new StringBuilder();
        StringBuilder ops = new StringBuilder();
        for (BlkioDevice d : devices) {
            String dev = d.device();
            bytes.append(dev).append(" Read ").append(d.readBytes()).append('\n')
                    .append(dev).append(" Write ").append(d.writeBytes()).append('\n')
                    .append(dev).append(" Sync 0\n").append(dev).append(" Async 0\n")
                    .append(dev).append(" Discard 0\n").append(dev).append(" Total 0\n");
            ops.append(dev).append(" Read ").append(d.readOps()).append('\n')
                    .append(dev).append(" Write ").append(d.writeOps()).append('\n');
        }
        bytes.append("Total 0\n");
        ops.append("Total 0\n");
        ParserInput b = ParserInput.inReusedBuffer(bytes.toString());
        ParserInput o = ParserInput.inReusedBuffer(ops.toString());

        assertThat(BlkioParser.join(BlkioParser.parseFile(b.bytes, b.length), BlkioParser.parseFile(o.bytes, o.length)))
                .isEqualTo(devices);
    }
}
