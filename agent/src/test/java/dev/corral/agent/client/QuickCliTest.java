package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The quick path and picocli give the same answer to every command line: the same exit code, output, errors and
 * requests; where the quick path does not take a line (help, rare options, any usage error) it sends nothing.
 */
@Tag("unit")
class QuickCliTest {

    private static final String WEB = "{\"name\":\"web\",\"state\":\"running\",\"initPid\":42,"
            + "\"createdAtMillis\":1700000000000,\"spec\":{\"command\":[\"sleep\",\"600\"]},\"n\":1.5,"
            + "\"big\":12345678901234,\"t\":true,\"z\":null,\"s\":\"\\u00e9<\\\"\"}";
    private static final String OLD = WEB.replace("\"web\"", "\"old\"").replace("\"running\"", "\"exited\"")
            .replace("1700000000000", "1600000000000");

    private FakeDaemon daemon;

    @BeforeEach
    void start() throws Exception {
        daemon = new FakeDaemon();
        daemon.answer(req -> {
            String uri = req.uri();
            int status = 200;
            String body;
            if (uri.startsWith("/v1/containers?all=true")) {
                body = "[" + WEB + "," + OLD + "]";
            } else if (uri.equals("/v1/containers")) {
                body = "[" + WEB + "]";
            } else if (uri.startsWith("/v1/containers/web")) {
                body = uri.endsWith("/stop") || uri.contains("/stop?") ? "{}" : WEB;
            } else {
                status = 404;
                body = "{\"error\":\"no container named 'nosuch'\"}";
            }
            req.response().setStatusCode(status).putHeader("content-type", "application/json").end(body);
        });
    }

    @AfterEach
    void stop() throws Exception {
        daemon.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ps", "ps -a", "ps -aq", "ps -qa", "ps --all --quiet", "ps --format json",
            "ps -a --format=json", "inspect web", "inspect web nosuch", "inspect nosuch", "inspect -- web",
            "stop web", "stop -t 3 web", "stop --time=0 web nosuch", "--version", "-V", "HOST ps -a",
            "HOST inspect web", "ps HOST", "stop HOST -t 2 web"})
    void theQuickPathTakesThePlainFormsAndAnswersAsPicocliDoes(String line) {
        assertThat(compare(line)).as("taken by the quick path").isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ps --format xml", "ps -f state=running", "ps --no-such", "ps -x", "inspect",
            "inspect 'bad name'", "inspect --help", "stop -t -1 web", "stop -t x web", "stop", "stop --time",
            "ps --version", "nosuch", "", "--host", "run web"})
    void everyOtherLineGoesToPicocliWithNothingSent(String line) {
        assertThat(compare(line)).as("taken by the quick path").isFalse();
    }

    /** Runs the line both ways; false when the quick path left it to picocli. */
    private boolean compare(String line) {
        List<String> args = new ArrayList<>();
        boolean hostGiven = line.contains("HOST");
        if (!hostGiven && !line.startsWith("-") && !line.isEmpty()) {
            args.addAll(List.of("-H", daemon.host()));
        }
        for (String a : line.split(" ")) {
            if (a.equals("HOST")) {
                args.addAll(List.of("--host", daemon.host()));
            } else if (!a.isEmpty()) {
                args.add(a.equals("'bad") ? "bad name" : a);
            }
        }
        args.remove("name'");
        String[] argv = args.toArray(String[]::new);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Integer quick = QuickCli.run(argv, dev.corral.agent.Version.current(),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        List<FakeDaemon.Request> quickRequests = List.copyOf(daemon.requests);
        daemon.requests.clear();
        Cli.Result picocli = Cli.run(argv);

        if (quick == null) {
            assertThat(quickRequests).as("a line the quick path leaves to picocli sends nothing").isEmpty();
            assertThat(out.size() + err.size()).isZero();
            return false;
        }
        assertThat(quick).as("exit code of %s (picocli: %s)", args, picocli).isEqualTo(picocli.code());
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(picocli.out());
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo(picocli.err());
        assertThat(quickRequests).isEqualTo(daemon.requests);
        return true;
    }
}
