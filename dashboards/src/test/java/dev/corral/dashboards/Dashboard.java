package dev.corral.dashboards;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One Grafana dashboard file: its panels (rows' nested panels included) and every PromQL query in it. */
record Dashboard(Path file, JsonNode json) {

    /** A query of a panel target or an annotation; {@code panel} is the panel or annotation title. */
    record Query(String dashboard, String panel, String refId, String expr) {

        String key() {
            return dashboard + " / " + panel + " / " + refId;
        }
    }

    private static final Pattern VARIABLE = Pattern.compile("\\$\\{?(\\w+)");

    static List<Dashboard> all() {
        return ShippedFiles.dashboardFiles().stream().map(f -> new Dashboard(f, ShippedFiles.json(f))).toList();
    }

    String uid() {
        return json.path("uid").asText();
    }

    /** Panels in layout order, rows included, nested panels of collapsed rows included. */
    List<JsonNode> panels() {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode p : json.path("panels")) {
            out.add(p);
            p.path("panels").forEach(out::add);
        }
        return out;
    }

    List<JsonNode> variables() {
        List<JsonNode> out = new ArrayList<>();
        json.path("templating").path("list").forEach(out::add);
        return out;
    }

    JsonNode variable(String name) {
        return variables().stream().filter(v -> name.equals(v.path("name").asText())).findFirst().orElse(null);
    }

    /** Every panel target's and annotation's PromQL, as written (with Grafana variables). */
    List<Query> queries() {
        List<Query> out = new ArrayList<>();
        for (JsonNode p : panels()) {
            for (JsonNode t : p.path("targets")) {
                out.add(new Query(uid(), p.path("title").asText(), t.path("refId").asText(), t.path("expr").asText()));
            }
        }
        for (JsonNode a : json.path("annotations").path("list")) {
            if (a.has("expr")) {
                out.add(new Query(uid(), "annotation " + a.path("name").asText(), "-", a.path("expr").asText()));
            }
        }
        return out;
    }

    /** Queries of the query variables, the series selector inside {@code label_values(selector, label)}. */
    List<Query> variableSelectors() {
        List<Query> out = new ArrayList<>();
        Pattern labelValues = Pattern.compile("label_values\\((.*),\\s*\\w+\\)");
        for (JsonNode v : variables()) {
            if ("query".equals(v.path("type").asText())) {
                JsonNode query = v.path("query"); // a string, or {"query": ...} as newer Grafana saves it
                Matcher m = labelValues.matcher(query.isTextual() ? query.asText() : query.path("query").asText());
                if (m.matches()) {
                    out.add(new Query(uid(), "variable " + v.path("name").asText(), "-", m.group(1)));
                }
            }
        }
        return out;
    }

    /** Names of every {@code $var} or {@code ${var}} used anywhere in the file's strings. */
    static List<String> variablesUsedIn(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = VARIABLE.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** Grafana variables replaced by sample values, so the expression is plain PromQL. */
    static String substitute(String expr, Map<String, String> values) {
        String out = expr;
        for (Map.Entry<String, String> e : values.entrySet()) {
            out = out.replace("${" + e.getKey() + "}", e.getValue()).replace("$" + e.getKey(), e.getValue());
        }
        return out;
    }

    @Override
    public String toString() {
        return file.getFileName().toString();
    }
}
