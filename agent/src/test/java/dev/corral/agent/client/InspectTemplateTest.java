package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** inspect -f's template subset, on a container as the API returns it. */
@Tag("unit")
class InspectTemplateTest {

    private static final String CONTAINER = """
            {"name":"web","id":"0123456789abcdef","state":"running","createdAtMillis":0,"startedAtMillis":1000,
             "initPid":4242,"autoRemove":true,
             "spec":{"name":"web","command":["sh","-c","echo hi"],"env":{"A":"1","PATH":"/bin"},"image":"busybox:1",
                     "labels":{"tier":"web","team":"core"},"user":{"uid":1000,"gid":100},
                     "limits":{"memory":{"max":268435456},"cpu":{"cpus":1.5},"pids":{"max":100}}}}""";

    private static String apply(String template) throws Exception {
        JsonNode c = ClientJson.read(CONTAINER.getBytes(StandardCharsets.UTF_8));
        return InspectTemplate.parse(template).apply(InspectTemplate.dockerView(c));
    }

    static Stream<Arguments> templates() {
        return Stream.of(
                arguments("{{.State.Status}}", "running"),
                arguments("{{.State.Running}} {{.State.Paused}} {{.State.Pid}} {{.State.ExitCode}}", "true false 4242 0"),
                arguments("{{.State.StartedAt}} {{.State.FinishedAt}}", "1970-01-01T00:00:01Z 0001-01-01T00:00:00Z"),
                arguments("{{.Id}} {{.Name}} {{.Created}}", "0123456789abcdef /web 1970-01-01T00:00:00Z"),
                arguments("{{.Path}} {{.Args}}", "sh [-c echo hi]"),
                arguments("{{.Config.Image}}/{{.Image}}", "busybox:1/busybox:1"),
                arguments("{{.Config.Env}}", "[A=1 PATH=/bin]"),
                arguments("{{.Config.Labels}}", "map[team:core tier:web]"),
                arguments("{{index .Config.Labels \"tier\"}}", "web"),
                arguments("{{index .Config.Cmd 2}}", "echo hi"),
                arguments("{{index .Config.Labels \"none\"}}", "<no value>"),
                arguments("{{json .Config.Labels}}", "{\"tier\":\"web\",\"team\":\"core\"}"),
                arguments("{{.Config.Labels | json}}", "{\"tier\":\"web\",\"team\":\"core\"}"),
                arguments("{{json .State.Status}}", "\"running\""),
                arguments("{{join .Config.Cmd \",\"}}", "sh,-c,echo hi"),
                arguments("{{.State.Status | upper}} {{lower \"AbC\"}} {{len .Config.Env}}", "RUNNING abc 2"),
                arguments("{{.Config.User}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
                        "1000:100 268435456 1500000000 100"),
                arguments("{{.HostConfig.AutoRemove}}", "true"),
                arguments("{{.state}} {{.spec.limits.memory.max}} {{.initPid}}", "running 268435456 4242"),
                arguments("{{.NoSuch}} {{.State.NoSuch}}", "<no value> <no value>"),
                arguments("{{.config.image}}", "busybox:1"),
                arguments("name={{ .Name }}, \"{{.Name}}\"\t{{\"}}\"}}", "name=/web, \"/web\"\t}}"),
                arguments("plain text", "plain text"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("templates")
    void templatesPrintAsDockerDoes(String template, String expected) throws Exception {
        assertThat(apply(template)).isEqualTo(expected);
    }

    @Test
    void malformedTemplatesAreRefusedSayingWhy() {
        assertThatThrownBy(() -> apply("{{.State.Status")).hasMessage("unclosed action: '{{.State.Status'");
        assertThatThrownBy(() -> apply("{{}}")).hasMessage("missing value for command: {{}}");
        assertThatThrownBy(() -> apply("{{printf \"%s\" .Name}}"))
                .hasMessage("function \"printf\" not defined (this subset has json, index, join, upper, lower, len)");
        assertThatThrownBy(() -> apply("{{.Name | }}")).hasMessage("missing command after '|' in {{.Name |}}");
        assertThatThrownBy(() -> apply("{{.State..Status}}")).hasMessage("bad field path '.State..Status'");
        assertThatThrownBy(() -> apply("{{index .Name 1}}")).hasMessage("can't index a string with 1");
        assertThatThrownBy(() -> apply("{{.Name.First}}")).hasMessage("can't evaluate field First in a string");
        assertThatThrownBy(() -> apply("{{.Name .Id}}")).hasMessage("can't give argument to non-function .Name");
    }

    @Test
    void aContainerInItsRestartBackoffIsRestartingAsDockerShowsIt() throws Exception {
        JsonNode c = ClientJson.read("""
                {"name":"flaky","state":"exited","exitCode":2,"finishedAtMillis":10000,"restartCount":3,
                 "restarting":true,"createdAtMillis":0,"spec":{"name":"flaky","command":["false"]}}"""
                .getBytes(StandardCharsets.UTF_8));
        assertThat(InspectTemplate.parse("{{.State.Status}} {{.State.Restarting}} {{.State.Running}} "
                + "{{.State.ExitCode}} {{.RestartCount}}").apply(InspectTemplate.dockerView(c)))
                .isEqualTo("restarting true true 2 3");
        // docker ps's words: "Restarting (2) 2 seconds ago"
        assertThat(PsCommand.status(c, 12_500)).isEqualTo("Restarting (2) 2 seconds ago (3 restarts)");
        assertThat(InspectTemplate.parse("{{.State.Restarting}}").apply(InspectTemplate.dockerView(
                ClientJson.read(CONTAINER.getBytes(StandardCharsets.UTF_8))))).isEqualTo("false");
    }
}
