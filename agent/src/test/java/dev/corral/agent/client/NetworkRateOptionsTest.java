package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecParser;
import dev.corral.exporter.sample.Limits;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/** --network-rate and its per-direction forms, from the command line to the spec the daemon reads. */
@Tag("unit")
class NetworkRateOptionsTest {

    @BeforeEach
    void environment() {
        Cli.environment(Map.of("CORRAL_HOST", "unix:///nonexistent/corral-netlimit-test.sock"));
    }

    @AfterEach
    void realEnvironment() {
        Cli.realEnvironment();
    }

    private static ContainerSpec runSpec(String... args) {
        return Cli.runSpec(args);
    }

    @Test
    void oneRateSetsBothWaysAndEachWayOverridesIt() throws Exception {
        assertThat(runSpec("--network-rate", "8mbit", "x").limits().network())
                .isEqualTo(new ContainerSpec.NetworkRate(1_000_000L, 1_000_000L));
        assertThat(runSpec("--network-rate", "8mbit", "--network-rate-ingress", "1gbit", "x").limits().network())
                .isEqualTo(new ContainerSpec.NetworkRate(1_000_000L, 125_000_000L));
        assertThat(runSpec("--network-rate-egress", "500kbit", "x").limits().network())
                .isEqualTo(new ContainerSpec.NetworkRate(62_500L, null));
        assertThat(runSpec("--network-rate", "max", "x").limits().network().egress()).isEqualTo(Limits.UNLIMITED);
        assertThat(runSpec("x").limits()).isNull();
        ContainerSpec spec = runSpec("--network-rate", "10mbit", "x");
        assertThat(SpecParser.parse(SpecParser.JSON.writeValueAsBytes(spec))).isEqualTo(spec);
    }

    @Test
    void aBadRateIs125ForRunAndAUsageErrorForUpdateNamingTheFlag() {
        Cli.Result r = Cli.run("run", "--network-rate", "10", "x");
        assertThat(r.code()).as(r.toString()).isEqualTo(125);
        assertThat(r.err()).contains("--network-rate").contains("'10' has no unit");
        r = Cli.run("run", "--network-rate-ingress", "fast", "x");
        assertThat(r.code()).isEqualTo(125);
        assertThat(r.err()).contains("--network-rate-ingress").contains("'fast' is not a rate");
        r = Cli.run("update", "--network-rate", "10mb", "c");
        assertThat(r.code()).as(r.toString()).isEqualTo(2);
        assertThat(r.err()).contains("--network-rate").contains("not a rate");
    }

    @Test
    void anUpdateBodyCarriesTheRates() throws Exception {
        ContainerSpec.Limits l = SpecParser.read("{\"network\":{\"egress\":\"16mbit\",\"ingress\":-1}}".getBytes(),
                ContainerSpec.Limits.class);
        assertThat(l.network()).isEqualTo(new ContainerSpec.NetworkRate(2_000_000L, Limits.UNLIMITED));
    }

    @Test
    void theDaemonNamesTheField() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SpecParser.parse(
                "{\"name\":\"n\",\"limits\":{\"network\":{\"ingress\":\"3 apples\"}}}".getBytes()))
                .isInstanceOf(SpecException.class).hasMessageStartingWith("limits.network.ingress: ")
                .hasMessageContaining("'3 apples' is not a rate");
    }
}
