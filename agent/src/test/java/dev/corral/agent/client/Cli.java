package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.cli.CorralMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/** Runs the corral CLI in-process with captured output and a chosen environment. */
final class Cli {

    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.strip().isEmpty() ? List.of() : err.strip().lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- out\n" + out + "--- err\n" + err;
        }
    }

    private Cli() {
    }

    /** Replaces the CLI's environment (CORRAL_HOST, CORRAL_TOKEN, run -e NAME). */
    static void environment(Map<String, String> env) {
        ClientEnv.getenv = env::get;
    }

    static void realEnvironment() {
        ClientEnv.getenv = System::getenv;
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = CorralMain.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /** Runs and requires exit code 0, showing the whole output when it is not. */
    static Result ok(String... args) {
        Result r = run(args);
        assertThat(r.code()).as(String.join(" ", args) + "\n" + r).isZero();
        return r;
    }

    /** Parses (without running) and returns the subcommand's object. */
    static <T> T parse(Class<T> type, String... args) {
        CommandLine.ParseResult r = CorralMain.commandLine().parseArgs(args);
        while (r.hasSubcommand()) {
            r = r.subcommand();
        }
        return type.cast(r.commandSpec().userObject());
    }

    /**
     * The spec {@code corral run ARGS} would send (named as --name says, else "generated"); a bad --restart or
     * --stop-timeout (docker run's failure, not a usage error) as an IllegalArgumentException.
     */
    static dev.corral.agent.spec.ContainerSpec runSpec(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "run";
        System.arraycopy(args, 0, argv, 1, args.length);
        RunCommand run = parse(RunCommand.class, argv);
        try {
            return run.container.toSpec(run.container.name == null ? "generated" : run.container.name);
        } catch (ApiException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
