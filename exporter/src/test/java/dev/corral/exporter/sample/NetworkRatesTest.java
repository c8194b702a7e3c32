package dev.corral.exporter.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@Tag("unit")
class NetworkRatesTest {

    @ParameterizedTest
    @CsvSource({"8mbit, 1000000", "10mbit, 1250000", "1gbit, 125000000", "500kbit, 62500", "1kbit, 125",
            "8bit, 1", "2mbps, 2000000", "1kibit, 128", "1mibit, 131072", "' 1.5Mbit ', 187500", "1tbit, 125000000000"})
    void parsesTcRatesToBytesPerSecond(String text, long bytesPerSecond) {
        assertThat(NetworkRates.parse(text)).isEqualTo(bytesPerSecond);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "mbit", "10", "10m", "10 mbit", "-1mbit", "1xbit", "0bit", "1bit", "1e3bit",
            "99999999999999999999gbit"})
    void refusesWhatIsNotARate(String text) {
        assertThatThrownBy(() -> NetworkRates.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + text + "'");
    }

    @Test
    void aBareNumberIsRefusedForItsMissingUnit() {
        assertThatThrownBy(() -> NetworkRates.parse("100")).hasMessageContaining("has no unit");
    }

    @ParameterizedTest
    @ValueSource(strings = {"max", "MAX", "-1"})
    void aLimitMayBeUnlimited(String text) {
        assertThat(NetworkRates.parseLimit(text)).isEqualTo(Limits.UNLIMITED);
    }

    @Test
    void tcFormReadsBackExactlyAndPeopleGetShortUnits() {
        assertThat(NetworkRates.tc(1_000_000)).isEqualTo("8000000bit");
        assertThat(NetworkRates.parse(NetworkRates.tc(123_457))).isEqualTo(123_457);
        assertThat(NetworkRates.human(1_000_000)).isEqualTo("8mbit");
        assertThat(NetworkRates.human(187_500)).isEqualTo("1.5mbit");
        assertThat(NetworkRates.human(125_000_000)).isEqualTo("1gbit");
        assertThat(NetworkRates.human(Limits.UNLIMITED)).isEqualTo("max");
    }
}
