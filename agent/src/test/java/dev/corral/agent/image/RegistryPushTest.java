package dev.corral.agent.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.corral.agent.image.RegistryPuller.Credentials;
import dev.corral.agent.image.RegistryPuller.Progress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pushes to a real registry (Debian's docker-registry on 127.0.0.1) and reads the result back with skopeo and
 * with a pull into a fresh store: whole and chunked uploads, blobs the registry has skipped (HEAD) or mounted from
 * another repository, token authentication with the push scope.
 */
@Tag("root")
class RegistryPushTest {

    @TempDir
    Path tmp;
    private ImageStore store;
    private final List<Progress> progress = new CopyOnWriteArrayList<>();

    @BeforeEach
    void open() throws Exception {
        assumeTrue(TestRegistry.available(), "docker-registry and skopeo are not installed");
        store = ImageStore.open(tmp.resolve("state"));
    }

    private Image importGzipOci(String name) throws Exception {
        Path oci = TestImages.write(tmp, "two.oci.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null, true));
        return store.importArchive(oci, name);
    }

    private RegistryPusher pusher(int chunk) {
        return new RegistryPusher(store, new RegistryPuller(store, Set.of(), null), chunk);
    }

    private static String skopeo(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("skopeo"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    /** Pulls the ref into a new store: the image must come back the same, byte for byte in its digests. */
    private void pullsBackTheSame(String ref, Image pushed) throws Exception {
        ImageStore fresh = ImageStore.open(tmp.resolve("fresh-" + System.nanoTime()));
        Image back = new RegistryPuller(fresh, Set.of(), null).pull(ref, null, p -> { });
        assertThat(back.id()).isEqualTo(pushed.id());
        assertThat(back.layers()).isEqualTo(pushed.layers());
        assertThat(fresh.layerDir(back.layers().get(1).substring(7)).resolve("etc/replaced")).hasContent("two");
    }

    @Test
    void chunkedPushThenHeadSkipAndMountThenMonolithic() throws Exception {
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            String ref = reg.host() + "/corral/pushed:v1";
            Image img = importGzipOci(ref);
            String digest = pusher(4096).push(ref, null, progress::add);
            // Chunked: several PATCHes for the busybox layer, each reported.
            assertThat(progress.stream().filter(p -> p.status().equals("Pushing")).count()).isGreaterThan(10);
            assertThat(progress.stream().filter(p -> p.status().equals("Pushed")).count()).isEqualTo(3);
            String inspect = skopeo("inspect", "--tls-verify=false", "--raw", "docker://" + ref);
            assertThat(Digests.sha256Hex(inspect.getBytes(StandardCharsets.UTF_8))).isEqualTo(digest.substring(7));
            assertThat(inspect).contains("application/vnd.oci.image.layer.v1.tar+gzip").contains(img.id());
            pullsBackTheSame(ref, img);

            // Again: the registry has every blob (HEAD 200), nothing is uploaded.
            progress.clear();
            assertThat(pusher(4096).push(ref, null, progress::add)).isEqualTo(digest);
            assertThat(progress).noneMatch(p -> p.status().equals("Pushed") || p.status().equals("Pushing"));
            assertThat(progress.stream().filter(p -> p.status().equals("Layer already exists")).count()).isEqualTo(3);

            // Another repository of the same registry: the layers are mounted from the first, not sent.
            store.tag(ref, reg.host() + "/corral/other:v1");
            progress.clear();
            pusher(4096).push(reg.host() + "/corral/other:v1", null, progress::add);
            assertThat(progress.stream().filter(p -> p.status().equals("Mounted from corral/pushed")).count())
                    .isEqualTo(2);
            pullsBackTheSame(reg.host() + "/corral/other:v1", img);
        }
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            // Monolithic (one PUT a blob), from an image that came as a docker archive (uncompressed layers), in a
            // store of its own (this one's layers would be pushed as the gzip blobs they first came as).
            store = ImageStore.open(tmp.resolve("state-plain"));
            String ref = reg.host() + "/corral/plain:v1";
            Image img = store.importArchive(TestImages.write(tmp, "two.docker.tar", TestImages.dockerArchive(
                    TestImages.twoLayers(), TestImages.twoLayerConfig(), null)), reg.host() + "/corral/plain:v1");
            progress.clear();
            pusher(RegistryPusher.DEFAULT_CHUNK).push(ref, null, progress::add);
            assertThat(progress).noneMatch(p -> p.status().equals("Pushing"));
            assertThat(skopeo("inspect", "--tls-verify=false", "--raw", "docker://" + ref))
                    .contains("application/vnd.oci.image.layer.v1.tar\"");
            pullsBackTheSame(ref, img);
        }
    }

    @Test
    void pushWithTokenAuthentication() throws Exception {
        Path keys = Files.createDirectory(tmp.resolve("keys"));
        try (TokenServer tokens = new TokenServer(keys, "corral", "s3cret");
             TestRegistry reg = TestRegistry.startToken(tokens.realm(), tokens.cert)) {
            String ref = reg.host() + "/corral/tok:v1";
            Image img = importGzipOci(ref);
            assertThatThrownBy(() -> pusher(RegistryPusher.DEFAULT_CHUNK).push(ref, null, p -> { }))
                    .isInstanceOf(RegistryPuller.RegistryException.class).hasMessageContaining("401");
            String digest = pusher(RegistryPusher.DEFAULT_CHUNK).push(ref, new Credentials("corral", "s3cret"),
                    p -> { });
            assertThat(tokens.requests).contains("corral repository:corral/tok:pull,push");
            assertThat(skopeo("inspect", "--tls-verify=false", "--creds=corral:s3cret", "--raw", "docker://" + ref))
                    .contains(img.id());
            assertThat(digest).startsWith("sha256:");
        }
    }

    @Test
    void blobsGoWithTheirLastImage() throws Exception {
        Image img = importGzipOci("corral/blobs:v1");
        assertThat(store.configBlob(img)).isEqualTo(TestImages.twoLayerConfig());
        for (String l : img.layers()) {
            assertThat(store.layerBlob(l.substring(7))).isRegularFile();
        }
        store.remove(img.id());
        try (Stream<Path> s = Files.list(tmp.resolve("state/images/blobs/sha256"))) {
            assertThat(s.toList()).isEmpty();
        }
    }
}
