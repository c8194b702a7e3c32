package dev.corral.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.cli.CorralMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The references stay complete: every {@code serve} option is in README's "Running the agent", every client
 * command and each of its long options is in docs/cli.md. A flag added without its line fails here, not in a
 * user's hands.
 */
@Tag("unit")
class DocsCompletenessTest {

    private static final Path REPO = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).toAbsolutePath().normalize();

    @Test
    void everyServeOptionIsInTheReadme() throws IOException {
        String readme = Files.readString(REPO.resolve("README.md"));
        int from = readme.indexOf("## Running the agent");
        String section = readme.substring(from, readme.indexOf("\n## ", from + 1));
        List<String> missing = new ArrayList<>();
        for (OptionSpec option : subcommands().get("serve").options()) {
            if (!option.usageHelp() && !option.versionHelp() && !section.contains(option.longestName())) {
                missing.add(option.longestName());
            }
        }
        assertThat(missing).as("serve options missing from README.md's \"Running the agent\"").isEmpty();
    }

    @Test
    void everyClientCommandAndLongOptionIsInTheCliReference() throws IOException {
        String cli = expandBraces(Files.readString(REPO.resolve("docs/cli.md")));
        List<String> missing = new ArrayList<>();
        subcommands().forEach((name, spec) -> {
            if (name.equals("serve") || name.equals("help")) {
                return;
            }
            if (!cli.contains("`" + name + " ") && !cli.contains("`" + name + "`")) {
                missing.add(name);
            }
            collect(name, spec, cli, missing);
        });
        assertThat(missing).as("commands or options missing from docs/cli.md").isEmpty();
    }

    private static void collect(String path, CommandSpec spec, String cli, List<String> missing) {
        for (OptionSpec option : spec.options()) {
            String longest = option.longestName();
            if (longest.startsWith("--") && !option.usageHelp() && !option.versionHelp() && !cli.contains(longest)) {
                missing.add(path + " " + longest);
            }
        }
        spec.subcommands().forEach((name, sub) -> {
            if (!name.equals("help")) {
                if (!cli.contains(name)) {
                    missing.add(path + " " + name);
                }
                collect(path + " " + name, sub.getCommandSpec(), cli, missing);
            }
        });
    }

    /** {@code --device-{read,write}-bps} in the docs names both flags. */
    private static String expandBraces(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("--([\\w-]*)\\{([^}]*)}([\\w-]*)").matcher(text);
        StringBuilder out = new StringBuilder(text);
        while (m.find()) {
            for (String alt : m.group(2).split(",")) {
                out.append(" --").append(m.group(1)).append(alt).append(m.group(3));
            }
        }
        return out.toString();
    }

    private static Map<String, CommandSpec> subcommands() {
        Map<String, CommandSpec> out = new java.util.TreeMap<>();
        CorralMain.commandLine().getSubcommands().forEach((name, sub) -> out.put(name, sub.getCommandSpec()));
        return out;
    }
}
