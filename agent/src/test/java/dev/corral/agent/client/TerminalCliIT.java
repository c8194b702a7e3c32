package dev.corral.agent.client;

import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code -t} as a user meets it: bin/corral on a real pseudo-terminal (PtySession), against a real agent. The
 * shell in the container prompts, sees this terminal's size and its resizes, gets Ctrl-C in its foreground process,
 * exits with its status, and this terminal's settings are the same afterwards, on every way out. Also in the v2
 * guest, with the quick tour after package (QuickTourV2GuestIT): it needs bin/corral's jar.
 */
@Tag("root")
class TerminalCliIT {

    private static final Path CORRAL = Path.of(System.getenv().getOrDefault("CORRAL_REPO", ".."))
            .resolve("bin/corral");
    private static ClientAgentFixture fx;

    @BeforeAll
    static void start() throws Exception {
        CorralCliIT.assertJarIsFresh("ExecCommand");
        fx = new ClientAgentFixture();
        // The first bin/corral of a v2 guest reads the jar over 9p: minutes under emulation, not what is tested
        CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "ps");
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    private static PtySession corral(int rows, int cols, String... args) throws Exception {
        return corral(Map.of("CORRAL_HOST", fx.host()), rows, cols, args);
    }

    private static PtySession corral(Map<String, String> env, int rows, int cols, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(CORRAL.toString()));
        argv.addAll(List.of(args));
        return new PtySession(rows, cols, env, argv);
    }

    /** The agent over TCP, with its token. */
    private static Map<String, String> tcp() throws Exception {
        return Map.of("CORRAL_HOST", "tcp://127.0.0.1:" + fx.agent.httpPort(), "CORRAL_TOKEN",
                Files.readString(fx.tokenFile()).strip());
    }

    private static void run(String name) throws Exception {
        CorralCliIT.Result r = CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "run", HOST_FLAG, "-d",
                "--name", name, "sleep", "600");
        assertThat(r.code()).as(r.toString()).isZero();
    }

    private static void rm(String name) throws Exception {
        CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "rm", "-f", name);
    }

    @Test
    void execItGivesAShellOnATerminalThatFollowsThisOne() throws Exception {
        run("tty-exec");
        try (PtySession t = corral(31, 97, "exec", "-it", "tty-exec", "sh")) {
            assertThat(t.ask("expect # ")).startsWith("found");
            assertThat(t.ask("send tty; stty size\\r")).isEqualTo("sent");
            // the container's own devpts (its /dev/pts/0: the first terminal of that instance), this one's size
            assertThat(t.ask("expect 31 97\\r\\n")).contains("/dev/pts/0\\r\\n");
            followsAResizeThenCtrlCAndExit3(t);
        } finally {
            rm("tty-exec");
        }
    }

    @Test
    void theTerminalIsRestoredWhenTheExecFailsOrTheClientIsKilled() throws Exception {
        try (PtySession t = corral(24, 80, "exec", "-it", "tty-none", "sh")) {
            String end = t.ask("wait");
            assertThat(end).startsWith("exit 1 ").contains("tty-none");
            assertThat(t.ask("termios")).isEqualTo("same");
        }
        run("tty-kill");
        try (PtySession t = corral(tcp(), 24, 80, "exec", "-it", "tty-kill", "sh")) { // over TCP this time
            assertThat(t.ask("expect # ")).startsWith("found");
            t.ask("send stty size\\r");
            assertThat(t.ask("expect # ")).contains("24 80\\r\\n");
            t.ask("signal 15"); // SIGTERM to the client: its shutdown hook restores the terminal
            assertThat(t.ask("wait")).startsWith("exit ");
            assertThat(t.ask("termios")).isEqualTo("same");
        } finally {
            rm("tty-kill");
        }
    }

    @Test
    void execItWithoutATerminalSaysSoAsDocker() throws Exception {
        run("tty-notty");
        try {
            CorralCliIT.Result r = CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "exec", "-it", "tty-notty",
                    "sh");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).endsWith("the input device is not a TTY\n"); // after the JVM's notices, if any
            // -t alone: a terminal in the container, nothing read from here
            r = CorralCliIT.corral(tcp(), "exec", "-t", "tty-notty", "sh", "-c",
                    "tty; stty size");
            assertThat(r.code()).as(r.toString()).isZero();
            // a terminal's line ends (onlcr), and no size to follow
            assertThat(r.out()).matches("/dev/pts/\\d+\r\n0 0\r\n");
        } finally {
            rm("tty-notty");
        }
    }

    @Test
    void runItGivesTheContainersOwnProcessATerminalThatFollowsThisOne() throws Exception {
        try (PtySession t = corral(31, 97, "run", "-it", "--rm", HOST_FLAG, "--name", "tty-run", "sh")) {
            assertThat(t.ask("expect # ")).startsWith("found");
            assertThat(t.ask("send tty; stty size\\r")).isEqualTo("sent");
            // the container's own devpts: init's terminal is the first of that instance, of this one's size (sent
            // before the typed-ahead input: a timeout's buffer holding "0 0" is a failure)
            assertThat(t.ask("expect 31 97\\r\\n")).startsWith("found").contains("/dev/pts/0\\r\\n");
            followsAResizeThenCtrlCAndExit3(t);
        } finally {
            rm("tty-run");
        }
        // --rm: gone, and its monitor's stdin socket with it
        assertThat(CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "ps", "-a").out()).doesNotContain("tty-run");
    }

    @Test
    void runDashTAloneStartsAtThisTerminalsSize() throws Exception {
        // no -i, so no input to carry resizes: the size must be there when the command starts (as Docker's
        // ConsoleSize), or stty says 0 0
        try (PtySession t = corral(27, 91, "run", "-t", "--rm", HOST_FLAG, "--name", "tty-size", "stty", "size")) {
            // first thing on the terminal (a "0 0" would come before); the line end is \r\r\n: this terminal is not
            // raw without -i, and adds its own \r
            assertThat(t.ask("expect 27 91")).isEqualTo("found b'27 91'");
            assertThat(t.ask("wait")).startsWith("exit 0 ");
            assertThat(t.ask("termios")).isEqualTo("same");
        } finally {
            rm("tty-size");
        }
    }

    /** A shell script that prints its terminal's size, waits (10 s at most) for it to change, prints it again, then
     * reads its terminal for 2 s and prints what came. */
    private static final String FOLLOW_AND_READ = "first=$(stty size); echo \"first $first\"; i=0; "
            + "while [ \"$(stty size)\" = \"$first\" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
            + "echo \"now $(stty size)\"; stty -icanon min 0 time 20; x=$(dd bs=64 count=1 2>/dev/null); "
            + "echo \"got-[$x]-end\"";

    @Test
    void runDashTAloneFollowsResizesButNeverReadsThisInput() throws Exception {
        // As docker run -t: the resizes go (on the stdin stream, as frames with no input), the typed keys do not
        try (PtySession t = corral(27, 91, "run", "-t", "--rm", HOST_FLAG, "--name", "tty-winch", "sh", "-c",
                FOLLOW_AND_READ)) {
            assertThat(t.ask("expect first 27 91")).startsWith("found");
            assertThat(t.ask("resize 40 120")).isEqualTo("resized");
            // typed before the container reads: had it been forwarded, it would wait in the container's terminal
            assertThat(t.ask("send secret-input\\r")).isEqualTo("sent");
            assertThat(t.ask("expect now 40 120")).startsWith("found");
            String got = t.ask("expect -end");
            assertThat(got).startsWith("found").contains("got-[]-end").doesNotContain("got-[secret");
            assertThat(t.ask("wait")).startsWith("exit 0 ");
            assertThat(t.ask("termios")).isEqualTo("same");
        } finally {
            rm("tty-winch");
        }
    }

    @Test
    void aDashTContainerWithoutDashITakesResizesButDropsInputFramesSentToIt() throws Exception {
        // A client that sends input frames anyway (the API's stdin route): the monitor applies the resize, drops
        // the input, so a container made without -i never reads a client's keys
        CorralCliIT.Result d = CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "run", "-d", "-t", HOST_FLAG,
                "--name", "tty-drop", "sh", "-c", FOLLOW_AND_READ + "; sleep 600");
        assertThat(d.code()).as(d.toString()).isZero();
        try {
            String logs = "";
            for (int i = 0; i < 100 && !logs.contains("first"); i++) {
                Thread.sleep(100);
                logs = CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "logs", "tty-drop").out();
            }
            assertThat(logs).contains("first");
            try (ExecStream s = ExecStream.open(DaemonAddress.unix(fx.socket().toString()), null,
                    "/v1/containers/tty-drop/stdin", new java.io.ByteArrayInputStream(
                            "leaked-input\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)), true,
                    new int[] {33, 44})) {
                for (int i = 0; i < 100 && !logs.contains("-end"); i++) {
                    Thread.sleep(100);
                    logs = CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "logs", "tty-drop").out();
                }
            }
            assertThat(logs).contains("now 33 44").contains("got-[]-end").doesNotContain("leaked");
        } finally {
            rm("tty-drop");
        }
    }

    @Test
    void detachKeysLeaveItRunningAndAttachGetsBackOnTheTerminal() throws Exception {
        try {
            try (PtySession t = corral(24, 80, "run", "-it", HOST_FLAG, "--name", "tty-att", "sh")) {
                assertThat(t.ask("expect # ")).startsWith("found");
                t.ask("send echo one-$((40+2))\\r");
                assertThat(t.ask("expect one-42")).startsWith("found");
                t.ask("send \\x10\\x11"); // ctrl-p ctrl-q
                assertThat(t.ask("wait")).startsWith("exit 0 ");
                assertThat(t.ask("termios")).isEqualTo("same");
            }
            assertThat(CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "ps").out()).contains("tty-att");
            try (PtySession t = corral(tcp(), 30, 100, "attach", "tty-att")) { // over TCP this time
                String size = "";
                for (int i = 0; i < 50 && !size.contains("30 100"); i++) { // attached once the size is there
                    t.ask("send stty size\\r");
                    size = t.ask("expect # ");
                    Thread.sleep(100);
                }
                assertThat(size).contains("30 100");
                // as docker's, no sig-proxy on a terminal: SIGTERM ends this client, restores the terminal
                t.ask("signal 15");
                assertThat(t.ask("wait")).startsWith("exit ");
                assertThat(t.ask("termios")).isEqualTo("same");
            }
            assertThat(CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "ps").out()).contains("tty-att");
            try (PtySession t = corral(30, 100, "attach", "tty-att")) {
                t.ask("send exit 5\\r");
                assertThat(t.ask("wait")).startsWith("exit 5 ");
                assertThat(t.ask("termios")).isEqualTo("same");
            }
            // its monitor ended and took the stdin socket with it
            assertThat(fx.stateDir.resolve("containers/tty-att/stdin.sock")).doesNotExist();
        } finally {
            rm("tty-att");
        }
    }

    @Test
    void startDashAiOfACreatedDashItContainerIsOnThisTerminal() throws Exception {
        CorralCliIT.Result c = CorralCliIT.corral(Map.of("CORRAL_HOST", fx.host()), "create", "-it", HOST_FLAG,
                "--name", "tty-start", "sh", "-c", "stty size; read x; echo got-$x; exit 6");
        assertThat(c.code()).as(c.toString()).isZero();
        try (PtySession t = corral(27, 91, "start", "-a", "-i", "tty-start")) {
            // the size is sent once attached: the container may have asked before it came
            assertThat(t.ask("expect \\r\\n")).matches("found b'(0 0|27 91)\\\\r\\\\n'");
            t.ask("send hi\\r");
            assertThat(t.ask("expect got-hi\\r\\n")).startsWith("found");
            assertThat(t.ask("wait")).startsWith("exit 6 ");
            assertThat(t.ask("termios")).isEqualTo("same");
        } finally {
            rm("tty-start");
        }
    }

    /**
     * At a shell prompt on a terminal of 31x97: the container follows a resize to 40x120 (asynchronous: SIGWINCH to
     * the client, a frame to the shim, so asked until it is there), Ctrl-C (a byte to the container's terminal, which
     * signals its foreground process group) reaches a trap, `exit 3` ends the session with 3, and this terminal's
     * settings are as before.
     */
    private static void followsAResizeThenCtrlCAndExit3(PtySession t) throws Exception {
        assertThat(t.ask("resize 40 120")).isEqualTo("resized");
        String size = "";
        for (int i = 0; i < 50 && !size.contains("40 120"); i++) {
            t.ask("send stty size\\r");
            size = t.ask("expect # ");
            Thread.sleep(100);
        }
        assertThat(size).contains("40 120");
        t.ask("send sh -c 'trap \"echo got-int; exit 7\" INT; echo ready; while :; do sleep 0.1; done'; echo rc=$?\\r");
        assertThat(t.ask("expect ready\\r\\n")).startsWith("found");
        t.ask("send \\x03");
        assertThat(t.ask("expect rc=7")).contains("got-int");
        t.ask("send exit 3\\r");
        assertThat(t.ask("wait")).startsWith("exit 3 ");
        assertThat(t.ask("termios")).isEqualTo("same");
    }
}
