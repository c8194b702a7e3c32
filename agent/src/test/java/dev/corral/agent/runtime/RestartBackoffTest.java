package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Docker's restart backoff: 100 ms, doubling, at most a minute, back to 100 ms after a run of 10 s. */
@Tag("unit")
class RestartBackoffTest {

    @ParameterizedTest
    @CsvSource({
        // previous delay, how long it ran, next delay
        "0, 0, 100",
        "100, 50, 200",
        "200, 9999, 400",
        "51200, 10, 60000",
        "60000, 10, 60000",
        "6400, 10000, 100",
        "60000, 600000, 100"})
    void theDelayDoublesAndResetsAfterTenSecondsOfRunning(long previous, long ran, long next) {
        assertThat(Restarts.nextDelay(previous, ran)).isEqualTo(next);
    }
}
