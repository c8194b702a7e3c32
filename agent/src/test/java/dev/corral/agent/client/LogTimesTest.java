package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** logs --since/--until values in Docker's formats, as the Unix time sent to the daemon. */
@Tag("unit")
class LogTimesTest {

    private static final Instant NOW = Instant.parse("2026-12-07T21:00:00Z");
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    private static String unix(String v) {
        return LogTimes.unix(v, NOW, BERLIN);
    }

    @Test
    void unixTimestampsGoAsTheyAre() {
        assertThat(unix("1700000000")).isEqualTo("1700000000");
        assertThat(unix("1700000000.5")).isEqualTo("1700000000.5");
    }

    @Test
    void rfc3339WithAZoneOrLocalTimeWithout() {
        assertThat(unix("2026-12-07T20:00:00Z")).isEqualTo((NOW.getEpochSecond() - 3600) + ".000000000");
        assertThat(unix("2026-12-07T20:00:00.25+01:00")).isEqualTo((NOW.getEpochSecond() - 7200) + ".250000000");
        assertThat(unix("2026-12-07T22:00:00")).as("Berlin is UTC+1 in December")
                .isEqualTo(NOW.getEpochSecond() + ".000000000");
        assertThat(unix("2026-12-08")).isEqualTo((NOW.getEpochSecond() + 2 * 3600) + ".000000000");
    }

    @Test
    void goDurationsCountBackFromNow() {
        assertThat(unix("10m")).isEqualTo((NOW.getEpochSecond() - 600) + ".000000000");
        assertThat(unix("1h30m")).isEqualTo((NOW.getEpochSecond() - 5400) + ".000000000");
        assertThat(unix("1.5s")).isEqualTo((NOW.getEpochSecond() - 2) + ".500000000");
        assertThat(unix("250ms")).isEqualTo((NOW.getEpochSecond() - 1) + ".750000000");
    }

    @Test
    void anythingElseIsRefusedSayingWhatIsAccepted() {
        assertThatThrownBy(() -> unix("yesterday")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("RFC 3339").hasMessageContaining("10m");
        assertThatThrownBy(() -> unix("10 m")).isInstanceOf(IllegalArgumentException.class);
    }
}
