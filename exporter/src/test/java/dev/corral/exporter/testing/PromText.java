package dev.corral.exporter.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A parsed Prometheus text exposition (format 0.0.4), for assertions on scrapes. */
public final class PromText {

    public record Sample(String name, Map<String, String> labels, double value) {
    }

    private final Map<String, String> types = new HashMap<>();
    private final Map<String, String> helps = new HashMap<>();
    private final List<Sample> samples = new ArrayList<>();

    public static PromText parse(String text) {
        PromText p = new PromText();
        for (String line : text.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                String[] f = line.substring(7).split(" ", 2);
                p.types.put(f[0], f[1]);
            } else if (line.startsWith("# HELP ")) {
                String[] f = line.substring(7).split(" ", 2);
                p.helps.put(f[0], f.length > 1 ? f[1] : "");
            } else if (!line.isBlank() && !line.startsWith("#")) {
                p.samples.add(parseSample(line));
            }
        }
        return p;
    }

    private static Sample parseSample(String line) {
        int brace = line.indexOf('{');
        int space;
        String name;
        Map<String, String> labels = new LinkedHashMap<>();
        if (brace >= 0 && brace < line.indexOf(' ')) {
            name = line.substring(0, brace);
            int i = brace + 1;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String key = line.substring(i, eq);
                StringBuilder value = new StringBuilder();
                int j = eq + 2; // skip ="
                while (line.charAt(j) != '"') {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char n = line.charAt(++j);
                        value.append(n == 'n' ? '\n' : n);
                    } else {
                        value.append(c);
                    }
                    j++;
                }
                labels.put(key, value.toString());
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            space = i + 1;
        } else {
            space = line.indexOf(' ');
            name = line.substring(0, space);
        }
        String[] rest = line.substring(space).trim().split(" ");
        return new Sample(name, labels, Double.parseDouble(rest[0]));
    }

    public Optional<String> type(String family) {
        return Optional.ofNullable(types.get(family));
    }

    public Optional<String> help(String family) {
        return Optional.ofNullable(helps.get(family));
    }

    public List<Sample> samples() {
        return samples;
    }

    /** Samples of {@code name} whose labels include all of {@code labels} (key, value, key, value...). */
    public List<Sample> find(String name, String... labels) {
        List<Sample> out = new ArrayList<>();
        outer:
        for (Sample s : samples) {
            if (!s.name().equals(name)) {
                continue;
            }
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
                    continue outer;
                }
            }
            out.add(s);
        }
        return out;
    }

    /** The single sample matching, or empty. Fails if several match. */
    public Optional<Double> value(String name, String... labels) {
        List<Sample> found = find(name, labels);
        if (found.size() > 1) {
            throw new AssertionError(found.size() + " samples of " + name + " match " + List.of(labels));
        }
        return found.stream().findFirst().map(Sample::value);
    }
}
