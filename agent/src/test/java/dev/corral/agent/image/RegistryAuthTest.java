package dev.corral.agent.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.corral.agent.image.RegistryPuller.Credentials;
import dev.corral.agent.image.RegistryPuller.RegistryException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How corral reaches and authenticates to a real registry (Debian's docker-registry on 127.0.0.1): the Docker
 * token flow against a token service made here (anonymous, good and bad basic credentials), the login check for
 * token and htpasswd registries, and plain HTTP only for 127.0.0.0/8 and --insecure-registry.
 */
@Tag("root")
class RegistryAuthTest {

    @TempDir
    Path tmp;
    private ImageStore store;

    @BeforeEach
    void open() throws Exception {
        assumeTrue(TestRegistry.available(), "docker-registry and skopeo are not installed");
        store = ImageStore.open(tmp.resolve("state"));
    }

    private Path dockerArchive() throws IOException {
        return TestImages.write(tmp, "two.docker.tar", TestImages.dockerArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null));
    }

    private List<String> diffIds() {
        return TestImages.twoLayers().stream().map(t -> "sha256:" + Digests.sha256Hex(t)).toList();
    }

    private void storeIsEmpty() throws IOException {
        assertThat(store.list()).isEmpty();
        try (Stream<Path> s = Files.list(tmp.resolve("state/images/layers"))) {
            assertThat(s.toList()).isEmpty();
        }
    }

    @Test
    void tokenAuthenticationAnonymousWrongAndRightCredentials() throws Exception {
        Path keys = Files.createDirectory(tmp.resolve("keys"));
        try (TokenServer tokens = new TokenServer(keys, "corral", "s3cret");
             TestRegistry reg = TestRegistry.startToken(tokens.realm(), tokens.cert)) {
            reg.push(dockerArchive(), "docker-archive", "corral/two:v1", "corral:s3cret");
            RegistryPuller puller = new RegistryPuller(store, Set.of(), null);

            // Anonymous: the token service gives a token granting nothing; the registry refuses it.
            assertThatThrownBy(() -> puller.pull(reg.host() + "/corral/two:v1", null, p -> { }))
                    .isInstanceOf(RegistryException.class).hasMessageContaining("401")
                    .hasMessageContaining("corral login " + reg.host());
            assertThat(tokens.requests).contains(" repository:corral/two:pull");
            assertThatThrownBy(() -> puller.pull(reg.host() + "/corral/two:v1", new Credentials("corral", "wrong"),
                    p -> { })).isInstanceOf(RegistryException.class).hasMessageContaining("token service answered 401");
            storeIsEmpty();

            tokens.requests.clear();
            Image img = puller.pull(reg.host() + "/corral/two:v1", new Credentials("corral", "s3cret"), p -> { });
            assertThat(img.layers()).isEqualTo(diffIds());
            assertThat(store.layerDir(img.layers().get(1).substring(7)).resolve("etc/replaced")).hasContent("two");
            // One token for the whole pull (manifest, config and both layers), for exactly the pull scope.
            assertThat(tokens.requests).containsExactly("corral repository:corral/two:pull");

            // The login check: GET /v2/ with a token got without a scope.
            puller.login(reg.host(), new Credentials("corral", "s3cret"));
            assertThatThrownBy(() -> puller.login(reg.host(), new Credentials("corral", "nope")))
                    .isInstanceOf(RegistryException.class).hasMessageContaining("401");
        }
    }

    @Test
    void loginCheckAgainstAnHtpasswdRegistry() throws Exception {
        try (TestRegistry reg = TestRegistry.start("corral", "s3cret")) {
            RegistryPuller puller = new RegistryPuller(store, Set.of(), null);
            puller.login(reg.host(), new Credentials("corral", "s3cret"));
            assertThatThrownBy(() -> puller.login(reg.host(), new Credentials("corral", "nope")))
                    .isInstanceOf(RegistryException.class).satisfies(e ->
                            assertThat(((RegistryException) e).status()).isEqualTo(401));
        }
    }

    @Test
    void plainHttpOnlyForLoopbackAddressesAndInsecureRegistries() throws Exception {
        try (TestRegistry reg = TestRegistry.start(null, null)) {
            reg.push(dockerArchive(), "docker-archive", "corral/two:v1", null);
            // The same registry named "localhost": not a literal 127.0.0.0/8 address, so HTTPS only, and refused.
            String byName = "localhost:" + reg.port;
            assertThatThrownBy(() -> new RegistryPuller(store, Set.of(), null).pull(byName + "/corral/two:v1", null,
                    p -> { })).isInstanceOf(RegistryException.class).hasMessageContaining("TLS failed")
                    .hasMessageContaining("--insecure-registry");
            storeIsEmpty();
            Image img = new RegistryPuller(store, Set.of(byName), null).pull(byName + "/corral/two:v1", null, p -> { });
            assertThat(img.names()).containsExactly(byName + "/corral/two:v1");
        }
    }
}
