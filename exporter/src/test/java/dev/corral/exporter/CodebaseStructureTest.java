package dev.corral.exporter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.testing.PackageCycles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rules over the whole repository's sources: no package cycle, every test class in a lane, CI runs every lane. */
@Tag("unit")
class CodebaseStructureTest {

    private static final Path REPO = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).toAbsolutePath()
            .normalize();
    private static final List<String> MODULES = List.of("exporter", "policies", "agent", "dashboards");
    private static final Pattern LANE_TAG = Pattern.compile("@(net\\.jqwik\\.api\\.)?Tag\\(\"(unit|root|vm)\"\\)");
    private static final Pattern HAS_TESTS = Pattern.compile("@(Test|ParameterizedTest|Property|Example)\\b");

    @Test
    void noModuleHasAPackageCycle() throws IOException {
        for (String module : MODULES) {
            Path main = REPO.resolve(module).resolve("src/main/java");
            if (Files.isDirectory(main)) {
                assertThat(PackageCycles.cycles(PackageCycles.graph(main, "dev.corral"))).as(module).isEmpty();
            }
        }
    }

    @Test
    void theCycleFinderFindsACycle(@TempDir Path tmp) throws IOException {
        write(tmp.resolve("a/A.java"), "package p.a;\nimport p.b.B;\nclass A {}\n");
        write(tmp.resolve("b/B.java"), "package p.b;\nclass B { p.a.A a; }\n");
        write(tmp.resolve("c/C.java"), "package p.c;\n/** {@link p.a.A} in a comment is no dependency */\n"
                + "class C { p.b.B b; String s = \"p.c.C\"; }\n");
        Map<String, Set<String>> graph = PackageCycles.graph(tmp, "p");
        assertThat(graph.get("p.c")).containsExactly("p.b");
        assertThat(PackageCycles.cycles(graph)).containsExactly(Set.of("p.a", "p.b"));
    }

    /** Lanes are chosen by tag (README "Tests"): a class with no lane tag would run in no narrowed lane. */
    @Test
    void everyTestClassIsInALane() throws IOException {
        List<Path> untagged = new ArrayList<>();
        for (String module : MODULES) {
            Path test = REPO.resolve(module).resolve("src/test/java");
            if (!Files.isDirectory(test)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(test)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(f);
                    if (HAS_TESTS.matcher(text).find() && !LANE_TAG.matcher(text).find()) {
                        untagged.add(REPO.relativize(f));
                    }
                }
            }
        }
        assertThat(untagged).as("test classes without @Tag(\"unit\"|\"root\"|\"vm\")").isEmpty();
    }

    /** CI runs every lane: a CI run narrowed by the lane-unit profile (e.g. not run as root) must not pass. */
    @Test
    void ciRunsEveryLane() {
        if ("true".equals(System.getenv("CI"))) {
            assertThat(System.getProperty("corral.test.groups", "")).as("test.groups on CI").isBlank();
            assertThat(System.getProperty("corral.test.excludedGroups", "")).as("test.excludedGroups on CI").isBlank();
        }
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
