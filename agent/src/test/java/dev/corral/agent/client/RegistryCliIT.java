package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.corral.agent.image.TestImages;
import dev.corral.agent.image.TestRegistry;
import dev.corral.exporter.testing.Children;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Tag;

/**
 * corral pull and run --image from a real registry (Debian's docker-registry on 127.0.0.1, with htpasswd auth;
 * credentials from a docker config.json), through bin/corral as a user runs it, against a real agent.
 */
@Tag("root")
class RegistryCliIT {

    private static final Path REPO = Path.of(System.getenv().getOrDefault("CORRAL_REPO", ".."));
    private static ClientAgentFixture fx;

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
    }

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(TestRegistry.available(), "docker-registry and skopeo are not installed");
        fx = new ClientAgentFixture();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    private Result corral(String... args) throws Exception {
        return corralWithStdin(null, args);
    }

    private Result corralWithStdin(String stdin, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(REPO.resolve("bin/corral").toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().remove("CORRAL_TOKEN");
        pb.environment().putAll(Map.of("CORRAL_HOST", fx.host(), "DOCKER_CONFIG", tmp.toString()));
        // output to files, not pipes read to their end before waitFor: a hung CLI then fails at the deadline
        Path out = Files.createTempFile(tmp, "corral-out", ".txt");
        Path err = Files.createTempFile(tmp, "corral-err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("corral " + List.of(args) + " did not finish in 120 s: " + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void pullAndRunFromARegistryWithCredentialsFromDockerConfig() throws Exception {
        try (TestRegistry reg = TestRegistry.start("corral", "s3cret")) {
            Path archive = TestImages.write(tmp, "two.docker.tar", TestImages.dockerArchive(TestImages.twoLayers(),
                    TestImages.twoLayerConfig(), null));
            reg.push(archive, "docker-archive", "corral/two:v1", "corral:s3cret");
            reg.push(archive, "docker-archive", "corral/two:v2", "corral:s3cret");

            Result anonymous = corral("pull", reg.host() + "/corral/two:v1");
            assertThat(anonymous.code()).as(anonymous.toString()).isEqualTo(1);
            assertThat(anonymous.err()).contains("docker login").hasLineCount(1);

            Files.writeString(tmp.resolve("config.json"), "{\"auths\":{\"" + reg.host() + "\":{\"auth\":\""
                    + Base64.getEncoder().encodeToString("corral:s3cret".getBytes(StandardCharsets.UTF_8)) + "\"}}}");
            Result pull = corral("pull", reg.host() + "/corral/two:v1");
            assertThat(pull.code()).as(pull.toString()).isZero();
            assertThat(pull.out()).contains("Download complete").contains(reg.host() + "/corral/two:v1")
                    .containsPattern("Download complete [0-9.]+ ?[kMG]?B/[0-9.]+ ?[kMG]?B [0-9.]+ ?[kMG]?B/s");
            assertThat(corral("images").out()).contains(reg.host() + "/corral/two:v1");

            // run --image pulls what is missing (its layers are here already), then runs it.
            Result run = corral("run", "--rm", "--image", reg.host() + "/corral/two:v2", "/bin/busybox", "cat",
                    "/etc/replaced");
            assertThat(run.code()).as(run.toString()).isZero();
            assertThat(run.out()).isEqualTo("two\n");
            assertThat(run.err()).contains("Unable to find image").contains("Already exists");

            Result never = corral("run", "--rm", "--pull", "never", "--image", reg.host() + "/corral/two:v3", "true");
            assertThat(never.code()).as(never.toString()).isNotZero(); // run's own code for a missing image
            assertThat(never.err()).contains("no image").doesNotContain("Unable to find");
        }
    }

    @Test
    void loginChecksAndStoresCredentialsAsDockerDoesAndLogoutRemovesThem() throws Exception {
        try (TestRegistry reg = TestRegistry.start("corral", "s3cret")) {
            Path archive = TestImages.write(tmp, "two.docker.tar", TestImages.dockerArchive(TestImages.twoLayers(),
                    TestImages.twoLayerConfig(), null));
            reg.push(archive, "docker-archive", "corral/login:v1", "corral:s3cret");
            Path cfg = tmp.resolve("config.json");
            // Another tool's settings in the same file are kept.
            Files.writeString(cfg, "{\"auths\":{\"other.example:5000\":{\"auth\":\"eDp5\"}},\"psFormat\":\"x\"}");

            Result wrong = corralWithStdin("nope\n", "login", "-u", "corral", "--password-stdin", reg.host());
            assertThat(wrong.code()).as(wrong.toString()).isEqualTo(1);
            assertThat(wrong.err()).contains("401").hasLineCount(1);
            assertThat(Files.readString(cfg)).doesNotContain(reg.host());

            Result login = corralWithStdin("s3cret\n", "login", "-u", "corral", "--password-stdin", reg.host());
            assertThat(login.code()).as(login.toString()).isZero();
            assertThat(login.out()).isEqualTo("Login Succeeded\n");
            assertThat(java.nio.file.Files.getPosixFilePermissions(cfg))
                    .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(cfg.toFile());
            assertThat(json.path("auths").path(reg.host()).path("auth").asText())
                    .isEqualTo(Base64.getEncoder().encodeToString("corral:s3cret".getBytes(StandardCharsets.UTF_8)));
            assertThat(json.path("auths").path("other.example:5000").path("auth").asText()).isEqualTo("eDp5");
            assertThat(json.path("psFormat").asText()).isEqualTo("x");

            Result pull = corral("pull", reg.host() + "/corral/login:v1");
            assertThat(pull.code()).as(pull.toString()).isZero();

            Result logout = corral("logout", reg.host());
            assertThat(logout.code()).isZero();
            assertThat(logout.out()).isEqualTo("Removing login credentials for " + reg.host() + "\n");
            assertThat(Files.readString(cfg)).doesNotContain(reg.host()).contains("other.example:5000");
            assertThat(corral("logout", reg.host()).out()).isEqualTo("Not logged in to " + reg.host() + "\n");
            assertThat(corral("image", "rm", reg.host() + "/corral/login:v1").code()).isZero();
            Result anonymous = corral("pull", reg.host() + "/corral/login:v1");
            assertThat(anonymous.code()).isEqualTo(1);
            assertThat(anonymous.err()).contains("corral login " + reg.host());
        }
    }

    @Test
    void pushSaveHistoryRmForceAndPruneThroughTheCli() throws Exception {
        String container = "regcli-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            String ref = reg.host() + "/corral/cli:v1";
            // A config of its own: the image the other tests pulled has the same layers and would otherwise be this
            // one, with their names too (then rm of one name is not a removal).
            Path oci = TestImages.write(tmp, "two.oci.tar", TestImages.ociArchive(TestImages.twoLayers(),
                    TestImages.config(TestImages.twoLayers(), List.of("true"), List.of("PATH=/bin"), "/opaque"), null,
                    true));
            Result imported = corral("image", "import", oci.toString(), "--name", ref);
            assertThat(imported.code()).as(imported.toString()).isZero();
            String id = imported.out().strip();

            Result push = corral("push", ref);
            assertThat(push.code()).as(push.toString()).isZero();
            assertThat(push.out()).contains("Pushed").containsPattern("v1: digest: sha256:[0-9a-f]{64} size: [0-9]+");
            Result again = corral("image", "push", ref);
            assertThat(again.out()).contains("Layer already exists").doesNotContain("Pushed");

            // Back from the registry into the store, by corral.
            assertThat(corral("image", "rm", ref).code()).isZero();
            Result pull = corral("pull", ref);
            assertThat(pull.code()).as(pull.toString()).isZero();
            assertThat(corral("image", "inspect", ref).out()).contains(id);

            Path saved = tmp.resolve("saved.tar");
            Result save = corral("image", "save", "-o", saved.toString(), ref);
            assertThat(save.code()).as(save.toString()).isZero();
            Children.Finished sk = Children.run(new ProcessBuilder("skopeo", "inspect", "--config",
                    "oci-archive:" + saved).redirectErrorStream(true), Duration.ofSeconds(60));
            String cfg = sk.output();
            assertThat(sk.exitCode()).as(cfg).isZero();
            assertThat(cfg).contains("/opaque");
            Result missing = corral("image", "save", "-o", tmp.resolve("none.tar").toString(), "corral/none:v9");
            assertThat(missing.code()).isEqualTo(1);
            assertThat(tmp.resolve("none.tar")).doesNotExist();
            assertThat(tmp.resolve(".none.tar.corral-partial")).doesNotExist();

            Result history = corral("image", "history", ref);
            assertThat(history.code()).as(history.toString()).isZero();
            assertThat(history.out()).contains("CREATED BY").contains(id.replaceFirst("^sha256:", "").substring(0, 12));

            Result run = corral("run", "-d", "--name", container, "--image", ref, "/bin/busybox", "sleep", "60");
            assertThat(run.code()).as(run.toString()).isZero();
            Result refused = corral("image", "rm", ref);
            assertThat(refused.code()).as(refused + " " + corral("ps", "-a") + " " + corral("images")
                    + " " + corral("inspect", container)).isEqualTo(1);
            assertThat(refused.err()).contains(container);
            Result forced = corral("image", "rm", "-f", ref);
            assertThat(forced.code()).as(forced.toString()).isZero();
            assertThat(corral("images").out()).contains("<none>").doesNotContain(ref);
            assertThat(corral("image", "prune").out()).doesNotContain("deleted:"); // still used
            assertThat(corral("rm", "-f", container).code()).isZero();
            Result prune = corral("image", "prune");
            assertThat(prune.out()).contains("deleted: " + id).contains("Total reclaimed space");
            assertThat(corral("images", "-q").out()).doesNotContain(id);
        } finally {
            corral("rm", "-f", container);
        }
    }
}
