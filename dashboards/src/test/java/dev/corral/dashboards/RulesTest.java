package dev.corral.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The shipped rules pass promtool's checks and unit tests, and every rule has a unit test. */
@Tag("unit")
class RulesTest {

    private static final Set<String> ALERTS = Set.of("ContainerCpuThrottlingHigh", "ContainerMemoryNearLimit",
            "ContainerOomKilled", "HostMemoryPressureHigh", "ContainerMemoryLimitForecast", "HostCpuOvercommitted",
            "CorralAgentDown", "CorralCollectionErrors");

    @Test
    void promtoolChecksTheRules() throws Exception {
        Promtool.Result r = Promtool.run(ShippedFiles.RULES.getParent(), "check", "rules",
                ShippedFiles.RULES.getFileName().toString());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS: " + rules().size() + " rules found");
    }

    @Test
    void promtoolUnitTestsPass() throws Exception {
        List<Path> tests = ShippedFiles.list(ShippedFiles.RULE_TESTS, ".yml");
        assertThat(tests).isNotEmpty();
        List<String> args = new ArrayList<>(List.of("test", "rules"));
        tests.forEach(t -> args.add(t.getFileName().toString()));
        Promtool.Result r = Promtool.run(ShippedFiles.RULE_TESTS, args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS").doesNotContain("FAILED");
    }

    @Test
    void theIssuesAlertsExistWithSeverityAndAnnotations() {
        Set<String> found = new HashSet<>();
        for (Map<String, Object> rule : rules()) {
            if (!rule.containsKey("alert")) {
                continue;
            }
            found.add((String) rule.get("alert"));
            Map<?, ?> labels = (Map<?, ?>) rule.get("labels");
            Map<?, ?> annotations = (Map<?, ?>) rule.get("annotations");
            assertThat((String) labels.get("severity")).as(rule.get("alert") + " severity")
                    .isIn("info", "warning", "critical");
            assertThat((String) annotations.get("summary")).as(rule.get("alert") + " summary").isNotBlank()
                    .doesNotContain("{{");
            assertThat((String) annotations.get("description")).as(rule.get("alert") + " description")
                    .contains("{{ $labels.instance }}");
        }
        assertThat(found).isEqualTo(ALERTS);
    }

    /** Each recorded series is checked by a promql_expr_test, each alert by an alert_rule_test that fires. */
    @Test
    @SuppressWarnings("unchecked")
    void everyRuleHasAUnitTest() {
        Set<String> exprsTested = new HashSet<>();
        Set<String> alertsFiring = new HashSet<>();
        for (Path file : ShippedFiles.list(ShippedFiles.RULE_TESTS, ".yml")) {
            for (Map<String, Object> test : (List<Map<String, Object>>) ShippedFiles.yaml(file).get("tests")) {
                for (Map<String, Object> e : (List<Map<String, Object>>) test.getOrDefault("promql_expr_test",
                        List.of())) {
                    if (!((List<?>) e.get("exp_samples")).isEmpty()) {
                        exprsTested.add((String) e.get("expr"));
                    }
                }
                for (Map<String, Object> a : (List<Map<String, Object>>) test.getOrDefault("alert_rule_test",
                        List.of())) {
                    if (!((List<?>) a.get("exp_alerts")).isEmpty()) {
                        alertsFiring.add((String) a.get("alertname"));
                    }
                }
            }
        }
        for (Map<String, Object> rule : rules()) {
            if (rule.containsKey("record")) {
                String name = (String) rule.get("record");
                assertThat(exprsTested).as("a promql_expr_test with samples reads " + name)
                        .anyMatch(e -> e.matches(".*\\b" + name.replace(":", "\\:") + "\\b.*"));
            } else {
                assertThat(alertsFiring).as("an alert_rule_test expects " + rule.get("alert") + " to fire")
                        .contains((String) rule.get("alert"));
            }
        }
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> groups() {
        return (List<Map<String, Object>>) ShippedFiles.yaml(ShippedFiles.RULES).get("groups");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> rules() {
        List<Map<String, Object>> out = new ArrayList<>();
        groups().forEach(g -> out.addAll((List<Map<String, Object>>) g.get("rules")));
        return out;
    }
}
