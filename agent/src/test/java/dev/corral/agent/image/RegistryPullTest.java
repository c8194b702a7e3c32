package dev.corral.agent.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Tag;

/**
 * Pulls from a real registry (Debian's docker-registry on 127.0.0.1, images put there by skopeo): Docker v2 and
 * OCI manifests, basic auth, layers the store has not fetched again, a corrupted blob refused and a registry dying
 * mid-pull, each leaving the store as it was.
 */
@Tag("root")
class RegistryPullTest {

    @TempDir
    Path tmp;
    private ImageStore store;
    private final List<RegistryPuller.Progress> progress = new CopyOnWriteArrayList<>();

    @BeforeEach
    void open() throws Exception {
        assumeTrue(TestRegistry.available(), "docker-registry and skopeo are not installed");
        store = ImageStore.open(tmp.resolve("state"));
    }

    @AfterEach
    void nothingLeftInTheCache() throws IOException {
        if (store != null && Files.isDirectory(tmp.resolve("state/images/pulls"))) {
            try (Stream<Path> s = Files.walk(tmp.resolve("state/images/pulls"))) {
                assertThat(s.filter(p -> p.toString().endsWith(".partial")).toList()).as("partial downloads").isEmpty();
            }
        }
    }

    private Path dockerArchive() throws IOException {
        return TestImages.write(tmp, "two.docker.tar", TestImages.dockerArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null));
    }

    private RegistryPuller puller() {
        return new RegistryPuller(store, Set.of(), null);
    }

    private List<String> diffIds() {
        return TestImages.twoLayers().stream().map(t -> "sha256:" + Digests.sha256Hex(t)).toList();
    }

    @Test
    void pullsDockerAndOciManifestsAndSkipsLayersItHas() throws Exception {
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            reg.push(dockerArchive(), "docker-archive", "corral/two:v1", null);
            Image img = puller().pull(reg.host() + "/corral/two:v1", null, progress::add);
            assertThat(img.layers()).isEqualTo(diffIds());
            assertThat(img.names()).containsExactly(reg.host() + "/corral/two:v1");
            assertThat(img.config().workingDir()).isEqualTo("/opaque");
            assertThat(store.layerDir(img.layers().get(0).substring(7)).resolve("bin/busybox")).isRegularFile();
            assertThat(progress.stream().filter(p -> p.status().equals("Download complete")).count()).isEqualTo(2);
            try (Stream<Path> s = Files.list(store.pullCache())) {
                assertThat(s.toList()).as("the pull's cache is gone once the image is stored").isEmpty();
            }

            // The same layers under an OCI manifest: none is fetched again.
            Path oci = TestImages.write(tmp, "two.oci.tar", TestImages.ociArchive(TestImages.twoLayers(),
                    TestImages.twoLayerConfig(), null, true));
            reg.push(oci, "oci-archive", "corral/two-oci:v2", null);
            progress.clear();
            Image again = puller().pull(reg.host() + "/corral/two-oci:v2", null, progress::add);
            assertThat(again.id()).isEqualTo(img.id());
            assertThat(again.names()).contains(reg.host() + "/corral/two:v1", reg.host() + "/corral/two-oci:v2");
            assertThat(progress).noneMatch(p -> p.status().startsWith("Download"));
            assertThat(progress.stream().filter(p -> p.status().equals("Already exists")).count()).isEqualTo(2);

            assertThatThrownBy(() -> puller().pull(reg.host() + "/corral/nothing:v1", null, p -> { }))
                    .isInstanceOf(RegistryPuller.RegistryException.class).hasMessageContaining("404");
        }
    }

    @Test
    void basicAuthWithAndWithoutCredentials() throws Exception {
        try (TestRegistry reg = TestRegistry.start("corral", "s3cret")) {
            reg.push(dockerArchive(), "docker-archive", "corral/two:v1", "corral:s3cret");
            assertThatThrownBy(() -> puller().pull(reg.host() + "/corral/two:v1", null, p -> { }))
                    .isInstanceOf(RegistryPuller.RegistryException.class).hasMessageContaining("docker login");
            assertThatThrownBy(() -> puller().pull(reg.host() + "/corral/two:v1",
                    new RegistryPuller.Credentials("corral", "wrong"), p -> { }))
                    .isInstanceOf(RegistryPuller.RegistryException.class).hasMessageContaining("401");
            Image img = puller().pull(reg.host() + "/corral/two:v1", new RegistryPuller.Credentials("corral", "s3cret"),
                    p -> { });
            assertThat(img.layers()).isEqualTo(diffIds());
        }
    }

    @Test
    void tlsWithAGivenCaFile() throws Exception {
        try (TestRegistry reg = TestRegistry.startTls()) {
            reg.push(dockerArchive(), "docker-archive", "corral/two:v1", null);
            RegistryPuller withCa = new RegistryPuller(store, Set.of(), RegistryPuller.sslWith(reg.dir.resolve("ca.pem")));
            Image img = withCa.pull(reg.host() + "/corral/two:v1", null, p -> { });
            assertThat(img.layers()).isEqualTo(diffIds());
            store.remove(img.id());
            // Without the CA the certificate is not trusted: no image (the plain-HTTP fallback meets TLS).
            assertThatThrownBy(() -> puller().pull(reg.host() + "/corral/two:v1", null, p -> { }))
                    .isInstanceOf(RegistryPuller.RegistryException.class).hasMessageContaining("TLS failed")
                    .hasMessageContaining("--registry-ca");
            assertThat(store.list()).isEmpty();
        }
    }

    @Test
    void aCorruptedBlobIsRefusedAndNothingIsStored() throws Exception {
        try (TestRegistry reg = TestRegistry.start(null, null); Proxy proxy = new Proxy(reg.port)) {
            reg.push(dockerArchive(), "docker-archive", "corral/two:v1", null);
            proxy.corrupt.set(true);
            assertThatThrownBy(() -> puller().pull(proxy.host() + "/corral/two:v1", null, p -> { }))
                    .isInstanceOf(RegistryPuller.RegistryException.class).hasMessageContaining("does not match its digest");
            assertThat(store.list()).isEmpty();
            try (Stream<Path> s = Files.list(tmp.resolve("state/images/layers"))) {
                assertThat(s.toList()).isEmpty();
            }
        }
    }

    @Test
    void aRegistryDyingMidPullLeavesNothingAndThePullResumes() throws Exception {
        try (TestRegistry reg = TestRegistry.start(null, null); Proxy proxy = new Proxy(reg.port)) {
            reg.push(dockerArchive(), "docker-archive", "corral/two:v1", null);
            proxy.slow.set(true);
            CountDownLatch downloading = new CountDownLatch(1);
            Thread killer = new Thread(() -> {
                try {
                    if (downloading.await(30, TimeUnit.SECONDS)) {
                        reg.kill();
                        proxy.cut.set(true); // what the registry had not sent yet never comes
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            killer.start();
            assertThatThrownBy(() -> puller().pull(proxy.host() + "/corral/two:v1", null, p -> {
                if (p.status().equals("Downloading") && p.current() > 0) {
                    downloading.countDown();
                }
            })).isInstanceOf(Exception.class);
            killer.join(30_000);
            assertThat(store.list()).isEmpty();
            try (Stream<Path> s = Files.list(tmp.resolve("state/images/layers"))) {
                assertThat(s.toList()).isEmpty();
            }

            reg.startProcess();
            proxy.slow.set(false);
            proxy.cut.set(false);
            Image img = puller().pull(proxy.host() + "/corral/two:v1", null, progress::add);
            assertThat(img.layers()).isEqualTo(diffIds());
            assertThat(store.layerDir(img.layers().get(0).substring(7)).resolve("bin/busybox")).isRegularFile();
        }
    }

    @Test
    void anImageIndexGivesTheImageForThePlatformAsked() throws Exception {
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            reg.push(dockerArchive(), "docker-archive", "corral/multi:amd", null);
            byte[] armConfig = TestImages.config(TestImages.twoLayers(), List.of("true"), List.of("A=arm"), "/arm");
            reg.push(TestImages.write(tmp, "arm.tar", TestImages.dockerArchive(TestImages.twoLayers(), armConfig, null)),
                    "docker-archive", "corral/multi:arm", null);
            String amd = reg.manifestDigest("corral/multi", "amd");
            String arm = reg.manifestDigest("corral/multi", "arm");
            reg.putIndex("corral/multi", "v1", List.of(
                    new TestRegistry.Entry(arm, "linux", "arm64", "v8"), new TestRegistry.Entry(amd, "linux", "amd64", null)));

            Image host = puller().pull(reg.host() + "/corral/multi:v1", null, p -> { });
            assertThat(host.config().workingDir()).isEqualTo("/opaque");
            Image armImage = puller().pull(reg.host() + "/corral/multi:v1", null, "linux/arm64", p -> { });
            assertThat(armImage.id()).isEqualTo("sha256:" + Digests.sha256Hex(armConfig));
            assertThat(armImage.config().workingDir()).isEqualTo("/arm");
            assertThat(puller().pull(reg.host() + "/corral/multi:v1", null, "linux/arm64/v8", p -> { }).id())
                    .isEqualTo(armImage.id());
            assertThatThrownBy(() -> puller().pull(reg.host() + "/corral/multi:v1", null, "linux/s390x", p -> { }))
                    .hasMessageContaining("no linux/s390x image").hasMessageContaining("linux/arm64/v8, linux/amd64");
            assertThatThrownBy(() -> puller().pull(reg.host() + "/corral/multi:v1", null, "linux", p -> { }))
                    .isInstanceOf(dev.corral.agent.spec.SpecException.class);
        }
    }

    @Test
    void layersAreFetchedInParallelAndOnlyOnce() throws Exception {
        try (TestRegistry reg = TestRegistry.start(null, null); Proxy proxy = new Proxy(reg.port)) {
            Path archive = dockerArchive();
            reg.push(archive, "docker-archive", "corral/two:v1", null);
            reg.push(archive, "docker-archive", "corral/two:v2", null);
            String config = "/v2/corral/two/blobs/sha256:" + Digests.sha256Hex(TestImages.twoLayerConfig());
            proxy.slow.set(true); // each blob takes a while: the two layers overlap if fetched in parallel
            puller().pull(proxy.host() + "/corral/two:v1", null, progress::add);
            List<String> layers = proxy.blobGets.stream().filter(p -> !p.equals(config)).toList();
            assertThat(layers).hasSize(2).doesNotHaveDuplicates();
            assertThat(proxy.maxInFlight.get()).as("layer downloads at once").isEqualTo(2);

            proxy.blobGets.clear();
            Image again = puller().pull(proxy.host() + "/corral/two:v2", null, progress::add);
            assertThat(again.names()).contains(proxy.host() + "/corral/two:v2");
            // Only the (small) config blob is read again; no layer is requested.
            assertThat(proxy.blobGets).containsExactly(config);
        }
    }

    /** A proxy in front of the registry that can corrupt one byte of each layer blob, slow blobs down, or cut them. */
    static final class Proxy implements AutoCloseable {
        final AtomicBoolean corrupt = new AtomicBoolean();
        final AtomicBoolean slow = new AtomicBoolean();
        final AtomicBoolean cut = new AtomicBoolean();
        final List<String> blobGets = new CopyOnWriteArrayList<>();
        final java.util.concurrent.atomic.AtomicInteger maxInFlight = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        private final HttpServer server;
        private final HttpClient client = HttpClient.newHttpClient();

        Proxy(int upstream) throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
            server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
            server.createContext("/", ex -> {
                try {
                    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + upstream
                            + ex.getRequestURI()));
                    ex.getRequestHeaders().forEach((k, v) -> {
                        if (k.equalsIgnoreCase("accept") || k.equalsIgnoreCase("authorization")) {
                            v.forEach(x -> b.header(k, x));
                        }
                    });
                    HttpResponse<InputStream> r = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
                    r.headers().firstValue("content-type").ifPresent(v -> ex.getResponseHeaders().add("Content-Type", v));
                    r.headers().firstValue("www-authenticate").ifPresent(v -> ex.getResponseHeaders().add("WWW-Authenticate", v));
                    boolean blob = ex.getRequestURI().getPath().contains("/blobs/");
                    if (blob) {
                        blobGets.add(ex.getRequestURI().getPath());
                        maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                    }
                    ex.sendResponseHeaders(r.statusCode(), 0);
                    try (InputStream in = r.body(); OutputStream out = ex.getResponseBody()) {
                        byte[] buf = new byte[32 << 10];
                        long sent = 0;
                        for (int n; (n = in.read(buf)) > 0; ) {
                            if (blob && corrupt.get() && sent < 5000 && sent + n > 5000) {
                                buf[(int) (5000 - sent)] ^= 1;
                            }
                            if (blob && cut.get()) {
                                throw new IOException("cut");
                            }
                            out.write(buf, 0, n);
                            out.flush();
                            sent += n;
                            if (blob && slow.get()) {
                                Thread.sleep(40);
                            }
                        }
                    }
                } catch (IOException | InterruptedException e) {
                    ex.close(); // the connection ends without the chunked body's end
                } finally {
                    if (ex.getRequestURI().getPath().contains("/blobs/")) {
                        inFlight.decrementAndGet();
                    }
                }
            });
            server.start();
        }

        String host() {
            return "127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
