package dev.corral.dashboards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.yaml.snakeyaml.Yaml;

/** Where the module's shipped files are, and loaders for them. */
final class ShippedFiles {

    static final Path MODULE = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).toAbsolutePath()
            .normalize().resolve("dashboards");
    static final Path DASHBOARDS = MODULE.resolve("grafana/dashboards");
    static final Path PROVISIONING = MODULE.resolve("grafana/provisioning");
    static final Path RULES = MODULE.resolve("rules/corral.rules.yml");
    static final Path RULE_TESTS = MODULE.resolve("rules/tests");
    static final Path PROMETHEUS_CONFIG = MODULE.resolve("prometheus/prometheus.yml");
    static final Path KUBERNETES = MODULE.resolve("kubernetes");

    private static final ObjectMapper JSON = new ObjectMapper();

    private ShippedFiles() {
    }

    /** Every dashboard JSON file, by file name order. */
    static List<Path> dashboardFiles() {
        return list(DASHBOARDS, ".json");
    }

    static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> yaml(Path file) {
        try {
            return (Map<String, Object>) new Yaml().load(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every document of a multi-document YAML file. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> yamlDocuments(Path file) {
        try {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Object doc : new Yaml().loadAll(Files.readString(file))) {
                out.add((Map<String, Object>) doc);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> list(Path dir, String suffix) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
