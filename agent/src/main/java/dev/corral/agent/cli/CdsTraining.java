package dev.corral.agent.cli;

import dev.corral.agent.client.QuickCli;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * The build's training run for the client's class-data-sharing archive (agent/src/build/client-cds.sh): runs the
 * quick commands against a canned daemon on a temporary unix socket, and builds picocli's whole command tree, so
 * that the classes a client command loads are the ones archived. Not used at run time.
 */
public final class CdsTraining {

    private static final String CONTAINER = "{\"name\":\"web\",\"state\":\"running\",\"initPid\":42,"
            + "\"createdAtMillis\":1765000000000,\"spec\":{\"command\":[\"sleep\",\"600\"],\"memory\":67108864,"
            + "\"cpus\":0.5},\"exitCode\":null}";

    /** A network with a published port: ps's PORTS column runs its code. */
    private static final String NETWORKS = "[{\"name\":\"bridge\",\"containers\":{\"web\":{\"ports\":"
            + "[{\"hostIp\":\"127.0.0.1\",\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"}]}}}]";

    private CdsTraining() {
    }

    /**
     * With {@code CORRAL_HOST=unix://PATH} in its environment (client-cds.sh sets it), the canned daemon listens there
     * and the lines name no host, as people type them: the environment's classes are then archived too.
     */
    public static void main(String[] args) throws Exception {
        String env = System.getenv("CORRAL_HOST");
        boolean fromEnv = env != null && env.startsWith("unix://");
        Path dir = fromEnv ? null : Files.createTempDirectory("corral-cds");
        Path socket = fromEnv ? Path.of(env.substring("unix://".length())) : dir.resolve("d.sock");
        PrintStream none = new PrintStream(OutputStream.nullOutputStream());
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread daemon = new Thread(() -> serve(server), "canned-daemon");
            daemon.setDaemon(true);
            daemon.start();
            String host = "unix://" + socket;
            String[][] lines = {{"ps"}, {"ps", "-a", "--format", "json"}, {"inspect", "web"}, {"stop", "web"},
                {"--version"}, {"-H", host, "ps"}};
            for (String[] line : lines) {
                if (!fromEnv && !line[0].startsWith("-")) {
                    line = prepend("-H", host, line);
                }
                if (QuickCli.run(line, "training", none, none) == null) {
                    throw new IllegalStateException("not a quick command line: " + String.join(" ", line));
                }
            }
            // run --rm through picocli, as people type it: its options, the spec's JSON, the attach
            String[] run = {"run", "--rm", "--memory", "64m", "--cpus", "0.5", "--image", "bench/busybox:1", "true"};
            CommandLine cli = CorralMain.commandLine(fromEnv ? run : prepend("-H", host, run));
            PrintWriter quiet = new PrintWriter(none);
            cli.setOut(quiet);
            cli.setErr(quiet);
            if (cli.execute(fromEnv ? run : prepend("-H", host, run)) != 0) {
                throw new IllegalStateException("the training run failed");
            }
            CorralMain.commandLine().getUsageMessage();
        } finally {
            Files.deleteIfExists(socket);
            if (dir != null) {
                Files.deleteIfExists(dir);
            }
        }
    }

    private static String[] prepend(String a, String b, String[] rest) {
        String[] line = new String[rest.length + 2];
        line[0] = a;
        line[1] = b;
        System.arraycopy(rest, 0, line, 2, rest.length);
        return line;
    }

    private static void serve(ServerSocketChannel server) {
        while (true) {
            try (SocketChannel c = server.accept()) {
                ByteBuffer in = ByteBuffer.allocate(64 * 1024);
                String request = "";
                while (!request.contains("\r\n\r\n") && c.read(in) > 0) {
                    request = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
                }
                String path = request.split(" ", 3)[1];
                String method = request.split(" ", 2)[0];
                String body = method.equals("GET") && (path.startsWith("/v1/containers?")
                        || path.equals("/v1/containers"))
                        ? "[" + CONTAINER + "," + CONTAINER.replace("\"web\"", "\"db\"") + "]"
                        : path.startsWith("/v1/networks") ? NETWORKS
                        : path.contains("/logs") ? ""
                        : path.contains("/wait") ? "{\"name\":\"web\",\"state\":\"exited\",\"exitCode\":0}"
                        : path.endsWith("/stop") || method.equals("DELETE") ? "{}" : CONTAINER;
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                String head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                        + "\r\nConnection: close\r\n\r\n";
                c.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
                c.write(ByteBuffer.wrap(b));
            } catch (IOException e) {
                return;
            }
        }
    }
}
