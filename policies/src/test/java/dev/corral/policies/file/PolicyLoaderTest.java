package dev.corral.policies.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class PolicyLoaderTest {

    private static Policy parse(String json) throws PolicyException {
        return PolicyLoader.parse("p.json", json.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
    }

    private static PolicyException error(String json) {
        try {
            parse(json);
        } catch (PolicyException e) {
            return e;
        }
        throw new AssertionError("accepted: " + json);
    }

    @Test
    void shippedExamplesLoad() throws Exception {
        Path dir = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).resolve("policies/examples");
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Policy p = PolicyLoader.parse(f.getFileName().toString(), Files.readAllBytes(f));
                assertThat(p.classes()).as(f.toString()).isNotEmpty();
            }
        }
        Policy iob = PolicyLoader.parse("x", Files.readAllBytes(dir.resolve("interactive-over-batch.json")));
        assertThat(iob.classOf("web-1", Map.of()).name()).isEqualTo("interactive");
        assertThat(iob.classOf("job", Map.of("tier", "batch")).name()).isEqualTo("batch");
        assertThat(iob.classOf("job", Map.of()).name()).isEqualTo("other");
        assertThat(iob.classOf("web-1", Map.of()).guarantees().memory()).isEqualTo(512L << 20);
        assertThat(iob.policies().oomProtection().parentUsageAbove()).isEqualTo(0.85);
        assertThat(iob.policies().admission().queues()).isTrue();
        assertThat(iob.policies().admission().queueTimeout()).isEqualTo(15 * 60_000);
    }

    @Test
    void embeddedDefaultIsTheShippedDefault() {
        Policy p = PolicyLoader.embeddedDefault();
        assertThat(p.classOf("anything", Map.of()).name()).isEqualTo("default");
        assertThat(p.classOf("x", Map.of("corral.class", "system")).isProtected()).isTrue();
    }

    @Test
    void emptyObjectMeansEveryPolicyWithDefaults() throws Exception {
        Policy p = parse("{}");
        assertThat(p.classOf("a", Map.of())).isEqualTo(Policy.DEFAULT_CLASS);
        assertThat(p.policies().cpuFairness().enabled()).isTrue();
        assertThat(p.policies().oomProtection().cooldown()).isEqualTo(3000);
        assertThat(p.dryRun()).isFalse();
    }

    @Test
    void admissionQueueingIsValidatedWithThePathAndTheProblem() throws Exception {
        Policies.Admission a = parse("{'policies':{'admission':{'onOvercommit':'queue','queueTimeout':'1h'}}}")
                .policies().admission();
        assertThat(a.queues()).isTrue();
        assertThat(a.queueTimeout()).isEqualTo(3_600_000);
        Policies.Admission d = parse("{}").policies().admission();
        assertThat(d.onOvercommit()).isEqualTo("refuse");
        assertThat(d.queueTimeout()).isEqualTo(600_000);
        assertThat(d.maxQueued()).isEqualTo(100);
        assertThat(parse("{'policies':{'admission':{'maxQueued':5}}}").policies().admission().maxQueued()).isEqualTo(5);

        PolicyException e = error("{'policies':{'admission':{'onOvercommit':'wait'}}}");
        assertThat(e.getMessage()).isEqualTo("p.json: policies.admission.onOvercommit: must be \"refuse\" or "
                + "\"queue\", got \"wait\"");
        e = error("{'policies':{'admission':{'queueTimeout':'a while'}}}");
        assertThat(e.path()).isEqualTo("policies.admission.queueTimeout");
        assertThat(e.problem()).contains("not a duration");
        e = error("{'policies':{'admission':{'onOvercommit':'queue','queueTimeout':'200ms'}}}");
        assertThat(e.path()).isEqualTo("policies.admission.queueTimeout");
        assertThat(e.problem()).contains("at least 1s");
        e = error("{'policies':{'admission':{'onOvercommit':'queue','maxQueued':0}}}");
        assertThat(e.path()).isEqualTo("policies.admission.maxQueued");
        assertThat(e.problem()).contains("1 to 10000");
    }

    @Test
    void errorsNameTheFileThePathAndTheProblem() {
        PolicyException e = error("{'classes':[{'name':'a'},{'name':'b','weight':-1}]}");
        assertThat(e.file()).isEqualTo("p.json");
        assertThat(e.path()).isEqualTo("classes[1].weight");
        assertThat(e.problem()).contains("must be > 0");
        assertThat(e.getMessage()).startsWith("p.json: classes[1].weight: ");

        e = error("{'policies':{'oomProtection':{'action':'explode'}}}");
        assertThat(e.path()).isEqualTo("policies.oomProtection.action");
        assertThat(e.problem()).contains("\"kill\" or \"freeze\"");

        e = error("{'policies':{'cpuFairness':{'liftAfter':'soon'}}}");
        assertThat(e.path()).isEqualTo("policies.cpuFairness.liftAfter");
        assertThat(e.problem()).contains("not a duration");

        e = error("{'classes':[{'name':'a','guarantees':{'memory':'lots'}}]}");
        assertThat(e.path()).isEqualTo("classes[0].guarantees.memory");

        e = error("{'classes':[{'name':'a','colour':'red'}]}");
        assertThat(e.path()).isEqualTo("classes[0].colour");
        assertThat(e.problem()).startsWith("unknown field 'colour'");

        e = error("{'classes':[{'name':'a'},{'name':'a'}]}");
        assertThat(e.path()).isEqualTo("classes[1].name");

        e = error("{'classes':[{'weight':2}]}");
        assertThat(e.path()).isEqualTo("classes[0].name");

        e = error("{'classes':[{'name':'a','selector':{}}]}");
        assertThat(e.path()).isEqualTo("classes[0].selector.names");

        e = error("{'classes': [}");
        assertThat(e.getMessage()).contains("line 1 column");

        assertThat(error("").problem()).isEqualTo("the file is empty");
        assertThat(error("{'policies':{'admission':{'memoryFraction':1.5}}}").path())
                .isEqualTo("policies.admission.memoryFraction");
        assertThat(error("{'policies':{'ioFairness':{'capacity':{'vda':5}}}}").path())
                .isEqualTo("policies.ioFairness.capacity");
    }

    @Test
    void selectorsMatchNameGlobsOrAllLabels() throws Exception {
        Policy p = parse("{'classes':[{'name':'a','selector':{'names':['web-*-x'],'labels':{'t':'1','u':'2'}}}]}");
        assertThat(p.classOf("web-1-x", Map.of()).name()).isEqualTo("a");
        assertThat(p.classOf("web-1-y", Map.of()).name()).isEqualTo("default");
        assertThat(p.classOf("z", Map.of("t", "1")).name()).isEqualTo("default");
        assertThat(p.classOf("z", Map.of("t", "1", "u", "2")).name()).isEqualTo("a");
    }

    @Test
    void durations() {
        assertThat(Sizes.millis("500ms")).isEqualTo(500);
        assertThat(Sizes.millis("2s")).isEqualTo(2000);
        assertThat(Sizes.millis("1m")).isEqualTo(60_000);
        assertThat(Sizes.millis("250")).isEqualTo(250);
        assertThatThrownBy(() -> Sizes.millis("-1")).isInstanceOf(IllegalArgumentException.class);
    }
}
