package dev.corral.agent.foreign;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.image.Image;
import dev.corral.agent.image.ImageSaver;
import dev.corral.agent.image.ImageStore;
import dev.corral.agent.image.TestImages;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * corral's image save read by the real peers: a private dockerd 20.10 (docker load, which reads only docker
 * save's manifest.json) and skopeo (oci-archive:, the OCI layout of the same tar), and corral's own import. Here
 * beside the other tests that start a dockerd ({@link DockerDaemon}).
 */
@Tag("root")
class ImageSaveDockerLoadTest {

    @TempDir
    Path tmp;

    @Test
    void dockerLoadSkopeoAndCorralReadWhatSaveWrites() throws Exception {
        ImageStore store = ImageStore.open(tmp.resolve("state"));
        Image gz = store.importArchive(TestImages.write(tmp, "two.oci.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null, true)), "corral-test/saved:v1");
        store.tag("corral-test/saved:v1", "corral-test/saved:v2");
        byte[] plainConfig = TestImages.config(TestImages.twoLayers(), List.of("true"), List.of("PATH=/bin"), "/plain");
        Path plainStore = tmp.resolve("state-plain"); // its own store: the layers come uncompressed there
        ImageStore other = ImageStore.open(plainStore);
        Image plain = other.importArchive(TestImages.write(tmp, "plain.tar", TestImages.dockerArchive(
                TestImages.twoLayers(), plainConfig, null)), "corral-test/plain:v1");

        Path saved = tmp.resolve("saved.tar");
        try (OutputStream out = Files.newOutputStream(saved)) {
            new ImageSaver(store).save(List.of("corral-test/saved:v1", "corral-test/saved:v2"), out);
        }
        Path savedPlain = tmp.resolve("plain-saved.tar");
        try (OutputStream out = Files.newOutputStream(savedPlain)) {
            new ImageSaver(other).save(List.of("corral-test/plain:v1"), out);
        }

        try (DockerDaemon docker = DockerDaemon.start()) {
            docker.run("load", "-i", saved.toString());
            docker.run("load", "-i", savedPlain.toString());
            assertThat(docker.run("image", "inspect", "-f", "{{.Id}}", "corral-test/saved:v1")).isEqualTo(gz.id());
            assertThat(docker.run("image", "inspect", "-f", "{{.Id}}", "corral-test/saved:v2")).isEqualTo(gz.id());
            assertThat(docker.run("image", "inspect", "-f", "{{.Id}} {{.Config.WorkingDir}}", "corral-test/plain:v1"))
                    .isEqualTo(plain.id() + " /plain");
            assertThat(docker.run("image", "inspect", "-f", "{{json .RootFS.Layers}}", "corral-test/saved:v1"))
                    .isEqualTo("[\"" + String.join("\",\"", gz.layers()) + "\"]");
        }

        String skopeo = run("skopeo", "inspect", "--config", "oci-archive:" + saved + ":corral-test/saved:v2");
        assertThat(skopeo).contains(gz.layers().get(0)).contains(gz.layers().get(1)).contains("/opaque");
        String config = run("skopeo", "inspect", "--config", "oci-archive:" + savedPlain + ":corral-test/plain:v1");
        assertThat(config).contains("/plain");

        // corral's own import of its save: the same image, in a fresh store.
        Image back = ImageStore.open(tmp.resolve("state-back")).importArchive(savedPlain, null);
        assertThat(back.id()).isEqualTo(plain.id());
        assertThat(back.names()).containsExactly("corral-test/plain:v1");
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
