package dev.corral.agent.cli;

import dev.corral.agent.client.QuickCli;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The build's training run for the client's class-data-sharing archive (agent/src/build/client-cds.sh): runs the
 * quick commands against a canned daemon on a temporary unix socket, and builds picocli's whole command tree, so
 * that the classes a client command loads are the ones archived. Not used at run time.
 */
public final class CdsTraining {

    private static final String CONTAINER = "{\"name\":\"web\",\"state\":\"running\",\"initPid\":42,"
            + "\"createdAtMillis\":1765000000000,\"spec\":{\"command\":[\"sleep\",\"600\"],\"memory\":67108864,"
            + "\"cpus\":0.5},\"exitCode\":null}";

    private CdsTraining() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("corral-cds");
        Path socket = dir.resolve("d.sock");
        PrintStream none = new PrintStream(OutputStream.nullOutputStream());
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread daemon = new Thread(() -> serve(server), "canned-daemon");
            daemon.setDaemon(true);
            daemon.start();
            String host = "unix://" + socket;
            for (String[] line : new String[][] {{"-H", host, "ps"}, {"-H", host, "ps", "-a", "--format", "json"},
                    {"-H", host, "inspect", "web"}, {"-H", host, "stop", "web"}, {"--version"}}) {
                if (QuickCli.run(line, "training", none, none) == null) {
                    throw new IllegalStateException("not a quick command line: " + String.join(" ", line));
                }
            }
            CorralMain.commandLine().getUsageMessage();
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
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
                String body = path.startsWith("/v1/containers?") || path.equals("/v1/containers")
                        ? "[" + CONTAINER + "]" : path.endsWith("/stop") ? "{}" : CONTAINER;
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
