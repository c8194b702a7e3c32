package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class FormatsTest {

    @Test
    void sizesAsDockerStatsShowsThem() {
        assertThat(Formats.binarySize(0)).isEqualTo("0B");
        assertThat(Formats.binarySize(512)).isEqualTo("512B");
        assertThat(Formats.binarySize(58441728)).isEqualTo("55.73MiB");
        assertThat(Formats.binarySize(256L << 20)).isEqualTo("256MiB");
        assertThat(Formats.binarySize(1.5 * (1L << 30))).isEqualTo("1.5GiB");
        assertThat(Formats.decimalSize(1_200_000)).isEqualTo("1.2MB");
        assertThat(Formats.decimalSize(999)).isEqualTo("999B");
        assertThat(Formats.decimalSize(12_345)).isEqualTo("12.3kB");
    }

    @Test
    void durationsAsDockerShowsThem() {
        assertThat(Formats.duration(500)).isEqualTo("Less than a second");
        assertThat(Formats.duration(1000)).isEqualTo("1 second");
        assertThat(Formats.duration(59_000)).isEqualTo("59 seconds");
        assertThat(Formats.duration(61_000)).isEqualTo("About a minute");
        assertThat(Formats.duration(30 * 60_000)).isEqualTo("30 minutes");
        assertThat(Formats.duration(3_600_000)).isEqualTo("About an hour");
        assertThat(Formats.duration(5 * 3_600_000)).isEqualTo("5 hours");
        assertThat(Formats.duration(3 * 86_400_000L)).isEqualTo("3 days");
        assertThat(Formats.duration(21 * 86_400_000L)).isEqualTo("3 weeks");
    }

    @Test
    void tablesPadAllButTheLastColumn() {
        assertThat(Formats.table(List.of(new String[] {"A", "BB", "C"}, new String[] {"long", "x", ""})))
                .isEqualTo("A      BB   C\nlong   x\n");
    }

    @Test
    void serverSentEventsSplitAnywhere() {
        String stream = ": hello\n\nevent: started\ndata: {\"a\":1}\n\nevent: x\r\ndata: line1\ndata: line2\r\n\r\n";
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        for (int split = 0; split <= bytes.length; split++) {
            List<String> seen = new ArrayList<>();
            EventsCommand.SseParser p = new EventsCommand.SseParser((t, d) -> seen.add(t + "|" + d));
            p.accept(java.util.Arrays.copyOfRange(bytes, 0, split));
            p.accept(java.util.Arrays.copyOfRange(bytes, split, bytes.length));
            assertThat(seen).as("split at " + split).containsExactly("started|{\"a\":1}", "x|line1\nline2");
        }
    }

    @Test
    void anEventLineIsTimeTypeNameAndAttributes() {
        assertThat(EventsCommand.line("oom", "{\"type\":\"oom\",\"name\":\"hog\",\"timeMillis\":86400000,"
                + "\"attributes\":{\"b\":2,\"a\":\"x\"}}", java.time.ZoneOffset.UTC))
                .isEqualTo("1970-01-02T00:00:00.000Z oom hog a=x b=2");
        assertThat(EventsCommand.line("odd", "not json", java.time.ZoneOffset.UTC)).isEqualTo("odd not json");
    }

    @Test
    void utf8SplitAcrossBuffersStaysWhole() {
        Utf8Sink sink = new Utf8Sink(null);
        byte[] text = "añ€😀".getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder();
        for (byte b : text) {
            out.append(sink.decode(new byte[] {b}, false));
        }
        out.append(sink.decode(new byte[0], true));
        assertThat(out.toString()).isEqualTo("añ€😀");
        assertThat(sink.decode(new byte[] {(byte) 0xff, 'a'}, true)).isEqualTo("\ufffda");
    }
}
