package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.image.Trees;
import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.image.TestImages;
import dev.corral.agent.spec.SpecParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Images through the CLI and the real agent: archives streamed to the daemon (over the unix socket and over TCP),
 * listed, run, refused while used, removed.
 */
@Tag("root")
class ImageCliTest {

    private static ClientAgentFixture fx;
    private static Path files;

    @BeforeAll
    static void start() throws Exception {
        fx = new ClientAgentFixture();
        files = Files.createTempDirectory("corral-test-archives");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (fx != null) {
                fx.close();
            }
        } finally {
            Trees.delete(files);
        }
    }

    @BeforeEach
    void environment() {
        Cli.environment(Map.of("CORRAL_HOST", fx.host()));
    }

    @AfterEach
    void realEnvironment() {
        Cli.realEnvironment();
    }

    @Test
    void importListRunInspectAndRemove() throws Exception {
        Path oci = TestImages.write(files, "two.oci.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null, true));
        String id = Cli.ok("image", "import", oci.toString(), "--name", "two:v1").out().strip();
        assertThat(id).matches("sha256:[0-9a-f]{64}");

        String ls = Cli.ok("image", "ls").out();
        assertThat(ls).startsWith("NAME").contains("two:v1").contains(id.substring(7, 19));
        assertThat(ls.lines().filter(l -> l.startsWith("two:v1")).findFirst().orElseThrow()).contains(" 2 ");

        Cli.Result run = Cli.run("run", "--name", "c1", "--image", "two:v1", "/bin/busybox", "cat", "/etc/replaced");
        assertThat(run.code()).as(run.toString()).isZero();
        assertThat(run.out()).isEqualTo("two\n");
        Cli.Result dflt = Cli.run("run", "--rm", "--image", "two:v1");
        assertThat(dflt.out()).as("the image's entrypoint and cmd").isEqualTo("default-cmd\n");

        JsonNode inspected = SpecParser.JSON.readTree(Cli.ok("image", "inspect", "two:v1").out()).get(0);
        assertThat(inspected.path("id").asText()).isEqualTo(id);
        assertThat(inspected.path("config").path("workingDir").asText()).isEqualTo("/opaque");

        Cli.Result refused = Cli.run("image", "rm", "two:v1");
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.errLines()).singleElement().asString().contains("used by container c1");
        Cli.ok("rm", "c1");
        Cli.ok("image", "rm", "two:v1");
        assertThat(Cli.ok("image", "ls", "-q").out()).isEmpty();
        try (Stream<Path> layers = Files.list(fx.stateDir.resolve("images/layers"))) {
            assertThat(layers.toList()).isEmpty();
        }
    }

    @Test
    void anOciLayoutDirectoryAndTcpWork() throws Exception {
        // The directory form of an OCI layout, as skopeo writes it: the CLI tars it on the way.
        Path dir = Files.createDirectories(files.resolve("layout"));
        byte[] tar = TestImages.ociArchive(TestImages.twoLayers(), TestImages.twoLayerConfig(), "dir:v2", false);
        Path archive = TestImages.write(files, "layout.tar", tar);
        Process untar = new ProcessBuilder("tar", "-xf", archive.toString(), "-C", dir.toString()).inheritIO().start();
        assertThat(untar.waitFor()).isZero();
        String tcp = "tcp://127.0.0.1:" + fx.agent.httpPort();
        Cli.environment(Map.of("CORRAL_HOST", tcp, "CORRAL_TOKEN", Files.readString(fx.tokenFile()).strip()));
        String id = Cli.ok("image", "import", dir.toString()).out().strip();
        assertThat(Cli.ok("image", "ls").out()).contains("dir:v2");
        Cli.ok("image", "rm", id);
    }

    @Test
    void aHostileArchiveIsRefusedWithOneLine() throws Exception {
        Path outside = Files.createDirectories(files.resolve("outside"));
        Path evil = TestImages.write(files, "evil.tar", new TestImages.Layer().symlink("x", outside.toString())
                .file("x/pwned", "x").tar());
        Cli.Result r = Cli.run("image", "import", evil.toString(), "--name", "evil");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("corral: archive: ")
                .contains("would be written through the symlink 'x'");
        assertThat(outside.resolve("pwned")).doesNotExist();
        assertThat(Cli.ok("image", "ls", "-q").out()).isEmpty();
        try (Stream<Path> tmp = Files.list(fx.stateDir.resolve("images/tmp"))) {
            assertThat(tmp.toList()).as("the upload and the staging are gone").isEmpty();
        }
    }
}
