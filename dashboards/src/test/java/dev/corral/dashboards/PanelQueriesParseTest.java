package dev.corral.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every panel, annotation and variable query, with Grafana's variables replaced by sample values, is parsed by
 * Prometheus' own parser: promtool checks a rule file holding one recording rule per query.
 */
@Tag("unit")
class PanelQueriesParseTest {

    static final Map<String, String> SAMPLE_VALUES = Map.of("__rate_interval", "1m", "instance", "host:9431",
            "container", "/corral/web|/corral/db", "datasource", "prometheus");

    @Test
    void everyQueryParses(@TempDir Path dir) throws Exception {
        List<Dashboard.Query> queries = new ArrayList<>();
        for (Dashboard d : Dashboard.all()) {
            queries.addAll(d.queries());
            assertThat(d.variableSelectors()).as(d + " instance and container variable queries").hasSize(2);
            queries.addAll(d.variableSelectors());
        }
        assertThat(queries).hasSizeGreaterThan(50);
        Promtool.Result r = check(dir, queries);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS: " + queries.size() + " rules found");
    }

    /** The check is real: a query Prometheus cannot parse fails it. */
    @Test
    void aBrokenQueryFails(@TempDir Path dir) throws Exception {
        Promtool.Result r = check(dir, List.of(new Dashboard.Query("d", "p", "A",
                "sum by (id) (rate(container_cpu_usage_seconds_total[$__rate_interval])")));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.output()).contains("unclosed left parenthesis");
    }

    private static Promtool.Result check(Path dir, List<Dashboard.Query> queries) throws Exception {
        StringBuilder rules = new StringBuilder("groups:\n  - name: panels\n    rules:\n");
        int n = 0;
        for (Dashboard.Query q : queries) {
            String expr = Dashboard.substitute(q.expr(), SAMPLE_VALUES);
            rules.append("      # ").append(q.key().replace('\n', ' ')).append('\n')
                    .append("      - record: panel_query_").append(n++).append('\n')
                    .append("        expr: '").append(expr.replace("'", "''").replace("\n", " ")).append("'\n");
        }
        Path file = dir.resolve("panels.rules.yml");
        Files.writeString(file, rules);
        return Promtool.run(dir, "check", "rules", file.getFileName().toString());
    }
}
