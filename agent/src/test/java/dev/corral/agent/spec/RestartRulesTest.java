package dev.corral.agent.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Docker's restart policies: the flag, the spec's checks and the decisions, every rule in a table. */
@Tag("unit")
class RestartRulesTest {

    private static ContainerSpec spec(ContainerSpec.RestartPolicy p, Integer stopTimeout) {
        return new ContainerSpec("c", List.of("true"), null, null, null, null, null, "host", null, null, null, null,
                null, null, null, null, null, p, stopTimeout, null, null, null, null, null, null, null);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "no|no|",
        "always|always|",
        "unless-stopped|unless-stopped|",
        "on-failure|on-failure|",
        "on-failure:3|on-failure|3",
        "on-failure:0|on-failure|0"})
    void theFlagParsesAsDockersDoes(String flag, String name, Integer max) {
        assertThat(RestartRules.parseFlag(flag)).isEqualTo(new ContainerSpec.RestartPolicy(name, max));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "bogus|'bogus' is not no, on-failure[:N], always or unless-stopped",
        "|'' is not no, on-failure[:N], always or unless-stopped",
        "always:3|'always:3': only on-failure takes a maximum retry count",
        "on-failure:x|'on-failure:x': the maximum retry count 'x' is not a whole number",
        "on-failure:-1|'on-failure:-1': the maximum retry count '-1' is not a whole number"})
    void aBadFlagSaysWhatIsWrongWithTheValue(String flag, String message) {
        assertThatThrownBy(() -> RestartRules.parseFlag(flag == null ? "" : flag))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "bogus||restartPolicy.name: must be no, on-failure, always or unless-stopped, not 'bogus'",
        "on-failure|-1|restartPolicy.maximumRetryCount: must not be negative, got -1",
        "always|2|restartPolicy.maximumRetryCount: only on-failure takes a maximum retry count, not always"})
    void theApiNamesTheFieldAtFault(String name, Integer max, String message) {
        assertThatThrownBy(() -> RestartRules.check(spec(new ContainerSpec.RestartPolicy(name, max), null)))
                .isInstanceOf(SpecException.class).hasMessage(message);
    }

    @ParameterizedTest
    @CsvSource({"-1", "3601"})
    void aStopTimeoutOutOfRangeIsRefused(int t) {
        assertThatThrownBy(() -> RestartRules.check(spec(null, t))).isInstanceOf(SpecException.class)
                .hasMessage("stopTimeout: must be 0 to 3600 seconds, got " + t);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        // policy | max | exit code | restarts so far | stopped by user | restart after exit | start with the agent
        "no            |   | 1   | 0 | false | false | false",
        "on-failure    |   | 0   | 0 | false | false | false",
        "on-failure    |   | 1   | 0 | false | true  | true",
        "on-failure    |   | 137 | 9 | false | true  | true",
        "on-failure    |   |     | 0 | false | true  | true",
        "on-failure    | 2 | 1   | 1 | false | true  | true",
        "on-failure    | 2 | 1   | 2 | false | false | false",
        "on-failure    | 2 | 1   | 0 | true  | false | false",
        "always        |   | 0   | 5 | false | true  | true",
        "always        |   | 0   | 5 | true  | false | false",
        "unless-stopped|   | 0   | 5 | false | true  | true",
        "unless-stopped|   | 0   | 5 | true  | false | false"})
    void theDecisions(String name, Integer max, Integer exitCode, int restarts, boolean stopped, boolean afterExit,
                      boolean withAgent) {
        ContainerSpec s = spec(new ContainerSpec.RestartPolicy(name, max), null);
        assertThat(RestartRules.restartAfterExit(s, exitCode, restarts, stopped)).isEqualTo(afterExit);
        assertThat(RestartRules.startWithAgent(s, exitCode, restarts, stopped)).isEqualTo(withAgent);
    }

    @ParameterizedTest
    @CsvSource({"true", "false"})
    void autoRemoveAndARestartPolicyDoNotGoTogether(boolean autoRemove) throws Exception {
        ContainerSpec s = spec(new ContainerSpec.RestartPolicy("always", null), null);
        if (autoRemove) {
            assertThatThrownBy(() -> RestartRules.checkAutoRemove(s, true)).isInstanceOf(SpecException.class)
                    .hasMessage("restartPolicy: a container removed when it exits (--rm) cannot have a restart "
                            + "policy (always)");
        } else {
            RestartRules.checkAutoRemove(s, false);
            RestartRules.checkAutoRemove(spec(new ContainerSpec.RestartPolicy("no", null), null), true);
        }
    }
}
