package dev.corral.exporter.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds package cycles in a source tree from what its files name (imports and fully qualified names; comments and
 * string literals left out), without a bytecode tool: every set of packages that all reach each other (a strongly
 * connected component of more than one package) is a cycle. jdeps -verbose:package on target/classes agrees.
 */
public final class PackageCycles {

    private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
    private static final Pattern BLOCK_COMMENT = Pattern.compile("/\\*.*?\\*/", Pattern.DOTALL);
    private static final Pattern LINE_COMMENT = Pattern.compile("(?m)^\\s*//.*$");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\\\n]|\\\\.)*\"");

    private PackageCycles() {
    }

    /** Package -> the other packages under {@code prefix} its sources name. */
    public static Map<String, Set<String>> graph(Path sourceRoot, String prefix) throws IOException {
        Pattern reference = Pattern.compile(Pattern.quote(prefix) + "(?:\\.[a-z_][a-z0-9_]*)*(?=\\.(?:[A-Z]|\\*))");
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(sourceRoot)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String text = Files.readString(file);
                Matcher pkg = PACKAGE.matcher(text);
                if (!pkg.find()) {
                    continue;
                }
                String from = pkg.group(1);
                String code = BLOCK_COMMENT.matcher(text).replaceAll(" ");
                code = LINE_COMMENT.matcher(code).replaceAll(" ");
                code = STRING.matcher(code).replaceAll("\"\"");
                Set<String> to = graph.computeIfAbsent(from, k -> new TreeSet<>());
                Matcher m = reference.matcher(code);
                while (m.find()) {
                    if (!m.group().equals(from)) {
                        to.add(m.group());
                    }
                }
            }
        }
        return graph;
    }

    /** The cycles (each the set of packages that all reach each other); empty when the graph has none. */
    public static List<Set<String>> cycles(Map<String, Set<String>> graph) {
        Tarjan t = new Tarjan(graph);
        for (String node : graph.keySet()) {
            if (!t.index.containsKey(node)) {
                t.connect(node);
            }
        }
        return t.found;
    }

    /** Tarjan's strongly connected components; recursion depth is at most the number of packages. */
    private static final class Tarjan {
        final Map<String, Set<String>> graph;
        final Map<String, Integer> index = new HashMap<>();
        final Map<String, Integer> low = new HashMap<>();
        final Deque<String> stack = new ArrayDeque<>();
        final Set<String> onStack = new HashSet<>();
        final List<Set<String>> found = new ArrayList<>();
        int counter;

        Tarjan(Map<String, Set<String>> graph) {
            this.graph = graph;
        }

        void connect(String v) {
            index.put(v, counter);
            low.put(v, counter);
            counter++;
            stack.push(v);
            onStack.add(v);
            for (String w : graph.getOrDefault(v, Set.of())) {
                if (!index.containsKey(w)) {
                    connect(w);
                    low.put(v, Math.min(low.get(v), low.get(w)));
                } else if (onStack.contains(w)) {
                    low.put(v, Math.min(low.get(v), index.get(w)));
                }
            }
            if (low.get(v).equals(index.get(v))) {
                Set<String> component = new TreeSet<>();
                String w;
                do {
                    w = stack.pop();
                    onStack.remove(w);
                    component.add(w);
                } while (!w.equals(v));
                if (component.size() > 1) {
                    found.add(component);
                }
            }
        }
    }
}
