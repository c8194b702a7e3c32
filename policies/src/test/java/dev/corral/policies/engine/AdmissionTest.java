package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdmissionTest {

    static final String POLICY = "{'classes':[{'name':'big','guarantees':{'cpu':1.5,'memory':'4g'},"
            + "'selector':{'labels':{'size':'big'}}}],'policies':{'admission':{'cpuOvercommit':1.0,"
            + "'memoryFraction':0.5}}}";
    static final HostView HOST = new HostView(2, 16 * GIB, 8 * GIB, false, "/corral");

    private static PolicyEngine engine(boolean dryRun) throws Exception {
        return new PolicyEngine(PolicyLoader.parse("a.json", POLICY.replace('\'', '"')
                .getBytes(StandardCharsets.UTF_8)), dryRun);
    }

    private static ContainerView view(String name, Map<String, String> labels, long reservation) {
        return new ContainerView(name, "/corral/" + name, labels, new ContainerView.Baseline(Limits.UNLIMITED,
                100_000, 0, Limits.UNLIMITED, Limits.UNLIMITED, reservation, Map.of()));
    }

    @Test
    void aStartThatWouldOvercommitGuaranteedCpuIsRefusedNamingCpu() throws Exception {
        ContainerView one = view("one", Map.of("size", "big"), 0);
        Admission first = engine(false).admit(1, one, List.of(), HOST);
        assertThat(first.admitted()).isTrue();
        assertThat(first.dominantShare()).isCloseTo(0.75, within(1e-9)); // 1.5 of 2 cores > 4 of 16 GiB
        Admission second = engine(false).admit(2, view("two", Map.of("size", "big"), 0), List.of(one), HOST);
        assertThat(second.admitted()).isFalse();
        assertThat(second.resource()).isEqualTo("cpu");
        assertThat(second.message()).contains("'two'").contains("guaranteed cpu").contains("3.00 cores")
                .contains("2.00 cores");
        assertThat(second.audit().action()).isEqualTo("refuse");
        assertThat(second.audit().reason()).isEqualTo("cpu-overcommitted");
    }

    @Test
    void memoryGuaranteesIncludeTheSpecsReservationAndAreRefusedNamingMemory() throws Exception {
        ContainerView a = view("a", Map.of(), 5 * GIB); // default class: no cpu guarantee
        Admission r = engine(false).admit(1, view("b", Map.of(), 4 * GIB), List.of(a), HOST);
        assertThat(r.admitted()).isFalse();
        assertThat(r.resource()).isEqualTo("memory");
        assertThat(r.message()).contains("guaranteed memory").contains("9216.0MiB").contains("8192.0MiB");
        // the same container restarting does not count against itself
        assertThat(engine(false).admit(1, a, List.of(a), HOST).admitted()).isTrue();
    }

    @Test
    void aDryRunRecordsTheRefusalButAdmits() throws Exception {
        ContainerView one = view("one", Map.of("size", "big"), 0);
        Admission r = engine(true).admit(2, view("two", Map.of("size", "big"), 0), List.of(one), HOST);
        assertThat(r.admitted()).isTrue();
        assertThat(r.audit().dryRun()).isTrue();
        assertThat(r.audit().action()).isEqualTo("refuse");
    }
}
