package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP/1.1 client against a raw scripted server, over a unix socket and over TCP. */
@Timeout(30)
@Tag("unit")
class HttpTransportTest {

    /** What the client sent: the head (request line and headers) and the body. */
    record Request(String head, String body) {
        String line() {
            return head.substring(0, head.indexOf("\r\n"));
        }
    }

    @FunctionalInterface
    interface Script {
        void answer(Request request, SocketChannel ch) throws Exception;
    }

    /** Accepts connections one at a time and answers each with the script, on its own thread. */
    static final class RawServer implements AutoCloseable {
        final ServerSocketChannel server;
        final Path dir;
        final BlockingQueue<Request> requests = new LinkedBlockingQueue<>();
        final List<Throwable> failures = new CopyOnWriteArrayList<>();
        private final Thread thread;

        RawServer(boolean unix, Script script) throws IOException {
            if (unix) {
                dir = Files.createTempDirectory("corral-http-test");
                server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                server.bind(UnixDomainSocketAddress.of(dir.resolve("s.sock")));
            } else {
                dir = null;
                server = ServerSocketChannel.open();
                server.bind(new InetSocketAddress("127.0.0.1", 0));
            }
            thread = new Thread(() -> {
                while (server.isOpen()) {
                    try (SocketChannel ch = server.accept()) {
                        Request r = readRequest(ch);
                        requests.add(r);
                        script.answer(r, ch);
                    } catch (ClosedChannelException e) {
                        return;
                    } catch (Exception e) {
                        failures.add(e);
                    }
                }
            }, "raw-server");
            thread.setDaemon(true);
            thread.start();
        }

        HttpTransport transport(String token) {
            return dir != null ? HttpTransport.unix(dir.resolve("s.sock"))
                    : HttpTransport.tcp("127.0.0.1", ((InetSocketAddress) server.socket().getLocalSocketAddress()).getPort(),
                    token);
        }

        private static Request readRequest(SocketChannel ch) throws IOException {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(1);
            while (!got.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                if (ch.read(b.clear()) < 0) {
                    throw new IOException("request cut short: " + got);
                }
                got.write(b.get(0));
            }
            String head = got.toString(StandardCharsets.ISO_8859_1);
            int length = 0;
            for (String line : head.split("\r\n")) {
                if (line.toLowerCase().startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).strip());
                }
            }
            ByteBuffer body = ByteBuffer.allocate(length);
            while (body.hasRemaining() && ch.read(body) >= 0) {
                // reading
            }
            return new Request(head, new String(body.array(), StandardCharsets.UTF_8));
        }

        @Override
        public void close() throws Exception {
            server.close();
            thread.join(5000);
            if (dir != null) {
                Files.deleteIfExists(dir.resolve("s.sock"));
                Files.deleteIfExists(dir);
            }
            assertThat(failures).isEmpty();
        }
    }

    private final List<RawServer> servers = new ArrayList<>();

    private RawServer server(boolean unix, Script script) throws IOException {
        RawServer s = new RawServer(unix, script);
        servers.add(s);
        return s;
    }

    @AfterEach
    void closeServers() throws Exception {
        for (RawServer s : servers) {
            s.close();
        }
    }

    private static void write(SocketChannel ch, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Test
    void aContentLengthAnswerAndTheRequestItAnswers() throws Exception {
        for (boolean unix : new boolean[] {true, false}) {
            RawServer s = server(unix, (r, ch) -> write(ch,
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Folded: a\r\n b\r\n"
                            + "Content-Length: 11\r\n\r\n{\"ok\":true}"));
            HttpTransport.Response r = s.transport("tok").request("POST", "/v1/containers?start=true",
                    "{\"name\":\"é\"}".getBytes(StandardCharsets.UTF_8), "application/json");
            assertThat(r.status()).isEqualTo(201);
            assertThat(r.header("Content-Type")).isEqualTo("application/json");
            assertThat(r.header("x-folded")).isEqualTo("a b");
            assertThat(r.bodyText()).isEqualTo("{\"ok\":true}");
            Request sent = s.requests.take();
            assertThat(sent.line()).isEqualTo("POST /v1/containers?start=true HTTP/1.1");
            assertThat(sent.head()).contains("\r\nConnection: close\r\n").contains("\r\nContent-Type: application/json\r\n")
                    .contains("\r\nContent-Length: 13\r\n");
            assertThat(sent.body()).isEqualTo("{\"name\":\"é\"}");
            if (unix) {
                assertThat(sent.head()).contains("\r\nHost: localhost\r\n").doesNotContain("Authorization");
            } else {
                assertThat(sent.head()).containsPattern("\r\nHost: 127\\.0\\.0\\.1:\\d+\r\n")
                        .contains("\r\nAuthorization: Bearer tok\r\n");
            }
        }
    }

    @Test
    void aBodilessPostSaysContentLengthZeroAndAGetNothing() throws Exception {
        RawServer s = server(true, (r, ch) -> write(ch, "HTTP/1.1 204 No Content\r\n\r\n"));
        HttpTransport t = s.transport(null);
        assertThat(t.request("POST", "/v1/containers/c/pause", null, null).body()).isEmpty();
        assertThat(s.requests.take().head()).contains("\r\nContent-Length: 0\r\n");
        assertThat(t.request("GET", "/v1/info", null, null).status()).isEqualTo(204);
        assertThat(s.requests.take().head()).doesNotContain("Content-Length").doesNotContain("Content-Type");
    }

    @Test
    void chunkedAnswersAreDecodedAndHandedOverAsTheyArrive() throws Exception {
        CountDownLatch firstSeen = new CountDownLatch(1);
        RawServer s = server(true, (r, ch) -> {
            write(ch, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            write(ch, "5;ext=1\r\nhello\r\n");
            assertThat(firstSeen.await(10, TimeUnit.SECONDS)).as("the first chunk reached the client alone").isTrue();
            for (char c : "17\r\n, world, in many pieces\r\n0\r\nTrailer: x\r\n\r\n".toCharArray()) {
                write(ch, String.valueOf(c));
            }
        });
        StringBuilder got = new StringBuilder();
        try (HttpTransport.Exchange e = s.transport(null).open("GET", "/v1/events", null, null, null)) {
            assertThat(e.status()).isEqualTo(200);
            assertThat(e.pump(b -> {
                got.append(new String(b, StandardCharsets.UTF_8));
                firstSeen.countDown();
            }, () -> false)).isTrue();
            assertThat(e.ended()).isTrue();
        }
        assertThat(got.toString()).isEqualTo("hello, world, in many pieces");
    }

    @Test
    void aBodyWithoutLengthLastsUntilTheConnectionCloses() throws Exception {
        RawServer s = server(false, (r, ch) -> write(ch, "HTTP/1.0 200 OK\r\n\r\nall of it\nuntil the end"));
        assertThat(s.transport(null).request("GET", "/metrics", null, null).bodyText())
                .isEqualTo("all of it\nuntil the end");
    }

    @Test
    void anAnswerCutShortIsAnError() throws Exception {
        RawServer s = server(true, (r, ch) -> write(ch, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"));
        assertThatThrownBy(() -> s.transport(null).request("GET", "/", null, null)).isInstanceOf(IOException.class)
                .hasMessageContaining("5 of its 100 bytes");
        RawServer c = server(true, (r, ch) -> write(ch, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"));
        assertThatThrownBy(() -> c.transport(null).request("GET", "/", null, null)).isInstanceOf(IOException.class)
                .hasMessageContaining("inside a chunk");
        RawServer none = server(true, (r, ch) -> { });
        assertThatThrownBy(() -> none.transport(null).request("GET", "/", null, null)).isInstanceOf(IOException.class)
                .hasMessageContaining("closed before an answer");
    }

    @Test
    void aStreamStopsWhenAskedAndWhenClosedFromAnotherThread() throws Exception {
        CountDownLatch clientGone = new CountDownLatch(2);
        Script endless = (r, ch) -> {
            write(ch, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            try {
                for (int i = 0; i < 10_000; i++) {
                    write(ch, "6\r\nline" + (i % 10) + "\n\r\n");
                    Thread.sleep(5);
                }
            } catch (IOException e) {
                clientGone.countDown(); // the client closed the connection
            }
        };
        RawServer s = server(true, endless);
        List<byte[]> got = new ArrayList<>();
        try (HttpTransport.Exchange e = s.transport(null).open("GET", "/logs", null, null, null)) {
            assertThat(e.pump(got::add, () -> got.size() >= 3)).isFalse();
            assertThat(e.isClosed()).isTrue();
        }
        assertThat(got).hasSize(3);

        HttpTransport.Exchange e = s.transport(null).open("GET", "/logs", null, null, null);
        List<Throwable> ended = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try {
                e.pump(b -> { }, () -> false);
            } catch (IOException x) {
                ended.add(x);
            }
        });
        reader.start();
        Thread.sleep(200);
        e.close();
        reader.join(5000);
        assertThat(reader.isAlive()).isFalse();
        assertThat(ended).singleElement().isInstanceOf(ClosedChannelException.class);
        assertThat(clientGone.await(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void anUnansweredRequestTimesOutWhenATimeoutIsGiven() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        RawServer s = server(true, (r, ch) -> release.await(20, TimeUnit.SECONDS));
        long start = System.nanoTime();
        assertThatThrownBy(() -> s.transport(null).request("GET", "/", null, null, Duration.ofMillis(300)))
                .isInstanceOf(SocketTimeoutException.class);
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
        release.countDown();
    }

    @Test
    void failingToConnectIsAConnectFailure() throws Exception {
        Path dir = Files.createTempDirectory("corral-http-test");
        try {
            assertThatThrownBy(() -> HttpTransport.unix(dir.resolve("none.sock")).request("GET", "/", null, null))
                    .isInstanceOf(HttpTransport.ConnectFailure.class).hasMessageContaining("No such file");
        } finally {
            Files.delete(dir);
        }
        int closedPort;
        try (ServerSocketChannel ch = ServerSocketChannel.open()) {
            ch.bind(new InetSocketAddress("127.0.0.1", 0));
            closedPort = ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
        assertThatThrownBy(() -> HttpTransport.tcp("127.0.0.1", closedPort, null).request("GET", "/", null, null))
                .isInstanceOf(HttpTransport.ConnectFailure.class).hasMessageContaining("refused");
    }

    @Test
    void aTargetThatWouldBreakTheRequestIsRefused() {
        HttpTransport t = HttpTransport.unix(Path.of("/nonexistent.sock"));
        assertThatThrownBy(() -> t.request("GET", "/a b", null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> t.request("GET", "/a\r\nX: y", null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> t.request("get /", "/", null, null)).isInstanceOf(IllegalArgumentException.class);
    }
}
