package dev.corral.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The conventions every shipped dashboard keeps (see the issue and README). */
@Tag("unit")
class DashboardLintTest {

    private static final String DATASOURCE = "${datasource}";

    @Test
    void thereAreTheFiveDashboardsWithUniqueStableUids() {
        List<Dashboard> all = Dashboard.all();
        assertThat(all).extracting(Dashboard::uid).containsExactlyInAnyOrder("corral-host-overview",
                "corral-container-detail", "corral-fairness", "corral-capacity", "corral-agent-health");
        for (Dashboard d : all) {
            assertThat(d.json().path("title").asText()).as(d + " title").startsWith("Corral / ");
            assertThat(d.json().path("id").isMissingNode() || d.json().path("id").isNull()).as(d + " has no id")
                    .isTrue();
        }
    }

    @Test
    void everyDashboardHasTheConventions() {
        SoftAssertions soft = new SoftAssertions();
        for (Dashboard d : Dashboard.all()) {
            JsonNode j = d.json();
            soft.assertThat(j.path("schemaVersion").asInt()).as(d + " schemaVersion").isGreaterThanOrEqualTo(39);
            soft.assertThat(j.path("editable").isBoolean() && !j.path("editable").asBoolean()).as(d + " editable "
                    + "false").isTrue();
            soft.assertThat(j.path("tags")).as(d + " tags").isNotEmpty();
            soft.assertThat(j.path("description").asText()).as(d + " description").isNotBlank();

            JsonNode ds = d.variable("datasource");
            soft.assertThat(ds).as(d + " datasource variable").isNotNull();
            if (ds != null) {
                soft.assertThat(ds.path("type").asText()).as(d + " datasource variable type").isEqualTo("datasource");
                soft.assertThat(ds.path("query").asText()).as(d + " datasource variable query").isEqualTo("prometheus");
            }
            for (String name : List.of("instance", "container")) {
                JsonNode v = d.variable(name);
                soft.assertThat(v).as(d + " variable " + name).isNotNull();
                if (v != null) {
                    soft.assertThat(v.path("type").asText()).as(d + " " + name + " type").isEqualTo("query");
                    // 2 = reload on time range change: agents and containers come and go
                    soft.assertThat(v.path("refresh").asInt()).as(d + " " + name + " refresh").isEqualTo(2);
                    soft.assertThat(v.path("datasource").path("uid").asText()).as(d + " " + name + " datasource")
                            .isEqualTo(DATASOURCE);
                }
            }
            JsonNode instance = d.variable("instance");
            if (instance != null) {
                soft.assertThat(instance.path("multi").asBoolean()).as(d + " instance multi").isTrue();
            }
        }
        soft.assertAll();
    }

    @Test
    void everyPanelHasADescriptionAUnitAndTheDatasourceVariable() {
        SoftAssertions soft = new SoftAssertions();
        for (Dashboard d : Dashboard.all()) {
            Set<Integer> ids = new HashSet<>();
            for (JsonNode p : d.panels()) {
                String where = d + " panel " + p.path("id") + " '" + p.path("title").asText() + "'";
                soft.assertThat(ids.add(p.path("id").asInt())).as(where + " unique id").isTrue();
                if ("row".equals(p.path("type").asText())) {
                    continue;
                }
                soft.assertThat(p.path("title").asText()).as(where + " title").isNotBlank();
                soft.assertThat(p.path("description").asText()).as(where + " description").isNotBlank()
                        .doesNotContain("\n");
                soft.assertThat(p.path("fieldConfig").path("defaults").path("unit").asText()).as(where + " unit")
                        .isNotBlank();
                soft.assertThat(p.path("datasource").path("uid").asText()).as(where + " datasource")
                        .isEqualTo(DATASOURCE);
                soft.assertThat(p.path("targets")).as(where + " targets").isNotEmpty();
                for (JsonNode t : p.path("targets")) {
                    soft.assertThat(t.path("expr").asText()).as(where + " target expr").isNotBlank();
                    if (t.has("datasource")) {
                        soft.assertThat(t.path("datasource").path("uid").asText()).as(where + " target datasource")
                                .isEqualTo(DATASOURCE);
                    }
                }
            }
        }
        soft.assertAll();
    }

    @Test
    void panelsStayInTheGridAndDoNotOverlap() {
        SoftAssertions soft = new SoftAssertions();
        for (Dashboard d : Dashboard.all()) {
            List<JsonNode> panels = d.panels();
            for (int a = 0; a < panels.size(); a++) {
                JsonNode pa = panels.get(a).path("gridPos");
                soft.assertThat(pa.path("x").asInt() + pa.path("w").asInt()).as(d + " panel " + panels.get(a)
                        .path("title") + " within 24 columns").isLessThanOrEqualTo(24);
                soft.assertThat(pa.path("w").asInt() > 0 && pa.path("h").asInt() > 0).as(d + " panel size").isTrue();
                for (int b = a + 1; b < panels.size(); b++) {
                    JsonNode pb = panels.get(b).path("gridPos");
                    soft.assertThat(overlap(pa, pb)).as(d + ": " + panels.get(a).path("title") + " overlaps "
                            + panels.get(b).path("title")).isFalse();
                }
            }
        }
        soft.assertAll();
    }

    @Test
    void everyVariableUsedIsDefined() {
        SoftAssertions soft = new SoftAssertions();
        for (Dashboard d : Dashboard.all()) {
            Set<String> defined = new HashSet<>();
            d.variables().forEach(v -> defined.add(v.path("name").asText()));
            for (String used : Dashboard.variablesUsedIn(d.json().toString())) {
                if (!used.startsWith("__")) { // Grafana's own: $__rate_interval, $__interval, ...
                    soft.assertThat(defined).as(d + " defines $" + used).contains(used);
                }
            }
        }
        soft.assertAll();
    }

    @Test
    void everyRateUsesTheRateIntervalAndCountersOnlyAppearInRates() {
        SoftAssertions soft = new SoftAssertions();
        for (Dashboard d : Dashboard.all()) {
            List<Dashboard.Query> queries = new ArrayList<>(d.queries());
            queries.addAll(d.variableSelectors());
            for (Dashboard.Query q : queries) {
                for (PromqlText.RangeCall call : PromqlText.rangeCalls(q.expr())) {
                    soft.assertThat(call.range()).as(q.key() + ": " + call.function() + " in " + q.expr())
                            .isEqualTo("$__rate_interval");
                }
                soft.assertThat(PromqlText.countersOutsideRate(q.expr())).as(q.key() + ": counters outside "
                        + "rate/irate/increase in " + q.expr()).isEmpty();
            }
        }
        soft.assertAll();
    }

    /** The lint's PromQL scanning itself, on expressions it must reject and accept. */
    @Test
    void theScannerFindsCountersOutsideRatesAndOtherWindows() {
        assertThat(PromqlText.countersOutsideRate("sum(container_oom_events_total{id=~\"$c\"})"))
                .containsExactly("container_oom_events_total");
        assertThat(PromqlText.countersOutsideRate("sum by (id) (rate(a_total{x=\"y_total\"}[$__rate_interval]))"
                + " / sum by (id) (rate(b_total[$__rate_interval]) > 0)")).isEmpty();
        assertThat(PromqlText.countersOutsideRate("rate(a_total[5m]) / a_total")).containsExactly("a_total");
        assertThat(PromqlText.rangeCalls("increase(x_total{a=\"b\"} [24h]) + rate(y_total[$__rate_interval])"))
                .containsExactly(new PromqlText.RangeCall("increase", "24h"),
                        new PromqlText.RangeCall("rate", "$__rate_interval"));
    }

    private static boolean overlap(JsonNode a, JsonNode b) {
        return a.path("x").asInt() < b.path("x").asInt() + b.path("w").asInt()
                && b.path("x").asInt() < a.path("x").asInt() + a.path("w").asInt()
                && a.path("y").asInt() < b.path("y").asInt() + b.path("h").asInt()
                && b.path("y").asInt() < a.path("y").asInt() + a.path("h").asInt();
    }
}
