package dev.corral.agent.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A command run on a real pseudo-terminal, as a user's shell runs it: python3's pty module holds the terminal
 * (Java has no openpty) and takes one instruction a line, answering each with one line. The command is the
 * terminal's session leader with it as its controlling terminal; the driver keeps the terminal's other side open
 * to read its settings ({@code stty -g}'s, as a list) before and after. {@link #close} kills the driver and the
 * command (its process group) and deletes the script.
 */
final class PtySession implements AutoCloseable {

    private static final String DRIVER = """
            import os, sys, select, fcntl, termios, struct, signal, time, codecs
            rows, cols = int(sys.argv[1]), int(sys.argv[2])
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
            before = termios.tcgetattr(slave)
            pid = os.fork()
            if pid == 0:
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for i in range(3):
                    os.dup2(slave, i)
                os.close(master)
                os.execvp(sys.argv[3], sys.argv[3:])
            buf = b''
            status = None
            def out(s):
                sys.stdout.write(s + '\\n'); sys.stdout.flush()
            def pump(t):
                global buf
                r, _, _ = select.select([master], [], [], t)
                if r:
                    try:
                        buf += os.read(master, 65536)
                    except OSError:
                        pass
            out('started %d' % pid)
            for line in sys.stdin:
                cmd, _, arg = line.rstrip('\\n').partition(' ')
                if cmd == 'send':
                    os.write(master, codecs.decode(arg, 'unicode_escape').encode('latin-1'))
                    out('sent')
                elif cmd == 'expect':
                    end = time.time() + 120
                    want = codecs.decode(arg, 'unicode_escape').encode('latin-1')
                    while want not in buf and time.time() < end:
                        pump(0.2)
                    if want in buf:
                        i = buf.index(want) + len(want)
                        out('found ' + repr(buf[:i])); buf = buf[i:]
                    else:
                        out('timeout ' + repr(buf))
                elif cmd == 'resize':
                    r, c = arg.split()
                    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', int(r), int(c), 0, 0))
                    out('resized')
                elif cmd == 'signal':
                    os.kill(pid, int(arg))
                    out('signalled')
                elif cmd == 'wait':
                    end = time.time() + 120
                    while status is None and time.time() < end:
                        pump(0.1)
                        p, st = os.waitpid(pid, os.WNOHANG)
                        if p == pid:
                            status = st
                    pump(0.1)
                    if status is None:
                        out('timeout ' + repr(buf))
                    else:
                        out('exit %d %s' % (os.waitstatus_to_exitcode(status), repr(buf)))
                elif cmd == 'termios':
                    now = termios.tcgetattr(slave)
                    out('same' if now == before else 'changed %r -> %r' % (before, now))
            """;

    private final Path script;
    private final Process driver;
    private final Writer in;
    private final BufferedReader out;
    private final long commandPid;
    private boolean reaped;

    /** Starts {@code command} on a new terminal of {@code rows} x {@code cols}. */
    PtySession(int rows, int cols, Map<String, String> env, List<String> command) throws IOException {
        script = Files.createTempFile("corral-pty-", ".py");
        Files.writeString(script, DRIVER);
        List<String> argv = new ArrayList<>(List.of("python3", script.toString(), Integer.toString(rows),
                Integer.toString(cols)));
        argv.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().remove("JAVA_TOOL_OPTIONS"); // the JVM's notice of it would be on the terminal
        pb.environment().remove("CORRAL_TOKEN");
        pb.environment().putAll(env);
        driver = pb.start();
        in = new java.io.OutputStreamWriter(driver.getOutputStream(), StandardCharsets.UTF_8);
        out = new BufferedReader(new InputStreamReader(driver.getInputStream(), StandardCharsets.UTF_8));
        String started = out.readLine();
        if (started == null || !started.startsWith("started ")) {
            close();
            throw new IOException("the pty driver did not start: " + started);
        }
        commandPid = Long.parseLong(started.substring("started ".length()));
    }

    /** One instruction (send TEXT, expect TEXT: Python escapes such as \r and \x03; resize R C; signal N; wait;
     * termios) and the driver's one-line answer. */
    String ask(String instruction) throws IOException {
        in.write(instruction + "\n");
        in.flush();
        String answer = out.readLine();
        if (answer == null) {
            throw new IOException("the pty driver ended");
        }
        reaped |= answer.startsWith("exit ");
        return answer;
    }

    @Override
    public void close() throws IOException {
        try {
            if (commandPid > 0 && !reaped) { // its process group: the command and what it started
                new ProcessBuilder("kill", "-KILL", "--", "-" + commandPid).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (driver != null) {
                driver.destroyForcibly();
                try {
                    driver.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            Files.deleteIfExists(script);
        }
    }
}
