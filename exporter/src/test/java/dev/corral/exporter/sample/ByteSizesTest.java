package dev.corral.exporter.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@Tag("unit")
class ByteSizesTest {

    @ParameterizedTest
    @CsvSource({"4096, 4096", "512k, 524288", "64m, 67108864", "64MB, 67108864", "10MiB, 10485760",
            "1.5g, 1610612736", "2t, 2199023255552", "' 1g ', 1073741824", "0, 0", "0.5k, 512"})
    void parsesSizesInPowersOf1024(String text, long bytes) {
        assertThat(ByteSizes.parse(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-1", "max", "m", "1x", "1e3", "0x10", "NaN", "1.", "1,5g", "9223372036854775807k"})
    void refusesWhatIsNotASize(String text) {
        assertThatThrownBy(() -> ByteSizes.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + text + "'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"max", "MAX", "-1"})
    void aLimitMayBeUnlimited(String text) {
        assertThat(ByteSizes.parseLimit(text)).isEqualTo(Limits.UNLIMITED);
        assertThat(ByteSizes.parseLimit("64m")).isEqualTo(64L << 20);
    }
}
